/**
 * The library's transcode() on tiny generated inputs, one package per built-in codec (through a
 * preset that extends the built-in with its fastest speed and two small rungs), every package
 * checked independently (test/helpers/hls-check.ts).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscodeEvent } from '../../src/events.js';
import { resolveToolchain, transcode, type Toolchain } from '../../src/transcode.js';
import { checkPackage, FFMPEG, FFPROBE, makeSource, need, unmet, writeFastPreset } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('transcode() on a 320x180 clip with audio', () => {
  let dir = '';
  let source = '';
  let toolchain: Toolchain;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-transcode-'));
    source = await makeSource(join(dir, 'clip.mp4'), { size: '320x180', rate: '30', duration: 4, audio: ['eng'] });
    toolchain = await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('h264: MPEG-TS rungs, an audio rendition, events from start to done', async () => {
    const preset = await writeFastPreset(dir, 'fast-h264', { codec: 'h264' });
    const events: TranscodeEvent[] = [];
    const output = join(dir, 'out-h264');
    const result = await transcode({ input: source, preset, output, hw: 'cpu', toolchain, onEvent: (e) => events.push(e) });
    expect(result.output).toBe(output);
    expect(result.master).toBe(join(output, 'master.m3u8'));

    const pkg = await checkPackage(output, { fps: 30, duration: 4, audioRenditions: 1, resolutions: ['214x120', '320x180'], targetDuration: 2 });
    for (const r of pkg.rungs) {
      expect(r.videoCodec).toMatch(/^avc1\./);
      expect(r.playlist.mapUri).toBeNull();
      expect(r.playlist.segments.every((s) => s.uri.endsWith('.ts'))).toBe(true);
      expect(r.iframes).toBe(4); // a keyframe every second
    }
    expect(pkg.master.version).toBe(5);
    expect(pkg.audio[0]!.attrs).toMatchObject({ NAME: 'English', LANGUAGE: 'en', DEFAULT: 'YES', CHANNELS: '1' });

    const types = events.map((e) => e.type);
    expect(types[0]).toBe('stage');
    expect(types).toContain('start');
    expect(types).toContain('progress');
    expect(types[types.length - 1]).toBe('done');
    const start = events.find((e) => e.type === 'start') as Extract<TranscodeEvent, { type: 'start' }>;
    expect(start.ladder.map((r) => `${r.width}x${r.height}`)).toEqual(['320x180', '214x120']);
    expect(start.frameRate).toBe('30');
    const done = events.find((e) => e.type === 'done') as Extract<TranscodeEvent, { type: 'done' }>;
    expect(done.rungs.map((r) => r.bandwidth).sort()).toEqual(pkg.rungs.map((r) => Number(r.attrs['BANDWIDTH'])).sort());
    // the package is the only thing next to the source
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('hevc: fMP4 with an hvc1 sample entry and closed GOPs aligned across rungs', async () => {
    const preset = await writeFastPreset(dir, 'fast-hevc', { codec: 'hevc' });
    const output = join(dir, 'out-hevc');
    await transcode({ input: source, preset, output, hw: 'cpu', toolchain });
    const pkg = await checkPackage(output, { fps: 30, duration: 4, audioRenditions: 1, targetDuration: 2 });
    expect(pkg.master.version).toBe(6);
    for (const r of pkg.rungs) {
      expect(r.videoCodec).toMatch(/^hvc1\.1\.6\.L\d+\.90$/);
      expect(r.playlist.mapUri).toBe('init.mp4');
      expect(r.playlist.segments.every((s) => s.uri.endsWith('.m4s'))).toBe(true);
      expect(r.stream.codec_tag_string).toBe('hvc1');
      // a keyframe every second, and only those starting a fragment are in the I-frame playlist: with a
      // short first segment ffmpeg writes one fragment per GOP (pieces joined into segments), so all 4
      expect(r.keyframes).toHaveLength(4);
      expect(r.iframes).toBe(4);
    }
    // the audio rendition is fMP4 too
    expect(pkg.audio[0]!.playlist.mapUri).toBe('init.mp4');
  });

  it('av1: fMP4 with av01 CODECS from the av1C record', async () => {
    const preset = await writeFastPreset(dir, 'fast-av1', { codec: 'av1' });
    const output = join(dir, 'out-av1');
    await transcode({ input: source, preset, output, hw: 'cpu', toolchain });
    const pkg = await checkPackage(output, { fps: 30, duration: 4, audioRenditions: 1, targetDuration: 2 });
    for (const r of pkg.rungs) {
      expect(r.videoCodec).toMatch(/^av01\.0\.\d\dM\.08/);
      expect(r.stream.codec_name).toBe('av1');
    }
  });

  it('a source between rungs gets a rung at its own height; % and spaces in the output path are kept', async () => {
    const src = await makeSource(join(dir, 'between.mp4'), { size: '426x240', rate: '25', duration: 4, audio: [null] });
    const preset = await writeFastPreset(dir, 'between', { codec: 'h264', rungs: [360, 180] });
    const output = join(dir, '100% sure', 'pkg %d');
    const result = await transcode({ input: src, preset, output, hw: 'cpu', toolchain });
    expect(result.output).toBe(output);
    const pkg = await checkPackage(output, { fps: 25, duration: 4, audioRenditions: 1, resolutions: ['320x180', '426x240'] });
    // 240 sits between 180 and 360: a source-height rung replaces the dropped 360p
    expect(pkg.rungs.map((r) => r.dir).sort()).toEqual(['180p', '240p']);
    // untagged audio: LANGUAGE "und", NAME "Main"
    expect(pkg.audio[0]!.attrs).toMatchObject({ NAME: 'Main', LANGUAGE: 'und' });
    expect(existsSync(join(output, '240p', 'seg_00000.ts'))).toBe(true);
  });
});
