/**
 * MPEG-2 transport stream parsing: 188-byte packets, PAT/PMT, PES units per PID with PTS,
 * adaptation-field flags, Annex B NAL scanning (H.264/HEVC) and ADTS headers.
 */
import { BitReader, findStartCode } from './bytes.js';

export const TS_PACKET_SIZE = 188;
export const TS_SYNC_BYTE = 0x47;
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
export function streamKind(streamType: number): 'video' | 'audio' | 'other' {
  if (VIDEO_STREAM_TYPES.has(streamType)) return 'video';
  if (AUDIO_STREAM_TYPES.has(streamType)) return 'audio';
  return 'other';
}

export interface TsPacket {
  /** byte offset of the packet in the buffer */
  offset: number;
  pid: number;
  payloadUnitStart: boolean;
  transportError: boolean;
  continuityCounter: number;
  /** adaptation_field_control bit 1 */
  hasAdaptationField: boolean;
  /** adaptation_field_control bit 0 */
  hasPayload: boolean;
  discontinuity: boolean;
  randomAccess: boolean;
  /** PCR base (90 kHz) when present */
  pcrBase?: number;
  /** payload byte range in the buffer (empty when there is none) */
  payloadStart: number;
  payloadEnd: number;
}

/** Parses the header and adaptation field of the packet at `offset`. */
export function parseTsPacket(buf: Buffer, offset: number): TsPacket {
  if (offset + TS_PACKET_SIZE > buf.length) {
    throw new Error(`truncated TS packet at offset ${offset}: ${buf.length - offset} of ${TS_PACKET_SIZE} bytes`);
  }
  if (buf[offset] !== TS_SYNC_BYTE) {
    throw new Error(`TS sync byte 0x47 missing at offset ${offset} (found 0x${(buf[offset] as number).toString(16)})`);
  }
  const b1 = buf[offset + 1] as number;
  const b3 = buf[offset + 3] as number;
  const afc = (b3 >> 4) & 3;
  const packet: TsPacket = {
    offset,
    pid: ((b1 & 0x1f) << 8) | (buf[offset + 2] as number),
    payloadUnitStart: (b1 & 0x40) !== 0,
    transportError: (b1 & 0x80) !== 0,
    continuityCounter: b3 & 0x0f,
    hasAdaptationField: (afc & 2) !== 0,
    hasPayload: (afc & 1) !== 0,
    discontinuity: false,
    randomAccess: false,
    payloadStart: offset + TS_PACKET_SIZE,
    payloadEnd: offset + TS_PACKET_SIZE,
  };
  let p = offset + 4;
  if (packet.hasAdaptationField) {
    const afLength = buf[p] as number;
    if (afLength > 183) throw new Error(`TS packet at offset ${offset} has adaptation_field_length ${afLength} > 183`);
    if (afLength > 0) {
      const f = buf[p + 1] as number;
      packet.discontinuity = (f & 0x80) !== 0;
      packet.randomAccess = (f & 0x40) !== 0;
      if (f & 0x10 && afLength >= 7) {
        packet.pcrBase = (buf.readUInt32BE(p + 2) * 2) + ((buf[p + 6] as number) >> 7);
      }
    }
    p += 1 + afLength;
  }
  if (packet.hasPayload && p < offset + TS_PACKET_SIZE) packet.payloadStart = p;
  return packet;
}

/** Parses every packet; the buffer must be a whole number of 188-byte packets starting with 0x47. */
export function parseTsPackets(buf: Buffer): TsPacket[] {
  if (buf.length % TS_PACKET_SIZE !== 0) {
    throw new Error(`TS data length ${buf.length} is not a multiple of ${TS_PACKET_SIZE}`);
  }
  const packets: TsPacket[] = [];
  for (let off = 0; off < buf.length; off += TS_PACKET_SIZE) packets.push(parseTsPacket(buf, off));
  return packets;
}

/** Payload bytes of a packet (a view). */
export function packetPayload(buf: Buffer, p: TsPacket): Buffer {
  return buf.subarray(p.payloadStart, p.payloadEnd);
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
export function readFirstPsiSection(buf: Buffer, packets: readonly TsPacket[], pid: number): PsiSection | undefined {
  for (let i = 0; i < packets.length; i++) {
    const first = packets[i] as TsPacket;
    if (first.pid !== pid || !first.payloadUnitStart || first.payloadStart >= first.payloadEnd) continue;
    const payload = packetPayload(buf, first);
    const pointer = payload[0] as number;
    const chunks: Buffer[] = [payload.subarray(1 + pointer)];
    let have = (chunks[0] as Buffer).length;
    let endOffset = first.offset + TS_PACKET_SIZE;
    let total = -1;
    let j = i + 1;
    for (;;) {
      if (total < 0 && have >= 3) {
        const head = Buffer.concat(chunks).subarray(0, 3);
        total = 3 + ((((head[1] as number) & 0x0f) << 8) | (head[2] as number));
      }
      if (total >= 0 && have >= total) break;
      // need more bytes: continue with the next packet of this PID
      while (j < packets.length && (packets[j] as TsPacket).pid !== pid) j++;
      const next = packets[j];
      if (!next) return undefined;
      j++;
      const more = packetPayload(buf, next);
      const chunk = next.payloadUnitStart ? more.subarray(1) : more;
      chunks.push(chunk);
      have += chunk.length;
      endOffset = next.offset + TS_PACKET_SIZE;
    }
    const data = Buffer.concat(chunks).subarray(0, total);
    if ((data[0] as number) === 0xff) continue; // stuffing
    return { tableId: data[0] as number, data, firstPacketOffset: first.offset, endOffset };
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
  /** index into the packet list of the packet where the PES starts */
  packetIndex: number;
  /** byte offset of that packet */
  offset: number;
  /** random_access_indicator of that packet */
  randomAccess: boolean;
  /** payload views of all packets of this PES, in order */
  payloads: Buffer[];
}

/**
 * Groups payloads per PES for the given PIDs. Packets before the first payload_unit_start on a PID
 * (the tail of a PES begun in an earlier segment) are ignored.
 */
export function collectPesUnits(buf: Buffer, packets: readonly TsPacket[], pids: ReadonlySet<number>): Map<number, PesUnit[]> {
  const units = new Map<number, PesUnit[]>();
  const current = new Map<number, PesUnit>();
  for (const pid of pids) units.set(pid, []);
  packets.forEach((p, index) => {
    if (!pids.has(p.pid) || p.payloadStart >= p.payloadEnd) return;
    const payload = packetPayload(buf, p);
    if (p.payloadUnitStart) {
      const unit: PesUnit = { pid: p.pid, packetIndex: index, offset: p.offset, randomAccess: p.randomAccess, payloads: [payload] };
      units.get(p.pid)?.push(unit);
      current.set(p.pid, unit);
    } else {
      current.get(p.pid)?.payloads.push(payload);
    }
  });
  return units;
}

/** Concatenates the first payloads of a PES until at least `minBytes` are available (or all). */
export function pesPrefix(unit: PesUnit, minBytes: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (const p of unit.payloads) {
    parts.push(p);
    n += p.length;
    if (n >= minBytes) break;
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
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
export function nalUnitType(codec: AnnexBCodec, firstByte: number): number {
  return codec === 'h264' ? firstByte & 0x1f : (firstByte >> 1) & 0x3f;
}

/** True for slice NAL types (H.264 1..5, HEVC 0..31). */
export function isVclNal(codec: AnnexBCodec, type: number): boolean {
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
