/**
 * Inputs of different shapes through transcode(): non-square pixels, rotation metadata, no audio at
 * 30000/1001, two audio languages, variable frame rate. Every package gets the full independent
 * check (test/helpers/hls-check.ts) plus what the case is about.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveToolchain, transcode, type Toolchain } from '../../src/transcode.js';
import { checkPackage, ffmpeg, FFMPEG, FFPROBE, ffprobeJson, makeSource, need, unmet, writeFastPreset } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('inputs of different shapes', () => {
  let dir = '';
  let toolchain: Toolchain;
  let h264 = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-inputs-'));
    toolchain = await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE });
    h264 = await writeFastPreset(dir, 'fast-h264', { codec: 'h264', firstSegmentDuration: 2 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const encode = async (input: string, name: string, preset = h264): Promise<string> => {
    const output = join(dir, name);
    await transcode({ input, preset, output, hw: 'cpu', toolchain });
    return output;
  };

  it('odd SAR (352x288, 64:45): square-pixel rungs with the display aspect ratio', async () => {
    const src = await makeSource(join(dir, 'sar.mp4'), { size: '352x288', rate: '25', vf: 'setsar=64/45' });
    const pkg = await checkPackage(await encode(src, 'out-sar'), { fps: 25, duration: 4, audioRenditions: 1, resolutions: ['208x120', '314x180'] });
    // 352 x 64/45 = 500.6 wide: 16:9.1 displayed; each rung keeps it to within the rounding to even
    for (const r of pkg.rungs) expect(Math.abs(r.stream.width! / r.stream.height! - 500.6 / 288)).toBeLessThan(0.02);
  });

  it('portrait phone clip: rotation metadata becomes a portrait picture with no rotation left', async () => {
    const land = await makeSource(join(dir, 'land.mp4'), { size: '320x180', rate: '30' });
    const rotated = join(dir, 'phone.mp4');
    await ffmpeg(['-i', land, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const side = await ffprobeJson<{ streams: { side_data_list?: { rotation?: number }[] }[] }>(['-select_streams', 'v:0', '-show_streams', rotated]);
    expect(Math.abs(side.streams[0]!.side_data_list?.[0]?.rotation ?? 0)).toBe(90);
    // the 180 rung is 180 wide: "height" is the short side
    await checkPackage(await encode(rotated, 'out-phone'), { fps: 30, duration: 4, audioRenditions: 1, resolutions: ['120x214', '180x320'] });
  });

  it('rotation and SAR together, HEVC', async () => {
    const src = await makeSource(join(dir, 'sar2.mp4'), { size: '352x288', rate: '25', vf: 'setsar=64/45', audio: [] });
    const rotated = join(dir, 'sar-rot.mp4');
    await ffmpeg(['-i', src, '-c', 'copy', '-metadata:s:v:0', 'rotate=270', rotated]);
    const hevc = await writeFastPreset(dir, 'fast-hevc', { codec: 'hevc' });
    await checkPackage(await encode(rotated, 'out-sar-rot', hevc), { fps: 25, duration: 4, audioRenditions: 0, resolutions: ['120x208', '180x314'] });
  });

  it('no audio at exactly 30000/1001', async () => {
    const src = await makeSource(join(dir, 'ntsc.mp4'), { size: '320x180', rate: '30000/1001', audio: [] });
    const pkg = await checkPackage(await encode(src, 'out-ntsc'), { fps: 30000 / 1001, duration: 4.004, audioRenditions: 0, targetDuration: 2 });
    for (const r of pkg.rungs) {
      expect(r.attrs['FRAME-RATE']).toBe('29.970');
      expect(r.attrs['AUDIO']).toBeUndefined();
      expect(r.attrs['CODECS']).not.toContain('mp4a');
      // GOP = round(29.97) = 30 frames = 1.001 s; segments of two GOPs
      expect(r.playlist.segments[0]!.duration).toBeCloseTo(2.002, 6);
      for (let i = 1; i < r.keyframes.length; i++) expect(r.keyframes[i]! - r.keyframes[i - 1]!).toBeCloseTo(1.001, 3);
    }
    expect(pkg.master.media).toEqual([]);
  });

  it('two audio streams with languages: two EXT-X-MEDIA in one group, named and tagged', async () => {
    const src = await makeSource(join(dir, 'two.mkv'), { size: '320x180', rate: '30', audio: ['eng', 'fre'] });
    const pkg = await checkPackage(await encode(src, 'out-two'), { fps: 30, duration: 4, audioRenditions: 2 });
    expect(pkg.audio.map((a) => [a.attrs['NAME'], a.attrs['LANGUAGE'], a.attrs['DEFAULT'], a.attrs['GROUP-ID']])).toEqual([
      ['English', 'en', 'YES', 'audio'],
      ['Français', 'fr', 'NO', 'audio'],
    ]);
    // two different sources: 440 Hz and 660 Hz sines are different streams, not one encoded twice
    expect(pkg.audio[0]!.playlist.uri).not.toBe(pkg.audio[1]!.playlist.uri);
    for (const r of pkg.rungs) expect(r.attrs['AUDIO']).toBe('audio');
  });

  it('variable frame rate in: constant frame rate out', async () => {
    // 30 fps for 2 s, then every third frame: r_frame_rate 30, average 18
    const src = await makeSource(join(dir, 'vfr.mp4'), { size: '320x180', rate: '30', duration: 5, vf: "select='if(lt(t,2),1,not(mod(n,3)))'", extra: ['-fps_mode', 'vfr'] });
    const probe = await ffprobeJson<{ streams: { r_frame_rate: string; avg_frame_rate: string }[] }>(['-select_streams', 'v:0', '-show_streams', src]);
    expect(probe.streams[0]!.r_frame_rate).toBe('30/1');
    expect(probe.streams[0]!.avg_frame_rate).not.toBe('30/1');
    const out = await encode(src, 'out-vfr');
    const pkg = await checkPackage(out, { fps: 30, duration: 5, audioRenditions: 1 });
    for (const r of pkg.rungs) {
      const packets = await ffprobeJson<{ packets: { pts_time: string }[] }>(['-select_streams', 'v:0', '-show_entries', 'packet=pts_time', join(out, r.playlist.uri)]);
      const pts = packets.packets.map((p) => Number(p.pts_time)).sort((a, b) => a - b);
      expect(pts.length).toBeGreaterThan(5 * 30 - 5);
      for (let i = 1; i < pts.length; i++) expect(pts[i]! - pts[i - 1]!, `${r.dir} frame ${i}`).toBeCloseTo(1 / 30, 3);
    }
  });
});
