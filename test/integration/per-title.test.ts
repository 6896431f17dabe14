/**
 * Per-title ladders (issue 21) end to end through the real CLI on a generated clip: the analysis
 * (candidate encodes of the samples with the preset's encoder, scores at the display size), the
 * ladder it chose encoded with capped CRF, every rung measured again after the encode, the report in
 * streamkit.json and the events, the cache, --dry-run, batch, and the refusals. The default metric
 * here is SSIM (Debian's ffmpeg has no libvmaf filter, CI has no `vmaf` on PATH); with
 * ../shared/tools/vmaf the same job runs with real VMAF and its predictions are held to the
 * measurements.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PerTitleReport } from '../../src/pipeline/per-title.js';
import { assertBuilt, checkPackage, cli, cliEnv, ffmpeg, makeSource, need, parseEvents, REPO, skipNoted, tempDir, unmet } from '../helpers/index.js';

const PRESET = `name: per-title-test
video:
  codec: h264
  encoder: { cpu: { name: libx264, preset: veryfast } }
  rateControl: { mode: vbr, maxrateRatio: 1.5, bufsizeRatio: 1.5 }
  keyframeInterval: 1
  rungs:
    - { height: 360, bitrate: 1500k }
    - { height: 270, bitrate: 800k }
    - { height: 180, bitrate: 300k }
  perTitle: { target: 93, spacing: 8, minRungs: 2 }
audio: { bitrate: 64k }
packaging:
  hls: { segmentDuration: 2 }
  thumbnails: false
`;

const VMAF_TOOL = resolve(REPO, '..', 'shared', 'tools', 'vmaf', 'vmaf');

interface Manifest {
  perTitle?: PerTitleReport;
  options: Record<string, unknown>;
  preset: { resolved: { video: { rungs: unknown[]; perTitle?: unknown } } };
}

async function manifestOf(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'streamkit.json'), 'utf8')) as Manifest;
}

/** No libvmaf in this ffmpeg and no vmaf on PATH: the analysis must fall back to SSIM. */
async function ssimExpected(): Promise<boolean> {
  const onPath = (process.env['PATH'] ?? '').split(':').some((d) => d && existsSync(join(d, 'vmaf')));
  if (onPath || process.env['STREAMKIT_VMAF']) return false;
  const { located } = await import('../helpers/index.js');
  const { probeCapabilities } = await import('../../src/ffmpeg/capabilities.js');
  return !located || !(await probeCapabilities(located.ffmpeg.path)).filters.includes('libvmaf');
}

describe.skipIf(unmet(need.ffmpeg))('transcode --per-title (640x360, 4 s, SSIM unless a VMAF is found)', () => {
  let dir = '';
  let source = '';
  let preset = '';
  let cache = '';
  let out = '';
  let events: ReturnType<typeof parseEvents> = [];
  let report: PerTitleReport;

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir('streamkit-per-title-');
    cache = join(dir, 'cache');
    source = await makeSource(join(dir, 'clip.mp4'), { size: '640x360', rate: '25', duration: 4, audio: ['eng'] });
    preset = join(dir, 'per-title.yaml');
    await writeFile(preset, PRESET);
    out = join(dir, 'out');
    const r = await cli(['--json', 'transcode', source, '-p', preset, '--per-title', '-o', out, '--hw', 'cpu'], { env: cliEnv({}, cache) });
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    events = parseEvents(r.stdout);
    report = (await manifestOf(out)).perTitle!;
  }, 240_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('analyses the whole short title: every candidate resolution at every quality setting, measured', async () => {
    expect(report, 'streamkit.json has perTitle').toBeDefined();
    expect(report.samples).toEqual([{ start: 0, duration: 4 }]);
    // three quality settings per resolution
    expect(report.candidates).toHaveLength(3 * 3);
    expect(new Set(report.candidates.map((c) => c.height))).toEqual(new Set([360, 270, 180]));
    for (const c of report.candidates) {
      expect(c.bitrate, `${c.height}p crf ${c.crf}`).toBeGreaterThan(10_000);
      expect(c.quality).toBeGreaterThan(0);
      expect(c.quality).toBeLessThanOrEqual(100);
    }
    // at one resolution, a lower crf costs more bits
    const at360 = report.candidates.filter((c) => c.height === 360).sort((a, b) => a.crf - b.crf);
    for (let i = 1; i < at360.length; i++) expect(at360[i]!.bitrate).toBeLessThan(at360[i - 1]!.bitrate);
    if (await ssimExpected()) {
      expect(report.metric.name).toBe('ssim');
      expect(report.notes.join('\n')).toMatch(/approximate/);
    }
    expect(report.analysisCpuSeconds).toBeGreaterThan(0);
    expect(report.cached).toBe(false);
  });

  it('encodes the chosen rungs, never above the fixed ladder, with capped CRF, each one measured after the encode', async () => {
    const pkg = await checkPackage(out, { fps: 25, duration: 4, audioRenditions: 1, targetDuration: 2 });
    expect(pkg.rungs.map((r) => r.dir).sort()).toEqual(report.rungs.map((r) => r.name).sort());
    expect(report.rungs.length).toBeGreaterThanOrEqual(2);
    for (const r of report.rungs) {
      expect(r.bitrate, r.name).toBeLessThanOrEqual(r.fixedBitrate);
      expect(r.maxrate).toBeGreaterThanOrEqual(r.bitrate);
      expect(r.measured, `${r.name} measured`).not.toBeNull();
      expect(r.measured!).toBeGreaterThan(0);
      const checked = pkg.rungs.find((p) => p.dir === r.name)!;
      expect(checked.stream.height).toBe(r.height);
    }
    // rungs go down in quality
    for (let i = 1; i < report.rungs.length; i++) expect(report.rungs[i]!.quality).toBeLessThan(report.rungs[i - 1]!.quality);
    // the command that ran used crf with the analysis' cap
    const start = events.find((e) => e.type === 'start') as { command: string[] } | undefined;
    const argv = start!.command;
    const top = report.rungs[0]!;
    const crfAt = argv.indexOf('-crf');
    expect(argv[crfAt + 1]).toBe(String(top.crf));
    expect(argv).toContain(String(top.maxrate));
  });

  it('reports the analysis and the measurements as events, and records the job as asked', async () => {
    const phases = new Set(events.filter((e) => e.type === 'analysis').map((e) => e['phase']));
    expect([...phases].sort()).toEqual(['candidates', 'check', 'scores']);
    const chosen = events.find((e) => e.type === 'per-title' && e['when'] === 'chosen');
    const measured = events.find((e) => e.type === 'per-title' && e['when'] === 'measured') as unknown as PerTitleReport;
    expect(chosen).toBeDefined();
    expect(measured.rungs.every((r) => r.measured !== null)).toBe(true);
    const done = events.find((e) => e.type === 'done') as unknown as { perTitle: PerTitleReport };
    expect(done.perTitle.rungs).toEqual(report.rungs);
    const m = await manifestOf(out);
    // the preset asks for per-title itself: --per-title repeats it and is not part of the job key
    expect(m.options['perTitle']).toBeUndefined();
    // the preset as loaded (fixed rungs, perTitle options), not the derived one
    expect(m.preset.resolved.video.rungs).toHaveLength(3);
    expect(m.preset.resolved.video.perTitle).toBeDefined();
  });

  it('reads the analysis from the cache the second time, and --dry-run prints the chosen ladder without encoding', async () => {
    const again = join(dir, 'again');
    const r = await cli(['--json', 'transcode', source, '-p', preset, '--per-title', '-o', again, '--hw', 'cpu'], { env: cliEnv({}, cache) });
    expect(r.code, r.stderr).toBe(0);
    const ev = parseEvents(r.stdout);
    const chosen = ev.find((e) => e.type === 'per-title' && e['when'] === 'chosen') as unknown as PerTitleReport;
    expect(chosen.cached).toBe(true);
    expect(chosen.rungs.map((x) => [x.name, x.crf])).toEqual(report.rungs.map((x) => [x.name, x.crf]));
    expect(ev.some((e) => e.type === 'analysis' && e['phase'] === 'candidates')).toBe(false);

    const dry = join(dir, 'dry');
    const d = await cli(['transcode', source, '-p', preset, '--per-title', '--dry-run', '-o', dry, '--hw', 'cpu'], { env: cliEnv({}, cache) });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/# per-title: .*from the cache/);
    for (const x of report.rungs) expect(d.stdout).toContain(`-crf ${x.crf}`);
    expect(existsSync(dry)).toBe(false);
  }, 240_000);

  it('batch --per-title takes the flag to every job; the job key holds the choice only where it differs from the preset', async () => {
    const r = await cli(['--json', 'batch', source, '-p', preset, '--per-title', '-o', join(dir, 'batch', '{stem}'), '--hw', 'cpu'], { env: cliEnv({}, cache) });
    expect(r.code, r.stderr).toBe(0);
    const m = await manifestOf(join(dir, 'batch', 'clip'));
    expect(m.perTitle?.cached).toBe(true);
    // again without the flag (the preset asks for per-title itself): the same job, current
    const again = await cli(['--json', 'batch', source, '-p', preset, '-o', join(dir, 'batch', '{stem}'), '--hw', 'cpu'], { env: cliEnv({}, cache) });
    expect(again.stdout).toMatch(/"status":"skipped"/);
    // --no-per-title changes the job: the fixed ladder, encoded again, with the choice in the key
    const fixed = await cli(['--json', 'batch', source, '-p', preset, '--no-per-title', '-o', join(dir, 'batch', '{stem}'), '--hw', 'cpu'], { env: cliEnv({}, cache) });
    expect(fixed.code, fixed.stderr).toBe(0);
    const f = await manifestOf(join(dir, 'batch', 'clip'));
    expect(f.perTitle).toBeUndefined();
    expect(f.options['perTitle']).toBe(false);
  }, 240_000);

  it('a capture whose video starts 0.5 s after its audio: the rungs are measured frame for frame against the source, as predicted', async () => {
    const late = join(dir, 'video-late.ts');
    await ffmpeg(['-v', 'error', '-itsoffset', '0.5', '-i', source, '-i', source, '-map', '0:v', '-map', '1:a', '-c', 'copy', '-f', 'mpegts', late]);
    const outLate = join(dir, 'late-out');
    const r = await cli(['--json', 'transcode', late, '-p', preset, '--per-title', '-o', outLate, '--hw', 'cpu'], { env: cliEnv({}, cache) });
    expect(r.code, r.stderr).toBe(0);
    const lateReport = (await manifestOf(outLate)).perTitle!;
    // a reference shifted by even one frame against the rungs scores far below the prediction
    for (const x of lateReport.rungs) expect(Math.abs(x.measured! - x.quality), `${x.name}: predicted ${x.quality}, measured ${x.measured}`).toBeLessThan(4);
  }, 240_000);

  it('refuses what it cannot analyse, with the reason: several video ladders, a title without a duration', async () => {
    const multi = join(dir, 'multi.yaml');
    await writeFile(
      multi,
      `video:
  - { codec: h264, encoder: { cpu: { name: libx264, preset: ultrafast } }, rateControl: { mode: vbr }, rungs: [{ height: 180, bitrate: 300k }] }
  - { codec: hevc, encoder: { cpu: { name: libx265, preset: ultrafast } }, rateControl: { mode: vbr }, rungs: [{ height: 180, bitrate: 200k }] }
packaging: { hls: { container: fmp4 } }
`,
    );
    const r = await cli(['transcode', source, '-p', multi, '--per-title', '-o', join(dir, 'multi-out')], { env: cliEnv({}, cache) });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/one video ladder/);
    const raw = join(dir, 'clip.h264');
    await ffmpeg(['-v', 'error', '-i', source, '-an', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', raw]);
    const rr = await cli(['transcode', raw, '--framerate', '25', '-p', preset, '--per-title', '-o', join(dir, 'raw-out')], { env: cliEnv({}, cache) });
    expect(rr.code).toBe(4);
    expect(rr.stderr).toMatch(/duration/);
    expect(existsSync(join(dir, 'multi-out')) || existsSync(join(dir, 'raw-out'))).toBe(false);
  }, 120_000);
});

const noVmaf = unmet(need.ffmpeg) || skipNoted(!existsSync(VMAF_TOOL) && `no VMAF tool at ${VMAF_TOOL} (../shared/tools/vmaf): the VMAF per-title test is skipped`);

describe.skipIf(noVmaf)('transcode --per-title with the VMAF tool (../shared/tools/vmaf)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir('streamkit-per-title-vmaf-');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('predicts each rung within a few VMAF points of what the encode measures, and reaches the target at the top', async () => {
    const source = await makeSource(join(dir, 'clip.mp4'), { size: '640x360', rate: '25', duration: 4, audio: [] });
    const preset = join(dir, 'per-title.yaml');
    await writeFile(preset, PRESET);
    const out = join(dir, 'out');
    const r = await cli(['--json', 'transcode', source, '-p', preset, '--per-title', '--vmaf', VMAF_TOOL, '-o', out, '--hw', 'cpu'], { env: cliEnv({}, join(dir, 'cache')) });
    expect(r.code, r.stderr).toBe(0);
    const report = (await manifestOf(out)).perTitle!;
    expect(report.metric).toMatchObject({ name: 'vmaf', via: 'vmaf-tool', model: 'vmaf_v0.6.1' });
    const top = report.rungs[0]!;
    if (!top.atCeiling) expect(Math.abs(top.quality - 93)).toBeLessThan(1.5);
    // a misaligned or mis-scaled comparison costs far more than this
    for (const x of report.rungs) expect(Math.abs(x.measured! - x.quality), `${x.name}: predicted ${x.quality}, measured ${x.measured}`).toBeLessThan(3);
  }, 300_000);
});
