import { describe, expect, it } from 'vitest';
import { colourTagArgs, describeColour, planColour, svtAv1Hdr10Params, toneMapFilters, videoRangeOf, x265Hdr10Params, type HdrMetadata } from '../../src/media/colour.js';
import { encoderProfiles } from '../../src/encoder/profiles.js';

const PQ = { primaries: 'bt2020', transfer: 'smpte2084', matrix: 'bt2020nc', range: 'tv' as const };
const HLG = { ...PQ, transfer: 'arib-std-b67' };
const hdr10: HdrMetadata = {
  masteringDisplay: { red: [0.68, 0.32], green: [0.265, 0.69], blue: [0.15, 0.06], whitePoint: [0.3127, 0.329], maxLuminance: 1000, minLuminance: 0.0001 },
  contentLight: { maxCll: 1000, maxFall: 400 },
  dolbyVision: null,
};

describe('planColour', () => {
  it('PQ on HEVC/AV1 is kept: 10-bit, BT.2020/PQ tags, HDR10 metadata, VIDEO-RANGE PQ', () => {
    for (const codec of ['hevc', 'av1'] as const) {
      const c = planColour({ colour: PQ, hdr: hdr10, bitDepth: 10 }, codec);
      expect(c).toMatchObject({ range: 'PQ', bitDepth: 10, toneMap: null, tags: PQ, hdr10: { masteringDisplay: hdr10.masteringDisplay, contentLight: hdr10.contentLight } });
      expect(c.notes.join(' ')).toMatch(/kept as HDR.*mastering display and MaxCLL 1000 \/ MaxFALL 400 cd\/m² carried/);
    }
  });

  it('PQ on H.264, or with hdr: sdr, is tone-mapped to BT.709 8-bit, peak from MaxCLL, else the mastering display, else 1000', () => {
    const h264 = planColour({ colour: PQ, hdr: hdr10, bitDepth: 10 }, 'h264');
    expect(h264).toMatchObject({ range: 'SDR', bitDepth: 8, tags: { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', range: 'tv' }, hdr10: null });
    expect(h264.toneMap).toEqual({ from: 'PQ', operator: 'mobius', nominalPeak: 203, sourcePeak: 1000 });
    expect(planColour({ colour: PQ, hdr: hdr10, bitDepth: 10 }, 'hevc', 'sdr').toneMap?.from).toBe('PQ');
    expect(planColour({ colour: PQ, hdr: { ...hdr10, contentLight: null }, bitDepth: 10 }, 'h264').toneMap?.sourcePeak).toBe(1000);
    expect(planColour({ colour: PQ, hdr: { ...hdr10, contentLight: { maxCll: 600, maxFall: 200 } }, bitDepth: 10 }, 'h264').toneMap?.sourcePeak).toBe(600);
    expect(planColour({ colour: PQ, hdr: null, bitDepth: 10 }, 'h264').notes[0]).toMatch(/assumed/);
  });

  it('both: kept as HDR, plus SDR copies tone-mapped like an SDR ladder; on H.264 just SDR', () => {
    const c = planColour({ colour: PQ, hdr: hdr10, bitDepth: 10 }, 'hevc', 'both');
    expect(c).toMatchObject({ range: 'PQ', bitDepth: 10, toneMap: null, sdrCopies: { from: 'PQ', operator: 'mobius', nominalPeak: 203, sourcePeak: 1000 } });
    expect(c.notes.some((n) => n.startsWith('video.hdr: both: every rung also gets an SDR copy'))).toBe(true);
    const h264 = planColour({ colour: PQ, hdr: hdr10, bitDepth: 10 }, 'h264', 'both');
    expect(h264.range).toBe('SDR');
    expect(h264.sdrCopies).toBeUndefined();
    expect(planColour({ colour: { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', range: 'tv' }, bitDepth: 8 }, 'hevc', 'both').sdrCopies).toBeUndefined();
  });

  it('HLG is kept on HEVC (no static metadata) and tone-mapped on H.264', () => {
    expect(planColour({ colour: HLG, bitDepth: 10 }, 'hevc')).toMatchObject({ range: 'HLG', bitDepth: 10, hdr10: null, tags: HLG });
    expect(planColour({ colour: HLG, bitDepth: 10 }, 'h264').toneMap).toMatchObject({ from: 'HLG', sourcePeak: 203 });
  });

  it('SDR keeps what the source says; an untagged source stays untagged, and says so', () => {
    const bt709 = { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', range: 'tv' as const };
    expect(planColour({ colour: bt709, bitDepth: 8 }, 'h264')).toEqual({ range: 'SDR', bitDepth: 8, toneMap: null, tags: bt709, hdr10: null, notes: [] });
    const none = planColour({ colour: { primaries: null, transfer: null, matrix: null, range: null }, bitDepth: 8 }, 'h264');
    expect(none.tags).toBeNull();
    expect(none.notes).toEqual([expect.stringMatching(/^The source has no colour description/)]);
    expect(planColour({ bitDepth: 10, colour: bt709 }, 'hevc').notes).toEqual([expect.stringMatching(/10-bit SDR source encoded in 8 bits/)]);
  });

  it('Dolby Vision: the base layer, said so', () => {
    const c = planColour({ colour: PQ, hdr: { ...hdr10, dolbyVision: { profile: 8 } }, bitDepth: 10 }, 'hevc');
    expect(c.notes[0]).toMatch(/^Dolby Vision source \(profile 8\): its base layer is encoded as PQ; no Dolby Vision metadata \(RPU\) is written/);
  });
});

describe('colour arguments', () => {
  it('x265 and SVT-AV1 HDR10 parameters in their own units', () => {
    expect(x265Hdr10Params(hdr10)).toEqual(['hdr10=1', 'master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)', 'max-cll=1000,400']);
    expect(svtAv1Hdr10Params(hdr10)).toEqual(['mastering-display=G(0.265,0.69)B(0.15,0.06)R(0.68,0.32)WP(0.3127,0.329)L(1000,0.0001)', 'content-light=1000,400']);
  });

  it('tone mapping: zscale to linear with reference white at 1.0, mobius with the peak relative to it, zscale to BT.709', () => {
    expect(toneMapFilters({ from: 'PQ', operator: 'mobius', nominalPeak: 203, sourcePeak: 1000 }, PQ)).toEqual([
      'zscale=tin=smpte2084:min=bt2020nc:pin=bt2020:rin=tv:t=linear:npl=203',
      'format=gbrpf32le',
      'zscale=p=bt709',
      'tonemap=tonemap=mobius:peak=4.9261:desat=0',
      'zscale=t=bt709:m=bt709:r=tv',
    ]);
    expect(toneMapFilters({ from: 'HLG', operator: 'mobius', nominalPeak: 203, sourcePeak: 203 }, HLG)[3]).toBe('tonemap=tonemap=mobius:peak=1:desat=0');
  });

  it('every encoder writes the tags; x265 and SVT-AV1 add the HDR10 metadata; NVENC HEVC asks for Main 10', () => {
    const s = {
      mode: 'vbr' as const,
      bitrate: 1e6,
      maxrate: 1.5e6,
      bufsize: 3e6,
      crf: undefined,
      gopFrames: 48,
      speed: undefined,
      tune: undefined,
      options: {},
      colour: PQ,
      hdr10,
      tenBit: true,
    };
    expect(colourTagArgs(PQ)).toEqual(['-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-color_range', 'tv']);
    for (const p of Object.values(encoderProfiles)) expect(p.args(s).join(' ')).toContain('-color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc -color_range tv');
    expect(encoderProfiles.libx265.args(s).join(' ')).toMatch(/-x265-params \S*hdr10=1:master-display=G\(13250,34500\)/);
    expect(encoderProfiles.libsvtav1.args(s).join(' ')).toMatch(/-svtav1-params scd=0:mastering-display=.*:content-light=1000,400/);
    expect(encoderProfiles.hevc_nvenc.args(s).join(' ')).toContain('-profile:v main10');
  });

  it('VIDEO-RANGE from the transfer; one line for people', () => {
    expect([videoRangeOf('smpte2084'), videoRangeOf('arib-std-b67'), videoRangeOf('bt709'), videoRangeOf(null)]).toEqual(['PQ', 'HLG', 'SDR', 'SDR']);
    expect(describeColour({ colour: PQ, hdr: hdr10 })).toBe('bt2020/smpte2084/bt2020nc tv, HDR10 (PQ): mastering display 1000 cd/m², MaxCLL 1000 / MaxFALL 400');
    expect(describeColour({})).toBe('no colour description, SDR');
  });
});
