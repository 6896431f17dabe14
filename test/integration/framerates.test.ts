/**
 * Frame rates: 12.5 (a GOP that is not a whole number of frames per second), 59.94 kept exactly and
 * cut into whole-GOP segments over several segments, 59.94 capped to 29.97 and 50 capped to 25.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveToolchain, transcode, type Toolchain } from '../../src/transcode.js';
import { checkPackage, type CheckedPackage, FFMPEG, FFPROBE, ffprobeJson, makeSource, need, unmet, writeFastPreset } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('frame rates', () => {
  let dir = '';
  let toolchain: Toolchain;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-fps-'));
    toolchain = await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const frameCount = async (pkgDir: string, pkg: CheckedPackage): Promise<number> => {
    const r = await ffprobeJson<{ packets: unknown[] }>(['-select_streams', 'v:0', '-show_entries', 'packet=pts_time', join(pkgDir, pkg.rungs[0]!.playlist.uri)]);
    return r.packets.length;
  };

  it('12.5 fps: 13-frame GOPs (1.04 s) with a 1 s keyframe interval, segments of two GOPs', async () => {
    const src = await makeSource(join(dir, '12.5.mp4'), { rate: '25/2', duration: 6 });
    const preset = await writeFastPreset(dir, 'fps-12.5', { codec: 'h264', keyframeInterval: 1, firstSegmentDuration: 2 });
    const out = join(dir, 'out-12.5');
    await transcode({ input: src, preset, output: out, hw: 'cpu', toolchain });
    const pkg = await checkPackage(out, { fps: 12.5, duration: 6, audioRenditions: 1 });
    for (const r of pkg.rungs) {
      expect(r.attrs['FRAME-RATE']).toBe('12.500');
      r.keyframes.forEach((k, i) => {
        expect(k - r.keyframes[0]!).toBeCloseTo(i * 1.04, 3);
      });
      expect(r.playlist.segments[0]!.duration).toBeCloseTo(2.08, 6);
    }
    expect(await frameCount(out, pkg)).toBe(75);
  });

  it('59.94 fps kept exactly (cap 60), cut on every GOP boundary over 8 s', async () => {
    const src = await makeSource(join(dir, '59.94.mp4'), { rate: '60000/1001', duration: 8 });
    const preset = await writeFastPreset(dir, 'fps-59.94', { codec: 'h264', maxFrameRate: 60, firstSegmentDuration: 2 });
    const out = join(dir, 'out-59.94');
    await transcode({ input: src, preset, output: out, hw: 'cpu', toolchain });
    const pkg = await checkPackage(out, { fps: 60000 / 1001, duration: 8, audioRenditions: 1, targetDuration: 2 });
    for (const r of pkg.rungs) {
      expect(r.attrs['FRAME-RATE']).toBe('59.940');
      // 60-frame GOPs = 1.001 s; every segment but the last is exactly two of them
      const durations = r.playlist.segments.map((s) => s.duration);
      expect(
        durations.slice(0, -1).every((d) => Math.abs(d - 2.002) < 1e-6),
        durations.join(' '),
      ).toBe(true);
      expect(durations).toHaveLength(4);
      r.segmentStarts.forEach((t, i) => {
        expect(t - r.segmentStarts[0]!).toBeCloseTo(i * 2.002, 3);
      });
    }
    expect(await frameCount(out, pkg)).toBe(Math.round((8 * 60000) / 1001));
  });

  it('59.94 with a cap of 30 becomes 29.97, HEVC', async () => {
    const src = await makeSource(join(dir, '59.94b.mp4'), { rate: '60000/1001', duration: 4, audio: [] });
    const preset = await writeFastPreset(dir, 'fps-cap30', { codec: 'hevc', maxFrameRate: 30 });
    const out = join(dir, 'out-cap30');
    await transcode({ input: src, preset, output: out, hw: 'cpu', toolchain });
    const pkg = await checkPackage(out, { fps: 30000 / 1001, duration: 4.004, audioRenditions: 0 });
    for (const r of pkg.rungs) expect(r.attrs['FRAME-RATE']).toBe('29.970');
    expect(await frameCount(out, pkg)).toBe(120);
  });

  it('50 fps with a cap of 30 becomes 25', async () => {
    const src = await makeSource(join(dir, '50.mp4'), { rate: '50', duration: 4 });
    const preset = await writeFastPreset(dir, 'fps-cap30b', { codec: 'h264', maxFrameRate: 30 });
    const out = join(dir, 'out-50');
    await transcode({ input: src, preset, output: out, hw: 'cpu', toolchain });
    const pkg = await checkPackage(out, { fps: 25, duration: 4, audioRenditions: 1 });
    for (const r of pkg.rungs) expect(r.attrs['FRAME-RATE']).toBe('25.000');
    expect(await frameCount(out, pkg)).toBe(100);
  });
});
