/**
 * HLS playlists as data (RFC 8216 names), parsed from what ffmpeg wrote and written back by
 * streamkit with the tags and EXT-X-VERSION each feature needs. Pure: strings in, strings out.
 */

export interface MediaSegment {
  uri: string;
  /** EXTINF, seconds */
  duration: number;
  /** EXT-X-BYTERANGE: the segment is this part of `uri` (single-file layout) */
  byteRange?: ByteRange;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface MediaPlaylist {
  segments: MediaSegment[];
  /** EXT-X-MAP URI (fMP4 init segment) */
  mapUri: string | null;
  endList: boolean;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist: first line is not #EXTM3U');
  const segments: MediaSegment[] = [];
  let mapUri: string | null = null;
  let endList = false;
  let pending: number | null = null;
  let range: ByteRange | null = null;
  let rangeEnd = 0;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (line.startsWith('#EXT-X-BYTERANGE:')) {
      const m = /^(\d+)(?:@(\d+))?$/.exec(line.slice(17));
      if (!m) throw new Error(`bad EXT-X-BYTERANGE line: ${line}`);
      // without @offset: right after the previous range of the same resource (RFC 8216 4.3.2.2)
      range = { length: Number(m[1]), offset: m[2] !== undefined ? Number(m[2]) : rangeEnd };
      rangeEnd = range.offset + range.length;
    } else if (line.startsWith('#EXTINF:')) {
      pending = Number(line.slice(8).split(',')[0]);
      if (!Number.isFinite(pending)) throw new Error(`bad EXTINF line: ${line}`);
    } else if (line.startsWith('#EXT-X-MAP:')) {
      mapUri = /URI="([^"]*)"/.exec(line)?.[1] ?? null;
    } else if (line === '#EXT-X-ENDLIST') {
      endList = true;
    } else if (!line.startsWith('#')) {
      if (pending === null) throw new Error(`segment ${line} has no EXTINF`);
      segments.push({ uri: line, duration: pending, ...(range ? { byteRange: range } : {}) });
      pending = null;
      range = null;
    }
  }
  return { segments, mapUri, endList };
}

/** RFC 8216 4.3.3.1: every EXTINF rounded to the nearest integer must be <= the target duration. */
export function targetDuration(durations: readonly number[]): number {
  return Math.max(1, ...durations.map((d) => Math.round(d)));
}

function extinf(d: number): string {
  return `#EXTINF:${d.toFixed(6)},`;
}

/**
 * A VOD media playlist. Version: 3 for decimal EXTINF; 6 when EXT-X-MAP is used outside an
 * I-frames-only playlist (RFC 8216 section 7).
 */
export function writeMediaPlaylist(p: { segments: readonly MediaSegment[]; mapUri: string | null; mapByteRange?: ByteRange }): string {
  const version = p.mapUri ? 6 : 3;
  const out = [
    '#EXTM3U',
    `#EXT-X-VERSION:${version}`,
    `#EXT-X-TARGETDURATION:${targetDuration(p.segments.map((s) => s.duration))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (p.mapUri) out.push(`#EXT-X-MAP:URI="${p.mapUri}"${p.mapByteRange ? `,BYTERANGE="${p.mapByteRange.length}@${p.mapByteRange.offset}"` : ''}`);
  for (const s of p.segments) out.push(extinf(s.duration), ...(s.byteRange ? [`#EXT-X-BYTERANGE:${s.byteRange.length}@${s.byteRange.offset}`] : []), s.uri);
  out.push('#EXT-X-ENDLIST', '');
  return out.join('\n');
}

export interface IFrame {
  uri: string;
  offset: number;
  length: number;
  /** seconds until the next I-frame (or the end of the presentation) */
  duration: number;
}

/**
 * An I-frame playlist (EXT-X-I-FRAMES-ONLY). EXT-X-BYTERANGE needs version 4, EXT-X-MAP in an
 * I-frames-only playlist version 5. For MPEG-TS, the map is the PAT/PMT at the start of the first
 * segment (as a byte range), so that I-frames in the middle of a segment decode on their own.
 */
export function writeIFramePlaylist(p: { frames: readonly IFrame[]; map: { uri: string; byteRange?: { offset: number; length: number } } | null }): string {
  const out = [
    '#EXTM3U',
    `#EXT-X-VERSION:${p.map ? 5 : 4}`,
    `#EXT-X-TARGETDURATION:${targetDuration(p.frames.map((f) => f.duration))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-I-FRAMES-ONLY',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (p.map) {
    const br = p.map.byteRange ? `,BYTERANGE="${p.map.byteRange.length}@${p.map.byteRange.offset}"` : '';
    out.push(`#EXT-X-MAP:URI="${p.map.uri}"${br}`);
  }
  for (const f of p.frames) out.push(extinf(f.duration), `#EXT-X-BYTERANGE:${f.length}@${f.offset}`, f.uri);
  out.push('#EXT-X-ENDLIST', '');
  return out.join('\n');
}

/** Names follow the HLS spec (and hls.js's level.ts): BANDWIDTH, AVERAGE-BANDWIDTH, CODECS... */
export interface VariantStream {
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string[];
  resolution: { width: number; height: number };
  frameRate: number;
  audioGroup: string | null;
  /** VIDEO-RANGE: written for PQ and HLG; absent means SDR (RFC 8216bis) */
  videoRange?: 'PQ' | 'HLG';
}

export interface IFrameStream {
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string[];
  resolution: { width: number; height: number };
  videoRange?: 'PQ' | 'HLG';
}

export interface AudioMedia {
  groupId: string;
  name: string;
  language: string | null;
  default: boolean;
  channels: number;
  uri: string;
}

function quoted(s: string): string {
  // quoted-string: no double quotes, CR or LF
  return `"${s.replace(/["\r\n]/g, "'")}"`;
}

export function writeMasterPlaylist(p: { version: number; variants: readonly VariantStream[]; iframes: readonly IFrameStream[]; audio: readonly AudioMedia[] }): string {
  const out = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const a of p.audio) {
    const attrs = [
      'TYPE=AUDIO',
      `GROUP-ID=${quoted(a.groupId)}`,
      `NAME=${quoted(a.name)}`,
      `LANGUAGE=${quoted(a.language ?? 'und')}`,
      `DEFAULT=${a.default ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
      `CHANNELS=${quoted(String(a.channels))}`,
      `URI=${quoted(a.uri)}`,
    ];
    out.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
  }
  for (const v of p.variants) {
    const attrs = [
      `BANDWIDTH=${Math.ceil(v.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidth)}`,
      `CODECS=${quoted(v.codecs.join(','))}`,
      `RESOLUTION=${v.resolution.width}x${v.resolution.height}`,
      `FRAME-RATE=${v.frameRate.toFixed(3)}`,
      ...(v.audioGroup ? [`AUDIO=${quoted(v.audioGroup)}`] : []),
      ...(v.videoRange ? [`VIDEO-RANGE=${v.videoRange}`] : []),
    ];
    out.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  for (const f of p.iframes) {
    const attrs = [
      `BANDWIDTH=${Math.ceil(f.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.ceil(f.averageBandwidth)}`,
      `CODECS=${quoted(f.codecs.join(','))}`,
      `RESOLUTION=${f.resolution.width}x${f.resolution.height}`,
      ...(f.videoRange ? [`VIDEO-RANGE=${f.videoRange}`] : []),
      `URI=${quoted(f.uri)}`,
    ];
    out.push(`#EXT-X-I-FRAME-STREAM-INF:${attrs.join(',')}`);
  }
  out.push('');
  return out.join('\n');
}

/** Parse a master playlist back (tests, `probe` of a package): attribute lists as maps. */
export function parseAttributes(list: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  for (let m = re.exec(list); m; m = re.exec(list)) out[m[1]!] = m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : m[2]!;
  return out;
}

export interface ParsedMaster {
  version: number | null;
  independentSegments: boolean;
  variants: { attrs: Record<string, string>; uri: string }[];
  iframes: Record<string, string>[];
  media: Record<string, string>[];
}

export function parseMasterPlaylist(text: string): ParsedMaster {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist');
  const res: ParsedMaster = { version: null, independentSegments: false, variants: [], iframes: [], media: [] };
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('#EXT-X-VERSION:')) res.version = Number(l.slice(15));
    else if (l === '#EXT-X-INDEPENDENT-SEGMENTS') res.independentSegments = true;
    else if (l.startsWith('#EXT-X-STREAM-INF:')) res.variants.push({ attrs: parseAttributes(l.slice(18)), uri: lines[++i] ?? '' });
    else if (l.startsWith('#EXT-X-I-FRAME-STREAM-INF:')) res.iframes.push(parseAttributes(l.slice(26)));
    else if (l.startsWith('#EXT-X-MEDIA:')) res.media.push(parseAttributes(l.slice(13)));
  }
  return res;
}
