/**
 * Per-title ladders (issue 21), the pure parts: where the samples go, the rate-quality curves and
 * their hull, the rung placement (target, spacing, ceilings, min/max rungs), a rendition's sample as
 * a playlist of its own, the derived preset, the metric choice and its score files, the options,
 * and the argv of every analysis process (built without running ffmpeg).
 */
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTranscodeArgs } from '../../src/args/command.js';
import { buildCandidateEncodeArgs, buildFilterScoreArgs, buildReferenceArgs, buildRenditionSampleArgs, buildSceneArgs, buildVmafToolArgs } from '../../src/args/per-title.js';
import type { CheckedHardware } from '../../src/encoder/preset-check.js';
import { StreamkitError } from '../../src/errors.js';
import type { Capabilities } from '../../src/ffmpeg/capabilities.js';
import { rational } from '../../src/media/rational.js';
import { jobOptions } from '../../src/package/job-identity.js';
import { parseMediaPlaylist } from '../../src/package/playlist.js';
import { cacheDir, readCached, writeCached } from '../../src/per-title/cache.js';
import { atCrf, bitrateAt, buildCurves, convexHull, crfAt, qualityAt, type Candidate } from '../../src/per-title/curves.js';
import { samplePlaylist } from '../../src/per-title/pieces.js';
import { PEAK_RATIO, placeRungs, type Ceiling } from '../../src/per-title/place.js';
import { pickSamples, sampleSeconds } from '../../src/per-title/samples.js';
import { candidateCrfs, parseSceneCuts, perTitlePreset, perTitleSpecFor, vmafSubsample } from '../../src/pipeline/per-title.js';
import { buildPlan } from '../../src/pipeline/plan.js';
import type { TranscodePlan } from '../../src/plan.js';
import { parsePresetObject, type ResolvedPreset } from '../../src/preset/load.js';
import { perTitleSchema, presetSchema, type Preset, type PresetInput } from '../../src/preset/schema.js';
import { chooseMetric, SSIM_FIT, SSIM_NOTE, vmafFromSsim, vmafModelFor } from '../../src/quality/metric.js';
import { parseSsimStats, parseVmafLog } from '../../src/quality/score.js';
import { fakeMedia } from '../helpers/index.js';

const spec = (o: Partial<ReturnType<typeof perTitleSchema.parse>> = {}) => ({ ...perTitleSchema.parse({}), ...o });

describe('samples', () => {
  it('a short title is analysed whole', () => {
    expect(pickSamples(10, 2, [])).toEqual([{ start: 0, duration: 10 }]);
    expect(pickSamples(12, 2, [3, 7])).toEqual([{ start: 0, duration: 12 }]);
  });

  it('a longer one gets GOP-long samples spread over the title, about a tenth of it, 3 to 20 of them', () => {
    expect(sampleSeconds(2)).toBe(2);
    expect(sampleSeconds(1)).toBe(2);
    expect(sampleSeconds(4)).toBe(4);
    const s = pickSamples(60, 2, []);
    expect(s).toHaveLength(3);
    for (const x of s) {
      expect(x.duration).toBe(2);
      expect(x.start).toBeGreaterThanOrEqual(0);
      expect(x.start + x.duration).toBeLessThanOrEqual(60);
    }
    // evenly spread: one per third, centred without scene cuts
    expect(s.map((x) => x.start)).toEqual([9, 29, 49]);
    expect(pickSamples(200, 2, [])).toHaveLength(10);
    expect(pickSamples(3600, 2, [])).toHaveLength(20);
  });

  it('each sample starts at the scene cut nearest its slot centre, when one leaves the sample inside its slot', () => {
    const s = pickSamples(60, 2, [1, 12.2, 18.5, 44, 59.5]);
    // slot 0-20: centre 9, cuts 1 and 12.2 fit (18.5 would run past 20): 12.2 is nearer; slot 20-40: none;
    // slot 40-60: 44 fits and is nearer than the centre-less 59.5 (which would run past 60)
    expect(s.map((x) => x.start)).toEqual([12.2, 29, 44]);
  });

  it('scene cut times come from scdet via the metadata filter, relative to the title start', () => {
    const text = 'frame:0    pts:1234   pts_time:12.5\nlavfi.scd.time=12.5\nframe:1    pts:2000   pts_time:20.04\nlavfi.scd.time=20.04\n';
    // already from the input's start: ffmpeg moved the first timestamp to zero
    expect(parseSceneCuts(text)).toEqual([12.5, 20.04]);
    expect(parseSceneCuts('')).toEqual([]);
  });
});

/** A made-up title: 720p wins at the top, 360p at the bottom (the usual crossing). */
function candidates(): Candidate[] {
  const c = (height: number, width: number, crf: number, kbps: number, quality: number): Candidate => ({ width, height, crf, bitrate: kbps * 1000, quality });
  return [
    c(720, 1280, 19, 4000, 98),
    c(720, 1280, 25, 2000, 95),
    c(720, 1280, 31, 1000, 88),
    c(720, 1280, 37, 500, 76),
    c(540, 960, 19, 2200, 93),
    c(540, 960, 25, 1100, 89),
    c(540, 960, 31, 560, 82),
    c(540, 960, 37, 280, 70),
    c(360, 640, 19, 1200, 86),
    c(360, 640, 25, 600, 82),
    c(360, 640, 31, 300, 74),
    c(360, 640, 37, 150, 62),
  ];
}
const ceilings: Ceiling[] = [
  { width: 1280, height: 720, bitrate: 4_500_000, maxrate: 6_750_000, bufsize: 10_125_000 },
  { width: 960, height: 540, bitrate: 2_000_000, maxrate: 3_000_000, bufsize: 4_500_000 },
  { width: 640, height: 360, bitrate: 365_000, maxrate: 547_500, bufsize: 821_250 },
];

describe('rate-quality curves and their hull', () => {
  it('each resolution is one curve, cleaned to rise in bits and quality together', () => {
    const noisy = [...candidates(), { width: 640, height: 360, crf: 22, bitrate: 900_000, quality: 81 }];
    const curves = buildCurves(noisy);
    expect(curves.map((c) => c.height)).toEqual([720, 540, 360]);
    // the crf 22 point costs more than crf 25 for less quality: dropped
    expect(curves[2]!.points.map((p) => p.crf)).toEqual([37, 31, 25, 19]);
  });

  it('interpolates linearly in log(bitrate), never beyond what was measured', () => {
    const [c720] = buildCurves(candidates());
    expect(bitrateAt(c720!, 95)).toBeCloseTo(2_000_000, -3);
    // halfway in quality between 1000 and 2000 kb/s: the geometric mean
    expect(bitrateAt(c720!, 91.5)!).toBeCloseTo(Math.sqrt(1000 * 2000) * 1000, -3);
    expect(qualityAt(c720!, Math.sqrt(1000 * 2000) * 1000)!).toBeCloseTo(91.5, 5);
    expect(crfAt(c720!, Math.sqrt(1000 * 2000) * 1000)!).toBeCloseTo(28, 5);
    expect(atCrf(c720!, 28)!.quality).toBeCloseTo(91.5, 5);
    expect(bitrateAt(c720!, 99)).toBeNull();
    expect(qualityAt(c720!, 100_000)).toBeNull();
  });

  it('the hull is the upper convex envelope over every resolution', () => {
    const hull = convexHull(buildCurves(candidates()));
    for (let i = 1; i < hull.length; i++) {
      expect(hull[i]!.bitrate).toBeGreaterThan(hull[i - 1]!.bitrate);
      expect(hull[i]!.quality).toBeGreaterThan(hull[i - 1]!.quality);
    }
    expect(hull[0]).toMatchObject({ height: 360, crf: 37 });
    expect(hull[hull.length - 1]).toMatchObject({ height: 720, crf: 19 });
  });
});

describe('rung placement', () => {
  const place = (o: Partial<ReturnType<typeof spec>> = {}, cs = candidates(), ceil = ceilings) =>
    placeRungs({ curves: buildCurves(cs), ceilings: ceil, spec: spec(o), crfStep: 0.1, crfRange: [0, 51], bufsizeRatio: 1.5 });

  it('puts the top rung at the target on the cheapest resolution, the others every `spacing` below at the cheapest resolution for each', () => {
    const p = place({ target: 95, spacing: 6 });
    const [top, ...rest] = p.rungs;
    expect(top).toMatchObject({ name: '720p', height: 720, crf: 25 });
    expect(top!.quality).toBeCloseTo(95, 1);
    expect(top!.bitrate).toBeCloseTo(2_000_000, -4);
    for (let i = 1; i < p.rungs.length; i++) {
      expect(p.rungs[i - 1]!.quality - p.rungs[i]!.quality).toBeGreaterThanOrEqual(3);
      expect(p.rungs[i]!.bitrate).toBeLessThan(p.rungs[i - 1]!.bitrate);
    }
    // low in quality, 360p is cheaper than 720p: the hull switches resolution
    expect(rest.some((r) => r.height === 360)).toBe(true);
    expect(new Set(p.rungs.map((r) => r.name)).size).toBe(p.rungs.length);
  });

  it('never gives a rung more than the fixed ladder does at its resolution, and caps peaks at PEAK_RATIO x the average', () => {
    const p = place({ target: 95, spacing: 4 });
    for (const r of p.rungs) {
      const c = ceilings.find((x) => x.height === r.height)!;
      expect(r.bitrate).toBeLessThanOrEqual(c.bitrate);
      expect(r.maxrate).toBeLessThanOrEqual(Math.max(r.bitrate, c.maxrate));
      expect(r.maxrate).toBeLessThanOrEqual(Math.round(r.bitrate * PEAK_RATIO));
      expect(r.bufsize).toBeLessThanOrEqual(c.bufsize);
    }
    // 360p above 365 kb/s is not allowed: its crf 25 (600 kb/s) point is out of reach
    expect(p.rungs.filter((r) => r.height === 360).every((r) => r.bitrate <= 365_000)).toBe(true);
  });

  it('a title too hard for the target under the ceilings gets the best quality there, and says so', () => {
    const tight: Ceiling[] = [{ ...ceilings[0]!, bitrate: 1_500_000 }, { ...ceilings[1]!, bitrate: 1_000_000 }, ceilings[2]!];
    const p = place({ target: 95 }, candidates(), tight);
    // held at the ceiling: encoded with the fixed rung's own VBR settings, not a crf
    expect(p.rungs[0]).toMatchObject({ height: 720, atCeiling: true, bitrate: 1_500_000, maxrate: 6_750_000, bufsize: 10_125_000, crf: null });
    expect(p.rungs[0]!.quality).toBeLessThan(95);
    expect(p.notes.join(' ')).toMatch(/out of reach/);
  });

  it('respects maxRungs, and halves the spacing to reach minRungs', () => {
    expect(place({ target: 95, spacing: 2, maxRungs: 3 }).rungs).toHaveLength(3);
    const wide = place({ target: 95, spacing: 25, minRungs: 3 });
    expect(wide.rungs.length).toBeGreaterThanOrEqual(3);
    expect(wide.notes.join(' ')).toMatch(/apart \(not 25\)/);
  });

  it('never more rungs than the fixed ladder has, and keeps a rung near its lowest bitrate', () => {
    const two = place(
      { target: 95, spacing: 3, maxRungs: 6 },
      candidates().filter((c) => c.height !== 540),
      [ceilings[0]!, ceilings[2]!],
    );
    expect(two.rungs.length).toBeLessThanOrEqual(2);
    expect(two.notes.join(' ')).toMatch(/at most 2 rungs/);
    const full = place({ target: 95, spacing: 3, maxRungs: 3 });
    // three spaced rungs would stop far above 365 kb/s: the last is replaced by one near the floor
    expect(full.rungs).toHaveLength(3);
    expect(full.rungs[2]!.bitrate).toBeLessThanOrEqual(365_000 * 1.5);
  });

  it('an easy title: the cheapest point already beats the target, so the top rung is that point', () => {
    const easy = candidates().map((c) => ({ ...c, quality: Math.min(99.9, c.quality + 30) }));
    const p = place({ target: 90 }, easy);
    expect(p.rungs[0]).toMatchObject({ height: 360, crf: 37 });
  });

  it('rounds crf to the encoder step, towards better quality', () => {
    const p = placeRungs({ curves: buildCurves(candidates()), ceilings, spec: spec({ target: 93 }), crfStep: 1, crfRange: [1, 63], bufsizeRatio: 1.5 });
    for (const r of p.rungs) if (r.crf !== null) expect(Number.isInteger(r.crf)).toBe(true);
    expect(p.rungs[0]!.quality).toBeGreaterThanOrEqual(93);
  });
});

describe("a rendition's sample as a playlist of its own", () => {
  const playlist = parseMediaPlaylist(
    [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:6',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:2.000000,',
      'seg_00000.m4s',
      '#EXTINF:6.000000,',
      'seg_00001.m4s',
      '#EXTINF:6.000000,',
      'seg_00002.m4s',
      '#EXTINF:2.000000,',
      'seg_00003.m4s',
      '#EXT-X-ENDLIST',
    ].join('\n'),
  );

  it('lists the segments that cover the sample, with absolute URIs and the init segment, and how far into the first it starts', () => {
    const { text, skip } = samplePlaylist(playlist, '/pkg/720p', { start: 5, duration: 2 });
    const p = parseMediaPlaylist(text);
    expect(p.segments.map((s) => s.uri)).toEqual(['/pkg/720p/seg_00001.m4s']);
    expect(p.mapUri).toBe('/pkg/720p/init.mp4');
    expect(skip).toBeCloseTo(3, 9);
    const across = samplePlaylist(playlist, '/pkg/720p', { start: 7, duration: 4 });
    expect(parseMediaPlaylist(across.text).segments.map((s) => s.uri)).toEqual(['/pkg/720p/seg_00001.m4s', '/pkg/720p/seg_00002.m4s']);
    // on a boundary: the later segment, nothing to skip
    const edge = samplePlaylist(playlist, '/pkg/720p', { start: 2, duration: 2 });
    expect(parseMediaPlaylist(edge.text).segments.map((s) => s.uri)).toEqual(['/pkg/720p/seg_00001.m4s']);
    expect(edge.skip).toBeCloseTo(0, 9);
    expect(() => samplePlaylist(playlist, '/pkg', { start: 30, duration: 2 })).toThrow(/after the rendition's end/);
  });
});

const basePreset = (extra: Record<string, unknown> = {}): Preset =>
  presetSchema.parse({
    name: 'p',
    video: {
      codec: 'h264',
      encoder: { cpu: { name: 'libx264', preset: 'medium' } },
      rateControl: { mode: 'vbr', maxrateRatio: 1.5, bufsizeRatio: 1.5 },
      rungs: [
        { height: 720, bitrate: '4500k' },
        { height: 360, bitrate: '365k' },
      ],
      ...extra,
    },
    packaging: { hls: {} },
  } as PresetInput);

/** The plan of a preset on a fake 720p source, libx264 on the CPU (pure: no ffmpeg). */
function planOf(preset: ResolvedPreset, media = fakeMedia()): TranscodePlan {
  const hardware = { hardware: 'cpu', encoder: 'libx264', reason: 'test' } as CheckedHardware;
  const caps = {
    path: 'ffmpeg',
    version: { raw: '5.1', major: 5, minor: 1, configuration: [] },
    encoders: [],
    muxers: ['hls'],
    filters: [],
    hwaccels: [],
  } as unknown as Capabilities;
  return buildPlan({ preset, media, caps, hardware, cpus: 2 });
}

describe('options and the derived preset', () => {
  it('video.perTitle turns it on with its options; --per-title with the defaults; --no-per-title off', () => {
    expect(perTitleSpecFor(basePreset(), {})).toBeNull();
    expect(perTitleSpecFor(basePreset(), { perTitle: true })).toEqual(perTitleSchema.parse({}));
    expect(perTitleSpecFor(basePreset({ perTitle: true }), {})).toMatchObject({ target: 95, spacing: 6, minRungs: 3, maxRungs: 6, margin: 1.5 });
    expect(perTitleSpecFor(basePreset({ perTitle: { target: 92 } }), {})).toMatchObject({ target: 92 });
    expect(perTitleSpecFor(basePreset({ perTitle: { target: 92 } }), { perTitle: false })).toBeNull();
    expect(perTitleSpecFor(basePreset({ perTitle: false }), {})).toBeNull();
  });

  it('the preset format checks the options and refuses perTitle where it cannot work', () => {
    const bad = presetSchema.safeParse({ video: { ...basePreset().video, perTitle: { minRungs: 5, maxRungs: 3 } }, packaging: { hls: {} } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/minRungs <= maxRungs/);
    const multi = presetSchema.safeParse({
      video: [
        { ...basePreset().video, perTitle: true },
        { ...basePreset().video, codec: 'hevc', encoder: { cpu: { name: 'libx265' } }, rungs: [{ name: 'h', height: 360, bitrate: '300k' }] },
      ],
      packaging: { hls: { container: 'fmp4' } },
    });
    expect(multi.success).toBe(false);
    expect(JSON.stringify(multi.error?.issues)).toMatch(/several video ladders/);
    const live = presetSchema.safeParse({ live: true, video: { ...basePreset().video, perTitle: true }, packaging: { hls: {} } });
    expect(live.success).toBe(false);
  });

  it('the derived preset is the same preset with capped-CRF rungs from the analysis, and parses', () => {
    const resolved = { name: 'p', file: 'p.yaml', chain: ['p.yaml'], preset: basePreset({ perTitle: true }) };
    const d = perTitlePreset(
      resolved,
      [
        { name: '720p', width: 1280, height: 720, crf: 24.3, bitrate: 1_800_000, maxrate: 3_600_000, bufsize: 5_400_000, quality: 95, atCeiling: false },
        { name: '360p', width: 640, height: 360, crf: 30.1, bitrate: 250_000, maxrate: 500_000, bufsize: 750_000, quality: 75, atCeiling: false },
      ],
      [],
    );
    expect(d.name).toBe('p');
    expect(d.preset.video.rateControl.mode).toBe('crf');
    expect(d.preset.video.perTitle).toBeUndefined();
    expect(d.preset.video.rungs).toEqual([
      { name: '720p', height: 720, bitrate: 1_800_000, maxrate: 3_600_000, bufsize: 5_400_000, crf: 24.3 },
      { name: '360p', height: 360, bitrate: 250_000, maxrate: 500_000, bufsize: 750_000, crf: 30.1 },
    ]);
    expect(parsePresetObject(d.preset)).toBeTruthy();
    // a rung held at its ceiling is the fixed rung, VBR, inside the crf ladder
    const held = perTitlePreset(
      resolved,
      [
        { name: '720p', width: 1280, height: 720, crf: null, bitrate: 4_500_000, maxrate: 6_750_000, bufsize: 10_125_000, quality: 90, atCeiling: true },
        { name: '360p', width: 640, height: 360, crf: 30, bitrate: 250_000, maxrate: 500_000, bufsize: 750_000, quality: 75, atCeiling: false },
      ],
      [{ width: 1280, height: 720, bitrate: 4_500_000, maxrate: 6_750_000, bufsize: 10_125_000, mode: 'vbr', crf: null }],
    );
    expect(held.preset.video.rungs[0]).toEqual({ name: '720p', height: 720, bitrate: 4_500_000, maxrate: 6_750_000, bufsize: 10_125_000, mode: 'vbr' });
    const argv = buildTranscodeArgs(planOf(held));
    // a crf ladder's held rung keeps its crf
    const crfHeld = perTitlePreset(
      resolved,
      [{ name: '720p', width: 1280, height: 720, crf: null, bitrate: 4_500_000, maxrate: 6_750_000, bufsize: 10_125_000, quality: 90, atCeiling: true }],
      [{ width: 1280, height: 720, bitrate: 4_500_000, maxrate: 6_750_000, bufsize: 10_125_000, mode: 'crf', crf: 21 }],
    );
    expect(crfHeld.preset.video.rungs[0]).toMatchObject({ mode: 'crf', crf: 21 });
    const encoders = argv.flatMap((a, i) => (a === '-c:v' && argv[i + 1] === 'libx264' ? [i] : []));
    expect(encoders).toHaveLength(2);
    const first = argv.slice(encoders[0], encoders[1]);
    expect(first).toEqual(expect.arrayContaining(['-b:v', '4500k', '-maxrate', '6750k']));
    expect(first).not.toContain('-crf');
    expect(argv.slice(encoders[1])).toEqual(expect.arrayContaining(['-crf', '30', '-maxrate', '500k']));
  });

  it('candidate quality settings: three at the top resolution, shifted up below it; perTitle.crf everywhere as given', () => {
    expect(candidateCrfs('libx264', 0, undefined)).toEqual([20, 26, 32]);
    expect(candidateCrfs('libx264', 2, undefined)).toEqual([24, 30, 36]);
    expect(candidateCrfs('libsvtav1', 1, undefined)).toEqual([29, 39, 49]);
    // clamped to the encoder's scale (x264: 0-51)
    expect(candidateCrfs('libx264', 12, undefined)).toEqual([44, 50, 51]);
    expect(candidateCrfs('libx264', 3, [30, 18])).toEqual([18, 30]);
  });

  it('--per-title is part of the job key only when given', () => {
    expect(jobOptions({})).toEqual({ frameRate: null, hw: 'auto' });
    expect(jobOptions({ perTitle: true })).toEqual({ frameRate: null, hw: 'auto', perTitle: true });
    expect(jobOptions({ perTitle: false })).toEqual({ frameRate: null, hw: 'auto', perTitle: false });
  });
});

describe('the metric', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-metric-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const caps = (filters: string[]) => ({ filters }) as Pick<Capabilities, 'filters'>;

  it("prefers ffmpeg's libvmaf filter, then a vmaf tool on PATH, else SSIM with a note", async () => {
    expect((await chooseMetric(caps(['libvmaf', 'ssim']), { width: 1920, height: 1080 }, { env: { PATH: '' } })).metric).toEqual({
      name: 'vmaf',
      via: 'libvmaf',
      model: 'vmaf_v0.6.1',
    });
    const ssim = await chooseMetric(caps(['ssim']), { width: 1920, height: 1080 }, { env: { PATH: dir } });
    expect(ssim.metric.via).toBe('ffmpeg-ssim');
    expect(ssim.note).toBe(SSIM_NOTE);
    // a vmaf on PATH that answers --version
    const tool = join(dir, 'vmaf');
    await writeFile(tool, '#!/bin/sh\necho "3.0.0"\n');
    await chmod(tool, 0o755);
    const found = await chooseMetric(caps(['ssim']), { width: 3840, height: 2160 }, { env: { PATH: dir } });
    expect(found.metric).toEqual({ name: 'vmaf', via: 'vmaf-tool', tool, version: '3.0.0', model: 'vmaf_4k_v0.6.1' });
  });

  it('a --vmaf or STREAMKIT_VMAF that does not run is an error, not a silent fallback', async () => {
    await expect(chooseMetric(caps([]), { width: 640, height: 360 }, { vmaf: join(dir, 'nope'), env: { PATH: '' } })).rejects.toThrow(StreamkitError);
    await expect(chooseMetric(caps(['libvmaf']), { width: 640, height: 360 }, { env: { PATH: '', STREAMKIT_VMAF: '/no/such/vmaf' } })).rejects.toThrow(/does not run/);
  });

  it('the 4K model from 2160 lines; SSIM onto the VMAF scale rises with SSIM and stays in 0..100', () => {
    expect(vmafModelFor(1080, 1920)).toBe('vmaf_v0.6.1');
    expect(vmafModelFor(2160, 3840)).toBe('vmaf_4k_v0.6.1');
    expect(vmafModelFor(3840, 2160)).toBe('vmaf_4k_v0.6.1');
    expect(vmafFromSsim(0.99)).toBeCloseTo(SSIM_FIT.a + SSIM_FIT.b * 20, 6);
    expect(vmafFromSsim(0.95)).toBeLessThan(vmafFromSsim(0.99));
    expect(vmafFromSsim(1)).toBe(100);
    expect(vmafFromSsim(0)).toBeGreaterThanOrEqual(0);
  });

  it("reads the ssim filter's stats file and libvmaf's JSON log", () => {
    expect(parseSsimStats('n:1 Y:0.990 U:0.995 V:0.995 All:0.992 (20.9)\nn:2 Y:0.980 U:0.990 V:0.990 All:0.984 (17.9)\n')).toEqual({ mean: 0.988, frames: 2 });
    expect(parseSsimStats('')).toBeNull();
    expect(parseVmafLog(JSON.stringify({ frames: [{}, {}], pooled_metrics: { vmaf: { mean: 93.2, min: 80 } } }))).toEqual({ mean: 93.2, frames: 2 });
    expect(parseVmafLog('{')).toBeNull();
    expect(parseVmafLog('{}')).toBeNull();
  });
});

describe('the cache', () => {
  it('lives under STREAMKIT_CACHE_DIR, XDG_CACHE_HOME or ~/.cache; a miss is null; another version is a miss', async () => {
    expect(cacheDir({ STREAMKIT_CACHE_DIR: '/c' })).toBe('/c/per-title');
    expect(cacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/streamkit/per-title');
    const dir = await mkdtemp(join(tmpdir(), 'streamkit-cache-'));
    try {
      expect(await readCached(dir, 'k', 1)).toBeNull();
      expect(await writeCached(join(dir, 'sub'), 'k', 1, { a: 1 })).toBe(true);
      expect(await readCached(join(dir, 'sub'), 'k', 1)).toEqual({ a: 1 });
      expect(await readCached(join(dir, 'sub'), 'k', 2)).toBeNull();
      await writeFile(join(dir, 'sub', 'bad.json'), '{');
      expect(await readCached(join(dir, 'sub'), 'bad', 1)).toBeNull();
      // a folder that cannot be made: false, nothing thrown
      await writeFile(join(dir, 'file'), 'x');
      expect(await writeCached(join(dir, 'file', 'below'), 'k', 1, {})).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the argv of the analysis', () => {
  const plan = (): TranscodePlan => planOf({ name: 'p', file: 'p.yaml', chain: [], preset: basePreset() }, fakeMedia({ video: { frameRate: rational(25, 1) } }));
  const samples = [
    { start: 10, duration: 2 },
    { start: 40, duration: 2 },
  ];

  it('candidates: each sample an input cut by seeking, joined once, scaled once per size, one capped-CRF encoder per candidate into a raw stream', () => {
    const args = buildCandidateEncodeArgs(plan(), samples, [
      { width: 1280, height: 720, crf: 19, maxrate: 6_750_000, bufsize: 10_125_000, file: 'a.h264' },
      { width: 1280, height: 720, crf: 31, maxrate: 6_750_000, bufsize: 10_125_000, file: 'b.h264' },
      { width: 640, height: 360, crf: 25, maxrate: 547_500, bufsize: 821_250, file: 'c.h264' },
    ]);
    const inputs = args.flatMap((a, i) => (a === '-i' ? [args.slice(i - 4, i + 2).join(' ')] : []));
    // a quarter frame before each sample's first frame, half a frame more than the sample
    expect(inputs).toEqual([`-ss 9.9900 -t 2.0200 -i ${args[args.indexOf('-i') + 1]}`, `-ss 39.9900 -t 2.0200 -i ${args[args.indexOf('-i') + 1]}`]);
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph).toBe(
      '[0:0]fps=25:start_time=0,trim=end_frame=50[s0];[1:0]fps=25:start_time=0,trim=end_frame=50[s1];[s0][s1]concat=n=2:v=1:a=0,split=2[r0][r1];[r0]scale=1280:720,setsar=1,split=2[c0][c1];[r1]scale=640:360,setsar=1[c2]',
    );
    const outs = args.flatMap((a, i) => (a === '-map' ? [args.slice(i, args.indexOf('-f', i) + 2)] : []));
    expect(outs).toHaveLength(3);
    expect(outs[0]).toEqual(expect.arrayContaining(['-c:v', 'libx264', '-crf', '19', '-maxrate', '6750k', '-an']));
    expect(outs[2]).toEqual(expect.arrayContaining(['-crf', '25', '-maxrate', '547500']));
    expect(args.slice(-2)).toEqual(['h264', 'c.h264']);
  });

  it('scores: the reference at the display size, the distorted upscaled with bicubic; the ssim and libvmaf filters with plain log names', () => {
    const ref = buildReferenceArgs(plan(), samples, ['/tmp/ref0.y4m', '/tmp/ref1.y4m']);
    // one decode of the samples, split to every scorer
    expect(ref[ref.indexOf('-filter_complex') + 1]).toMatch(/concat=n=2:v=1:a=0,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p,split=2\[ref0\]\[ref1\]$/);
    expect(ref.slice(-3)).toEqual(['-f', 'yuv4mpegpipe', 'file:/tmp/ref1.y4m']);
    expect(ref).toEqual(expect.arrayContaining(['-map', '[ref0]']));
    const ssim = buildFilterScoreArgs(plan(), samples, [{ raw: '/w/a.h264' }, { raw: '/w/b.h264' }], ['a.log', 'b.log'], { filter: 'ssim' });
    const g = ssim[ssim.indexOf('-filter_complex') + 1]!;
    expect(g).toContain('split=2[r0][r1]');
    // both sides renumbered on one clock before the two-input filter pairs them by timestamp
    expect(g).toContain('concat=n=2:v=1:a=0,settb=1/25,setpts=N,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p,split=2[r0][r1]');
    expect(g).toContain('[2:v:0]settb=1/25,setpts=N,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[d0];[d0][r0]ssim=stats_file=a.log[o0]');
    expect(g).toContain('[3:v:0]settb=1/25,setpts=N,scale=1280:720:flags=bicubic');
    expect(ssim).toEqual(expect.arrayContaining(['-f', 'h264', '-framerate', '25', '-i', 'file:/w/a.h264']));
    const vmaf = buildFilterScoreArgs(plan(), samples, [{ raw: '/w/a.h264' }], ['a.json'], { filter: 'libvmaf', model: 'vmaf_v0.6.1', subsample: 4, threads: 2 });
    expect(vmaf[vmaf.indexOf('-filter_complex') + 1]).toContain('[d0][r0]libvmaf=model=version=vmaf_v0.6.1:log_fmt=json:log_path=a.json:n_threads=2:n_subsample=4[o0]');
    expect(() => buildFilterScoreArgs(plan(), samples, [{ raw: 'a' }], ['../x.log'], { filter: 'ssim' })).toThrow(/plain file names/);
    expect(buildVmafToolArgs('/p/r', '/p/d', '/p/o.json', { model: 'vmaf_v0.6.1', subsample: 4, threads: 2 })).toEqual([
      '-r',
      '/p/r',
      '-d',
      '/p/d',
      '--model',
      'version=vmaf_v0.6.1',
      '--threads',
      '2',
      '--subsample',
      '4',
      '--json',
      '-o',
      '/p/o.json',
      '-q',
    ]);
    expect(vmafSubsample(plan())).toBe(8);
  });

  it('a rendition: one input per sample playlist, trimmed from its first frame; a file: cut by seeking', () => {
    const r = buildRenditionSampleArgs(
      plan(),
      {
        pieces: [
          { playlist: '/t/s0.m3u8', skip: 1.5 },
          { playlist: '/t/s1.m3u8', skip: 0 },
        ],
      },
      samples,
      '/t/d.y4m',
    );
    expect(r).toEqual(expect.arrayContaining(['-i', 'file:/t/s0.m3u8', '-i', 'file:/t/s1.m3u8']));
    expect(r[r.indexOf('-filter_complex') + 1]).toBe(
      // by frame counts: 1.52 s into the first piece is its 38th frame; 2 s at 25 fps is 50 frames
      '[0:v:0]setpts=PTS-STARTPTS,trim=start_frame=38:end_frame=88,setpts=PTS-STARTPTS[e0];[1:v:0]setpts=PTS-STARTPTS,trim=start_frame=0:end_frame=50,setpts=PTS-STARTPTS[e1];[e0][e1]concat=n=2:v=1:a=0,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[d]',
    );
    const f = buildRenditionSampleArgs(plan(), { file: '/pkg/mp4/720p.mp4' }, samples, '/t/d.y4m');
    expect(f).toEqual(expect.arrayContaining(['-ss', '39.9900', '-t', '2.0200', '-i', 'file:/pkg/mp4/720p.mp4']));
  });

  it('scene cuts: the whole title scaled down, scdet passing only cuts, their times printed to a plain file name', () => {
    const a = buildSceneArgs(plan(), 'scenes.txt');
    expect(a[a.indexOf('-filter_complex') + 1]).toBe('[0:0]scale=-2:180,scdet=threshold=10:sc_pass=1,metadata=mode=print:key=lavfi.scd.time:file=scenes.txt[v]');
    expect(a).toContain('-skip_loop_filter');
    expect(() => buildSceneArgs(plan(), '/abs/scenes.txt')).toThrow();
  });
});
