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
