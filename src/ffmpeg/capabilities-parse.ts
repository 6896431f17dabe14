/**
 * Pure parsers for ffmpeg's capability listings. Formats as printed by
 * ffmpeg 5.1 (fixtures in test/fixtures/capabilities), tolerant of the small
 * layout differences of 4.x-7.x.
 *
 * `ffmpeg -hide_banner -encoders`:
 *   Encoders:
 *    V..... = Video
 *    ...                      (legend)
 *    ------
 *    V....D libx264              libx264 H.264 / AVC / ... (codec h264)
 *
 * `ffmpeg -hide_banner -muxers` (D/E columns are ' ' or the letter; 6.1+
 * adds a third `d` device column):
 *   File formats:
 *    D. = Demuxing supported
 *    .E = Muxing supported
 *    --
 *     E mp4             MP4 (MPEG-4 Part 14)
 *     E stream_segment,ssegment streaming segment muxer
 *
 * `ffmpeg -hide_banner -filters` (no separator line in 5.1):
 *    TSC overlay           VV->V      Overlay a video source on top of the input.
 *
 * `ffmpeg -hide_banner -hwaccels`:
 *   Hardware acceleration methods:
 *   vdpau
 *   cuda
 */

export interface EncoderEntry {
  name: string;
  type: 'video' | 'audio' | 'subtitle';
  description: string;
}

export interface VersionInfo {
  /** Version token after `version`, e.g. '5.1.9-0+deb12u1', 'N-109421-g1234abcd', '7.1'. */
  raw: string;
  /** Null for git builds ('N-...', '2023-03-05-git-...') or when no version line is found. */
  major: number | null;
  minor: number | null;
  /** The `--enable-...` flags of the `configuration:` line, in order. */
  configuration: string[];
}

function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Lines after the first separator line (` ------`, ` --`); all lines when there is none. */
function linesAfterSeparator(text: string): string[] {
  const all = lines(text);
  const sep = all.findIndex((l) => /^\s*-{2,}\s*$/.test(l));
  return sep === -1 ? all : all.slice(sep + 1);
}

const ENCODER_TYPES: Readonly<Record<string, EncoderEntry['type']>> = {
  V: 'video',
  A: 'audio',
  S: 'subtitle',
};

// ' V....D libx264              libx264 H.264 ...': type letter + 5 capability flags.
const ENCODER_LINE_RE = /^\s*([VAS])[A-Z.]{5}\s+(\S+)(?:\s+(.*?))?\s*$/;

/** Entries of `ffmpeg -hide_banner -encoders` (the `-decoders` layout is the same). */
export function parseEncoders(text: string): EncoderEntry[] {
  const out: EncoderEntry[] = [];
  for (const line of linesAfterSeparator(text)) {
    const m = ENCODER_LINE_RE.exec(line);
    if (!m) continue;
    const type = ENCODER_TYPES[m[1] ?? ''];
    const name = m[2];
    if (type === undefined || name === undefined || name === '=') continue;
    out.push({ name, type, description: m[3] ?? '' });
  }
  return out;
}

// '  E mp4  ...', ' DE matroska,webm ...', ' D  aac ...', 7.x: '  E  mp4 ...' / ' DEd fbdev'.
const FORMAT_LINE_RE = /^ ([D. ])([E. ])([d. ]?)\s+(\S+)/;

/**
 * Muxer names from `ffmpeg -hide_banner -muxers` (or `-formats`: only lines
 * with the E column set count). Comma lists (`sdl,sdl2`) are split; order is
 * kept, duplicates removed.
 */
export function parseMuxers(text: string): string[] {
  const names = new Set<string>();
  for (const line of linesAfterSeparator(text)) {
    const m = FORMAT_LINE_RE.exec(line);
    if (m?.[2] !== 'E') continue;
    for (const name of (m[4] ?? '').split(',')) {
      if (name !== '' && name !== '=') names.add(name);
    }
  }
  return [...names];
}

// ' TSC overlay           VV->V      Overlay ...', ' ... buffer            |->V       ...'
const FILTER_LINE_RE = /^ [T.][S.][C.] (\S+)\s+\S*->\S*(?:\s|$)/;

/** Filter names from `ffmpeg -hide_banner -filters`. */
export function parseFilters(text: string): string[] {
  const names = new Set<string>();
  for (const line of lines(text)) {
    const m = FILTER_LINE_RE.exec(line);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  return [...names];
}

/** Method names from `ffmpeg -hide_banner -hwaccels` (e.g. cuda, vaapi, qsv). */
export function parseHwaccels(text: string): string[] {
  const all = lines(text);
  const header = all.findIndex((l) => /^\s*Hardware acceleration methods:\s*$/.test(l));
  const names: string[] = [];
  for (const line of all.slice(header + 1)) {
    const name = line.trim();
    if (/^[A-Za-z0-9_]+$/.test(name) && !names.includes(name)) names.push(name);
  }
  return names;
}

const VERSION_LINE_RE = /^\s*(?:ffmpeg|ffprobe|ffplay) version (\S+)/;
// '5.1.9-0+deb12u1', '7.1', 'n6.0', '4.4.2-0ubuntu0.22.04.1', '6.0-full_build-www.gyan.dev'
const RELEASE_RE = /^n?(\d+)\.(\d+)(?!\d)/;

/**
 * `ffmpeg -version` / `ffprobe -version`: version from the first
 * `ffmpeg version X ...` line, `--enable-*` flags from `configuration:`.
 * Text without a version line gives `{ raw: '', major: null, minor: null }`.
 */
export function parseVersion(text: string): VersionInfo {
  let raw = '';
  let configuration: string[] = [];
  let sawVersion = false;
  let sawConfiguration = false;
  for (const line of lines(text)) {
    if (!sawVersion) {
      const m = VERSION_LINE_RE.exec(line);
      if (m?.[1] !== undefined) {
        raw = m[1];
        sawVersion = true;
        continue;
      }
    }
    if (!sawConfiguration) {
      const c = /^\s*configuration:(.*)$/.exec(line);
      if (c) {
        configuration = (c[1] ?? '').split(/\s+/).filter((f) => f.startsWith('--enable-'));
        sawConfiguration = true;
      }
    }
  }
  const rel = RELEASE_RE.exec(raw);
  return {
    raw,
    major: rel ? Number(rel[1]) : null,
    minor: rel ? Number(rel[2]) : null,
    configuration,
  };
}
