/**
 * ISO BMFF (MP4 / fMP4) box parsing: box iteration, path lookup and the handful of
 * boxes the packager needs (sample entries and their codec configuration boxes,
 * mvex/trex defaults and movie-fragment boxes).
 *
 * Conventions: every parser takes the whole file `buf` plus a {@link Box} located in it,
 * and returns plain data. Malformed input throws a plain `Error` naming the box and offset.
 */
import { BitReader, readUint64BE } from './bytes.js';

export interface Box {
  /** four-character code, e.g. 'moof' */
  type: string;
  /** offset of the first byte of the box header in the buffer */
  start: number;
  /** total size including the header */
  size: number;
  /** header size: 8, 16 for a 64-bit size, +16 for 'uuid' */
  headerSize: number;
  /** start + headerSize */
  contentStart: number;
  /** start + size (exclusive) */
  end: number;
}

/** Visual sample entry types whose child boxes start 78 bytes into the entry body. */
const VISUAL_SAMPLE_ENTRIES: ReadonlySet<string> = new Set([
  'avc1',
  'avc2',
  'avc3',
  'avc4',
  'hvc1',
  'hev1',
  'dvh1',
  'dvhe',
  'dva1',
  'dvav',
  'av01',
  'vp08',
  'vp09',
  'mp4v',
  'encv',
  'jpeg',
  'mjpa',
]);

/** Audio sample entry types whose child boxes start 28 (+16/+36 for QuickTime v1/v2) bytes into the body. */
const AUDIO_SAMPLE_ENTRIES: ReadonlySet<string> = new Set(['mp4a', 'ac-3', 'ec-3', 'ac-4', 'Opus', 'fLaC', 'alac', 'enca', '.mp3', 'mha1', 'mhm1', 'dtsc', 'dtse', 'dtsh', 'dtsl']);

/**
 * Lists the boxes laid end to end in `buf[start, end)`.
 * A size of 0 means "to the end of the range"; a size of 1 means a 64-bit largesize follows.
 */
export function iterateBoxes(buf: Buffer, start = 0, end = buf.length): Box[] {
  if (start < 0 || end > buf.length || start > end) {
    throw new Error(`invalid box range [${start}, ${end}) in buffer of ${buf.length} bytes`);
  }
  const boxes: Box[] = [];
  let off = start;
  while (off < end) {
    if (end - off < 8) {
      throw new Error(`truncated box header at offset ${off}: only ${end - off} bytes left`);
    }
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let headerSize = 8;
    if (size === 1) {
      if (end - off < 16) throw new Error(`truncated 64-bit size of '${type}' box at offset ${off}`);
      size = readUint64BE(buf, off + 8, `size of '${type}' box`);
      headerSize = 16;
    } else if (size === 0) {
      size = end - off;
    }
    if (type === 'uuid') headerSize += 16;
    if (size < headerSize) {
      throw new Error(`'${type}' box at offset ${off} has invalid size ${size} (header is ${headerSize} bytes)`);
    }
    if (off + size > end) {
      throw new Error(`'${type}' box at offset ${off} with size ${size} extends past the end of its container (${end})`);
    }
    boxes.push({ type, start: off, size, headerSize, contentStart: off + headerSize, end: off + size });
    off += size;
  }
  return boxes;
}

/** The boxes directly inside `box` (for plain container boxes). */
export function childBoxes(buf: Buffer, box: Box): Box[] {
  return iterateBoxes(buf, box.contentStart, box.end);
}

/**
 * Finds all boxes matching a path like `['moov', 'trak', 'mdia']`, searching from the top level of
 * `buf` (or inside `within`). Intermediate path elements must be plain containers.
 */
export function findBoxes(buf: Buffer, path: readonly string[], within?: Box): Box[] {
  let level: Box[] = within ? childBoxes(buf, within) : iterateBoxes(buf);
  for (let i = 0; i < path.length; i++) {
    const matches = level.filter((b) => b.type === path[i]);
    if (i === path.length - 1) return matches;
    level = matches.flatMap((b) => childBoxes(buf, b));
  }
  return level;
}

/** First box matching `path` (see {@link findBoxes}), or undefined. */
export function findBox(buf: Buffer, path: readonly string[], within?: Box): Box | undefined {
  return findBoxes(buf, path, within)[0];
}

/** Like {@link findBox} but throws when the box is missing. */
export function requireBox(buf: Buffer, path: readonly string[], within?: Box): Box {
  const box = findBox(buf, path, within);
  if (!box) {
    const where = within ? `'${within.type}' box at offset ${within.start}` : 'top level';
    throw new Error(`missing '${path.join('/')}' box in ${where}`);
  }
  return box;
}

/** The content bytes of a box (a view, not a copy). */
export function boxPayload(buf: Buffer, box: Box): Buffer {
  return buf.subarray(box.contentStart, box.end);
}

export interface FullBoxHeader {
  version: number;
  flags: number;
}

/** Reads version and flags of a FullBox; the box must have at least 4 content bytes. */
function readFullBoxHeader(buf: Buffer, box: Box): FullBoxHeader {
  need(box, 4);
  return { version: buf.readUInt8(box.contentStart), flags: buf.readUIntBE(box.contentStart + 1, 3) };
}

function need(box: Box, contentBytes: number): void {
  if (box.end - box.contentStart < contentBytes) {
    throw new Error(`'${box.type}' box at offset ${box.start} is too short: need ${contentBytes} content bytes, have ${box.end - box.contentStart}`);
  }
}

/** tkhd -> track_ID */
export function parseTkhd(buf: Buffer, box: Box): { trackId: number } {
  const { version } = readFullBoxHeader(buf, box);
  const off = box.contentStart + 4 + (version === 1 ? 16 : 8);
  need(box, off - box.contentStart + 4);
  return { trackId: buf.readUInt32BE(off) };
}

/** mdhd -> timescale and duration */
export function parseMdhd(buf: Buffer, box: Box): { timescale: number; duration: number } {
  const { version } = readFullBoxHeader(buf, box);
  const p = box.contentStart + 4;
  if (version === 1) {
    need(box, 4 + 28);
    return { timescale: buf.readUInt32BE(p + 16), duration: readUint64BE(buf, p + 20, 'mdhd duration') };
  }
  need(box, 4 + 16);
  return { timescale: buf.readUInt32BE(p + 8), duration: buf.readUInt32BE(p + 12) };
}

/** hdlr -> handler_type ('vide', 'soun', ...) */
export function parseHdlr(buf: Buffer, box: Box): { handlerType: string } {
  need(box, 12);
  return { handlerType: buf.toString('latin1', box.contentStart + 8, box.contentStart + 12) };
}

export interface SampleEntry {
  /** the sample entry box (e.g. type 'avc1') */
  box: Box;
  type: string;
  /** child boxes of the entry (avcC, hvcC, av1C, esds, sinf, ...); empty for unknown entry kinds */
  children: Box[];
}

/** stsd -> its sample entries with their child boxes. */
export function parseStsd(buf: Buffer, box: Box): SampleEntry[] {
  need(box, 8);
  const count = buf.readUInt32BE(box.contentStart + 4);
  const entries = iterateBoxes(buf, box.contentStart + 8, box.end);
  if (entries.length < count) {
    throw new Error(`stsd at offset ${box.start} declares ${count} entries but contains ${entries.length}`);
  }
  return entries.slice(0, count).map((entry) => ({ box: entry, type: entry.type, children: sampleEntryChildren(buf, entry) }));
}

/** Child boxes of a visual or audio sample entry (codec configuration etc). */
function sampleEntryChildren(buf: Buffer, entry: Box): Box[] {
  let skip: number;
  if (VISUAL_SAMPLE_ENTRIES.has(entry.type)) {
    skip = 78;
  } else if (AUDIO_SAMPLE_ENTRIES.has(entry.type)) {
    need(entry, 10);
    // SampleEntry (8) + version field of the QuickTime sound description
    const version = buf.readUInt16BE(entry.contentStart + 8);
    skip = version === 1 ? 28 + 16 : version === 2 ? 28 + 36 : 28;
  } else {
    return [];
  }
  if (entry.end - entry.contentStart < skip) {
    throw new Error(`'${entry.type}' sample entry at offset ${entry.start} is too short (${entry.end - entry.contentStart} < ${skip} bytes)`);
  }
  return iterateBoxes(buf, entry.contentStart + skip, entry.end);
}

/** For encrypted entries (encv/enca): the original format from sinf/frma, else the entry type itself. */
export function originalFormat(buf: Buffer, entry: SampleEntry): string {
  if (entry.type !== 'encv' && entry.type !== 'enca') return entry.type;
  const sinf = entry.children.find((b) => b.type === 'sinf');
  const frma = sinf ? findBox(buf, ['frma'], sinf) : undefined;
  if (!frma) throw new Error(`encrypted sample entry '${entry.type}' at offset ${entry.box.start} has no sinf/frma`);
  need(frma, 4);
  return buf.toString('latin1', frma.contentStart, frma.contentStart + 4);
}

// ---------------------------------------------------------------------------------------------
// Codec configuration boxes. These take the box *payload* (bytes after the 8-byte header).

export interface AvcConfig {
  profileIdc: number;
  /** constraint_set0..5 flags byte (profile_compatibility) */
  constraintFlags: number;
  levelIdc: number;
  nalLengthSize: number;
  sps: Buffer[];
  pps: Buffer[];
}

/** AVCDecoderConfigurationRecord (avcC payload). */
export function parseAvcC(payload: Buffer): AvcConfig {
  if (payload.length < 7) throw new Error(`avcC too short: ${payload.length} bytes`);
  if (payload[0] !== 1) throw new Error(`avcC: unsupported configurationVersion ${payload[0]}`);
  const nalLengthSize = ((payload[4] as number) & 3) + 1;
  const sps: Buffer[] = [];
  const pps: Buffer[] = [];
  let off = 5;
  const numSps = (payload[off++] as number) & 0x1f;
  for (let i = 0; i < numSps; i++) off = readLengthPrefixed(payload, off, sps, 'avcC SPS');
  if (off >= payload.length) throw new Error('avcC truncated before numOfPictureParameterSets');
  const numPps = payload[off++] as number;
  for (let i = 0; i < numPps; i++) off = readLengthPrefixed(payload, off, pps, 'avcC PPS');
  return {
    profileIdc: payload[1] as number,
    constraintFlags: payload[2] as number,
    levelIdc: payload[3] as number,
    nalLengthSize,
    sps,
    pps,
  };
}

function readLengthPrefixed(payload: Buffer, off: number, out: Buffer[], what: string): number {
  if (off + 2 > payload.length) throw new Error(`${what}: truncated length at offset ${off}`);
  const len = payload.readUInt16BE(off);
  if (off + 2 + len > payload.length) throw new Error(`${what}: NAL of ${len} bytes at offset ${off} runs past end (${payload.length})`);
  out.push(payload.subarray(off + 2, off + 2 + len));
  return off + 2 + len;
}

/** HEVC general profile/tier/level fields, as in hvcC and the SPS/VPS profile_tier_level(). */
export interface HevcProfileTierLevel {
  generalProfileSpace: number;
  generalTierFlag: number;
  generalProfileIdc: number;
  /** 32 flags, bit 31 (MSB) = general_profile_compatibility_flag[0] */
  generalProfileCompatibilityFlags: number;
  /** the 48 bits starting at general_progressive_source_flag, as 6 bytes */
  generalConstraintIndicatorFlags: Buffer;
  generalLevelIdc: number;
}

export interface HevcConfig extends HevcProfileTierLevel {
  nalLengthSize: number;
  /** NAL unit arrays by type (32 VPS, 33 SPS, 34 PPS, 39/40 SEI) */
  arrays: { nalUnitType: number; nalus: Buffer[] }[];
}

/**
 * Parses the 12-byte general profile_tier_level layout shared by hvcC (bytes 1..12) and the
 * start of profile_tier_level() in a VPS/SPS RBSP.
 */
export function parseHevcGeneralPtl(bytes: Uint8Array, offset = 0): HevcProfileTierLevel {
  if (bytes.length < offset + 12) throw new Error(`HEVC profile_tier_level truncated: need 12 bytes at offset ${offset}, have ${bytes.length - offset}`);
  const b0 = bytes[offset] as number;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    generalProfileSpace: b0 >> 6,
    generalTierFlag: (b0 >> 5) & 1,
    generalProfileIdc: b0 & 0x1f,
    generalProfileCompatibilityFlags: view.readUInt32BE(offset + 1),
    generalConstraintIndicatorFlags: Buffer.from(view.subarray(offset + 5, offset + 11)),
    generalLevelIdc: bytes[offset + 11] as number,
  };
}

/** HEVCDecoderConfigurationRecord (hvcC payload). */
export function parseHvcC(payload: Buffer): HevcConfig {
  if (payload.length < 23) throw new Error(`hvcC too short: ${payload.length} bytes (need at least 23)`);
  if (payload[0] !== 1) throw new Error(`hvcC: unsupported configurationVersion ${payload[0]}`);
  const ptl = parseHevcGeneralPtl(payload, 1);
  const nalLengthSize = ((payload[21] as number) & 3) + 1;
  const numArrays = payload[22] as number;
  const arrays: HevcConfig['arrays'] = [];
  let off = 23;
  for (let i = 0; i < numArrays; i++) {
    if (off + 3 > payload.length) throw new Error(`hvcC: truncated NAL array header ${i} at offset ${off}`);
    const nalUnitType = (payload[off] as number) & 0x3f;
    const numNalus = payload.readUInt16BE(off + 1);
    off += 3;
    const nalus: Buffer[] = [];
    for (let j = 0; j < numNalus; j++) off = readLengthPrefixed(payload, off, nalus, `hvcC array ${i} NAL`);
    arrays.push({ nalUnitType, nalus });
  }
  return { ...ptl, nalLengthSize, arrays };
}

/** Colour description of an AV1 sequence header (color_config). */
export interface Av1Color {
  colorDescriptionPresent: boolean;
  colorPrimaries: number;
  transferCharacteristics: number;
  matrixCoefficients: number;
  fullRange: boolean;
}

export interface Av1Config {
  seqProfile: number;
  seqLevelIdx0: number;
  seqTier0: number;
  highBitdepth: boolean;
  twelveBit: boolean;
  monochrome: boolean;
  chromaSubsamplingX: number;
  chromaSubsamplingY: number;
  chromaSamplePosition: number;
  configObus: Buffer;
  /** colour info from the sequence header OBU in configOBUs, when one is present */
  color?: Av1Color;
}

/** AV1CodecConfigurationRecord (av1C payload), including colour info from a sequence header in configOBUs. */
export function parseAv1C(payload: Buffer): Av1Config {
  if (payload.length < 4) throw new Error(`av1C too short: ${payload.length} bytes`);
  const b0 = payload[0] as number;
  if (b0 >> 7 !== 1 || (b0 & 0x7f) !== 1) throw new Error(`av1C: bad marker/version byte 0x${b0.toString(16)}`);
  const b1 = payload[1] as number;
  const b2 = payload[2] as number;
  const configObus = payload.subarray(4);
  const seqHeader = findAv1SequenceHeaderObu(configObus);
  const config: Av1Config = {
    seqProfile: b1 >> 5,
    seqLevelIdx0: b1 & 0x1f,
    seqTier0: b2 >> 7,
    highBitdepth: ((b2 >> 6) & 1) === 1,
    twelveBit: ((b2 >> 5) & 1) === 1,
    monochrome: ((b2 >> 4) & 1) === 1,
    chromaSubsamplingX: (b2 >> 3) & 1,
    chromaSubsamplingY: (b2 >> 2) & 1,
    chromaSamplePosition: b2 & 3,
    configObus,
  };
  if (seqHeader) config.color = parseAv1SequenceHeaderColor(seqHeader);
  return config;
}

/** Returns the payload of the first OBU_SEQUENCE_HEADER in a sequence of low-overhead OBUs, if any. */
function findAv1SequenceHeaderObu(obus: Uint8Array): Buffer | undefined {
  const buf = Buffer.from(obus.buffer, obus.byteOffset, obus.byteLength);
  let off = 0;
  while (off < buf.length) {
    const header = buf[off] as number;
    const obuType = (header >> 3) & 0xf;
    const extension = (header >> 2) & 1;
    const hasSize = (header >> 1) & 1;
    let p = off + 1 + extension;
    let size: number;
    if (hasSize) {
      const leb = readLeb128(buf, p);
      size = leb.value;
      p += leb.length;
    } else {
      size = buf.length - p;
    }
    if (p + size > buf.length) throw new Error(`AV1 OBU of type ${obuType} at offset ${off} with size ${size} runs past end (${buf.length})`);
    if (obuType === 1) return buf.subarray(p, p + size);
    off = p + size;
  }
  return undefined;
}

function readLeb128(buf: Buffer, off: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (off + i >= buf.length) throw new Error(`AV1 leb128 truncated at offset ${off + i}`);
    const b = buf[off + i] as number;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  throw new Error(`AV1 leb128 at offset ${off} longer than 8 bytes`);
}

/** Parses an AV1 sequence_header_obu() payload far enough to read color_config(). */
function parseAv1SequenceHeaderColor(seq: Uint8Array): Av1Color {
  const r = new BitReader(seq);
  const seqProfile = r.readBits(3);
  r.skip(1); // still_picture
  const reducedStillPictureHeader = r.readFlag();
  let decoderModelInfoPresent = false;
  let bufferDelayLength = 0;
  if (reducedStillPictureHeader) {
    r.skip(5); // seq_level_idx[0]
  } else {
    const timingInfoPresent = r.readFlag();
    if (timingInfoPresent) {
      r.skip(32 + 32); // num_units_in_display_tick, time_scale
      if (r.readFlag()) r.readUvlc(); // equal_picture_interval -> num_ticks_per_picture_minus_1
      decoderModelInfoPresent = r.readFlag();
      if (decoderModelInfoPresent) {
        bufferDelayLength = r.readBits(5) + 1;
        r.skip(32); // num_units_in_decoding_tick
        r.skip(5 + 5); // buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
      }
    }
    const initialDisplayDelayPresent = r.readFlag();
    const operatingPoints = r.readBits(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      r.skip(12); // operating_point_idc
      const level = r.readBits(5);
      if (level > 7) r.skip(1); // seq_tier
      if (decoderModelInfoPresent && r.readFlag()) r.skip(2 * bufferDelayLength + 1);
      if (initialDisplayDelayPresent && r.readFlag()) r.skip(4);
    }
  }
  const widthBits = r.readBits(4) + 1;
  const heightBits = r.readBits(4) + 1;
  r.skip(widthBits + heightBits);
  if (!reducedStillPictureHeader && r.readFlag()) r.skip(4 + 3); // frame_id_numbers_present_flag
  r.skip(3); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reducedStillPictureHeader) {
    r.skip(4); // interintra_compound, masked_compound, warped_motion, dual_filter
    const enableOrderHint = r.readFlag();
    if (enableOrderHint) r.skip(2); // jnt_comp, ref_frame_mvs
    const chooseScreenContentTools = r.readFlag();
    const forceScreenContentTools = chooseScreenContentTools ? 2 : r.readBits(1);
    if (forceScreenContentTools > 0) {
      if (!r.readFlag()) r.skip(1); // seq_choose_integer_mv / seq_force_integer_mv
    }
    if (enableOrderHint) r.skip(3); // order_hint_bits_minus_1
  }
  r.skip(3); // enable_superres, enable_cdef, enable_restoration
  // color_config()
  const highBitdepth = r.readFlag();
  if (seqProfile === 2 && highBitdepth) r.skip(1); // twelve_bit
  const monochrome = seqProfile === 1 ? false : r.readFlag();
  const colorDescriptionPresent = r.readFlag();
  let colorPrimaries = 2;
  let transferCharacteristics = 2;
  let matrixCoefficients = 2;
  if (colorDescriptionPresent) {
    colorPrimaries = r.readBits(8);
    transferCharacteristics = r.readBits(8);
    matrixCoefficients = r.readBits(8);
  }
  let fullRange: boolean;
  if (monochrome) {
    fullRange = r.readFlag();
  } else if (colorPrimaries === 1 && transferCharacteristics === 13 && matrixCoefficients === 0) {
    fullRange = true; // sRGB
  } else {
    fullRange = r.readFlag();
  }
  return { colorDescriptionPresent, colorPrimaries, transferCharacteristics, matrixCoefficients, fullRange };
}

export interface EsdsInfo {
  /** DecoderConfigDescriptor objectTypeIndication (0x40 = MPEG-4 Audio) */
  objectTypeIndication: number;
  /** AudioSpecificConfig audioObjectType, when objectTypeIndication is 0x40 and a DecoderSpecificInfo is present */
  audioObjectType?: number;
  samplingFrequencyIndex?: number;
  channelConfiguration?: number;
}

/** esds payload (FullBox) -> ES_Descriptor / DecoderConfigDescriptor / AudioSpecificConfig. */
export function parseEsds(payload: Buffer): EsdsInfo {
  if (payload.length < 4) throw new Error(`esds too short: ${payload.length} bytes`);
  let off = 4; // version + flags
  const es = readDescriptor(payload, off, 'esds');
  if (es.tag !== 0x03) throw new Error(`esds: expected ES_Descriptor (tag 3), found tag ${es.tag}`);
  off = es.bodyStart;
  if (off + 3 > es.end) throw new Error('esds: ES_Descriptor truncated');
  const flags = payload[off + 2] as number;
  off += 3;
  if (flags & 0x80) off += 2; // dependsOn_ES_ID
  if (flags & 0x40) {
    if (off >= es.end) throw new Error('esds: ES_Descriptor truncated in URL');
    off += 1 + (payload[off] as number);
  }
  if (flags & 0x20) off += 2; // OCR_ES_Id
  const dc = readDescriptor(payload, off, 'esds ES_Descriptor');
  if (dc.tag !== 0x04) throw new Error(`esds: expected DecoderConfigDescriptor (tag 4), found tag ${dc.tag}`);
  if (dc.bodyStart + 13 > dc.end) throw new Error('esds: DecoderConfigDescriptor truncated');
  const info: EsdsInfo = { objectTypeIndication: payload[dc.bodyStart] as number };
  const dsiStart = dc.bodyStart + 13;
  if (dsiStart < dc.end) {
    const dsi = readDescriptor(payload, dsiStart, 'esds DecoderConfigDescriptor');
    if (dsi.tag === 0x05 && info.objectTypeIndication === 0x40) {
      Object.assign(info, parseAudioSpecificConfig(payload.subarray(dsi.bodyStart, dsi.end)));
    }
  }
  return info;
}

function readDescriptor(payload: Buffer, off: number, where: string): { tag: number; bodyStart: number; end: number } {
  if (off >= payload.length) throw new Error(`${where}: missing descriptor at offset ${off}`);
  const tag = payload[off] as number;
  let size = 0;
  let p = off + 1;
  for (let i = 0; i < 4; i++) {
    if (p >= payload.length) throw new Error(`${where}: truncated descriptor size at offset ${p}`);
    const b = payload[p++] as number;
    size = size * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  if (p + size > payload.length) throw new Error(`${where}: descriptor tag ${tag} of ${size} bytes at offset ${off} runs past end (${payload.length})`);
  return { tag, bodyStart: p, end: p + size };
}

/** First fields of an MPEG-4 AudioSpecificConfig. */
function parseAudioSpecificConfig(asc: Uint8Array): { audioObjectType: number; samplingFrequencyIndex: number; channelConfiguration: number } {
  const r = new BitReader(asc);
  let audioObjectType = r.readBits(5);
  if (audioObjectType === 31) audioObjectType = 32 + r.readBits(6);
  const samplingFrequencyIndex = r.readBits(4);
  if (samplingFrequencyIndex === 15) r.skip(24);
  const channelConfiguration = r.readBits(4);
  return { audioObjectType, samplingFrequencyIndex, channelConfiguration };
}

// ---------------------------------------------------------------------------------------------
// Movie fragments

export interface TrexDefaults {
  trackId: number;
  defaultSampleDescriptionIndex: number;
  defaultSampleDuration: number;
  defaultSampleSize: number;
  defaultSampleFlags: number;
}

/** mvex/trex */
export function parseTrex(buf: Buffer, box: Box): TrexDefaults {
  need(box, 24);
  const p = box.contentStart + 4;
  return {
    trackId: buf.readUInt32BE(p),
    defaultSampleDescriptionIndex: buf.readUInt32BE(p + 4),
    defaultSampleDuration: buf.readUInt32BE(p + 8),
    defaultSampleSize: buf.readUInt32BE(p + 12),
    defaultSampleFlags: buf.readUInt32BE(p + 16),
  };
}

const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_SAMPLE_DURATION = 0x000008;
const TFHD_DEFAULT_SAMPLE_SIZE = 0x000010;
const TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020;
const TFHD_DURATION_IS_EMPTY = 0x010000;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

export interface Tfhd {
  trackId: number;
  flags: number;
  baseDataOffset?: number;
  sampleDescriptionIndex?: number;
  defaultSampleDuration?: number;
  defaultSampleSize?: number;
  defaultSampleFlags?: number;
  durationIsEmpty: boolean;
  defaultBaseIsMoof: boolean;
}

/** traf/tfhd */
export function parseTfhd(buf: Buffer, box: Box): Tfhd {
  const { flags } = readFullBoxHeader(buf, box);
  let len = 8;
  if (flags & TFHD_BASE_DATA_OFFSET) len += 8;
  for (const f of [TFHD_SAMPLE_DESCRIPTION_INDEX, TFHD_DEFAULT_SAMPLE_DURATION, TFHD_DEFAULT_SAMPLE_SIZE, TFHD_DEFAULT_SAMPLE_FLAGS]) {
    if (flags & f) len += 4;
  }
  need(box, len);
  let p = box.contentStart + 4;
  const tfhd: Tfhd = {
    trackId: buf.readUInt32BE(p),
    flags,
    durationIsEmpty: (flags & TFHD_DURATION_IS_EMPTY) !== 0,
    defaultBaseIsMoof: (flags & TFHD_DEFAULT_BASE_IS_MOOF) !== 0,
  };
  p += 4;
  if (flags & TFHD_BASE_DATA_OFFSET) {
    tfhd.baseDataOffset = readUint64BE(buf, p, 'tfhd base_data_offset');
    p += 8;
  }
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) {
    tfhd.sampleDescriptionIndex = buf.readUInt32BE(p);
    p += 4;
  }
  if (flags & TFHD_DEFAULT_SAMPLE_DURATION) {
    tfhd.defaultSampleDuration = buf.readUInt32BE(p);
    p += 4;
  }
  if (flags & TFHD_DEFAULT_SAMPLE_SIZE) {
    tfhd.defaultSampleSize = buf.readUInt32BE(p);
    p += 4;
  }
  if (flags & TFHD_DEFAULT_SAMPLE_FLAGS) {
    tfhd.defaultSampleFlags = buf.readUInt32BE(p);
    p += 4;
  }
  return tfhd;
}

/** traf/tfdt -> baseMediaDecodeTime */
export function parseTfdt(buf: Buffer, box: Box): { baseMediaDecodeTime: number } {
  const { version } = readFullBoxHeader(buf, box);
  if (version === 1) {
    need(box, 12);
    return { baseMediaDecodeTime: readUint64BE(buf, box.contentStart + 4, 'tfdt baseMediaDecodeTime') };
  }
  need(box, 8);
  return { baseMediaDecodeTime: buf.readUInt32BE(box.contentStart + 4) };
}

export const TRUN_DATA_OFFSET = 0x000001;
export const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_SAMPLE_DURATION = 0x000100;
export const TRUN_SAMPLE_SIZE = 0x000200;
export const TRUN_SAMPLE_FLAGS = 0x000400;
export const TRUN_SAMPLE_COMPOSITION_TIME_OFFSET = 0x000800;

export interface TrunSample {
  duration?: number;
  size?: number;
  flags?: number;
  compositionTimeOffset?: number;
}

export interface Trun {
  version: number;
  flags: number;
  sampleCount: number;
  /** signed offset relative to the traf's base data offset */
  dataOffset?: number;
  firstSampleFlags?: number;
  samples: TrunSample[];
}

/** traf/trun */
export function parseTrun(buf: Buffer, box: Box): Trun {
  const { version, flags } = readFullBoxHeader(buf, box);
  need(box, 8);
  let p = box.contentStart + 4;
  const sampleCount = buf.readUInt32BE(p);
  p += 4;
  const trun: Trun = { version, flags, sampleCount, samples: [] };
  const headerLen = 8 + (flags & TRUN_DATA_OFFSET ? 4 : 0) + (flags & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0);
  const perSample = [TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_COMPOSITION_TIME_OFFSET].filter((f) => flags & f).length * 4;
  if (box.end - box.contentStart < headerLen + perSample * sampleCount) {
    throw new Error(
      `trun at offset ${box.start} is too short for ${sampleCount} samples (${box.end - box.contentStart} content bytes, need ${headerLen + perSample * sampleCount})`,
    );
  }
  if (flags & TRUN_DATA_OFFSET) {
    trun.dataOffset = buf.readInt32BE(p);
    p += 4;
  }
  if (flags & TRUN_FIRST_SAMPLE_FLAGS) {
    trun.firstSampleFlags = buf.readUInt32BE(p);
    p += 4;
  }
  for (let i = 0; i < sampleCount; i++) {
    const s: TrunSample = {};
    if (flags & TRUN_SAMPLE_DURATION) {
      s.duration = buf.readUInt32BE(p);
      p += 4;
    }
    if (flags & TRUN_SAMPLE_SIZE) {
      s.size = buf.readUInt32BE(p);
      p += 4;
    }
    if (flags & TRUN_SAMPLE_FLAGS) {
      s.flags = buf.readUInt32BE(p);
      p += 4;
    }
    if (flags & TRUN_SAMPLE_COMPOSITION_TIME_OFFSET) {
      s.compositionTimeOffset = version === 0 ? buf.readUInt32BE(p) : buf.readInt32BE(p);
      p += 4;
    }
    trun.samples.push(s);
  }
  return trun;
}

/** sample_is_non_sync_sample bit of ISO BMFF sample flags. */
export function isSyncSampleFlags(sampleFlags: number): boolean {
  return (sampleFlags & 0x00010000) === 0;
}

/** One reference of a segment index: a subsegment of `size` bytes lasting `duration` ticks, starting with a SAP of type 1 or not. */
export interface SidxReference {
  size: number;
  duration: number;
  startsWithSap: boolean;
}

export interface Sidx {
  referenceId: number;
  timescale: number;
  earliestPresentationTime: number;
  /** bytes from the end of the sidx to the first subsegment */
  firstOffset: number;
  references: SidxReference[];
}

/** A SegmentIndexBox (ISO/IEC 14496-12 8.16.3), version 1 (64-bit times), media references only (reference_type 0). */
export function buildSidx(s: Sidx): Buffer {
  if (s.references.length > 0xffff) throw new Error(`a sidx holds at most 65535 references, got ${s.references.length}`);
  const buf = Buffer.alloc(40 + 12 * s.references.length);
  buf.writeUInt32BE(buf.length, 0);
  buf.write('sidx', 4, 'latin1');
  buf.writeUInt32BE(0x01000000, 8); // version 1, flags 0
  buf.writeUInt32BE(s.referenceId, 12);
  buf.writeUInt32BE(s.timescale, 16);
  buf.writeBigUInt64BE(BigInt(s.earliestPresentationTime), 20);
  buf.writeBigUInt64BE(BigInt(s.firstOffset), 28);
  buf.writeUInt16BE(0, 36);
  buf.writeUInt16BE(s.references.length, 38);
  s.references.forEach((r, i) => {
    const p = 40 + 12 * i;
    if (r.size >= 2 ** 31) throw new Error(`a sidx reference is at most 2 GiB, got ${r.size} bytes`);
    buf.writeUInt32BE(r.size, p);
    buf.writeUInt32BE(r.duration, p + 4);
    buf.writeUInt32BE(r.startsWithSap ? 0x90000000 : 0, p + 8); // starts_with_SAP 1, SAP_type 1, delta 0
  });
  return buf;
}

/** Parse a SegmentIndexBox (either version); throws on a truncated box or a reference to another index. */
export function parseSidx(buf: Buffer, box: Box): Sidx {
  const { version } = readFullBoxHeader(buf, box);
  let p = box.contentStart + 4;
  need(box, version === 0 ? 24 : 32);
  const referenceId = buf.readUInt32BE(p);
  const timescale = buf.readUInt32BE(p + 4);
  p += 8;
  const earliestPresentationTime = version === 0 ? buf.readUInt32BE(p) : readUint64BE(buf, p, 'sidx earliest_presentation_time');
  const firstOffset = version === 0 ? buf.readUInt32BE(p + 4) : readUint64BE(buf, p + 8, 'sidx first_offset');
  p += version === 0 ? 8 : 16;
  const count = buf.readUInt16BE(p + 2);
  p += 4;
  if (p + 12 * count > box.end) throw new Error(`sidx at offset ${box.start} is truncated: ${count} references do not fit`);
  const references: SidxReference[] = [];
  for (let i = 0; i < count; i++, p += 12) {
    const word = buf.readUInt32BE(p);
    if (word & 0x80000000) throw new Error(`sidx at offset ${box.start} references another index (hierarchical sidx is not supported)`);
    references.push({ size: word & 0x7fffffff, duration: buf.readUInt32BE(p + 4), startsWithSap: (buf.readUInt32BE(p + 8) & 0x80000000) !== 0 });
  }
  return { referenceId, timescale, earliestPresentationTime, firstOffset, references };
}
