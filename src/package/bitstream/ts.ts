/**
 * MPEG-2 transport stream parsing: 188-byte packets, PAT/PMT, PES units per PID with PTS,
 * adaptation-field flags, Annex B NAL scanning (H.264/HEVC) and ADTS headers.
 */
import { BitReader, findStartCode } from './bytes.js';

const TS_PACKET_SIZE = 188;
const TS_SYNC_BYTE = 0x47;
export const PAT_PID = 0x0000;
/** PTS/DTS clock rate. */
export const TS_CLOCK_HZ = 90000;

export const STREAM_TYPE = {
  MPEG1_VIDEO: 0x01,
  MPEG2_VIDEO: 0x02,
  MPEG1_AUDIO: 0x03,
  MPEG2_AUDIO: 0x04,
  PRIVATE_PES: 0x06,
  AAC_ADTS: 0x0f,
  MPEG4_VIDEO: 0x10,
  AAC_LATM: 0x11,
  METADATA: 0x15,
  H264: 0x1b,
  HEVC: 0x24,
  AC3: 0x81,
  EAC3: 0x87,
} as const;

const VIDEO_STREAM_TYPES: ReadonlySet<number> = new Set([0x01, 0x02, 0x10, 0x1b, 0x20, 0x24, 0x42, 0xea]);
const AUDIO_STREAM_TYPES: ReadonlySet<number> = new Set([0x03, 0x04, 0x0f, 0x11, 0x1c, 0x81, 0x87]);

/** 'video' / 'audio' / 'other' for a PMT stream_type. */
function streamKind(streamType: number): 'video' | 'audio' | 'other' {
  if (VIDEO_STREAM_TYPES.has(streamType)) return 'video';
  if (AUDIO_STREAM_TYPES.has(streamType)) return 'audio';
  return 'other';
}

/** payload_unit_start_indicator (bit in TsPackets.flags) */
const TS_PUSI = 1;
/** random_access_indicator of the adaptation field (bit in TsPackets.flags) */
const TS_RANDOM_ACCESS = 2;

/**
 * The packets of a TS buffer as a table: packet i starts at byte i * 188. Typed arrays instead of
 * one object (and one payload view) per packet: a 6 s 1080p segment has ~30,000 packets, and objects
 * that live through a whole segment's inspection made V8 grow its young generation to its maximum
 * (32 MiB of Node's resident memory) and cost more time than the parsing itself.
 */
export interface TsPackets {
  readonly count: number;
  readonly pid: Uint16Array;
  /** TS_PUSI | TS_RANDOM_ACCESS */
  readonly flags: Uint8Array;
  /** where the payload begins inside the packet: 4..187, or 188 when the packet carries none */
  readonly payloadStart: Uint8Array;
}

/**
 * Parses the header and adaptation-field flags of every packet; the buffer must be a whole number of
 * 188-byte packets, each starting with 0x47.
 */
export function parseTsPackets(buf: Buffer): TsPackets {
  if (buf.length % TS_PACKET_SIZE !== 0) {
    throw new Error(`TS data length ${buf.length} is not a multiple of ${TS_PACKET_SIZE}`);
  }
  const count = buf.length / TS_PACKET_SIZE;
  const table = new ArrayBuffer(count * 4);
  const pid = new Uint16Array(table, 0, count);
  const flags = new Uint8Array(table, count * 2, count);
  const payloadStart = new Uint8Array(table, count * 3, count);
  for (let i = 0, off = 0; i < count; i++, off += TS_PACKET_SIZE) {
    if (buf[off] !== TS_SYNC_BYTE) {
      throw new Error(`TS sync byte 0x47 missing at offset ${off} (found 0x${(buf[off] as number).toString(16)})`);
    }
    const b1 = buf[off + 1] as number;
    const b3 = buf[off + 3] as number;
    pid[i] = ((b1 & 0x1f) << 8) | (buf[off + 2] as number);
    let f = b1 & 0x40 ? TS_PUSI : 0;
    let p = 4;
    if (b3 & 0x20) {
      // adaptation_field_control bit 1: an adaptation field follows the header
      const afLength = buf[off + 4] as number;
      if (afLength > 183) throw new Error(`TS packet at offset ${off} has adaptation_field_length ${afLength} > 183`);
      if (afLength > 0 && (buf[off + 5] as number) & 0x40) f |= TS_RANDOM_ACCESS;
      p += 1 + afLength;
    }
    flags[i] = f;
    // adaptation_field_control bit 0: the packet carries a payload
    payloadStart[i] = b3 & 0x10 && p < TS_PACKET_SIZE ? p : TS_PACKET_SIZE;
  }
  return { count, pid, flags, payloadStart };
}

/** Payload bytes of packet `i` (a view; empty when it carries none). */
function packetPayload(buf: Buffer, packets: TsPackets, i: number): Buffer {
  const off = i * TS_PACKET_SIZE;
  return buf.subarray(off + (packets.payloadStart[i] as number), off + TS_PACKET_SIZE);
}

function hasPayload(packets: TsPackets, i: number): boolean {
  return (packets.payloadStart[i] as number) < TS_PACKET_SIZE;
}

export interface PsiSection {
  tableId: number;
  /** the whole section from table_id up to and including the CRC */
  data: Buffer;
  /** offset of the first packet carrying the section */
  firstPacketOffset: number;
  /** offset just past the last packet carrying the section */
  endOffset: number;
}

/**
 * Reassembles the first complete PSI section on `pid` (starting in a payload_unit_start packet).
 * Returns undefined when none starts in the data or the last one is incomplete.
 */
export function readFirstPsiSection(buf: Buffer, packets: TsPackets, pid: number): PsiSection | undefined {
  for (let i = 0; i < packets.count; i++) {
    if (packets.pid[i] !== pid || !((packets.flags[i] as number) & TS_PUSI) || !hasPayload(packets, i)) continue;
    const payload = packetPayload(buf, packets, i);
    const pointer = payload[0] as number;
    const chunks: Buffer[] = [payload.subarray(1 + pointer)];
    let have = (chunks[0] as Buffer).length;
    let endOffset = (i + 1) * TS_PACKET_SIZE;
    let total = -1;
    let j = i + 1;
    for (;;) {
      if (total < 0 && have >= 3) {
        const head = Buffer.concat(chunks).subarray(0, 3);
        total = 3 + ((((head[1] as number) & 0x0f) << 8) | (head[2] as number));
      }
      if (total >= 0 && have >= total) break;
      // need more bytes: continue with the next packet of this PID
      while (j < packets.count && packets.pid[j] !== pid) j++;
      if (j >= packets.count) return undefined;
      const more = packetPayload(buf, packets, j);
      const chunk = (packets.flags[j] as number) & TS_PUSI ? more.subarray(1) : more;
      chunks.push(chunk);
      have += chunk.length;
      endOffset = (j + 1) * TS_PACKET_SIZE;
      j++;
    }
    const data = Buffer.concat(chunks).subarray(0, total);
    if ((data[0] as number) === 0xff) continue; // stuffing
    return { tableId: data[0] as number, data, firstPacketOffset: i * TS_PACKET_SIZE, endOffset };
  }
  return undefined;
}

export interface PatProgram {
  programNumber: number;
  pmtPid: number;
}

/** program_association_section -> programs (program_number 0, the network PID, is skipped). */
export function parsePat(section: Buffer): PatProgram[] {
  checkLongSection(section, 0x00, 'PAT');
  const end = section.length - 4; // CRC_32
  const programs: PatProgram[] = [];
  for (let p = 8; p + 4 <= end; p += 4) {
    const programNumber = section.readUInt16BE(p);
    const pid = section.readUInt16BE(p + 2) & 0x1fff;
    if (programNumber !== 0) programs.push({ programNumber, pmtPid: pid });
  }
  return programs;
}

export interface PmtStream {
  streamType: number;
  pid: number;
  kind: 'video' | 'audio' | 'other';
  /** ES_info descriptors (raw) */
  descriptors: Buffer;
}

export interface Pmt {
  programNumber: number;
  pcrPid: number;
  streams: PmtStream[];
}

/** TS_program_map_section */
export function parsePmt(section: Buffer): Pmt {
  checkLongSection(section, 0x02, 'PMT');
  const end = section.length - 4;
  if (section.length < 16) throw new Error(`PMT section too short: ${section.length} bytes`);
  const programNumber = section.readUInt16BE(3);
  const pcrPid = section.readUInt16BE(8) & 0x1fff;
  const programInfoLength = section.readUInt16BE(10) & 0x0fff;
  let p = 12 + programInfoLength;
  const streams: PmtStream[] = [];
  while (p + 5 <= end) {
    const streamType = section[p] as number;
    const pid = section.readUInt16BE(p + 1) & 0x1fff;
    const esInfoLength = section.readUInt16BE(p + 3) & 0x0fff;
    if (p + 5 + esInfoLength > end) throw new Error(`PMT: ES_info of PID ${pid} runs past the section end`);
    streams.push({ streamType, pid, kind: streamKind(streamType), descriptors: section.subarray(p + 5, p + 5 + esInfoLength) });
    p += 5 + esInfoLength;
  }
  return { programNumber, pcrPid, streams };
}

function checkLongSection(section: Buffer, tableId: number, name: string): void {
  if (section.length < 12) throw new Error(`${name} section too short: ${section.length} bytes`);
  if (section[0] !== tableId) throw new Error(`${name}: expected table_id ${tableId}, found ${section[0]}`);
  if (((section[1] as number) & 0x80) === 0) throw new Error(`${name}: section_syntax_indicator is 0`);
}

export interface PesUnit {
  pid: number;
  /** byte offset of the packet where the PES starts */
  offset: number;
  /** byte offset just past the PES's last packet: the next PES start on its PID, or the end */
  endOffset: number;
  /** random_access_indicator of that packet */
  randomAccess: boolean;
}

/**
 * Finds the PES units of the given PIDs, in order, per PID. Packets before the first
 * payload_unit_start on a PID (the tail of a PES begun in an earlier segment) are ignored.
 */
export function collectPesUnits(packets: TsPackets, pids: ReadonlySet<number>): Map<number, PesUnit[]> {
  const units = new Map<number, PesUnit[]>();
  const current = new Map<number, PesUnit>();
  const wanted = new Uint8Array(0x2000);
  for (const pid of pids) {
    units.set(pid, []);
    wanted[pid & 0x1fff] = 1;
  }
  for (let i = 0; i < packets.count; i++) {
    const pid = packets.pid[i] as number;
    if (!wanted[pid] || !((packets.flags[i] as number) & TS_PUSI) || !hasPayload(packets, i)) continue;
    const previous = current.get(pid);
    const offset = i * TS_PACKET_SIZE;
    if (previous) previous.endOffset = offset;
    const unit: PesUnit = { pid, offset, endOffset: packets.count * TS_PACKET_SIZE, randomAccess: ((packets.flags[i] as number) & TS_RANDOM_ACCESS) !== 0 };
    units.get(pid)?.push(unit);
    current.set(pid, unit);
  }
  return units;
}

/**
 * The bytes of a PES: its packets' payloads joined, up to at least `minBytes` when it has that many
 * (the whole PES by default). A view into `buf` when one packet holds them, a copy otherwise.
 */
export function pesBytes(buf: Buffer, packets: TsPackets, unit: PesUnit, minBytes = Infinity): Buffer {
  let n = 0;
  let first = -1;
  let last = -1;
  const end = unit.endOffset / TS_PACKET_SIZE;
  for (let i = unit.offset / TS_PACKET_SIZE; i < end && n < minBytes; i++) {
    if (packets.pid[i] !== unit.pid || !hasPayload(packets, i)) continue;
    n += TS_PACKET_SIZE - (packets.payloadStart[i] as number);
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) return buf.subarray(0, 0);
  if (first === last) return packetPayload(buf, packets, first);
  const out = Buffer.allocUnsafe(n);
  let w = 0;
  for (let i = first; i <= last; i++) {
    if (packets.pid[i] !== unit.pid || !hasPayload(packets, i)) continue;
    const off = i * TS_PACKET_SIZE;
    w += buf.copy(out, w, off + (packets.payloadStart[i] as number), off + TS_PACKET_SIZE);
  }
  return out;
}

export interface PesHeader {
  streamId: number;
  /** PES_packet_length (0 = unbounded, typical for video) */
  packetLength: number;
  /** 90 kHz, 33 bits */
  pts?: number;
  dts?: number;
  /** offset of the elementary stream data within the PES bytes */
  payloadOffset: number;
}

const NO_OPTIONAL_HEADER: ReadonlySet<number> = new Set([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xf2, 0xf8, 0xff]);

/** Parses a PES header from the start of the PES bytes. */
export function parsePesHeader(pes: Buffer): PesHeader {
  if (pes.length < 6) throw new Error(`PES too short for a header: ${pes.length} bytes`);
  if (pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) {
    throw new Error(`PES start code prefix 00 00 01 missing (found ${pes.subarray(0, 3).toString('hex')})`);
  }
  const streamId = pes[3] as number;
  const packetLength = pes.readUInt16BE(4);
  if (NO_OPTIONAL_HEADER.has(streamId)) return { streamId, packetLength, payloadOffset: 6 };
  if (pes.length < 9) throw new Error(`PES header truncated: ${pes.length} bytes`);
  const ptsDtsFlags = (pes[7] as number) >> 6;
  const headerDataLength = pes[8] as number;
  const payloadOffset = 9 + headerDataLength;
  if (pes.length < payloadOffset) throw new Error(`PES header of ${payloadOffset} bytes truncated at ${pes.length}`);
  const header: PesHeader = { streamId, packetLength, payloadOffset };
  if (ptsDtsFlags & 2) {
    if (headerDataLength < 5) throw new Error('PES PTS flag set but header too short');
    header.pts = readPesTimestamp(pes, 9);
    if (ptsDtsFlags === 3) {
      if (headerDataLength < 10) throw new Error('PES DTS flag set but header too short');
      header.dts = readPesTimestamp(pes, 14);
    }
  }
  return header;
}

/** Decodes a 5-byte PTS/DTS field (33 bits with marker bits). */
export function readPesTimestamp(b: Uint8Array, off: number): number {
  const b0 = b[off] as number;
  const b1 = b[off + 1] as number;
  const b2 = b[off + 2] as number;
  const b3 = b[off + 3] as number;
  const b4 = b[off + 4] as number;
  return ((b0 >> 1) & 0x07) * 2 ** 30 + ((b1 << 7) | (b2 >> 1)) * 2 ** 15 + ((b3 << 7) | (b4 >> 1));
}

// ------------------------------------------------------------------------------------ Annex B

export type AnnexBCodec = 'h264' | 'hevc';

/** nal_unit_type from the first NAL header byte. */
function nalUnitType(codec: AnnexBCodec, firstByte: number): number {
  return codec === 'h264' ? firstByte & 0x1f : (firstByte >> 1) & 0x3f;
}

/** True for slice NAL types (H.264 1..5, HEVC 0..31). */
function isVclNal(codec: AnnexBCodec, type: number): boolean {
  return codec === 'h264' ? type >= 1 && type <= 5 : type <= 31;
}

/** True for IDR (H.264 5) / IRAP (HEVC 16..23) slice types. */
export function isRandomAccessNal(codec: AnnexBCodec, type: number): boolean {
  return codec === 'h264' ? type === 5 : type >= 16 && type <= 23;
}

export interface AccessUnitStart {
  /** nal_unit_type of the first slice, if found */
  firstVclType?: number;
  /** SPS NAL units (with header, without start code, possibly with trailing zero bytes) that precede the first slice */
  sps: Buffer[];
  vps: Buffer[];
}

/**
 * Scans Annex B data up to the first slice NAL, collecting parameter sets.
 * NAL boundaries are taken from start codes, so an SPS at the very end of `es` may be truncated.
 */
export function scanAccessUnitStart(es: Uint8Array, codec: AnnexBCodec): AccessUnitStart {
  const result: AccessUnitStart = { sps: [], vps: [] };
  let sc = findStartCode(es, 0);
  while (sc !== -1 && sc + 3 < es.length) {
    const nalStart = sc + 3;
    const type = nalUnitType(codec, es[nalStart] as number);
    if (isVclNal(codec, type)) {
      result.firstVclType = type;
      break;
    }
    const next = findStartCode(es, nalStart);
    const nal = Buffer.from(es.buffer, es.byteOffset + nalStart, (next === -1 ? es.length : next) - nalStart);
    const spsType = codec === 'h264' ? 7 : 33;
    if (type === spsType) result.sps.push(nal);
    else if (codec === 'hevc' && type === 32) result.vps.push(nal);
    sc = next;
  }
  return result;
}

// ------------------------------------------------------------------------------------------ ADTS

export interface AdtsHeader {
  /** 2-bit profile field; audioObjectType = profile + 1 */
  profile: number;
  audioObjectType: number;
  samplingFrequencyIndex: number;
  channelConfiguration: number;
  protectionAbsent: boolean;
  /** frame length including the header */
  frameLength: number;
  headerLength: number;
}

/** Parses an ADTS header at `offset`. */
export function parseAdtsHeader(data: Uint8Array, offset = 0): AdtsHeader {
  if (data.length - offset < 7) throw new Error(`ADTS header truncated at offset ${offset}`);
  const r = new BitReader(data, offset, offset + 7);
  if (r.readBits(12) !== 0xfff) throw new Error(`ADTS syncword 0xFFF missing at offset ${offset}`);
  r.skip(1 + 2); // ID, layer
  const protectionAbsent = r.readFlag();
  const profile = r.readBits(2);
  const samplingFrequencyIndex = r.readBits(4);
  r.skip(1); // private bit
  const channelConfiguration = r.readBits(3);
  r.skip(4); // original/copy, home, copyright id bit/start
  const frameLength = r.readBits(13);
  const headerLength = protectionAbsent ? 7 : 9;
  if (frameLength < headerLength) throw new Error(`ADTS frame_length ${frameLength} at offset ${offset} is shorter than its header`);
  return { profile, audioObjectType: profile + 1, samplingFrequencyIndex, channelConfiguration, protectionAbsent, frameLength, headerLength };
}

/** Offset of the first ADTS syncword (0xFFF) in `data`, or -1. */
export function findAdtsSync(data: Uint8Array, from = 0): number {
  for (let i = from; i + 1 < data.length; i++) {
    if (data[i] === 0xff && ((data[i + 1] as number) & 0xf6) === 0xf0) return i;
  }
  return -1;
}
