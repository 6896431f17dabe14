/**
 * Independent checks of a finished HLS package, against ffprobe and the bytes on disk rather than
 * against what streamkit says about itself. Used by every integration test that makes a package.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { expect } from 'vitest';
import { parseAttributes, parseMasterPlaylist, type ParsedMaster } from '../../src/package/playlist.js';
import { ffprobeJson, run } from './media.js';
import { FFMPEG } from './requirements.js';

export interface CheckOptions {
  /** expected FRAME-RATE of every variant */
  fps?: number;
  /** expected video duration in seconds (checked to within two frames and 0.1 s) */
  duration?: number;
  /** expected number of audio renditions (EXT-X-MEDIA TYPE=AUDIO) */
  audioRenditions?: number;
  /** expected RESOLUTION of each variant, by BANDWIDTH, lowest first (whatever the master's order) */
  resolutions?: string[];
  /** expected EXT-X-TARGETDURATION of every media playlist */
  targetDuration?: number;
  /** BANDWIDTH may be at most this times AVERAGE-BANDWIDTH (a tiny last segment would inflate it) */
  maxPeakToAverage?: number;
}

export interface MediaPlaylistInfo {
  uri: string;
  version: number;
  target: number;
  mapUri: string | null;
  segments: { uri: string; duration: number; bytes: number; start: number }[];
  duration: number;
}

interface Packet {
  pts_time?: string;
  pos?: string;
  flags: string;
}

export interface ProbeStream {
  codec_type: string;
  codec_name: string;
  codec_tag_string?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  channels?: number;
  side_data_list?: { rotation?: number }[];
  extradata?: string;
}

export interface CheckedRung {
  dir: string;
  attrs: Record<string, string>;
  playlist: MediaPlaylistInfo;
  stream: ProbeStream;
  videoCodec: string;
  /** pts of the first video packet of each segment */
  segmentStarts: number[];
  /** pts of every keyframe */
  keyframes: number[];
  iframes: number;
}

export interface CheckedPackage {
  master: ParsedMaster;
  rungs: CheckedRung[];
  audio: { attrs: Record<string, string>; playlist: MediaPlaylistInfo; stream: ProbeStream }[];
}

const H264_PROFILE_IDC: Record<string, number> = {
  'Constrained Baseline': 66,
  Baseline: 66,
  Main: 77,
  Extended: 88,
  High: 100,
  'High 10': 110,
  'High 4:2:2': 122,
  'High 4:4:4 Predictive': 244,
};
const HEVC_PROFILE_IDC: Record<string, number> = { Main: 1, 'Main 10': 2, 'Main Still Picture': 3, Rext: 4 };
const AV1_PROFILE: Record<string, number> = { Main: 0, High: 1, Professional: 2 };
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Read and check one media playlist: VOD, ENDLIST, TARGETDURATION rule, files present. */
async function readMediaPlaylist(root: string, uri: string): Promise<MediaPlaylistInfo> {
  const file = join(root, uri);
  const text = await readFile(file, 'utf8');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  expect(lines[0], uri).toBe('#EXTM3U');
  const tag = (name: string): string | undefined => lines.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1);
  expect(tag('#EXT-X-PLAYLIST-TYPE'), `${uri} PLAYLIST-TYPE`).toBe('VOD');
  expect(lines[lines.length - 1], `${uri} ends with ENDLIST`).toBe('#EXT-X-ENDLIST');
  const version = Number(tag('#EXT-X-VERSION'));
  const target = Number(tag('#EXT-X-TARGETDURATION'));
  expect(Number.isInteger(target) && target > 0, `${uri} TARGETDURATION ${target}`).toBe(true);
  const mapUri = /URI="([^"]+)"/.exec(tag('#EXT-X-MAP') ?? '')?.[1] ?? null;
  // EXT-X-MAP outside an I-frame playlist needs version 6; decimal EXTINF needs 3
  expect(version, `${uri} EXT-X-VERSION`).toBeGreaterThanOrEqual(mapUri ? 6 : 3);
  const segments: MediaPlaylistInfo['segments'] = [];
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.startsWith('#EXTINF:')) continue;
    const duration = Number(l.slice(8).split(',')[0]);
    const segUri = lines[i + 1]!;
    expect(segUri.startsWith('#'), `${uri}: EXTINF followed by a URI`).toBe(false);
    expect(Math.round(duration), `${uri} ${segUri}: round(EXTINF ${duration}) <= TARGETDURATION ${target}`).toBeLessThanOrEqual(target);
    const segFile = join(dirname(file), segUri);
    expect(existsSync(segFile), `${segFile} exists`).toBe(true);
    const bytes = (await stat(segFile)).size;
    expect(bytes, `${segFile} is not empty`).toBeGreaterThan(0);
    segments.push({ uri: segUri, duration, bytes, start });
    start += duration;
  }
  expect(segments.length, `${uri} has segments`).toBeGreaterThan(0);
  if (mapUri) expect(existsSync(join(dirname(file), mapUri)), `${uri} map ${mapUri}`).toBe(true);
  return { uri, version, target, mapUri, segments, duration: start };
}

/** init (if any) + every segment of a media playlist in one file: a valid TS stream or fragmented MP4. Returns the file and each segment's byte range in it. */
async function concatenated(root: string, p: MediaPlaylistInfo, scratch: string): Promise<{ file: string; ranges: [number, number][] }> {
  const dir = dirname(join(root, p.uri));
  const parts = [p.mapUri ? await readFile(join(dir, p.mapUri)) : Buffer.alloc(0)];
  const ranges: [number, number][] = [];
  let at = parts[0]!.length;
  for (const s of p.segments) {
    const b = await readFile(join(dir, s.uri));
    parts.push(b);
    ranges.push([at, at + b.length]);
    at += b.length;
  }
  const file = join(scratch, `${basename(dir)}-all.${p.mapUri ? 'mp4' : 'ts'}`);
  await writeFile(file, Buffer.concat(parts));
  return { file, ranges };
}

/** The first stream of a kind and (for video) all its packets with byte positions, in one ffprobe run. */
async function probe(file: string, kind: 'v' | 'a', withPackets: boolean): Promise<{ stream: ProbeStream; packets: Packet[] }> {
  const entries = 'stream=codec_type,codec_name,codec_tag_string,profile,level,width,height,pix_fmt,sample_aspect_ratio,channels,extradata:stream_side_data=rotation';
  const r = await ffprobeJson<{ streams: ProbeStream[]; packets?: Packet[] }>([
    '-select_streams',
    `${kind}:0`,
    '-show_data',
    '-show_entries',
    withPackets ? `${entries}:packet=pts_time,flags,pos` : entries,
    `file:${file}`,
  ]);
  expect(r.streams.length, `${file} has a ${kind} stream`).toBe(1);
  return { stream: r.streams[0]!, packets: r.packets ?? [] };
}

/** ffprobe's hex dump ("00000000: 0000 0167 42c0 ...  ascii") back to bytes. */
function hexDump(dump: string | undefined): Buffer {
  const hex = (dump ?? '')
    .split('\n')
    .map((l) => /^[0-9a-f]{8}: ((?:[0-9a-f]{2,4} ?)+)/.exec(l)?.[1]?.replace(/ /g, '') ?? '')
    .join('');
  return Buffer.from(hex, 'hex');
}

/** avc1.PPCCLL from the SPS (Annex B extradata in TS, avcC in MP4), cross-checked with ffprobe's profile and level. */
export function expectedAvc(stream: ProbeStream): string {
  const x = hexDump(stream.extradata);
  let bytes: [number, number, number] | null = null;
  if (x[0] === 1) {
    bytes = [x[1]!, x[2]!, x[3]!]; // avcC: configurationVersion, profile, constraints, level
  } else {
    for (let i = 0; i + 6 < x.length; i++) {
      if (x[i] === 0 && x[i + 1] === 0 && x[i + 2] === 1 && (x[i + 3]! & 0x1f) === 7) {
        bytes = [x[i + 4]!, x[i + 5]!, x[i + 6]!];
        break;
      }
    }
  }
  expect(bytes, 'an SPS in the H.264 decoder configuration').not.toBeNull();
  const [profile, constraints, level] = bytes!;
  expect(profile, `SPS profile_idc vs ffprobe profile ${stream.profile}`).toBe(H264_PROFILE_IDC[stream.profile ?? '']);
  expect(level, 'SPS level_idc vs ffprobe level').toBe(stream.level);
  return `avc1.${hex2(profile)}${hex2(constraints)}${hex2(level)}`;
}

function boxPayload(buf: Buffer, type: string): Buffer {
  const at = buf.indexOf(Buffer.from(type, 'latin1'));
  expect(at, `a ${type} box`).toBeGreaterThan(3);
  const size = buf.readUInt32BE(at - 4);
  return buf.subarray(at + 4, at - 4 + size);
}

/** hvc1.… per ISO/IEC 14496-15 Annex E, from the hvcC record in the init segment, cross-checked with ffprobe. */
export function expectedHevc(init: Buffer, stream: ProbeStream): string {
  const c = boxPayload(init, 'hvcC');
  const space = c[1]! >> 6;
  const tier = (c[1]! >> 5) & 1;
  const profile = c[1]! & 0x1f;
  const compat = c.readUInt32BE(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++) reversed = reversed * 2 + ((compat >>> i) & 1);
  const constraints = [...c.subarray(6, 12)];
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const level = c[12]!;
  expect(profile, `hvcC profile vs ffprobe ${stream.profile}`).toBe(HEVC_PROFILE_IDC[stream.profile ?? '']);
  expect(level, 'hvcC level vs ffprobe level').toBe(stream.level);
  expect(stream.codec_tag_string, 'HEVC sample entry').toBe('hvc1');
  return [
    'hvc1',
    `${['', 'A', 'B', 'C'][space]}${profile}`,
    reversed.toString(16).toUpperCase(),
    `${tier ? 'H' : 'L'}${level}`,
    ...constraints.map((b) => hex2(b).toUpperCase()),
  ].join('.');
}

/** The mandatory part av01.P.LLT.DD (and the chroma fields) from the av1C record, cross-checked with ffprobe. */
export function checkAv1(codec: string, init: Buffer, stream: ProbeStream): void {
  const c = boxPayload(init, 'av1C');
  const profile = c[1]! >> 5;
  const level = c[1]! & 0x1f;
  const tier = c[2]! >> 7;
  const bitDepth = (c[2]! >> 6) & 1 ? ((c[2]! >> 5) & 1 ? 12 : 10) : 8;
  expect(profile, `av1C profile vs ffprobe ${stream.profile}`).toBe(AV1_PROFILE[stream.profile ?? '']);
  expect(stream.pix_fmt).toBe('yuv420p');
  const parts = codec.split('.');
  expect(parts.slice(0, 4).join('.'), 'AV1 CODECS').toBe(`av01.${profile}.${String(level).padStart(2, '0')}${tier ? 'H' : 'M'}.${String(bitDepth).padStart(2, '0')}`);
  if (parts.length > 4) {
    expect(parts).toHaveLength(10);
    expect(parts[4], 'monochrome').toBe(String((c[2]! >> 4) & 1));
    expect(parts[5], 'chroma subsampling and position').toBe(`${(c[2]! >> 3) & 1}${(c[2]! >> 2) & 1}${c[2]! & 3}`);
  }
}

/**
 * The variant README's start-up rule puts first, worked out again from the files: the highest
 * BANDWIDTH at most 1.5 Mbit/s whose first segment, with the default audio rendition's, is at most
 * 0.5 s of transfer at 1.5 Mbit/s (93,750 bytes); the lowest BANDWIDTH when none is. Among the
 * H.264 variants only, when the package has H.264 and other codecs.
 */
function expectedStartVariant(all: readonly CheckedRung[], audio: readonly { attrs: Record<string, string>; playlist: MediaPlaylistInfo }[]): CheckedRung {
  const link = 1_500_000;
  const audioFirst = (audio.find((a) => a.attrs['DEFAULT'] === 'YES') ?? audio[0])?.playlist.segments[0]?.bytes ?? 0;
  // a multi-codec package starts on a variant every player decodes: H.264 (README "Multi-codec packages")
  const rungs = all.some((r) => r.videoCodec.startsWith('avc1.')) ? all.filter((r) => r.videoCodec.startsWith('avc1.')) : all;
  const byBandwidth = [...rungs].sort((a, b) => Number(a.attrs['BANDWIDTH']) - Number(b.attrs['BANDWIDTH']));
  const fits = byBandwidth.filter((r) => Number(r.attrs['BANDWIDTH']) <= link && r.playlist.segments[0]!.bytes + audioFirst <= (link / 8) * 0.5);
  return fits.at(-1) ?? byBandwidth[0]!;
}

/** Every check that applies to any package; returns what was found for case-specific assertions. */
export async function checkPackage(root: string, opts: CheckOptions = {}): Promise<CheckedPackage> {
  const scratch = await mkdtemp(join(tmpdir(), 'streamkit-check-'));
  try {
    return await checkPackageIn(root, opts, scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function checkPackageIn(root: string, opts: CheckOptions, scratch: string): Promise<CheckedPackage> {
  const master = parseMasterPlaylist(await readFile(join(root, 'master.m3u8'), 'utf8'));
  expect(master.independentSegments, 'EXT-X-INDEPENDENT-SEGMENTS').toBe(true);
  expect(master.variants.length).toBeGreaterThan(0);

  // ---- audio renditions
  const audioMedia = master.media.filter((m) => m['TYPE'] === 'AUDIO');
  if (opts.audioRenditions !== undefined) expect(audioMedia).toHaveLength(opts.audioRenditions);
  const audio = await Promise.all(
    audioMedia.map(async (attrs) => {
      expect(attrs['NAME'], 'EXT-X-MEDIA NAME').toBeTruthy();
      expect(attrs['LANGUAGE'], 'EXT-X-MEDIA LANGUAGE (RFC 5646)').toMatch(/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/);
      expect(attrs['URI']).toBeTruthy();
      const playlist = await readMediaPlaylist(root, attrs['URI']!);
      const { stream } = await probe((await concatenated(root, playlist, scratch)).file, 'a', false);
      // the stereo group is AAC-LC; a surround group (README "Surround sound") is 5.1 E-AC-3, AC-3 or AAC
      if (attrs['CHANNELS'] === '6') expect(['eac3', 'ac3', 'aac']).toContain(stream.codec_name);
      else expect(stream.codec_name).toBe('aac');
      if (stream.codec_name === 'aac') expect(stream.profile).toBe('LC');
      expect(attrs['CHANNELS']).toBe(String(stream.channels));
      return { attrs, playlist, stream };
    }),
  );
  // one group per audio codec: each has one DEFAULT=YES rendition and unique NAMEs
  const groupIds = [...new Set(audioMedia.map((m) => m['GROUP-ID']!))];
  for (const g of groupIds) {
    const members = audioMedia.filter((m) => m['GROUP-ID'] === g);
    expect(
      members.filter((m) => m['DEFAULT'] === 'YES'),
      `one DEFAULT=YES audio rendition in group ${g}`,
    ).toHaveLength(1);
    expect(new Set(members.map((m) => m['NAME'])).size, `unique NAMEs in group ${g}`).toBe(members.length);
    expect(new Set(audio.filter((a) => a.attrs['GROUP-ID'] === g).map((a) => a.stream.codec_name)).size, `one codec in group ${g}`).toBe(1);
  }
  const groupAudio = (id: string | undefined): typeof audio => audio.filter((a) => a.attrs['GROUP-ID'] === id);
  const codecString: Record<string, string> = { aac: 'mp4a.40.2', ac3: 'ac-3', eac3: 'ec-3' };

  // ---- video rungs
  const rungs: CheckedRung[] = [];
  for (const v of master.variants) {
    const playlist = await readMediaPlaylist(root, v.uri);
    const dir = dirname(v.uri);
    const all = await concatenated(root, playlist, scratch);
    const probed = await probe(all.file, 'v', true);
    const stream = probed.stream;
    // the packets of each segment, by byte position (TS: PES start packet; MP4: sample data)
    const packets = all.ranges.map(([from, to]) => probed.packets.filter((p) => Number(p.pos) >= from && Number(p.pos) < to));
    packets.forEach((p, i) => {
      expect(p.length, `${dir}/${playlist.segments[i]!.uri} has video`).toBeGreaterThan(0);
      expect(p[0]!.flags, `${dir}/${playlist.segments[i]!.uri} starts with a keyframe`).toContain('K');
    });
    const segmentStarts = packets.map((p) => Number(p[0]!.pts_time));
    const keyframes = packets.flatMap((p) => p.filter((x) => x.flags.includes('K')).map((x) => Number(x.pts_time)));

    // CODECS from the bitstream
    const codecs = v.attrs['CODECS']!.split(',');
    const videoCodec = codecs.find((c) => /^(avc1|avc3|hvc1|hev1|av01)\./.test(c));
    expect(videoCodec, `${v.uri} CODECS ${v.attrs['CODECS']}`).toBeDefined();
    const init = playlist.mapUri ? await readFile(join(root, dir, playlist.mapUri)) : null;
    if (stream.codec_name === 'h264') expect(videoCodec).toBe(expectedAvc(stream));
    else if (stream.codec_name === 'hevc') expect(videoCodec).toBe(expectedHevc(init!, stream));
    else if (stream.codec_name === 'av1') checkAv1(videoCodec!, init!, stream);
    else throw new Error(`unexpected video codec ${stream.codec_name}`);
    expect(codecs.length, 'CODECS lists video and the audio group codec').toBe(audio.length > 0 ? 2 : 1);
    if (audio.length > 0) {
      expect(groupIds, 'AUDIO group').toContain(v.attrs['AUDIO']);
      expect(codecs).toContain(codecString[groupAudio(v.attrs['AUDIO'])[0]!.stream.codec_name!]);
    } else {
      expect(v.attrs['AUDIO']).toBeUndefined();
    }

    // RESOLUTION, FRAME-RATE, square pixels, no rotation left
    expect(v.attrs['RESOLUTION'], `${v.uri} RESOLUTION`).toBe(`${stream.width}x${stream.height}`);
    expect((stream.width! % 2) + (stream.height! % 2), 'even dimensions').toBe(0);
    expect(['1:1', undefined, 'N/A', '0:1']).toContain(stream.sample_aspect_ratio);
    expect(
      stream.side_data_list?.find((d) => d.rotation !== undefined && d.rotation !== 0),
      'no rotation metadata in the output',
    ).toBeUndefined();
    if (opts.fps !== undefined) expect(v.attrs['FRAME-RATE']).toBe(opts.fps.toFixed(3));

    // EXTINF = distance between segment starts
    const frame = opts.fps ? 1 / opts.fps : 0.05;
    for (let i = 0; i + 1 < segmentStarts.length; i++) {
      expect(Math.abs(segmentStarts[i + 1]! - segmentStarts[i]! - playlist.segments[i]!.duration), `${dir} segment ${i}: EXTINF vs pts`).toBeLessThan(frame / 2 + 0.002);
    }
    if (opts.duration !== undefined) expect(Math.abs(playlist.duration - opts.duration), `${dir} duration ${playlist.duration}`).toBeLessThanOrEqual(2 * frame + 0.1);
    if (opts.targetDuration !== undefined) expect(playlist.target, `${dir} TARGETDURATION`).toBe(opts.targetDuration);

    // I-frame playlist: exists, listed with the same CODECS/RESOLUTION, every byte range starts on a keyframe
    const iframeAttrs = master.iframes.find((f) => f['URI'] === `${dir}/iframes.m3u8`);
    expect(iframeAttrs, `${dir} EXT-X-I-FRAME-STREAM-INF`).toBeDefined();
    expect(iframeAttrs!['CODECS']).toBe(videoCodec);
    expect(iframeAttrs!['RESOLUTION']).toBe(v.attrs['RESOLUTION']);
    // TS: every keyframe is listed. fMP4: ffmpeg writes one fragment per segment (plus one per folded
    // tail), and only a keyframe that starts a fragment can be addressed on its own (its moof first)
    let listed = keyframes;
    if (playlist.mapUri) {
      const fragmentStarts = await Promise.all(playlist.segments.map(async (s) => topLevelBoxes(await readFile(join(root, dir, s.uri))).filter((b) => b === 'moof').length));
      const starts: number[] = [];
      packets.forEach((p, i) => {
        // the first fragment of a segment starts at its first packet; a folded tail's fragment at the segment's last keyframe
        starts.push(Number(p[0]!.pts_time));
        if (fragmentStarts[i]! > 1)
          starts.push(
            ...p
              .filter((x) => x.flags.includes('K'))
              .slice(-(fragmentStarts[i]! - 1))
              .map((x) => Number(x.pts_time)),
          );
      });
      listed = starts;
    }
    const iframes = await checkIFrames(root, `${dir}/iframes.m3u8`, listed, scratch);
    rungs.push({ dir, attrs: v.attrs, playlist, stream, videoCodec: videoCodec!, segmentStarts, keyframes, iframes });
  }

  // ---- alignment: same segment boundaries in every rung
  const ref = rungs[0]!;
  const half = (opts.fps ? 1 / opts.fps : 0.04) / 2;
  for (const r of rungs) {
    expect(r.segmentStarts.length, `${r.dir} segment count`).toBe(ref.segmentStarts.length);
    r.segmentStarts.forEach((t, i) => {
      expect(Math.abs(t - ref.segmentStarts[i]!), `${r.dir} segment ${i} starts at ${t}, ${ref.dir} at ${ref.segmentStarts[i]}`).toBeLessThan(half);
    });
    r.playlist.segments.forEach((s, i) => {
      expect(Math.abs(s.duration - ref.playlist.segments[i]!.duration)).toBeLessThan(0.002);
    });
  }
  for (const a of audio) {
    const n = ref.playlist.segments.length;
    expect(a.playlist.segments.length, 'audio segments: as many as video, or one more').toBeGreaterThanOrEqual(n);
    expect(a.playlist.segments.length).toBeLessThanOrEqual(n + 1);
    expect(Math.abs(a.playlist.duration - ref.playlist.duration), 'audio as long as video').toBeLessThan(0.2);
  }

  // ---- BANDWIDTH >= measured peak (audio included), AVERAGE-BANDWIDTH ~ total/duration
  const audioBitsIn = (a: MediaPlaylistInfo, from: number, to: number): number =>
    a.segments.reduce((bits, s) => {
      const overlap = Math.max(0, Math.min(to, s.start + s.duration) - Math.max(from, s.start));
      return bits + (s.duration > 0 ? (8 * s.bytes * overlap) / s.duration : 0);
    }, 0);
  for (const r of rungs) {
    const bandwidth = Number(r.attrs['BANDWIDTH']);
    const average = Number(r.attrs['AVERAGE-BANDWIDTH']);
    let peak = 0;
    // the variant's own audio group: every rung is listed once per group
    const own = groupAudio(r.attrs['AUDIO']);
    for (const s of r.playlist.segments) {
      const audioBits = Math.max(0, ...own.map((a) => audioBitsIn(a.playlist, s.start, s.start + s.duration)));
      peak = Math.max(peak, (8 * s.bytes + audioBits) / s.duration);
    }
    expect(bandwidth, `${r.dir} BANDWIDTH ${bandwidth} >= measured peak ${Math.round(peak)}`).toBeGreaterThanOrEqual(peak);
    // not inflated either: within 25% of the measured peak
    expect(bandwidth, `${r.dir} BANDWIDTH ${bandwidth} vs measured peak ${Math.round(peak)}`).toBeLessThanOrEqual(peak * 1.25 + 1000);
    const videoBytes = r.playlist.segments.reduce((a, s) => a + s.bytes, 0);
    const audioBytes = Math.max(0, ...own.map((a) => a.playlist.segments.reduce((x, s) => x + s.bytes, 0)));
    const measuredAverage = (8 * (videoBytes + audioBytes)) / r.playlist.duration;
    expect(Math.abs(average - measuredAverage) / measuredAverage, `${r.dir} AVERAGE-BANDWIDTH ${average} vs ${Math.round(measuredAverage)}`).toBeLessThan(0.1);
    expect(bandwidth).toBeGreaterThanOrEqual(average);
    expect(bandwidth / average, `${r.dir} peak/average`).toBeLessThanOrEqual(opts.maxPeakToAverage ?? 1.6);
  }
  // the first group's variants (the stereo AAC group) come first: the start variant, then the others
  // by BANDWIDTH, lowest first (README "Start-up"); then each other group's variants, every rung once
  const firstGroup = rungs[0]!.attrs['AUDIO'];
  const lead = rungs.filter((r) => r.attrs['AUDIO'] === firstGroup);
  const byBandwidth = [...lead].sort((a, b) => Number(a.attrs['BANDWIDTH']) - Number(b.attrs['BANDWIDTH']));
  if (opts.resolutions) expect(byBandwidth.map((r) => r.attrs['RESOLUTION'])).toEqual(opts.resolutions);
  const start = expectedStartVariant(lead, groupAudio(firstGroup));
  expect(
    rungs.slice(0, lead.length).map((r) => r.dir),
    'master order: the start variant, then lowest BANDWIDTH first',
  ).toEqual([start.dir, ...byBandwidth.filter((r) => r !== start).map((r) => r.dir)]);
  if (groupIds.length > 1) {
    expect(firstGroup, 'the stereo AAC group leads').toBe(audio.find((a) => a.attrs['CHANNELS'] !== '6')?.attrs['GROUP-ID']);
    for (const g of groupIds)
      expect(
        rungs
          .filter((r) => r.attrs['AUDIO'] === g)
          .map((r) => r.dir)
          .sort(),
        `every rung once in group ${g}`,
      ).toEqual(lead.map((r) => r.dir).sort());
  }

  // ---- the whole package decodes, every stream of every variant
  const { stderr } = await run(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-i', join(root, 'master.m3u8'), '-map', '0', '-f', 'null', '-']);
  expect(stderr.trim(), 'ffmpeg decodes master.m3u8 without errors').toBe('');

  // ---- the manifest (when there is one) lists every file with its real size and SHA-256: hashed here
  // again from the bytes on disk, since packaging reuses hashes it took while ffmpeg was encoding
  if (existsSync(join(root, 'streamkit.json'))) {
    const manifest = JSON.parse(await readFile(join(root, 'streamkit.json'), 'utf8')) as { outputs: { path: string; size: number; sha256: string }[] };
    const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1));
    expect(manifest.outputs.map((o) => o.path).sort(), 'the manifest lists every file').toEqual(files.filter((f) => f !== 'streamkit.json').sort());
    for (const o of manifest.outputs) {
      const body = await readFile(join(root, o.path));
      expect({ path: o.path, size: o.size, sha256: o.sha256 }).toEqual({ path: o.path, size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    }
  }

  // ---- nothing left over
  const leftovers = (await readdir(root, { recursive: true })).filter((f) => /(^|\/)\.verify-|\.tmp$/.test(String(f)));
  expect(leftovers).toEqual([]);
  expect((await readdir(dirname(root))).filter((f) => f.startsWith('.streamkit-tmp-'))).toEqual([]);
  return { master, rungs, audio };
}

function topLevelBoxes(buf: Buffer): string[] {
  const types: string[] = [];
  for (let off = 0; off + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(off);
    types.push(buf.toString('latin1', off + 4, off + 8));
    if (size < 8) break;
    off += size;
  }
  return types;
}

/** Parse an I-frame playlist and check that each byte range (with its map) decodes to a keyframe at a known keyframe time. */
async function checkIFrames(root: string, uri: string, keyframes: number[], scratch: string): Promise<number> {
  const file = join(root, uri);
  const lines = (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  expect(lines[0]).toBe('#EXTM3U');
  expect(lines).toContain('#EXT-X-I-FRAMES-ONLY');
  expect(lines[lines.length - 1]).toBe('#EXT-X-ENDLIST');
  const target = Number(lines.find((l) => l.startsWith('#EXT-X-TARGETDURATION:'))!.slice(22));
  const mapLine = lines.find((l) => l.startsWith('#EXT-X-MAP:'));
  expect(mapLine, `${uri} EXT-X-MAP`).toBeDefined();
  const map = parseAttributes(mapLine!.slice(11));
  const mapFile = await readFile(join(dirname(file), map['URI']!));
  let mapBytes = mapFile;
  if (map['BYTERANGE']) {
    const [len, off] = map['BYTERANGE'].split('@').map(Number) as [number, number];
    mapBytes = mapFile.subarray(off, off + len);
  }
  const entries: { duration: number; offset: number; length: number; uri: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('#EXTINF:')) continue;
    const duration = Number(lines[i]!.slice(8).split(',')[0]);
    expect(Math.round(duration)).toBeLessThanOrEqual(target);
    expect(lines[i + 1]).toMatch(/^#EXT-X-BYTERANGE:\d+@\d+$/);
    const [length, offset] = lines[i + 1]!.slice(17).split('@').map(Number) as [number, number];
    entries.push({ duration, offset, length, uri: lines[i + 2]! });
  }
  expect(entries.length, `${uri}: one entry per addressable keyframe`).toBe(keyframes.length);
  const segs = new Map<string, Buffer>();
  for (const e of entries) if (!segs.has(e.uri)) segs.set(e.uri, await readFile(join(dirname(file), e.uri)));
  for (const e of entries) expect(e.offset + e.length).toBeLessThanOrEqual(segs.get(e.uri)!.length);
  const range = (e: (typeof entries)[number]): Buffer => segs.get(e.uri)!.subarray(e.offset, e.offset + e.length);
  if (map['BYTERANGE']) {
    // MPEG-TS: the map (PAT/PMT) and every I-frame range in a row is itself a TS stream of exactly these keyframes
    const out = join(scratch, `${basename(dirname(file))}-iframes.ts`);
    await writeFile(out, Buffer.concat([mapBytes, ...entries.map(range)]));
    const r = await ffprobeJson<{ packets?: Packet[] }>(['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', `file:${out}`]);
    const pts = (r.packets ?? []).map((p) => Number(p.pts_time));
    expect(
      (r.packets ?? []).every((p) => p.flags.includes('K')),
      `${uri}: every byte range is a keyframe`,
    ).toBe(true);
    expect(pts.length, `${uri}: one packet per byte range`).toBe(entries.length);
    pts.forEach((t, i) => {
      expect(Math.abs(t - keyframes[i]!), `${uri} entry ${i} at keyframe ${keyframes[i]}`).toBeLessThan(0.002);
    });
  } else {
    // fMP4: init + moof + the keyframe's data; the range may end inside the mdat, so one file per entry
    await Promise.all(
      entries.map(async (e, i) => {
        const out = join(scratch, `${basename(dirname(file))}-iframe-${i}.mp4`);
        await writeFile(out, Buffer.concat([mapBytes, range(e)]));
        const r = await ffprobeJson<{ packets?: Packet[] }>(['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-read_intervals', '%+#1', `file:${out}`]).catch(
          () => ({ packets: [] as Packet[] }),
        );
        const first = r.packets?.[0];
        expect(first, `${uri} entry ${i}: a video packet in ${e.length}@${e.offset} of ${e.uri}`).toBeDefined();
        expect(first!.flags, `${uri} entry ${i} is a keyframe`).toContain('K');
        expect(Math.abs(Number(first!.pts_time) - keyframes[i]!), `${uri} entry ${i} at keyframe ${keyframes[i]}`).toBeLessThan(0.002);
      }),
    );
  }
  return entries.length;
}
