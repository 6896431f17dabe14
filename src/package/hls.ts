import { statSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StreamkitError } from '../errors.js';
import { reusableFileReader } from './read-file.js';
import { decodeCheckPieces, type DecodePiece } from './verify.js';
import { toNumber } from '../media/rational.js';
import { AUDIO_GROUP, audioPrimingSamples, encodingOf, groupOf, hlsFolders, rungDir, type TranscodePlan } from '../plan.js';
import type { Codec } from '../preset/schema.js';
import { firstAudioFrame, type KeyframeRange, type SegmentTicks } from './inspect.js';
import { parseAc3Frame } from './bitstream/ac3.js';
import { joinBuffers, pieceGroups, withoutBoxes } from './join.js';
import { initSegment, joinedFacts, segmentFacts, stillTrue, type InitSegment, type SegmentFacts, type SegmentFactsCache } from './segment-facts.js';
import type { WatchedRendition } from './segment-watcher.js';
import {
  parseMediaPlaylist,
  writeIFramePlaylist,
  writeMasterPlaylist,
  writeMediaPlaylist,
  type AudioMedia,
  type IFrame,
  type IFrameStream,
  type MediaSegment,
  type VariantStream,
} from './playlist.js';
import { checkAvSync, type SyncReport } from './av-sync.js';

/**
 * HLS packaging after encoding: ffmpeg wrote segments (or, for a short first segment, one-GOP pieces
 * that are joined into segments first: joinPieces) and its own playlists; streamkit reads every
 * segment, derives CODECS from the bitstream, measures BANDWIDTH (peak segment bitrate) and
 * AVERAGE-BANDWIDTH, checks that every video segment starts with a keyframe at the same time in
 * every rung, and writes the media, I-frame and master playlists itself (the start variant first:
 * masterOrder).
 */

export interface MeasuredSegment extends MediaSegment {
  bytes: number;
  startsWithKeyframe: boolean;
  firstPts: number | null;
  keyframes: KeyframeRange[];
  /** fMP4: the segment's times in ticks of its timescale (inspect.ts SegmentTicks) */
  ticks?: SegmentTicks;
}

export interface MeasuredRendition {
  kind: 'video' | 'audio';
  /** folder name in the package */
  dir: string;
  codecs: string[];
  segments: MeasuredSegment[];
  mapUri: string | null;
  /** TS only: bytes of PAT/PMT at the start of each segment */
  tsInitLength: number | null;
  /** bit/s: the largest segment bitrate */
  peakBitrate: number;
  /** bit/s: all bytes over all time */
  averageBitrate: number;
  totalBytes: number;
  duration: number;
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new StreamkitError('VERIFY_FAILED', message, { details, hint: 'This is a bug or an ffmpeg problem; rerun with --verbose and report it with the ffmpeg version.' });
}

async function readPlaylist(dir: string): Promise<ReturnType<typeof parseMediaPlaylist>> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.m3u8'), 'utf8');
  } catch {
    fail(`ffmpeg wrote no playlist in ${dir}.`, { dir });
  }
  const p = parseMediaPlaylist(text);
  if (!p.endList) fail(`The playlist in ${dir} is incomplete (no EXT-X-ENDLIST): ffmpeg stopped early.`, { dir });
  if (p.segments.length === 0) fail(`The playlist in ${dir} has no segments.`, { dir });
  return p;
}

/**
 * Should the last segment be folded into the one before it? ffmpeg starts a new segment at the
 * first keyframe past each multiple of hls_time, so a source one frame longer than a whole number
 * of segments ends in a one-frame segment (an IDR alone, whose bytes over its 40 ms make a "peak
 * bitrate" several times the real one and would inflate BANDWIDTH), and AAC's 1024-sample frames
 * leave a ~20 ms audio segment after the last video one. Such a tail is folded when the merged
 * segment still rounds to at most `target` seconds, so EXT-X-TARGETDURATION does not grow.
 */
export function foldsTail(durations: readonly number[], target: number): boolean {
  const n = durations.length;
  if (n < 2) return false;
  return Math.round(durations[n - 2]! + durations[n - 1]!) <= target;
}

/**
 * Fold a too-short last segment (see foldsTail) into the previous one, on disk, and rewrite the
 * playlist. MPEG-TS segments concatenate as they are (the tail repeats PAT/PMT, which is allowed);
 * for fMP4 the tail's moof/mdat pairs are appended and the sidx of the merged segment is dropped
 * (it would index only its first fragment).
 */
async function foldShortTail(root: string, dir: string, target: number, facts: SegmentFactsCache): Promise<boolean> {
  const abs = join(root, dir);
  const p = await readPlaylist(abs);
  if (
    !foldsTail(
      p.segments.map((s) => s.duration),
      target,
    )
  )
    return false;
  const prev = p.segments[p.segments.length - 2]!;
  const last = p.segments[p.segments.length - 1]!;
  const read = async (uri: string): Promise<Buffer> => {
    try {
      return await readFile(join(abs, uri));
    } catch {
      fail(`Segment ${dir}/${uri} listed in the playlist is missing.`, { file: join(abs, uri) });
    }
  };
  const [a, b] = [await read(prev.uri), await read(last.uri)];
  let merged: Buffer;
  try {
    merged = p.mapUri ? Buffer.concat([withoutBoxes(a, ['sidx']), withoutBoxes(b, ['styp', 'sidx'])]) : Buffer.concat([a, b]);
  } catch (error) {
    fail(`Segment ${dir}/${last.uri} is malformed: ${(error as Error).message}`, { dir });
  }
  await writeFile(join(abs, prev.uri), merged);
  await rm(join(abs, last.uri));
  // what was learned of the tail while ffmpeg encoded is of a file that is gone (the merged one is read again: its size changed)
  facts.delete(join(dir, last.uri));
  const segments = [...p.segments.slice(0, -2), { uri: prev.uri, duration: prev.duration + last.duration }];
  await writeFile(join(abs, 'index.m3u8'), writeMediaPlaylist({ segments, mapUri: p.mapUri }));
  return true;
}

/**
 * Join the pieces ffmpeg cut (plan.ts HlsPieces) into the package's segments, on disk, and rewrite
 * the playlist. The first `done` segments were joined during the encode (segment-watcher.ts): only
 * their durations are taken from ffmpeg's playlist. Segment `j` takes the file name of piece `j` (ffmpeg's numbering, so the names stay
 * consecutive); a name is only reused once its piece has been read. MPEG-TS pieces concatenate as
 * they are (one muxer wrote them: continuity counters run on; each repeats PAT/PMT, which is
 * allowed); for fMP4 the moof/mdat pairs of the later pieces are appended and every sidx is dropped
 * (it would index only the first fragment), as foldShortTail does.
 */
async function joinPieces(root: string, dir: string, first: number, rest: number, facts: SegmentFactsCache, done: number): Promise<void> {
  const abs = join(root, dir);
  const p = await readPlaylist(abs);
  const init: InitSegment | null = p.mapUri ? initSegment(await readFile(join(abs, p.mapUri))) : null;
  const groups = pieceGroups(p.segments.length, first, rest);
  const segments: MediaSegment[] = [];
  for (const [j, group] of groups.entries()) {
    const target = p.segments[j]!.uri;
    const pieces = group.map((i) => p.segments[i]!);
    segments.push({ uri: target, duration: pieces.reduce((a, s) => a + s.duration, 0) });
    // joined while ffmpeg encoded (segment-watcher.ts): its pieces are gone, the segment is there
    if (j < done) continue;
    if (group.length === 1 && group[0] === j) continue;
    if (group.length === 1 && !init) {
      // one MPEG-TS piece (the last segment, often): renamed, not copied; what the watcher learned of
      // it still holds (a rename keeps size and mtime), else measureRendition reads it
      const from = join(dir, pieces[0]!.uri);
      try {
        await rename(join(abs, pieces[0]!.uri), join(abs, target));
      } catch {
        fail(`Segment ${from} listed in the playlist is missing.`, { file: join(abs, pieces[0]!.uri) });
      }
      const known = facts.get(from);
      facts.delete(from);
      if (known) facts.set(join(dir, target), known);
      continue;
    }
    const bufs: Buffer[] = [];
    // TS: what the segment watcher learned of each piece while ffmpeg encoded, still true of the file
    const known: (SegmentFacts | undefined)[] = [];
    for (const piece of pieces) {
      const file = join(abs, piece.uri);
      const cached = facts.get(join(dir, piece.uri));
      known.push(!init && cached && stillTrue(cached, file, null) ? cached : undefined);
      try {
        bufs.push(await readFile(file));
      } catch {
        fail(`Segment ${dir}/${piece.uri} listed in the playlist is missing.`, { file });
      }
    }
    let joined: Buffer;
    try {
      joined = joinBuffers(bufs, p.mapUri !== null);
    } catch (error) {
      fail(`A segment of ${dir} (${pieces.map((s) => s.uri).join(', ')}) is malformed: ${(error as Error).message}`, { dir });
    }
    await writeFile(join(abs, target), joined);
    // every other piece of the group comes after `target` in ffmpeg's numbering, and after every name written so far
    for (const piece of pieces) {
      facts.delete(join(dir, piece.uri));
      if (piece.uri !== target) await rm(join(abs, piece.uri));
    }
    // measured from the bytes in hand, so that measureRendition does not read the file again (TS
    // pieces the watcher inspected are not parsed again, only hashed); a malformed segment is left
    // for measureRendition to report
    try {
      const pieceFacts = known.map((k, i) => ({ size: bufs[i]!.length, inspection: k?.inspection }));
      facts.set(join(dir, target), joinedFacts(pieceFacts, joined, statSync(join(abs, target)).mtimeMs, init));
    } catch {
      // measureRendition reads it again and says what is wrong
    }
  }
  await writeFile(join(abs, 'index.m3u8'), writeMediaPlaylist({ segments, mapUri: p.mapUri }));
}

/**
 * Read, inspect and hash every segment of a rendition, from ffmpeg's playlist. Segments whose
 * `facts` are still true of the file (see segment-facts.ts) are not read again; the others are
 * read once, and their facts added to `facts`.
 */
export async function measureRendition(root: string, dir: string, kind: 'video' | 'audio', facts: SegmentFactsCache = new Map()): Promise<MeasuredRendition> {
  const abs = join(root, dir);
  const p = await readPlaylist(abs);
  const init: InitSegment | null = p.mapUri ? initSegment(await readFile(join(abs, p.mapUri))) : null;
  let codecs: string[] = init ? init.init.codecs : [];
  let tsInitLength: number | null = null;
  const segments: MeasuredSegment[] = [];
  const readSegment = reusableFileReader();
  for (const s of p.segments) {
    const file = join(abs, s.uri);
    const key = join(dir, s.uri);
    const cached = facts.get(key);
    let known: SegmentFacts;
    if (cached && stillTrue(cached, file, init)) {
      known = cached;
    } else {
      let read;
      try {
        read = await readSegment(file);
      } catch {
        fail(`Segment ${dir}/${s.uri} listed in the playlist is missing.`, { file });
      }
      if (read.buf.length === 0) fail(`Segment ${dir}/${s.uri} is empty.`, { file });
      try {
        known = segmentFacts(read, init);
      } catch (error) {
        fail(`Segment ${dir}/${s.uri} is malformed: ${(error as Error).message}`, { file });
      }
      facts.set(key, known);
    }
    const inspection = known.inspection;
    if ('initLength' in inspection) {
      tsInitLength ??= inspection.initLength;
      if (codecs.length === 0 && inspection.codecs.length > 0) codecs = inspection.codecs;
    }
    if (kind === 'video' && inspection.videoFrames === 0) fail(`Segment ${dir}/${s.uri} has no video frames.`, { file });
    segments.push({
      ...s,
      bytes: known.size,
      startsWithKeyframe: inspection.startsWithKeyframe,
      firstPts: inspection.firstPts,
      keyframes: inspection.keyframes,
      ...(inspection.ticks ? { ticks: inspection.ticks } : {}),
    });
  }
  if (codecs.length === 0) fail(`Could not read the codec configuration of ${dir}.`, { dir });
  const totalBytes = segments.reduce((a, s) => a + s.bytes, 0);
  const duration = segments.reduce((a, s) => a + s.duration, 0);
  const peakBitrate = Math.max(...segments.map((s) => (s.bytes * 8) / Math.max(s.duration, 1e-3)));
  return {
    kind,
    dir,
    codecs,
    segments,
    mapUri: p.mapUri,
    tsInitLength,
    peakBitrate,
    averageBitrate: (totalBytes * 8) / Math.max(duration, 1e-3),
    totalBytes,
    duration,
  };
}

/**
 * A surround rendition really carries `channels` channels: read from its first frame's header
 * (acmod + lfeon for AC-3 / E-AC-3; for AAC, the ADTS or esds channel configuration is what ffprobe
 * reports and is left to the decode check).
 */
async function checkSurroundChannels(root: string, r: MeasuredRendition, channels: number): Promise<void> {
  if (!r.codecs.some((c) => c === 'ac-3' || c === 'ec-3')) return;
  const file = join(root, r.dir, r.segments[0]!.uri);
  let found: number;
  try {
    const frame = firstAudioFrame(await readFile(file), r.mapUri !== null);
    if (!frame) throw new Error('no audio frame');
    found = parseAc3Frame(frame).channels;
  } catch (error) {
    fail(`Segment ${r.dir}/${r.segments[0]!.uri} has no readable AC-3 frame header: ${(error as Error).message}`, { file });
  }
  if (found !== channels) fail(`The surround rendition ${r.dir} has ${found} channels, not ${channels}.`, { dir: r.dir, channels: found });
}

/** The CODECS sample entries (RFC 6381 first element) each codec's bitstream may carry. */
const sampleEntries: Record<Codec, readonly string[]> = { h264: ['avc1', 'avc3'], hevc: ['hvc1', 'hev1'], av1: ['av01'] };

/** Every video segment starts with a keyframe, at the same time in every rung. */
function checkAlignment(rungs: readonly MeasuredRendition[], frameDuration: number): void {
  const ref = rungs[0];
  if (!ref) return;
  for (const r of rungs) {
    r.segments.forEach((s, i) => {
      if (!s.startsWithKeyframe) fail(`Segment ${r.dir}/${s.uri} does not start with a keyframe: players could not switch rungs there.`, { rung: r.dir, segment: i });
    });
    if (r.segments.length !== ref.segments.length) {
      fail(`Rungs ${ref.dir} and ${r.dir} have different segment counts (${ref.segments.length} and ${r.segments.length}).`, { rungs: [ref.dir, r.dir] });
    }
    r.segments.forEach((s, i) => {
      const a = ref.segments[i]!.firstPts;
      const b = s.firstPts;
      if (a !== null && b !== null && Math.abs(a - b) > frameDuration / 2) {
        fail(`Segment ${i} starts at ${a.toFixed(3)} s in ${ref.dir} but at ${b.toFixed(3)} s in ${r.dir}: segment boundaries are not aligned.`, {
          rungs: [ref.dir, r.dir],
          segment: i,
        });
      }
    });
  }
}

/** The I-frames of a rung, with durations until the next one (the last until the end). */
export function iframesOf(r: MeasuredRendition): IFrame[] {
  const frames: { uri: string; k: KeyframeRange }[] = r.segments.flatMap((s) => s.keyframes.map((k) => ({ uri: s.uri, k })));
  const first = r.segments.find((s) => s.firstPts !== null)?.firstPts ?? frames[0]?.k.pts ?? 0;
  const end = first + r.duration;
  return frames.map((f, i) => ({
    uri: f.uri,
    offset: f.k.offset,
    length: f.k.length,
    duration: Math.max(0.001, (frames[i + 1]?.k.pts ?? end) - f.k.pts),
  }));
}

/**
 * The link a package must start fast on: 1.5 Mbit/s (issue 22's benchmark, with 150 ms of latency).
 * Three round trips (master, media playlists, first segments) take about 0.5 s there, which leaves
 * START_TRANSFER_SECONDS of transfer for a first frame within 1 s.
 */
export const START_LINK_BITRATE = 1_500_000;
export const START_TRANSFER_SECONDS = 0.5;

/**
 * The order of the variants in master.m3u8, as indexes into `variants`: the start variant first,
 * then the others by BANDWIDTH, lowest first. Players start with the first listed (Apple's players
 * do; hls.js also takes its BANDWIDTH as its first estimate when above its default 500 kbit/s).
 *
 * The start variant is the highest one that suits a START_LINK_BITRATE link on both counts: its
 * BANDWIDTH (peak, audio included) fits the link, so it plays on without stalling, and its first
 * segment with the default audio's (the bytes a player fetches before its first frame) downloads in
 * START_TRANSFER_SECONDS. When none does, the lowest. In a multi-codec package only the H.264
 * variants (`universal`) are candidates: Apple's authoring spec wants the first variant playable by
 * every client, and players without an HEVC or AV1 decoder would otherwise start on one they drop. A higher start would cost start time at
 * 1.5 Mbit/s; a lower one would show less than the link carries from the first frame.
 */
export function masterOrder(variants: readonly { bandwidth: number; firstSegmentBytes: number; universal?: boolean }[]): number[] {
  const byBandwidth = [...variants.keys()].sort((a, b) => variants[a]!.bandwidth - variants[b]!.bandwidth);
  const budget = (START_LINK_BITRATE / 8) * START_TRANSFER_SECONDS;
  // a multi-codec package starts on a variant every player decodes (H.264: `universal`), whatever the others' BANDWIDTH
  const candidates = variants.some((v) => v.universal) ? byBandwidth.filter((i) => variants[i]!.universal) : byBandwidth;
  const fits = candidates.filter((i) => variants[i]!.bandwidth <= START_LINK_BITRATE && variants[i]!.firstSegmentBytes <= budget);
  const start = fits.at(-1) ?? candidates[0];
  return start === undefined ? [] : [start, ...byBandwidth.filter((i) => i !== start)];
}

export interface PackagedRung {
  name: string;
  dir: string;
  width: number;
  height: number;
  codecs: string[];
  bandwidth: number;
  averageBandwidth: number;
  videoPeakBitrate: number;
  videoAverageBitrate: number;
  iframeCount: number;
  segments: number;
  sizeBytes: number;
}

export interface HlsPackage {
  rungs: PackagedRung[];
  audio: { dir: string; name: string; groupId: string; channels: number; codecs: string[]; peakBitrate: number; averageBitrate: number; sizeBytes: number }[];
  segmentCount: number;
  /** seconds of video (the sum of the first rung's segment durations) */
  duration: number;
  /** what the decode check should decode (verify.ts decodeCheckPieces), from the measured segments */
  decodePieces: DecodePiece[];
  /** where each rendition starts against the source's start times (av-sync.ts) */
  sync: SyncReport;
  /** every rendition as measured: the video rungs in ladder order, the audio renditions in plan order (the DASH manifest is written from them) */
  measured: { videos: MeasuredRendition[]; audios: MeasuredRendition[] };
}

/** The HLS rendition folders of a plan (video rungs, then audio renditions) and their segment container. */
export function hlsRenditions(plan: TranscodePlan): WatchedRendition[] {
  if (!plan.hls) return [];
  const container = plan.hls.container;
  const videos = new Set(plan.ladder.rungs.map((r) => rungDir(r.name)));
  return hlsFolders(plan).map((dir) => ({ dir, kind: videos.has(dir) ? 'video' : 'audio', container }));
}

/**
 * Measure, check, and write every playlist (master.m3u8 and each rendition's) into `root`. `facts`:
 * what is already known of the segments (segment-watcher.ts); it is completed here, and the manifest
 * takes its checksums. Without `audioStarts`, the A/V sync check takes each audio stream's start_time.
 */
export async function packageHls(
  plan: TranscodePlan,
  root: string,
  facts: SegmentFactsCache = new Map(),
  /** when each encoded source audio stream's first decoded sample plays (media/probe.ts probeAudioStarts), by source order */
  audioStarts: ReadonlyMap<number, number | null> = new Map(),
  /** with pieces: the segments of each rendition joined during the encode (segment-watcher.ts), by folder */
  joined: ReadonlyMap<string, number> = new Map(),
): Promise<HlsPackage> {
  // join ffmpeg's pieces into segments (a short first segment), then fold tiny trailing segments (the
  // same decisions in every rung: their boundaries are equal)
  const pieces = plan.hls?.pieces;
  if (pieces) for (const { dir } of hlsRenditions(plan)) await joinPieces(root, dir, pieces.first, pieces.rest, facts, joined.get(dir) ?? 0);
  const target = Math.max(1, Math.round(plan.hls?.segmentSeconds ?? 1));
  for (const { dir } of hlsRenditions(plan)) await foldShortTail(root, dir, target, facts);
  const videos: MeasuredRendition[] = [];
  for (const rung of plan.ladder.rungs) videos.push(await measureRendition(root, rungDir(rung.name), 'video', facts));
  const audios: MeasuredRendition[] = [];
  for (const a of plan.audioRenditions) audios.push(await measureRendition(root, a.dir, 'audio', facts));
  for (const [i, a] of plan.audioRenditions.entries()) if (a.surround) await checkSurroundChannels(root, audios[i]!, a.channels);
  const fps = toNumber(plan.ladder.frameRate);
  checkAlignment(videos, 1 / fps);
  const sync = checkAvSync({
    timeline: plan.timeline,
    videos: videos.map((r) => ({ dir: r.dir, firstPts: r.segments[0]?.firstPts ?? null })),
    audios: audios.map((r, i) => ({
      dir: r.dir,
      firstPts: r.segments[0]?.firstPts ?? null,
      sampleRate: plan.audio?.sampleRate ?? 48000,
      primingSamples: audioPrimingSamples(plan.audioRenditions[i]!),
      sourceStart: audioStarts.get(plan.audioRenditions[i]!.sourceOrder) ?? plan.media.audio[plan.audioRenditions[i]!.sourceOrder]?.startTime ?? null,
    })),
  });

  for (const r of [...videos, ...audios]) {
    await writeFile(join(root, r.dir, 'index.m3u8'), writeMediaPlaylist({ segments: r.segments, mapUri: r.mapUri }));
  }

  // one audio group per codec (Apple's model): the stereo AAC renditions, then each surround codec's;
  // every rung is listed once per group, with that group's codecs and its audio peak
  const groups = [...new Set(plan.audioRenditions.map((a) => groupOf(a)))].map((id) => {
    const members = audios.filter((_, i) => groupOf(plan.audioRenditions[i]!) === id);
    return {
      id,
      peak: Math.max(0, ...members.map((a) => a.peakBitrate)),
      average: Math.max(0, ...members.map((a) => a.averageBitrate)),
      codecs: [...new Set(members.flatMap((a) => a.codecs))],
      firstSegmentBytes: members[0]?.segments[0]?.bytes ?? 0,
    };
  });
  const stereo = groups.find((g) => g.id === AUDIO_GROUP) ?? { id: null, peak: 0, average: 0, codecs: [] as string[], firstSegmentBytes: 0 };
  const ladderRange = plan.colour?.range ?? 'SDR';
  const variants: VariantStream[] = [];
  const surroundVariants: VariantStream[] = [];
  const iframeStreams: IFrameStream[] = [];
  const rungs: PackagedRung[] = [];
  for (const [i, r] of videos.entries()) {
    const rung = plan.ladder.rungs[i]!;
    // an SDR copy of an HDR ladder's rung (video.hdr: both) is SDR: no VIDEO-RANGE
    const videoRange = rung.sdr ? 'SDR' : ladderRange;
    const videoCodecs = r.codecs.filter((c) => !c.startsWith('mp4a'));
    const codec = encodingOf(plan, rung).codec;
    if (!videoCodecs.some((c) => sampleEntries[codec].includes(c.split('.')[0]!)))
      fail(`Rung ${r.dir} should be ${codec} but its bitstream says ${videoCodecs.join(', ') || 'nothing'}.`, { rung: r.dir, codec, codecs: videoCodecs });
    const frames = iframesOf(r);
    const iframeMap = r.mapUri ? { uri: r.mapUri } : r.tsInitLength ? { uri: r.segments[0]!.uri, byteRange: { offset: 0, length: r.tsInitLength } } : null;
    await writeFile(join(root, r.dir, 'iframes.m3u8'), writeIFramePlaylist({ frames, map: iframeMap }));
    const iframeBytes = frames.reduce((a, f) => a + f.length, 0);
    iframeStreams.push({
      uri: `${r.dir}/iframes.m3u8`,
      bandwidth: Math.max(...frames.map((f) => (f.length * 8) / f.duration)),
      averageBandwidth: (iframeBytes * 8) / Math.max(r.duration, 1e-3),
      codecs: videoCodecs,
      resolution: { width: rung.width, height: rung.height },
      ...(videoRange !== 'SDR' ? { videoRange } : {}),
    });
    const variant = (g: { id: string | null; peak: number; average: number; codecs: string[] }): VariantStream => ({
      uri: `${r.dir}/index.m3u8`,
      bandwidth: r.peakBitrate + g.peak,
      averageBandwidth: r.averageBitrate + g.average,
      codecs: [...videoCodecs, ...g.codecs],
      resolution: { width: rung.width, height: rung.height },
      frameRate: fps,
      audioGroup: g.id,
      ...(videoRange !== 'SDR' ? { videoRange } : {}),
    });
    variants.push(variant(stereo));
    for (const g of groups) if (g.id !== AUDIO_GROUP) surroundVariants.push(variant(g));
    const bandwidth = r.peakBitrate + stereo.peak;
    const averageBandwidth = r.averageBitrate + stereo.average;
    const sizes = await Promise.all([r.mapUri ? stat(join(root, r.dir, r.mapUri)).then((s) => s.size) : 0]);
    rungs.push({
      name: rung.name,
      dir: r.dir,
      width: rung.width,
      height: rung.height,
      codecs: videoCodecs,
      bandwidth: Math.ceil(bandwidth),
      averageBandwidth: Math.ceil(averageBandwidth),
      videoPeakBitrate: Math.ceil(r.peakBitrate),
      videoAverageBitrate: Math.ceil(r.averageBitrate),
      iframeCount: frames.length,
      segments: r.segments.length,
      sizeBytes: r.totalBytes + (sizes[0] ?? 0),
    });
  }
  const audioMedia: AudioMedia[] = plan.audioRenditions.map((a) => ({
    groupId: groupOf(a),
    name: a.name,
    language: a.language,
    default: a.default,
    channels: a.channels,
    uri: `${a.dir}/index.m3u8`,
  }));
  const ordered = masterOrder(
    variants.map((v, i) => ({
      bandwidth: v.bandwidth,
      firstSegmentBytes: videos[i]!.segments[0]!.bytes + stereo.firstSegmentBytes,
      universal: v.codecs[0]?.startsWith('avc1.') === true,
    })),
  );
  // the stereo group's variants first (the start variant leading), then the surround groups' by BANDWIDTH:
  // players that cannot decode a surround codec drop its variants and keep to the AAC ones
  surroundVariants.sort((a, b) => a.bandwidth - b.bandwidth);
  variants.splice(0, variants.length, ...ordered.map((i) => variants[i]!), ...surroundVariants);
  iframeStreams.sort((a, b) => a.bandwidth - b.bandwidth);
  const version = videos.some((v) => v.mapUri) ? 6 : 5;
  const master = writeMasterPlaylist({ version, variants, iframes: iframeStreams, audio: audioMedia });
  await writeFile(join(root, 'master.m3u8'), master);
  return {
    rungs,
    audio: audios.map((a, i) => ({
      dir: a.dir,
      name: plan.audioRenditions[i]!.name,
      groupId: groupOf(plan.audioRenditions[i]!),
      channels: plan.audioRenditions[i]!.channels,
      codecs: a.codecs,
      peakBitrate: Math.ceil(a.peakBitrate),
      averageBitrate: Math.ceil(a.averageBitrate),
      sizeBytes: a.totalBytes,
    })),
    segmentCount: videos[0]?.segments.length ?? 0,
    duration: videos[0]?.duration ?? 0,
    decodePieces: decodeCheckPieces([...videos, ...audios]),
    sync,
    measured: { videos, audios },
  };
}
