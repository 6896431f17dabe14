import { describe, expect, it } from 'vitest';
import {
  aacCodecString,
  aacCodecStringFromAdtsHeader,
  aacCodecStringFromAdtsProfile,
  av1CodecString,
  av1CodecStringFromAv1C,
  avcCodecString,
  avcCodecStringFromAvcC,
  avcCodecStringFromSps,
  hevcCodecString,
  hevcCodecStringFromHvcC,
  hevcCodecStringFromSps,
  mp4aCodecStringFromEsds,
  parseAvcSpsProfile,
  reverseBits32,
} from '../../src/package/codecs.js';
import { parseAv1C, parseHvcC } from '../../src/package/bitstream/mp4.js';

const hexBuf = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** MSB-first bit writer for hand-building bitstreams. */
function bits(fields: [value: number, width: number][]): Buffer {
  let str = '';
  for (const [v, w] of fields) str += v.toString(2).padStart(w, '0').slice(-w);
  while (str.length % 8) str += '0';
  const out = Buffer.alloc(str.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(str.slice(i * 8, i * 8 + 8), 2);
  return out;
}

/**
 * An AV1 sequence header OBU payload (reduced_still_picture_header 0, one operating point, no timing
 * info): `level` (seq_tier is written only above level 7), the maximum frame size, and the colour
 * config: bit depth and a colour description (null: none), then color_range 0, chroma sample position.
 */
function av1SequenceHeader(o: {
  level: number;
  width: number;
  height: number;
  colour: { highBitdepth: boolean; cp: number; tc: number; mc: number } | null;
  chromaSamplePosition: number;
}): Buffer {
  const fields: [number, number][] = [
    [0, 3], // seq_profile
    [0, 1], // still_picture
    [0, 1], // reduced_still_picture_header
    [0, 1], // timing_info_present
    [0, 1], // initial_display_delay_present
    [0, 5], // operating_points_cnt_minus_1
    [0, 12], // operating_point_idc
    [o.level, 5], // seq_level_idx
    ...(o.level > 7 ? [[0, 1] as [number, number]] : []), // seq_tier
    [10, 4], // frame_width_bits_minus_1
    [10, 4], // frame_height_bits_minus_1
    [o.width - 1, 11],
    [o.height - 1, 11],
    [0, 1], // frame_id_numbers_present
    [0, 1], // use_128x128_superblock
    [1, 1], // enable_filter_intra
    [1, 1], // enable_intra_edge_filter
    [0, 1], // enable_interintra_compound
    [0, 1], // enable_masked_compound
    [0, 1], // enable_warped_motion
    [0, 1], // enable_dual_filter
    [1, 1], // enable_order_hint
    [0, 1], // enable_jnt_comp
    [0, 1], // enable_ref_frame_mvs
    [1, 1], // seq_choose_screen_content_tools
    [1, 1], // seq_choose_integer_mv
    [6, 3], // order_hint_bits_minus_1
    [0, 1], // enable_superres
    [1, 1], // enable_cdef
    [1, 1], // enable_restoration
    [o.colour?.highBitdepth ? 1 : 0, 1], // high_bitdepth
    [0, 1], // mono_chrome
    [o.colour ? 1 : 0, 1], // color_description_present_flag
    ...(o.colour
      ? ([
          [o.colour.cp, 8],
          [o.colour.tc, 8],
          [o.colour.mc, 8],
        ] as [number, number][])
      : []),
    [0, 1], // color_range
    [o.chromaSamplePosition, 2],
    [0, 1], // separate_uv_delta_q
    [0, 1], // film_grain_params_present
  ];
  return bits(fields);
}

describe('AVC', () => {
  it('formats avc1.PPCCLL in lower-case hex', () => {
    expect(avcCodecString(100, 0, 31)).toBe('avc1.64001f');
    expect(avcCodecString(66, 0xc0, 13)).toBe('avc1.42c00d');
    expect(avcCodecString(77, 0x40, 40, 'avc3')).toBe('avc3.4d4028');
    expect(() => avcCodecString(256, 0, 31)).toThrow(/profile_idc/);
  });

  it('reads profile/constraints/level from an SPS NAL (x264 Constrained Baseline 1.3)', () => {
    // SPS written by libx264 (ultrafast, 320x180); contains an emulation prevention byte
    const sps = hexBuf('6742c00dda05067e7c0440000003004000000f03c50aa8');
    expect(parseAvcSpsProfile(sps)).toEqual({ profileIdc: 66, constraintFlags: 0xc0, levelIdc: 13 });
    expect(avcCodecStringFromSps(sps)).toBe('avc1.42c00d');
  });

  it('reads a High profile 3.1 SPS', () => {
    expect(avcCodecStringFromSps(hexBuf('6764001facd9405005bb011000000300100000030320f18319 60'))).toBe('avc1.64001f');
  });

  it('rejects a non-SPS NAL', () => {
    expect(() => avcCodecStringFromSps(hexBuf('68ce3c80'))).toThrow(/nal_unit_type 8/);
  });

  it('reads avcC', () => {
    const avcC = hexBuf('0142c00dffe100176742c00dda05067e7c0440000003004000000f03c50aa801000468ce0fc8');
    expect(avcCodecStringFromAvcC(avcC)).toBe('avc1.42c00d');
    expect(() => avcCodecStringFromAvcC(avcC.subarray(0, 5))).toThrow(/avcC too short/);
  });
});

describe('HEVC', () => {
  it('reverses 32-bit flags', () => {
    expect(reverseBits32(0x60000000)).toBe(6);
    expect(reverseBits32(0x20000000)).toBe(4);
    expect(reverseBits32(1)).toBe(0x80000000);
  });

  it('formats the Annex E example x265 Main L3.1 progressive as hvc1.1.6.L93.B0', () => {
    // configurationVersion, space/tier/profile, compat 0x60000000, constraints B0 00.., level 93, then fixed fields, 0 arrays
    const hvcC = hexBuf('01 01 60000000 b00000000000 5d f000 fc fd f8 f8 0000 0f 00');
    expect(hevcCodecStringFromHvcC(hvcC)).toBe('hvc1.1.6.L93.B0');
    expect(hevcCodecStringFromHvcC(hvcC, 'hev1')).toBe('hev1.1.6.L93.B0');
  });

  it('parses hvcC NAL arrays', () => {
    const sps = hexBuf('420101016000000300900000030000030003ca00a080c1f3e595952930bc05a02000003000200000300' + '3c10');
    const record = Buffer.concat([
      hexBuf('0101600000009000000000003cf000fcfdf8f800000f 01'.replace(/ /g, '')),
      Buffer.from([0xa1, 0x00, 0x01, sps.length >> 8, sps.length & 0xff]),
      sps,
    ]);
    const parsed = parseHvcC(record);
    expect(parsed.arrays).toHaveLength(1);
    expect(parsed.arrays[0]?.nalUnitType).toBe(33);
    expect(parsed.arrays[0]?.nalus[0]?.equals(sps)).toBe(true);
    expect(parsed.nalLengthSize).toBe(4);
  });

  it('handles profile space, high tier, Main10 compatibility and multiple constraint bytes', () => {
    expect(
      hevcCodecString({
        generalProfileSpace: 1,
        generalTierFlag: 1,
        generalProfileIdc: 2,
        generalProfileCompatibilityFlags: 0x20000000,
        generalConstraintIndicatorFlags: Buffer.from([0xb0, 0, 0x23, 0, 0, 0]),
        generalLevelIdc: 120,
      }),
    ).toBe('hvc1.A2.4.H120.B0.00.23');
    expect(
      hevcCodecString({
        generalProfileSpace: 0,
        generalTierFlag: 0,
        generalProfileIdc: 1,
        generalProfileCompatibilityFlags: 0x60000000,
        generalConstraintIndicatorFlags: Buffer.alloc(6),
        generalLevelIdc: 93,
      }),
    ).toBe('hvc1.1.6.L93');
  });

  it('reads profile_tier_level from an HEVC SPS NAL with emulation prevention bytes', () => {
    // x265 SPS (from the hvcC above): the PTL contains 00 00 03 sequences
    const sps = hexBuf('42010101600000030090000003000003003ca00a080c1f3e595952930bc05a020000030002000003003c10');
    expect(hevcCodecStringFromSps(sps)).toBe('hev1.1.6.L60.90');
    expect(hevcCodecStringFromSps(sps, 'hvc1')).toBe('hvc1.1.6.L60.90');
    expect(() => hevcCodecStringFromSps(hexBuf('40010c01ffff'))).toThrow(/nal_unit_type 32/);
  });
});

describe('AV1', () => {
  it('reads av1C from SVT-AV1 (Main, level 2.0, 8-bit 4:2:0, no colour description)', () => {
    const av1C = hexBuf('81000c000a0b000000043cfecc02f80040');
    const parsed = parseAv1C(av1C);
    expect(parsed).toMatchObject({ seqProfile: 0, seqLevelIdx0: 0, seqTier0: 0, highBitdepth: false, chromaSubsamplingX: 1, chromaSubsamplingY: 1 });
    expect(parsed.color?.colorDescriptionPresent).toBe(false);
    expect(av1CodecStringFromAv1C(av1C)).toBe('av01.0.00M.08');
  });

  it('formats level, tier and bit depth', () => {
    // seq_profile 0, seq_level_idx 8 (4.0); tier 1, high_bitdepth, 4:2:0; no configOBUs
    expect(av1CodecStringFromAv1C(hexBuf('8108cc00'))).toBe('av01.0.08H.10');
    // profile 2, level 13, twelve_bit
    expect(av1CodecString({ seqProfile: 2, seqLevelIdx0: 13, seqTier0: 0, bitDepth: 12 })).toBe('av01.2.13M.12');
  });

  it('writes the optional fields when colour differs from the defaults (BT.2020 PQ from a sequence header)', () => {
    const seqHeader = av1SequenceHeader({ level: 8, width: 1920, height: 1080, colour: { highBitdepth: true, cp: 9, tc: 16, mc: 9 }, chromaSamplePosition: 0 });
    const obu = Buffer.concat([Buffer.from([0x0a, seqHeader.length]), seqHeader]);
    const av1C = Buffer.concat([hexBuf('81084c00'), obu]);
    expect(av1CodecStringFromAv1C(av1C)).toBe('av01.0.08M.10.0.110.09.16.09.0');
  });

  it('a sequence header without colour description: no long form for that alone; when one is needed (chroma at the colocated position), colour says 02.02.02 (unspecified), not BT.709', () => {
    // level 4 (no seq_tier), 1280x720, no colour description: cp, tc and mc unspecified
    const seqHeader = (chromaSamplePosition: number): Buffer => av1SequenceHeader({ level: 4, width: 1280, height: 720, colour: null, chromaSamplePosition });
    const av1C = (csp: number): Buffer => {
      const sh = seqHeader(csp);
      return Buffer.concat([Buffer.from([0x81, 0x04, 0x0c | csp, 0x00]), Buffer.from([0x0a, sh.length]), sh]);
    };
    expect(parseAv1C(av1C(1)).color?.colorDescriptionPresent).toBe(false);
    expect(av1CodecStringFromAv1C(av1C(0))).toBe('av01.0.04M.08');
    expect(av1CodecStringFromAv1C(av1C(1))).toBe('av01.0.04M.08.0.111.02.02.02.0');
    expect(av1CodecString({ seqProfile: 0, seqLevelIdx0: 4, seqTier0: 0, bitDepth: 8, fullRange: true, colorDescribed: false })).toBe('av01.0.04M.08.0.110.02.02.02.1');
  });

  it('writes the optional fields for monochrome / full range', () => {
    expect(av1CodecString({ seqProfile: 0, seqLevelIdx0: 4, seqTier0: 0, bitDepth: 8, monochrome: true, chromaSubsamplingX: 1, chromaSubsamplingY: 1 })).toBe(
      'av01.0.04M.08.1.110.01.01.01.0',
    );
    expect(av1CodecString({ seqProfile: 0, seqLevelIdx0: 4, seqTier0: 0, bitDepth: 8, fullRange: true })).toBe('av01.0.04M.08.0.110.01.01.01.1');
    expect(() => av1CodecString({ seqProfile: 0, seqLevelIdx0: 4, seqTier0: 0, bitDepth: 9 })).toThrow(/bit depth/);
  });

  it('rejects a bad av1C marker', () => {
    expect(() => av1CodecStringFromAv1C(hexBuf('01000c00'))).toThrow(/marker/);
  });
});

describe('AAC', () => {
  it('formats mp4a.40.N', () => {
    expect(aacCodecString(2)).toBe('mp4a.40.2');
    expect(aacCodecString(5)).toBe('mp4a.40.5');
    expect(() => aacCodecString(0)).toThrow(/audioObjectType/);
  });

  it('reads the AudioSpecificConfig from esds (ffmpeg AAC-LC 48 kHz stereo)', () => {
    const esds = hexBuf('0000000003808080250001000480808017401500000000010d8800010d880580808005118856e500068080800102');
    expect(mp4aCodecStringFromEsds(esds)).toBe('mp4a.40.2');
  });

  it('reads HE-AAC (AOT 5) and escaped object types from a compact esds', () => {
    const esds = (oti: number, asc: string): Buffer => {
      const dsi = asc ? Buffer.concat([Buffer.from([0x05, asc.length / 2]), hexBuf(asc)]) : Buffer.alloc(0);
      const dcdBody = Buffer.concat([Buffer.from([oti, 0x15]), Buffer.alloc(11), dsi]);
      const esBody = Buffer.concat([hexBuf('000100'), Buffer.from([0x04, dcdBody.length]), dcdBody]);
      return Buffer.concat([Buffer.alloc(4), Buffer.from([0x03, esBody.length]), esBody]);
    };
    expect(mp4aCodecStringFromEsds(esds(0x40, '2b09'))).toBe('mp4a.40.5'); // 00101 0110 ...
    // AOT escape: 11111 + 000010 -> 32 + 2 = 34
    expect(mp4aCodecStringFromEsds(esds(0x40, 'f84010'))).toBe('mp4a.40.34');
  });

  it('formats non-AAC object types as mp4a.<OTI hex>', () => {
    const esds = Buffer.concat([Buffer.alloc(4), hexBuf('03 12 000100 04 0d 6b 15 000000 00000000 00000000'.replace(/ /g, ''))]);
    expect(mp4aCodecStringFromEsds(esds)).toBe('mp4a.6b');
  });

  it('derives mp4a.40.(profile+1) from ADTS', () => {
    expect(aacCodecStringFromAdtsProfile(1)).toBe('mp4a.40.2');
    // FF F1 | profile 01, sf index 3 (48 kHz), channels 2 | ...
    expect(aacCodecStringFromAdtsHeader(hexBuf('fff14c8017fffc'))).toBe('mp4a.40.2');
    expect(aacCodecStringFromAdtsHeader(hexBuf('fff10c8017fffc'))).toBe('mp4a.40.1');
    expect(() => aacCodecStringFromAdtsHeader(hexBuf('fef14c8017fffc'))).toThrow(/syncword/);
  });
});
