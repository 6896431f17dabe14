/**
 * Optional end-to-end run over the real clips in ../shared/media (see its README): MP4 24 fps, WebM
 * VP8+Vorbis 2.40:1, raw H.264 with --framerate (one of them full-range), MP4 at 12.5 fps. Each clip
 * is first cut to a few seconds (stream copy, starting on its first keyframe) in a temporary folder;
 * the clips are never copied into the repository. Skipped with a message when the folder is absent
 * (STREAMKIT_SHARED_MEDIA may point elsewhere, e.g. from a git worktree).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPackage, cli, ffmpeg, need, REPO, skipNoted, unmet, writeFastPreset, type Codec } from '../helpers/index.js';

const MEDIA = [process.env['STREAMKIT_SHARED_MEDIA'], join(REPO, '..', 'shared', 'media')].find((d): d is string => !!d && existsSync(join(d, 'README.md')));
const noMedia = skipNoted(!MEDIA && `shared-media: no real clips at ${join(REPO, '..', 'shared', 'media')} (set STREAMKIT_SHARED_MEDIA to use another folder)`);
/** One clip of the set that is not there: skipped, and said so. */
const lacks = (name: string): boolean => !MEDIA || skipNoted(!existsSync(join(MEDIA, name)) && `shared-media: ${join(MEDIA, name)} is missing`);

describe.skipIf(noMedia || unmet(need.ffmpeg))('real clips from ../shared/media', () => {
  let dir = '';
  const clip = (name: string): string => join(MEDIA!, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-shared-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (input: string, name: string, codec: Codec, rungs: number[], extra: string[] = []): Promise<string> => {
    const preset = await writeFastPreset(dir, `${name}-preset`, { codec, rungs, keyframeInterval: 2 });
    const output = join(dir, name);
    const r = await cli(['transcode', input, '--preset', preset, '--output', output, '--hw', 'cpu', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return output;
  };

  it.skipIf(lacks('sintel-trailer-720p.mp4'))('MP4, H.264 High + AAC, 24 fps, 1280x720', async () => {
    const cut = join(dir, 'sintel.mp4');
    await ffmpeg(['-i', `file:${clip('sintel-trailer-720p.mp4')}`, '-t', '5', '-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', cut]);
    const pkg = await checkPackage(await run(cut, 'sintel', 'h264', [360, 234]), { fps: 24, audioRenditions: 1, maxPeakToAverage: 3 });
    expect(pkg.rungs.map((r) => r.attrs['RESOLUTION'])).toEqual(['416x234', '640x360']);
  });

  it.skipIf(lacks('tos-battle-332p.webm'))('WebM, VP8 + Vorbis, 800x332 SAR 399:400 (2.40:1) -> AV1 with a source-height rung', async () => {
    const cut = join(dir, 'tos.webm');
    await ffmpeg(['-i', `file:${clip('tos-battle-332p.webm')}`, '-t', '5', '-c', 'copy', cut]);
    const pkg = await checkPackage(await run(cut, 'tos', 'av1', [360, 234]), { fps: 24, audioRenditions: 1, maxPeakToAverage: 3 });
    // displayed 798x332; 332 sits between 234 and 360 (and 332 > 234 x 1.1): a 332p rung replaces 360p
    expect(pkg.rungs.map((r) => r.attrs['RESOLUTION'])).toEqual(['562x234', '798x332']);
  });

  it.skipIf(lacks('flower-720p30.h264'))('raw H.264 (B-frames) with --framerate 30', async () => {
    const cut = join(dir, 'flower.h264');
    await ffmpeg(['-framerate', '30', '-i', `file:${clip('flower-720p30.h264')}`, '-frames:v', '150', '-c', 'copy', '-f', 'h264', cut]);
    const pkg = await checkPackage(await run(cut, 'flower', 'h264', [360], ['--framerate', '30']), { fps: 30, duration: 5, audioRenditions: 0, maxPeakToAverage: 3 });
    expect(pkg.rungs[0]!.attrs['RESOLUTION']).toBe('640x360');
  });

  it.skipIf(lacks('driving-1080p25.h264'))('raw H.264, full-range 1080p, 25 fps', async () => {
    const pkg = await checkPackage(await run(clip('driving-1080p25.h264'), 'driving', 'hevc', [360], ['--framerate', '25']), {
      fps: 25,
      duration: 54 / 25,
      audioRenditions: 0,
      maxPeakToAverage: 3,
    });
    expect(pkg.rungs[0]!.stream.pix_fmt).toBe('yuv420p');
  });

  it.skipIf(lacks('car-detection-432p.mp4'))('MP4 at 12.5 fps, Baseline + silent AAC', async () => {
    const cut = join(dir, 'car.mp4');
    await ffmpeg(['-i', `file:${clip('car-detection-432p.mp4')}`, '-t', '6', '-c', 'copy', cut]);
    const pkg = await checkPackage(await run(cut, 'car', 'h264', [360, 234]), { fps: 12.5, audioRenditions: 1, maxPeakToAverage: 3 });
    for (const r of pkg.rungs) expect(r.attrs['FRAME-RATE']).toBe('12.500');
  });
});
