/**
 * Segment inspection for HLS packaging: keyframe byte ranges (for I-frame playlists),
 * first PTS, frame counts and CODECS strings, for MPEG-TS and fragmented MP4 segments.
 */
import {
  type Box,
  boxPayload,
  childBoxes,
  findBox,
  findBoxes,
  isSyncSampleFlags,
  iterateBoxes,
  originalFormat,
  parseHdlr,
  parseMdhd,
  parseStsd,
  parseTfdt,
  parseTfhd,
  parseTkhd,
  parseTrex,
  parseTrun,
  requireBox,
  type SampleEntry,
  type TrexDefaults,
} from './bitstream/mp4.js';
import {
  type AnnexBCodec,
  collectPesUnits,
  findAdtsSync,
  isRandomAccessNal,
  PAT_PID,
  parseAdtsHeader,
  parsePat,
  parsePesHeader,
  parsePmt,
  parseTsPackets,
  type PesUnit,
  type PmtStream,
  pesBytes,
  readFirstPsiSection,
  scanAccessUnitStart,
  STREAM_TYPE,
  TS_CLOCK_HZ,
  type TsPackets,
} from './bitstream/ts.js';
import {
  aacCodecString,
  av1CodecStringFromAv1C,
  avcCodecStringFromAvcC,
  avcCodecStringFromSps,
  hevcCodecStringFromHvcC,
  hevcCodecStringFromSps,
  mp4aCodecStringFromEsds,
} from './codecs.js';

export interface KeyframeRange {
  /** byte offset in the segment file of the start of the data a player needs for this I-frame (TS: the TS packet where the keyframe's PES starts; fMP4: the start of the moof box of the fragment whose FIRST sample is the sync sample) */
  offset: number;
  /** byte length: TS: up to (not including) the next video PES start packet, or end of file; fMP4: from moof start to the end of the keyframe sample's data in mdat */
  length: number;
  /** presentation time in seconds (TS: PTS/90000 of that PES; fMP4: (tfdt baseMediaDecodeTime + composition offset of the sample) / timescale) */
  pts: number;
}

export interface SegmentInspection {
  /** keyframes (sync samples / random access points) in this segment usable as I-frame playlist entries, in order */
  keyframes: KeyframeRange[];
  /** true when the first video frame in the segment is a keyframe (always true for audio-only segments) */
  startsWithKeyframe: boolean;
  /** pts in seconds of the first video frame (or first audio frame for audio-only segments) */
  firstPts: number | null;
  /** number of video frames (access units) in the segment */
  videoFrames: number;
  /** fMP4: the segment's times in its track's timescale (the DASH SegmentTimeline is written from them); TS: absent */
  ticks?: SegmentTicks;
}

/** Times of an fMP4 segment's reported track, in ticks of its timescale (mdhd). */
export interface SegmentTicks {
  timescale: number;
  /** earliest presentation time: the smallest decode time + composition offset of its samples */
  earliest: number;
  /** the decode time of its first sample (the first tfdt) */
  decodeStart: number;
  /** the decode time just past its last sample (first sample's decode time + every sample's duration) */
  decodeEnd: number;
}

/** For MPEG-TS segments: bytes [0, initLength) contain PAT+PMT (and any SDT before them), usable as an EXT-X-MAP byterange for I-frame playlists */
export interface TsInspection extends SegmentInspection {
  initLength: number;
  /** e.g. ['avc1.64001f','mp4a.40.2'] derived from SPS and ADTS in this segment; video first, then audio; streams whose parameters are not in this segment are left out */
  codecs: string[];
}

export interface Fmp4Track {
  trackId: number;
  handler: 'vide' | 'soun' | string;
  timescale: number;
  /** stsd sample entry type (e.g. 'avc1', 'hvc1', 'av01', 'mp4a'; 'encv'/'enca' for encrypted tracks) */
  sampleEntry: string;
  /** CODECS string of this track */
  codec: string;
  defaultSampleFlags?: number;
  defaultSampleDuration?: number;
  /** trex default_sample_size (an addition to the original spec; used when neither trun nor tfhd give sizes) */
  defaultSampleSize?: number;
}

export interface Fmp4Init {
  /** from sample entries: avc1/avc3 -> avcC, hvc1/hev1 -> hvcC, av01 -> av1C, mp4a -> esds; one per track in moov order, duplicates removed */
  codecs: string[];
  tracks: Fmp4Track[];
}

// ============================================================================================ TS

const ANNEXB_STREAM_TYPES: ReadonlyMap<number, AnnexBCodec> = new Map([
  [STREAM_TYPE.H264, 'h264'],
  [STREAM_TYPE.HEVC, 'hevc'],
]);

/**
 * How many bytes of a video PES to look at for its first slice NAL, in turn: 1, that is the first
 * packet's payload alone, a view that needs no copy, where a P or B frame's first slice starts; 4 KiB,
 * past a keyframe's parameter sets and SEI; the whole PES.
 */
const VIDEO_PES_LOOKS = [1, 4096, Infinity] as const;

/**
 * Inspects one MPEG-TS segment (a whole number of 188-byte packets).
 *
 * Uses the first program of the first PAT and the first video stream of its PMT. Each video PES is
 * one access unit (as ffmpeg writes it). A PES is a keyframe when its first packet has
 * random_access_indicator set, or (H.264/HEVC) its first slice is IDR/IRAP. PTS values are raw
 * 33-bit 90 kHz values / 90000 (no wrap-around handling). `codecs` come from the first SPS
 * (H.264 -> avc1, HEVC -> hev1) and ADTS header found in this segment.
 */
export function inspectTsSegment(buf: Buffer): TsInspection {
  const packets = parseTsPackets(buf);
  const pat = readFirstPsiSection(buf, packets, PAT_PID);
  if (!pat) throw new Error('MPEG-TS segment has no complete PAT');
  const program = parsePat(pat.data)[0];
  if (!program) throw new Error('MPEG-TS PAT lists no program');
  const pmtSection = readFirstPsiSection(buf, packets, program.pmtPid);
  if (!pmtSection) throw new Error(`MPEG-TS segment has no complete PMT on PID ${program.pmtPid}`);
  const pmt = parsePmt(pmtSection.data);
  const initLength = Math.max(pat.endOffset, pmtSection.endOffset);

  const video = pmt.streams.find((s) => s.kind === 'video');
  const audio = pmt.streams.filter((s) => s.kind === 'audio');
  const pids = new Set(pmt.streams.filter((s) => s.kind !== 'other').map((s) => s.pid));
  const units = collectPesUnits(packets, pids);

  const codecs: string[] = [];
  const keyframes: KeyframeRange[] = [];
  let startsWithKeyframe = true;
  let firstPts: number | null = null;
  let videoFrames = 0;

  if (video) {
    const videoUnits = units.get(video.pid) ?? [];
    const annexB = ANNEXB_STREAM_TYPES.get(video.streamType);
    let videoCodec: string | undefined;
    videoFrames = videoUnits.length;
    if (videoUnits.length === 0) startsWithKeyframe = false;
    videoUnits.forEach((unit, i) => {
      const au = analyzeVideoPes(buf, packets, unit, annexB);
      if (i === 0) {
        startsWithKeyframe = au.isKeyframe;
        firstPts = au.pts === undefined ? null : au.pts / TS_CLOCK_HZ;
      }
      if (videoCodec === undefined && au.codec !== undefined) videoCodec = au.codec;
      if (au.isKeyframe) {
        if (au.pts === undefined) throw new Error(`video keyframe PES at offset ${unit.offset} has no PTS`);
        const next = videoUnits[i + 1];
        const end = next ? next.offset : buf.length;
        keyframes.push({ offset: unit.offset, length: end - unit.offset, pts: au.pts / TS_CLOCK_HZ });
      }
    });
    if (videoCodec === undefined) videoCodec = staticTsCodec(video);
    if (videoCodec !== undefined) codecs.push(videoCodec);
  }

  for (const stream of audio) {
    const audioUnits = units.get(stream.pid) ?? [];
    const codec = audioTsCodec(buf, packets, stream, audioUnits);
    if (codec !== undefined && !codecs.includes(codec)) codecs.push(codec);
    if (!video && firstPts === null) {
      const first = audioUnits[0];
      const pts = first ? parsePesHeader(pesBytes(buf, packets, first, 32)).pts : undefined;
      if (pts !== undefined) firstPts = pts / TS_CLOCK_HZ;
    }
  }

  return { keyframes, startsWithKeyframe, firstPts, videoFrames, initLength, codecs };
}

interface VideoPesInfo {
  isKeyframe: boolean;
  pts?: number;
  codec?: string;
}

/** Keyframe = random_access_indicator on the PES start packet, or an IDR/IRAP first slice. */
function analyzeVideoPes(buf: Buffer, packets: TsPackets, unit: PesUnit, codec: AnnexBCodec | undefined): VideoPesInfo {
  const info: VideoPesInfo = { isKeyframe: unit.randomAccess };
  for (const want of VIDEO_PES_LOOKS) {
    const data = pesBytes(buf, packets, unit, want);
    // fewer bytes than asked for: that is the whole PES
    const whole = data.length < want;
    if (!whole && data.length < 9 + (data[8] ?? 0)) continue; // the PES header is not all there yet
    const header = parsePesHeader(data);
    if (header.pts !== undefined) info.pts = header.pts;
    if (!codec) return info;
    // parameter sets before the first slice are complete (the next start code ends them); without
    // a slice, the last one may be cut off by the end of `data`: look further
    const au = scanAccessUnitStart(data.subarray(header.payloadOffset), codec);
    if (au.firstVclType === undefined && !whole) continue;
    if (au.firstVclType !== undefined && isRandomAccessNal(codec, au.firstVclType)) info.isKeyframe = true;
    const sps = au.sps[0];
    if (sps) info.codec = codec === 'h264' ? avcCodecStringFromSps(sps) : hevcCodecStringFromSps(sps);
    return info;
  }
  return info; // not reached: the last look takes the whole PES
}

/** CODECS for stream types that need no bitstream parsing. */
function staticTsCodec(stream: PmtStream): string | undefined {
  switch (stream.streamType) {
    case STREAM_TYPE.MPEG1_AUDIO:
    case STREAM_TYPE.MPEG2_AUDIO:
      return 'mp4a.40.34';
    case STREAM_TYPE.AC3:
      return 'ac-3';
    case STREAM_TYPE.EAC3:
      return 'ec-3';
    default:
      return undefined;
  }
}

function audioTsCodec(buf: Buffer, packets: TsPackets, stream: PmtStream, units: readonly PesUnit[]): string | undefined {
  if (stream.streamType !== STREAM_TYPE.AAC_ADTS) return staticTsCodec(stream);
  for (const unit of units) {
    const data = pesBytes(buf, packets, unit, 64);
    const header = parsePesHeader(data);
    const es = data.subarray(header.payloadOffset);
    const sync = findAdtsSync(es);
    if (sync !== -1 && es.length - sync >= 7) return aacCodecString(parseAdtsHeader(es, sync).audioObjectType);
  }
  return undefined;
}

/**
 * The first bytes (at least 64 where the frame has them) of the first audio frame of a segment: the
 * payload of the first audio PES (TS), or the start of the first mdat (an audio-only fMP4 segment).
 * For reading a frame header (bitstream/ac3.ts); null when the segment holds no audio.
 */
export function firstAudioFrame(buf: Buffer, fmp4: boolean): Buffer | null {
  if (fmp4) {
    const mdat = iterateBoxes(buf).find((b) => b.type === 'mdat');
    return mdat ? boxPayload(buf, mdat) : null;
  }
  const packets = parseTsPackets(buf);
  const pat = readFirstPsiSection(buf, packets, PAT_PID);
  const program = pat ? parsePat(pat.data)[0] : undefined;
  const pmtSection = program ? readFirstPsiSection(buf, packets, program.pmtPid) : null;
  const audio = pmtSection ? parsePmt(pmtSection.data).streams.find((s) => s.kind === 'audio') : undefined;
  if (!audio) return null;
  const unit = collectPesUnits(packets, new Set([audio.pid])).get(audio.pid)?.[0];
  if (!unit) return null;
  const data = pesBytes(buf, packets, unit, 128);
  return data.subarray(parsePesHeader(data).payloadOffset);
}

// ========================================================================================= fMP4

/** Reads tracks, CODECS strings and trex defaults from an fMP4 init segment (ftyp+moov). */
export function inspectFmp4Init(buf: Buffer): Fmp4Init {
  const moov = requireBox(buf, ['moov']);
  const trexById = new Map<number, TrexDefaults>();
  for (const trexBox of findBoxes(buf, ['mvex', 'trex'], moov)) {
    const trex = parseTrex(buf, trexBox);
    trexById.set(trex.trackId, trex);
  }
  const tracks: Fmp4Track[] = findBoxes(buf, ['trak'], moov).map((trak) => {
    const { trackId } = parseTkhd(buf, requireBox(buf, ['tkhd'], trak));
    const mdia = requireBox(buf, ['mdia'], trak);
    const { timescale } = parseMdhd(buf, requireBox(buf, ['mdhd'], mdia));
    if (timescale === 0) throw new Error(`track ${trackId}: mdhd timescale is 0`);
    const { handlerType } = parseHdlr(buf, requireBox(buf, ['hdlr'], mdia));
    const stsd = requireBox(buf, ['minf', 'stbl', 'stsd'], mdia);
    const entry = parseStsd(buf, stsd)[0];
    if (!entry) throw new Error(`track ${trackId}: stsd has no sample entry`);
    const track: Fmp4Track = { trackId, handler: handlerType, timescale, sampleEntry: entry.type, codec: sampleEntryCodec(buf, entry, trackId) };
    const trex = trexById.get(trackId);
    if (trex) {
      track.defaultSampleFlags = trex.defaultSampleFlags;
      track.defaultSampleDuration = trex.defaultSampleDuration;
      track.defaultSampleSize = trex.defaultSampleSize;
    }
    return track;
  });
  if (tracks.length === 0) throw new Error('fMP4 init segment has no tracks');
  const codecs = [...new Set(tracks.map((t) => t.codec))];
  return { codecs, tracks };
}

/** CODECS string for a sample entry; unknown entry types are returned as-is (e.g. 'ac-3', 'ec-3', 'Opus', 'fLaC'). */
function sampleEntryCodec(buf: Buffer, entry: SampleEntry, trackId: number): string {
  const format = originalFormat(buf, entry);
  const child = (type: string): Buffer => {
    const box = entry.children.find((b) => b.type === type);
    if (!box) throw new Error(`track ${trackId}: '${entry.type}' sample entry has no ${type} box`);
    return boxPayload(buf, box);
  };
  switch (format) {
    case 'avc1':
    case 'avc3':
      return avcCodecStringFromAvcC(child('avcC'), format);
    case 'hvc1':
    case 'hev1':
      return hevcCodecStringFromHvcC(child('hvcC'), format);
    case 'av01':
      return av1CodecStringFromAv1C(child('av1C'));
    case 'mp4a':
      return mp4aCodecStringFromEsds(child('esds'));
    default:
      return format;
  }
}

interface FragmentSample {
  /** decode time in track timescale */
  dts: number;
  compositionOffset: number;
  flags: number | undefined;
  dataStart: number;
  dataEnd: number;
}

/**
 * Inspects one fMP4 media segment (any number of moof/mdat pairs; styp/sidx/other boxes are skipped).
 *
 * Reports on the first 'vide' track of `init` (or the first track for audio-only). A sync sample is
 * listed in `keyframes` only when it is the first sample of that track in its moof. Times are
 * (tfdt + sample durations + composition offset) / timescale; edit lists in the init are NOT applied.
 * Sample flags: trun per-sample > trun first_sample_flags > tfhd default > trex default.
 */
export function inspectFmp4Segment(buf: Buffer, init: Fmp4Init): SegmentInspection {
  const video = init.tracks.find((t) => t.handler === 'vide');
  const primary = video ?? init.tracks[0];
  if (!primary) throw new Error('fMP4 init has no tracks');
  const tracksById = new Map(init.tracks.map((t) => [t.trackId, t]));
  const nextDts = new Map<number, number>();

  const keyframes: KeyframeRange[] = [];
  let startsWithKeyframe = !video;
  let firstPts: number | null = null;
  let videoFrames = 0;
  let seenPrimarySample = false;
  let earliest = Number.POSITIVE_INFINITY;
  let decodeStart: number | null = null;

  for (const moof of iterateBoxes(buf).filter((b) => b.type === 'moof')) {
    let previousTrafEnd = moof.start;
    let firstPrimaryInMoof = true;
    for (const traf of childBoxes(buf, moof).filter((b) => b.type === 'traf')) {
      const { trackId, samples, dataEnd } = parseTrafSamples(buf, moof, traf, previousTrafEnd, tracksById, nextDts, (id) => id === primary.trackId);
      previousTrafEnd = dataEnd;
      if (trackId !== primary.trackId) continue;
      samples.forEach((s, i) => {
        decodeStart ??= s.dts;
        earliest = Math.min(earliest, s.dts + s.compositionOffset);
        const pts = (s.dts + s.compositionOffset) / primary.timescale;
        if (!seenPrimarySample) {
          seenPrimarySample = true;
          firstPts = pts;
          if (video) startsWithKeyframe = isSync(s, primary.trackId);
        }
        if (!video) return;
        videoFrames++;
        if (firstPrimaryInMoof && i === 0 && isSync(s, primary.trackId)) {
          keyframes.push({ offset: moof.start, length: s.dataEnd - moof.start, pts });
        }
      });
      if (samples.length > 0) firstPrimaryInMoof = false;
    }
  }
  const decodeEnd = nextDts.get(primary.trackId);
  const ticks = decodeStart !== null && decodeEnd !== undefined ? { timescale: primary.timescale, earliest, decodeStart, decodeEnd } : undefined;
  return { keyframes, startsWithKeyframe, firstPts, videoFrames, ...(ticks ? { ticks } : {}) };
}

function isSync(s: FragmentSample, trackId: number): boolean {
  if (s.flags === undefined) {
    throw new Error(`track ${trackId}: sample flags unknown (no trun flags, first_sample_flags, tfhd or trex default)`);
  }
  return isSyncSampleFlags(s.flags);
}

/**
 * Resolves the samples of one traf: absolute data ranges, decode times and flags.
 * `needTiming(trackId)` says whether durations must be resolvable (only for the track we report on).
 */
function parseTrafSamples(
  buf: Buffer,
  moof: Box,
  traf: Box,
  previousTrafEnd: number,
  tracksById: ReadonlyMap<number, Fmp4Track>,
  nextDts: Map<number, number>,
  needTiming: (trackId: number) => boolean,
): { trackId: number; samples: FragmentSample[]; dataEnd: number } {
  const tfhd = parseTfhd(buf, requireBox(buf, ['tfhd'], traf));
  const track = tracksById.get(tfhd.trackId);
  if (!track) throw new Error(`traf at offset ${traf.start} references track_ID ${tfhd.trackId}, which is not in the init segment`);
  const tfdtBox = findBox(buf, ['tfdt'], traf);
  // undefined = unknown (no tfdt and nothing to continue from, or a missing duration)
  let dts: number | undefined = tfdtBox ? parseTfdt(buf, tfdtBox).baseMediaDecodeTime : nextDts.get(tfhd.trackId);
  const timingError = (why: string): Error => new Error(`traf at offset ${traf.start} (track ${tfhd.trackId}): cannot compute decode times: ${why}`);
  let unknownWhy = tfdtBox || dts !== undefined ? '' : 'no tfdt and no earlier fragment of this track in the segment';
  const base = tfhd.baseDataOffset ?? (tfhd.defaultBaseIsMoof ? moof.start : previousTrafEnd);
  let cursor = base;
  let dataEnd = base;
  const samples: FragmentSample[] = [];
  for (const trunBox of findBoxes(buf, ['trun'], traf)) {
    const trun = parseTrun(buf, trunBox);
    if (trun.dataOffset !== undefined) cursor = base + trun.dataOffset;
    trun.samples.forEach((s, i) => {
      const size = s.size ?? tfhd.defaultSampleSize ?? track.defaultSampleSize;
      if (size === undefined) throw new Error(`track ${tfhd.trackId}: sample size unknown (no trun size, tfhd or trex default)`);
      const flags = s.flags ?? (i === 0 ? trun.firstSampleFlags : undefined) ?? tfhd.defaultSampleFlags ?? track.defaultSampleFlags;
      const dataStart = cursor;
      const end = cursor + size;
      if (dataStart < 0 || end > buf.length) {
        throw new Error(`track ${tfhd.trackId}: sample data [${dataStart}, ${end}) of trun at offset ${trunBox.start} lies outside the segment (${buf.length} bytes)`);
      }
      if (dts === undefined && needTiming(tfhd.trackId)) throw timingError(unknownWhy);
      samples.push({ dts: dts ?? 0, compositionOffset: s.compositionTimeOffset ?? 0, flags, dataStart, dataEnd: end });
      cursor = end;
      dataEnd = Math.max(dataEnd, end);
      const duration = s.duration ?? tfhd.defaultSampleDuration ?? track.defaultSampleDuration;
      if (duration === undefined) {
        dts = undefined;
        unknownWhy = 'sample duration unknown (no trun duration, tfhd or trex default)';
      } else if (dts !== undefined) {
        dts += duration;
      }
    });
  }
  if (dts === undefined) nextDts.delete(tfhd.trackId);
  else nextDts.set(tfhd.trackId, dts);
  return { trackId: tfhd.trackId, samples, dataEnd };
}
