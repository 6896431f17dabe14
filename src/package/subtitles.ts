/**
 * WebVTT subtitle renditions, pure: the full WebVTT ffmpeg converted from the source is parsed, cut
 * into one file per video segment, each with the X-TIMESTAMP-MAP that places its cues on the
 * package's MPEG-TS / fMP4 timeline, and announced in master.m3u8.
 */
import type { SubtitleRendition } from '../plan.js';

export interface VttCue {
  /** seconds, on the WebVTT's own clock (ffmpeg's output time: 0 is the input's start) */
  start: number;
  end: number;
  /** the identifier line, when there is one */
  id: string | null;
  /** cue settings after the timings (`align:start line:90%`), as written */
  settings: string;
  /** payload lines */
  text: string;
}

const TIME = /^(?:(\d+):)?(\d{1,2}):(\d{2})\.(\d{3})$/;

function parseTime(t: string): number {
  const m = TIME.exec(t.trim());
  if (!m) throw new Error(`bad WebVTT timestamp ${t}`);
  return ((Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 + Number(m[4])) / 1000;
}

/** hh:mm:ss.ttt from seconds (whole milliseconds). */
function vttTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** The cues of a WebVTT file (header, NOTE, STYLE and REGION blocks are skipped). */
export function parseVtt(text: string): VttCue[] {
  const body = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (!/^WEBVTT(?:[ \t]|\n|$)/.test(body)) throw new Error('not a WebVTT file: it does not start with WEBVTT');
  const cues: VttCue[] = [];
  for (const block of body.split(/\n{2,}/).slice(1)) {
    const lines = block.split('\n').filter((l, i, a) => !(l === '' && (i === 0 || i === a.length - 1)));
    if (lines.length === 0) continue;
    const arrow = lines.findIndex((l) => l.includes('-->'));
    if (arrow < 0 || arrow > 1) continue;
    const [from, rest] = lines[arrow]!.split('-->') as [string, string];
    const [to, ...settings] = rest.trim().split(/[ \t]+/);
    cues.push({
      start: parseTime(from),
      end: parseTime(to ?? ''),
      id: arrow === 1 ? lines[0]! : null,
      settings: settings.join(' '),
      text: lines.slice(arrow + 1).join('\n'),
    });
  }
  return cues;
}

/**
 * The 90 kHz timestamp of WebVTT time 0 (the input's start, which ffmpeg moves to zero for the
 * encode and for the subtitle conversion alike), measured: where the first rung's first frame is in
 * the package (its first PTS, `videoFirstPts`) less where the source puts it (`videoStart`). Not
 * just the timeline offset: ffmpeg's MPEG-TS muxer adds its own 1.4 s (twice its 0.7 s mux delay) on
 * top of output_ts_offset, so TS video starts at offset + 1.4 s while fMP4 (tfdt) starts at offset.
 */
export function mpegtsAtZero(videoFirstPts: number, videoStart: number): number {
  return Math.round((videoFirstPts - videoStart) * 90_000);
}

function cueText(c: VttCue): string {
  return `${c.id !== null ? `${c.id}\n` : ''}${vttTime(c.start)} --> ${vttTime(c.end)}${c.settings ? ` ${c.settings}` : ''}\n${c.text}\n`;
}

/** One segment's WebVTT file: the header with X-TIMESTAMP-MAP, then its cues with their original times. */
export function segmentVtt(cues: readonly VttCue[], mpegts: number): string {
  return [`WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:${mpegts},LOCAL:00:00:00.000\n`, ...cues.map(cueText)].join('\n');
}

/**
 * The cues of each segment. Segment k covers [starts[k], starts[k+1]) on the WebVTT clock; the first
 * also takes everything before it, the last everything after. A cue that spans a boundary is in
 * every segment it overlaps (players drop the repeats: same times, same text), so it shows whichever
 * segment a player loads first. A zero-length cue belongs to the segment its time falls in.
 */
export function cutCues(cues: readonly VttCue[], starts: readonly number[]): VttCue[][] {
  return starts.map((_, k) => {
    const from = k === 0 ? Number.NEGATIVE_INFINITY : starts[k]!;
    const to = k === starts.length - 1 ? Number.POSITIVE_INFINITY : starts[k + 1]!;
    return cues.filter((c) => (c.end > c.start ? c.start < to && c.end > from : c.start >= from && c.start < to));
  });
}

/** Segment file names of a subtitle rendition: seg_00000.vtt... (like the video's). */
export function subtitleSegmentName(k: number): string {
  return `seg_${String(k).padStart(5, '0')}.vtt`;
}

function quoted(s: string): string {
  return `"${s.replace(/["\r\n]/g, "'")}"`;
}

const SUBTITLES_GROUP = 'subs';

/** The EXT-X-MEDIA line of a subtitle rendition. */
function subtitleMediaLine(r: Pick<SubtitleRendition, 'dir' | 'name' | 'language' | 'default' | 'forced' | 'autoselect'>): string {
  const attrs = [
    'TYPE=SUBTITLES',
    `GROUP-ID=${quoted(SUBTITLES_GROUP)}`,
    `NAME=${quoted(r.name)}`,
    ...(r.language ? [`LANGUAGE=${quoted(r.language)}`] : []),
    `DEFAULT=${r.default ? 'YES' : 'NO'}`,
    // RFC 8216: AUTOSELECT must be YES when DEFAULT is
    `AUTOSELECT=${r.autoselect || r.default ? 'YES' : 'NO'}`,
    `FORCED=${r.forced ? 'YES' : 'NO'}`,
    `URI=${quoted(`${r.dir}/index.m3u8`)}`,
  ];
  return `#EXT-X-MEDIA:${attrs.join(',')}`;
}

/**
 * master.m3u8 with the subtitle renditions: their EXT-X-MEDIA lines after the other EXT-X-MEDIA
 * lines (before the first variant), and SUBTITLES="subs" on every EXT-X-STREAM-INF (not on I-frame
 * streams, which carry no subtitles).
 */
export function withSubtitles(master: string, renditions: readonly SubtitleRendition[]): string {
  if (renditions.length === 0) return master;
  const lines = master.split('\n');
  const lastMedia = lines.reduce((at, l, i) => (l.startsWith('#EXT-X-MEDIA:') ? i : at), -1);
  const firstVariant = lines.findIndex((l) => l.startsWith('#EXT-X-STREAM-INF:'));
  if (firstVariant < 0) throw new Error('master playlist has no EXT-X-STREAM-INF');
  const at = lastMedia >= 0 ? lastMedia + 1 : firstVariant;
  const out = lines.map((l) => (l.startsWith('#EXT-X-STREAM-INF:') ? `${l},SUBTITLES=${quoted(SUBTITLES_GROUP)}` : l));
  out.splice(at, 0, ...renditions.map(subtitleMediaLine));
  return out.join('\n');
}

/** One subtitle rendition as made (streamkit.json `subtitles`). */
export interface SubtitleReport {
  dir: string;
  name: string;
  language: string | null;
  default: boolean;
  forced: boolean;
  /** `stream #N (codec)` or the sidecar file's name */
  from: string;
  /** cues in the source (a cue that spans a segment boundary is in each segment it overlaps) */
  cues: number;
  segments: number;
  /** X-TIMESTAMP-MAP MPEGTS value of every segment */
  mpegts: number;
  sizeBytes: number;
  /** DASH: the whole WebVTT (sidecar) relative to the package folder; its bytes are in sizeBytes */
  sidecar?: string;
}
