import { open, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { StreamkitError } from '../errors.js';
import type { SidecarFormat, SubtitleRendition } from '../plan.js';
import { languageName, languageTag } from './language.js';
import type { MediaInfo, SubtitleInfo } from './probe.js';

/**
 * Subtitles: which source streams and sidecar files become WebVTT renditions, and what is said about
 * the ones that cannot. Pure decisions (planSubtitles) plus the checks of a `--subtitles FILE[:LANG]`.
 */

/** Text subtitle codecs ffmpeg decodes to text (its webvtt encoder takes them): these become WebVTT. */
const TEXT_CODECS = new Set([
  'subrip',
  'srt',
  'ass',
  'ssa',
  'mov_text',
  'webvtt',
  'text',
  'subviewer',
  'subviewer1',
  'microdvd',
  'sami',
  'realtext',
  'mpl2',
  'pjs',
  'vplayer',
  'jacosub',
  'stl',
]);
/** Bitmap subtitle codecs: pictures, which cannot become WebVTT without OCR. */
const BITMAP_CODECS = new Set(['hdmv_pgs_subtitle', 'dvb_subtitle', 'dvd_subtitle', 'xsub']);

/** A sidecar subtitle file given with `--subtitles FILE[:LANG]`, checked (checkSidecar). */
export interface SidecarSubtitle {
  /** absolute path */
  path: string;
  format: SidecarFormat;
  /** BCP 47 tag; null when not given */
  language: string | null;
  /** the code as given, when it has three letters (ISO 639-2, for MP4 files) */
  iso639?: string | null;
}

const SIDECAR_FORMATS: Record<string, SidecarFormat> = { '.srt': 'srt', '.vtt': 'webvtt', '.webvtt': 'webvtt', '.ass': 'ass', '.ssa': 'ass' };

/**
 * `FILE[:LANG]` -> file and language. The part after the last `:` is a language only when it looks
 * like a tag (`en`, `fra`, `pt-BR`), so `C:\subs.srt` and `a:b.srt` stay paths.
 */
export function parseSubtitlesArg(arg: string): { file: string; language: string | null; iso639: string | null } {
  const m = /^(.+):([A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)$/.exec(arg);
  if (!m) return { file: arg, language: null, iso639: null };
  const language = languageTag(m[2]);
  if (!language)
    throw new StreamkitError('USAGE', `--subtitles ${arg}: "${m[2]}" is not a language tag.`, { hint: 'Use a BCP 47 / ISO 639 code: en, fra, pt-BR.', details: { arg } });
  return { file: m[1]!, language, iso639: iso639Of(m[2]) };
}

/** A three-letter ISO 639-2 code as the MP4 muxer wants it (lower case), or null. */
function iso639Of(raw: string | null | undefined): string | null {
  return raw && /^[A-Za-z]{3}$/.test(raw) && languageTag(raw) ? raw.toLowerCase() : null;
}

/**
 * A sidecar is a regular, non-empty .srt, .vtt or .ass/.ssa file whose content is not a playlist. The
 * path is only ever given to ffmpeg as `file:` with its demuxer named, so it is read as that file and
 * nothing else.
 */
export async function checkSidecar(arg: string): Promise<SidecarSubtitle> {
  const { file, language, iso639 } = parseSubtitlesArg(arg);
  const path = resolve(file);
  const format = SIDECAR_FORMATS[extname(path).toLowerCase()];
  if (!format)
    throw new StreamkitError('USAGE', `--subtitles ${file}: expected a .srt, .vtt, .ass or .ssa file.`, {
      hint: 'Convert other formats to SubRip or WebVTT first.',
      details: { file },
    });
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new StreamkitError('INPUT_UNREADABLE', `Subtitles ${file} is not a regular file.`, { details: { file } });
    size = st.size;
  } catch (error) {
    if (error instanceof StreamkitError) throw error;
    throw new StreamkitError('INPUT_MISSING', `Subtitles file not found: ${file}`, { hint: 'Check the path given to --subtitles.', details: { file } });
  }
  if (size === 0) throw new StreamkitError('INPUT_NOT_MEDIA', `Subtitles file is empty: ${file}`, { details: { file } });
  const fh = await open(path, 'r');
  let head: string;
  try {
    const buf = Buffer.alloc(Math.min(64, size));
    await fh.read(buf, 0, buf.length, 0);
    head = buf
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart();
  } finally {
    await fh.close();
  }
  if (/^#EXTM3U|^ffconcat|^<\?xml|^<MPD/i.test(head))
    throw new StreamkitError('INPUT_REFUSED', `Refusing subtitles ${file}: it is a playlist or manifest, not a subtitle file.`, { details: { file } });
  return { path, format, language, iso639 };
}

export interface SubtitlePlan {
  renditions: SubtitleRendition[];
  /** one per decision: each rendition made, each stream or file left out and why */
  notes: string[];
}

function describeStream(s: SubtitleInfo): string {
  return `subtitle stream #${s.index} (${s.codec}${s.language ? `, ${s.language}` : ''}${s.title ? `, "${s.title}"` : ''})`;
}

/**
 * The WebVTT renditions of a package: every text subtitle stream of the source, in order, then every
 * sidecar file. Bitmap streams (PGS, DVB, VobSub) and unknown codecs are left out with a note; so is
 * everything when the preset says `packaging.subtitles: false` or there is no HLS target. NAME from
 * the title, else the language's name, else "Subtitles N"; DEFAULT and FORCED from the source's
 * dispositions (at most one DEFAULT=YES); AUTOSELECT=YES on all.
 */
export function planSubtitles(
  media: Pick<MediaInfo, 'subtitles'>,
  sidecars: readonly SidecarSubtitle[],
  target: {
    enabled: boolean;
    hls: boolean;
    /** MP4 files in the package: they carry every rendition as a mov_text track */
    mp4?: boolean;
    /** FLV files: they cannot carry subtitles (said once) */
    flv?: boolean;
  },
): SubtitlePlan {
  const streams = media.subtitles ?? [];
  const notes: string[] = [];
  if (streams.length === 0 && sidecars.length === 0) return { renditions: [], notes };
  const all = [...streams.map(describeStream), ...sidecars.map((f) => `subtitles file ${basename(f.path)}`)];
  if (!target.enabled) return { renditions: [], notes: [`subtitles: left out (packaging.subtitles is false): ${all.join('; ')}`] };
  if (!target.hls && !target.mp4) return { renditions: [], notes: [`subtitles: left out (no HLS or MP4 target; FLV cannot carry them): ${all.join('; ')}`] };
  const renditions: SubtitleRendition[] = [];
  const names = new Map<string, number>();
  const add = (r: Omit<SubtitleRendition, 'dir' | 'name' | 'autoselect' | 'iso639'>, title: string | null, iso639: string | null): SubtitleRendition => {
    const n = renditions.length + 1;
    let name = title ?? (r.language ? languageName(r.language) : `Subtitles ${n}`);
    const seen = names.get(name) ?? 0;
    names.set(name, seen + 1);
    if (seen > 0) name = `${name} ${seen + 1}`;
    const rendition = { ...r, dir: `subs-${n}`, name, autoselect: true, iso639 };
    renditions.push(rendition);
    return rendition;
  };
  const into = [...(target.hls ? ['WebVTT'] : []), ...(target.mp4 ? ['mov_text in the MP4 files'] : [])].join(' + ');
  const said = (r: SubtitleRendition, from: string): string =>
    `subtitles: ${from} -> ${r.dir} ${into} "${r.name}" [${r.language ?? 'und'}]${r.default ? ', default' : ''}${r.forced ? ', forced' : ''}`;
  let order = 0;
  for (const s of streams) {
    const n = order++;
    if (BITMAP_CODECS.has(s.codec)) {
      notes.push(`subtitles: ${describeStream(s)} left out: bitmap subtitles cannot become WebVTT`);
      continue;
    }
    if (!TEXT_CODECS.has(s.codec)) {
      notes.push(`subtitles: ${describeStream(s)} left out: ${s.codec} is not a text subtitle format streamkit converts to WebVTT`);
      continue;
    }
    const r = add(
      {
        language: languageTag(s.language),
        default: s.default && !renditions.some((x) => x.default),
        forced: s.forced,
        source: { kind: 'stream', order: n, index: s.index, codec: s.codec },
      },
      s.title,
      iso639Of(s.language),
    );
    notes.push(said(r, describeStream(s)));
  }
  for (const f of sidecars) {
    const r = add({ language: f.language, default: false, forced: false, source: { kind: 'file', path: f.path, format: f.format } }, null, f.iso639 ?? null);
    notes.push(said(r, `subtitles file ${basename(f.path)}`));
  }
  if (target.flv && renditions.length > 0) notes.push('subtitles: the FLV files carry no subtitles (FLV has no subtitle track)');
  return { renditions, notes };
}
