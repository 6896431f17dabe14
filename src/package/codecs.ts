/**
 * RFC 6381 / HLS `CODECS` attribute strings for H.264, HEVC, AV1 and AAC.
 *
 * All functions are pure. "payload" parameters are box contents without the 8-byte box header
 * (e.g. an avcC payload starts with configurationVersion = 1).
 */
import { hex, removeEmulationPrevention } from './bitstream/bytes.js';
import { parseAdtsHeader } from './bitstream/ts.js';
import { type Av1Config, type EsdsInfo, type HevcProfileTierLevel, parseAv1C, parseAvcC, parseEsds, parseHevcGeneralPtl, parseHvcC } from './bitstream/mp4.js';

// ------------------------------------------------------------------------------------------ AVC

/** `avc1.PPCCLL` (lower-case hex). `sampleEntry` may be 'avc3' for in-band parameter sets. */
export function avcCodecString(profileIdc: number, constraintFlags: number, levelIdc: number, sampleEntry = 'avc1'): string {
  for (const [name, v] of [
    ['profile_idc', profileIdc],
    ['constraint flags', constraintFlags],
    ['level_idc', levelIdc],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`avcCodecString: ${name} ${v} is not a byte`);
  }
  return `${sampleEntry}.${hex(profileIdc, 2)}${hex(constraintFlags, 2)}${hex(levelIdc, 2)}`;
}

/** profile_idc, constraint_set flags and level_idc from an H.264 SPS NAL unit (including its 1-byte NAL header, no start code). */
export function parseAvcSpsProfile(spsNal: Uint8Array): { profileIdc: number; constraintFlags: number; levelIdc: number } {
  if (spsNal.length < 4) throw new Error(`H.264 SPS too short: ${spsNal.length} bytes`);
  const nalType = (spsNal[0] as number) & 0x1f;
  if (nalType !== 7) throw new Error(`expected H.264 SPS (nal_unit_type 7), got nal_unit_type ${nalType}`);
  const rbsp = removeEmulationPrevention(spsNal.subarray(1, Math.min(spsNal.length, 16)));
  if (rbsp.length < 3) throw new Error(`H.264 SPS too short after emulation prevention removal: ${rbsp.length} bytes`);
  return { profileIdc: rbsp[0] as number, constraintFlags: rbsp[1] as number, levelIdc: rbsp[2] as number };
}

/** CODECS string from an H.264 SPS NAL unit (with NAL header, without start code). */
export function avcCodecStringFromSps(spsNal: Uint8Array, sampleEntry = 'avc1'): string {
  const p = parseAvcSpsProfile(spsNal);
  return avcCodecString(p.profileIdc, p.constraintFlags, p.levelIdc, sampleEntry);
}

/** CODECS string from an avcC box payload. */
export function avcCodecStringFromAvcC(avcCPayload: Buffer, sampleEntry = 'avc1'): string {
  const c = parseAvcC(avcCPayload);
  return avcCodecString(c.profileIdc, c.constraintFlags, c.levelIdc, sampleEntry);
}

// ----------------------------------------------------------------------------------------- HEVC

/** Reverses the bit order of a 32-bit unsigned value. */
export function reverseBits32(value: number): number {
  let v = value >>> 0;
  let r = 0;
  for (let i = 0; i < 32; i++) {
    r = (r << 1) | (v & 1);
    v >>>= 1;
  }
  return r >>> 0;
}

/**
 * ISO/IEC 14496-15 Annex E: `<entry>.<space><profile>.<compat reversed hex>.<L|H><level>[.<constraint bytes>]`,
 * e.g. `hvc1.1.6.L93.B0`. Constraint bytes are upper-case hex, trailing zero bytes omitted;
 * the compatibility flags are written in reverse bit order as upper-case hex without leading zeros.
 */
export function hevcCodecString(ptl: HevcProfileTierLevel, sampleEntry = 'hvc1'): string {
  const space = ['', 'A', 'B', 'C'][ptl.generalProfileSpace];
  if (space === undefined) throw new Error(`hevcCodecString: invalid general_profile_space ${ptl.generalProfileSpace}`);
  if (ptl.generalConstraintIndicatorFlags.length !== 6) {
    throw new Error(`hevcCodecString: expected 6 constraint indicator bytes, got ${ptl.generalConstraintIndicatorFlags.length}`);
  }
  const compat = reverseBits32(ptl.generalProfileCompatibilityFlags).toString(16).toUpperCase();
  const tier = ptl.generalTierFlag ? 'H' : 'L';
  const bytes = Array.from(ptl.generalConstraintIndicatorFlags);
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  const constraints = bytes.map((b) => hex(b, 2).toUpperCase());
  return [`${sampleEntry}`, `${space}${ptl.generalProfileIdc}`, compat, `${tier}${ptl.generalLevelIdc}`, ...constraints].join('.');
}

/** CODECS string from an hvcC box payload; `sampleEntry` ('hvc1' or 'hev1') comes from stsd. */
export function hevcCodecStringFromHvcC(hvcCPayload: Buffer, sampleEntry = 'hvc1'): string {
  return hevcCodecString(parseHvcC(hvcCPayload), sampleEntry);
}

/**
 * General profile_tier_level from an HEVC SPS NAL unit (with its 2-byte NAL header, no start code).
 * Only the general (not sub-layer) fields are read, which sit at a fixed position.
 */
function parseHevcSpsProfileTierLevel(spsNal: Uint8Array): HevcProfileTierLevel {
  if (spsNal.length < 3) throw new Error(`HEVC SPS too short: ${spsNal.length} bytes`);
  const nalType = ((spsNal[0] as number) >> 1) & 0x3f;
  if (nalType !== 33) throw new Error(`expected HEVC SPS (nal_unit_type 33), got nal_unit_type ${nalType}`);
  // sps_video_parameter_set_id(4) sps_max_sub_layers_minus1(3) sps_temporal_id_nesting_flag(1), then PTL
  const rbsp = removeEmulationPrevention(spsNal.subarray(2, Math.min(spsNal.length, 40)));
  return parseHevcGeneralPtl(rbsp, 1);
}

/** CODECS string from an HEVC SPS NAL unit. Annex B streams carry parameter sets in-band, hence 'hev1' by default. */
export function hevcCodecStringFromSps(spsNal: Uint8Array, sampleEntry = 'hev1'): string {
  return hevcCodecString(parseHevcSpsProfileTierLevel(spsNal), sampleEntry);
}

// ------------------------------------------------------------------------------------------ AV1

export interface Av1CodecParams {
  seqProfile: number;
  seqLevelIdx0: number;
  seqTier0: number;
  /** 8, 10 or 12 */
  bitDepth: number;
  monochrome?: boolean;
  chromaSubsamplingX?: number;
  chromaSubsamplingY?: number;
  chromaSamplePosition?: number;
  colorPrimaries?: number;
  transferCharacteristics?: number;
  matrixCoefficients?: number;
  fullRange?: boolean;
  /**
   * false: the sequence header has no colour description (color_description_present_flag 0), so its
   * primaries, transfer and matrix are "unspecified" (2). They do not call for the long form, and
   * when the long form is written for another field they are written as 02.02.02: what the
   * bitstream says, not BT.709. Default true.
   */
  colorDescribed?: boolean;
}

/**
 * `av01.P.LLT.DD[.M.CCC.cp.tc.mc.F]` (AV1 ISOBMFF binding, "Codecs Parameter String"). The optional
 * fields are all or none; they are written only when at least one of them differs from the
 * defaults (monochrome 0, chroma 110, colour 01.01.01, full range 0); omitted optional inputs count
 * as defaults. Without a colour description in the bitstream the colour fields are left to their
 * defaults when they can be, and say "unspecified" (02) when the long form is needed anyway.
 */
export function av1CodecString(p: Av1CodecParams): string {
  if (![8, 10, 12].includes(p.bitDepth)) throw new Error(`av1CodecString: invalid bit depth ${p.bitDepth}`);
  if (p.seqLevelIdx0 < 0 || p.seqLevelIdx0 > 31) throw new Error(`av1CodecString: invalid seq_level_idx ${p.seqLevelIdx0}`);
  const base = `av01.${p.seqProfile}.${String(p.seqLevelIdx0).padStart(2, '0')}${p.seqTier0 ? 'H' : 'M'}.${String(p.bitDepth).padStart(2, '0')}`;
  const mono = p.monochrome ? 1 : 0;
  const chroma = `${p.chromaSubsamplingX ?? 1}${p.chromaSubsamplingY ?? 1}${p.chromaSamplePosition ?? 0}`;
  const described = p.colorDescribed ?? true;
  const cp = described ? (p.colorPrimaries ?? 1) : 2;
  const tc = described ? (p.transferCharacteristics ?? 1) : 2;
  const mc = described ? (p.matrixCoefficients ?? 1) : 2;
  const fr = p.fullRange ? 1 : 0;
  const isDefault = mono === 0 && chroma === '110' && (!described || (cp === 1 && tc === 1 && mc === 1)) && fr === 0;
  if (isDefault) return base;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${base}.${mono}.${chroma}.${two(cp)}.${two(tc)}.${two(mc)}.${fr}`;
}

/** Parameters for {@link av1CodecString} from a parsed av1C (and its sequence header's colour config, when it carries one). */
function av1CodecParamsFromConfig(c: Av1Config): Av1CodecParams {
  const params: Av1CodecParams = {
    seqProfile: c.seqProfile,
    seqLevelIdx0: c.seqLevelIdx0,
    seqTier0: c.seqTier0,
    bitDepth: c.highBitdepth ? (c.twelveBit ? 12 : 10) : 8,
    monochrome: c.monochrome,
    chromaSubsamplingX: c.chromaSubsamplingX,
    chromaSubsamplingY: c.chromaSubsamplingY,
    chromaSamplePosition: c.chromaSamplePosition,
  };
  if (c.color) {
    if (c.color.colorDescriptionPresent) {
      params.colorPrimaries = c.color.colorPrimaries;
      params.transferCharacteristics = c.color.transferCharacteristics;
      params.matrixCoefficients = c.color.matrixCoefficients;
    } else {
      params.colorDescribed = false;
    }
    params.fullRange = c.color.fullRange;
  }
  return params;
}

/** CODECS string from an av1C box payload. */
export function av1CodecStringFromAv1C(av1CPayload: Buffer): string {
  return av1CodecString(av1CodecParamsFromConfig(parseAv1C(av1CPayload)));
}

// ------------------------------------------------------------------------------------------ AAC

/** `mp4a.40.<audioObjectType>` (2 = AAC-LC, 5 = HE-AAC/SBR, 29 = HE-AACv2/PS). */
export function aacCodecString(audioObjectType: number): string {
  if (!Number.isInteger(audioObjectType) || audioObjectType < 1 || audioObjectType > 95) {
    throw new Error(`aacCodecString: invalid audioObjectType ${audioObjectType}`);
  }
  return `mp4a.40.${audioObjectType}`;
}

/** `mp4a.<OTI hex>[.<AOT>]` from a parsed esds (AOT only for OTI 0x40, MPEG-4 Audio). */
function mp4aCodecStringFromEsdsInfo(info: EsdsInfo): string {
  if (info.objectTypeIndication === 0x40) {
    if (info.audioObjectType === undefined) throw new Error('esds: MPEG-4 Audio without AudioSpecificConfig');
    return aacCodecString(info.audioObjectType);
  }
  return `mp4a.${hex(info.objectTypeIndication, 2)}`;
}

/** CODECS string from an esds box payload. */
export function mp4aCodecStringFromEsds(esdsPayload: Buffer): string {
  return mp4aCodecStringFromEsdsInfo(parseEsds(esdsPayload));
}

/** `mp4a.40.<profile+1>` from the 2-bit ADTS profile field. */
export function aacCodecStringFromAdtsProfile(adtsProfile: number): string {
  if (!Number.isInteger(adtsProfile) || adtsProfile < 0 || adtsProfile > 3) throw new Error(`invalid ADTS profile ${adtsProfile}`);
  return aacCodecString(adtsProfile + 1);
}

/** Reads the ADTS header at the start of `header` (7+ bytes) and returns `mp4a.40.<profile+1>`. */
export function aacCodecStringFromAdtsHeader(header: Uint8Array): string {
  return aacCodecString(parseAdtsHeader(header).audioObjectType);
}
