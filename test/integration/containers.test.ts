/**
 * Other containers and codecs in, through the CLI as a user runs it (`node bin/streamkit.js`, argv
 * arrays): WebM (VP9+Opus, VP8+Vorbis), MPEG-PS (MPEG-2 video + MP2), AVI (MPEG-4 Part 2 + MP3),
 * Matroska, and a raw H.264 elementary stream, which needs --framerate.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPackage, cli, ffmpeg, makeSource, need, unmet, writeFastPreset, type Codec } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('containers and codecs in (CLI)', () => {
  let dir = '';
  const presets: Partial<Record<Codec, string>> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-containers-'));
    for (const codec of ['h264', 'hevc', 'av1'] as const) presets[codec] = await writeFastPreset(dir, `fast-${codec}`, { codec, firstSegmentDuration: 2 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Run `streamkit transcode` and expect success. */
  const transcodeCli = async (input: string, name: string, codec: Codec, extra: string[] = []): Promise<string> => {
    const output = join(dir, name);
    const r = await cli(['transcode', input, '--preset', presets[codec]!, '--output', output, '--hw', 'cpu', ...extra]);
    expect(r.code, `exit code; stderr: ${r.stderr}`).toBe(0);
    expect(existsSync(join(output, 'master.m3u8'))).toBe(true);
    return output;
  };

  it('WebM: VP9 + Opus -> AV1', async () => {
    const src = await makeSource(join(dir, 'vp9.webm'), {
      video: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k'],
      audioCodec: ['-c:a', 'libopus'],
    });
    const pkg = await checkPackage(await transcodeCli(src, 'out-vp9', 'av1'), { fps: 30, duration: 4, audioRenditions: 1 });
    expect(pkg.rungs[0]!.videoCodec).toMatch(/^av01\./);
    // Opus in, AAC-LC out
    expect(pkg.audio[0]!.stream.codec_name).toBe('aac');
  });

  it('WebM: VP8 + Vorbis -> H.264', async () => {
    const src = await makeSource(join(dir, 'vp8.webm'), {
      video: ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k'],
      audioCodec: ['-c:a', 'libvorbis'],
    });
    await checkPackage(await transcodeCli(src, 'out-vp8', 'h264'), { fps: 30, duration: 4, audioRenditions: 1 });
  });

  it('MPEG-PS: MPEG-2 video + MP2 at 25 fps', async () => {
    const src = await makeSource(join(dir, 'ps.mpg'), { rate: '25', video: ['-c:v', 'mpeg2video', '-q:v', '4'], audioCodec: ['-c:a', 'mp2'] });
    await checkPackage(await transcodeCli(src, 'out-ps', 'h264'), { fps: 25, duration: 4, audioRenditions: 1 });
  });

  it('AVI: MPEG-4 Part 2 + MP3 (one frame past 4 s: the last one-frame segment is folded)', async () => {
    const src = await makeSource(join(dir, 'x.avi'), { rate: '25', duration: 4.04, video: ['-c:v', 'mpeg4', '-q:v', '4'], audioCodec: ['-c:a', 'libmp3lame'] });
    const pkg = await checkPackage(await transcodeCli(src, 'out-avi', 'h264'), { fps: 25, duration: 4.04, audioRenditions: 1, targetDuration: 2 });
    for (const r of pkg.rungs) {
      // ffmpeg cut 2 s + 2 s + one or two frames; the tail went into the second segment
      expect(r.playlist.segments).toHaveLength(2);
      expect(r.playlist.segments[0]!.duration).toBeCloseTo(2, 6);
      expect(r.playlist.segments[1]!.duration).toBeGreaterThan(2.02);
      expect(r.playlist.segments[1]!.duration).toBeLessThan(2.2);
      // the folded segment keeps the keyframe of the tail: the I-frame playlist lists it
      expect(r.iframes).toBe(r.keyframes.length);
    }
  });

  it('Matroska: H.264 + FLAC -> HEVC', async () => {
    const src = await makeSource(join(dir, 'in.mkv'), { audioCodec: ['-c:a', 'flac'] });
    await checkPackage(await transcodeCli(src, 'out-mkv', 'hevc'), { fps: 30, duration: 4, audioRenditions: 1 });
  });

  it('raw H.264 elementary stream: exit code 2 without --framerate, a package with it', async () => {
    const mp4 = await makeSource(join(dir, 'raw-src.mp4'), { rate: '25', audio: [] });
    const raw = join(dir, 'clip.h264');
    await ffmpeg(['-i', mp4, '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', raw]);

    const refused = await cli(['transcode', raw, '--preset', presets.h264!, '--output', join(dir, 'out-raw-refused'), '--hw', 'cpu']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/raw h264 elementary stream/);
    expect(refused.stderr).toMatch(/--framerate/);
    expect(existsSync(join(dir, 'out-raw-refused'))).toBe(false);

    const pkg = await checkPackage(await transcodeCli(raw, 'out-raw', 'h264', ['--framerate', '25']), { fps: 25, duration: 4, audioRenditions: 0 });
    expect(pkg.rungs).toHaveLength(2);
    expect((await readdir(dir)).filter((f) => f.startsWith('.streamkit-tmp-'))).toEqual([]);
  });
});
