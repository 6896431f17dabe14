import { protocolOptions } from '../media/probe.js';
import type { SubtitleRendition, TranscodePlan } from '../plan.js';

/** Where the extraction writes a rendition's whole WebVTT (relative to the package folder), cut into segments afterwards. */
export function fullVttPath(r: Pick<SubtitleRendition, 'dir'>): string {
  return `${r.dir}/full.vtt`;
}

/**
 * Pure argv: every subtitle rendition of the plan converted to one whole WebVTT file, in one ffmpeg
 * process that only demuxes (no video or audio is decoded). Input 0 is the source, confined and with
 * its vetted demuxer, exactly as the encode opens it, so ffmpeg moves its start to zero as it does
 * for the encode and the cue times are on the renditions' clock. Sidecar files follow, each a
 * `file:` path with its demuxer named (never probed, never a protocol). Run it with the package
 * folder as the working folder.
 */
export function buildSubtitleExtractArgs(plan: Pick<TranscodePlan, 'media'> & { subtitles?: readonly SubtitleRendition[] | undefined }): string[] {
  const subs = plan.subtitles ?? [];
  if (subs.length === 0) return [];
  const { media } = plan;
  const args = ['-loglevel', 'error', '-y'];
  const fromSource = subs.some((s) => s.source.kind === 'stream');
  if (fromSource) args.push(...protocolOptions(media.remote), ...media.inputOptions, '-i', media.url);
  const inputOf = new Map<SubtitleRendition, number>();
  let next = fromSource ? 1 : 0;
  for (const s of subs) {
    if (s.source.kind !== 'file') continue;
    args.push('-protocol_whitelist', 'file', '-f', s.source.format, '-i', `file:${s.source.path}`);
    inputOf.set(s, next++);
  }
  for (const s of subs) {
    const map = s.source.kind === 'stream' ? `0:s:${s.source.order}` : `${inputOf.get(s)}:s:0`;
    args.push('-map', map, '-c:s', 'webvtt', '-map_metadata', '-1', '-f', 'webvtt', fullVttPath(s));
  }
  return args;
}

/** MP4 files carry every subtitle rendition as a mov_text track (FLV has none). */
function movTextCarried(plan: Pick<TranscodePlan, 'files'> & { subtitles?: readonly SubtitleRendition[] | undefined }): readonly SubtitleRendition[] {
  return plan.files.some((f) => f.kind === 'mp4') ? (plan.subtitles ?? []) : [];
}

/** The sidecar files as inputs 1, 2... of the encode, after the source (input 0): only when MP4 files carry them. */
export function movTextInputArgs(plan: Pick<TranscodePlan, 'files'> & { subtitles?: readonly SubtitleRendition[] | undefined }): string[] {
  return movTextCarried(plan).flatMap((s) => (s.source.kind === 'file' ? ['-protocol_whitelist', 'file', '-f', s.source.format, '-i', `file:${s.source.path}`] : []));
}

/**
 * The subtitle streams of the encode's tee output (s:0, s:1...), one per rendition, as mov_text with
 * their ISO 639-2 language and dispositions; the MP4 slaves select them (movTextSelect).
 */
export function movTextStreamArgs(plan: Pick<TranscodePlan, 'files'> & { subtitles?: readonly SubtitleRendition[] | undefined }): string[] {
  const args: string[] = [];
  let sidecar = 1;
  movTextCarried(plan).forEach((s, j) => {
    const map = s.source.kind === 'stream' ? `0:s:${s.source.order}` : `${sidecar++}:s:0`;
    const disposition = [...(s.default ? ['default'] : []), ...(s.forced ? ['forced'] : [])].join('+') || '0';
    args.push(
      '-map',
      map,
      `-c:s:${j}`,
      'mov_text',
      `-disposition:s:${j}`,
      disposition,
      `-metadata:s:s:${j}`,
      `language=${s.iso639 ?? 'und'}`,
      `-metadata:s:s:${j}`,
      `title=${s.name}`,
    );
  });
  return args;
}

/** The tee `select` entries of a file target's subtitle streams: all of them in an MP4, none in an FLV. */
export function movTextSelect(plan: Pick<TranscodePlan, 'files'> & { subtitles?: readonly SubtitleRendition[] | undefined }, kind: 'mp4' | 'flv'): string[] {
  return kind === 'mp4' ? movTextCarried(plan).map((_, j) => `s:${j}`) : [];
}
