/**
 * Poster and thumbnail track of real packages: a 12 s clip that opens with 1.5 s of black, packaged
 * with fast presets; the VTT parsed and checked independently (test/helpers/thumbnails-check.ts),
 * tile contents measured with ffmpeg, the preset key that turns them off.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscodeEvent } from '../../src/events.js';
import { transcode } from '../../src/transcode.js';
import { checkThumbnailTrack, FFMPEG, FFPROBE, imageSize, makeSource, maxLuma, need, run, tempDir, unmet, writeFastPreset } from '../helpers/index.js';

/** The brightest luma of one tile (x, y, w, h) of a sprite sheet. */
async function tileMaxLuma(file: string, c: { x: number; y: number; w: number; h: number }): Promise<number> {
  const { stderr } = await run(FFMPEG, [
    '-hide_banner',
    '-i',
    `file:${file}`,
    '-vf',
    `crop=${c.w}:${c.h}:${c.x}:${c.y},signalstats,metadata=print:key=lavfi.signalstats.YMAX`,
    '-f',
    'null',
    '-',
  ]);
  return Number(/lavfi\.signalstats\.YMAX=(\d+)/.exec(stderr)![1]);
}

async function formatDuration(file: string): Promise<number> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', `file:${file}`]);
  return Number(stdout.trim());
}

describe.skipIf(unmet(need.ffmpeg))('poster and thumbnails', () => {
  let dir: string;
  let clip: string;
  let duration: number;

  beforeAll(async () => {
    dir = await tempDir('streamkit-thumbs-');
    // 1.5 s of black first: a poster taken from the very start would be black, and the tile at 1 s
    // is black only if it shows the frame at 1 s (not one later in its cue)
    clip = await makeSource(join(dir, 'black-open.mp4'), { duration: 12, rate: '25', vf: "drawbox=color=black:t=fill:enable='lt(t,1.5)'" });
    duration = await formatDuration(clip);
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run1(name: string, extraYaml: string, files = false): Promise<{ out: string; events: TranscodeEvent[] }> {
    const preset = await writeFastPreset(dir, name, { codec: 'h264', rungs: [180, 120], extraYaml: [...(files ? ['  mp4: { rungs: top }'] : []), extraYaml].join('\n') });
    const out = join(dir, `${name}-out`);
    const events: TranscodeEvent[] = [];
    await transcode({ input: clip, preset, output: out, hw: 'cpu', onEvent: (e) => events.push(e) });
    return { out, events };
  }

  it('sprites with a partly filled last sheet: contiguous cues over the whole title, each on a tile that exists and shows its instant', async () => {
    // 1 s interval, 5x1 sheets: 12 cues on sheets of 5, 5 and 2
    const { out, events } = await run1('every-second', '  thumbnails: { interval: 1, width: 96, columns: 5, rows: 1 }');
    const track = await checkThumbnailTrack(out, duration, { width: 96, height: 54 });
    expect(track.problems).toEqual([]);
    expect(track.cues).toHaveLength(12);
    expect(track.sprites).toEqual(['thumbnails/sprite-0001.jpg', 'thumbnails/sprite-0002.jpg', 'thumbnails/sprite-0003.jpg']);
    for (const s of track.sprites) expect(await imageSize(join(out, s))).toEqual({ width: 480, height: 54 });
    expect(track.cues.at(-1)).toMatchObject({ file: 'thumbnails/sprite-0003.jpg', x: 96, y: 0 });
    // cue k shows the title at k s: the first two in the black opening, the rest not
    const luma = await Promise.all(track.cues.map((c) => tileMaxLuma(join(out, c.file), c)));
    expect(luma.slice(0, 2).every((l) => l < 40)).toBe(true);
    expect(luma.slice(2).every((l) => l > 150)).toBe(true);

    // the poster: decodes, has the top rung's size, is not black
    expect(await imageSize(join(out, 'poster.jpg'))).toEqual({ width: 320, height: 180 });
    expect(await maxLuma(join(out, 'poster.jpg'))).toBeGreaterThan(150);

    const done = events.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.thumbnails).toMatchObject({
      poster: 'poster.jpg',
      posterFrom: 'window',
      vtt: 'thumbnails.vtt',
      count: 12,
      intervalSeconds: 1,
      pass: 'encode',
    });
    const manifest = JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8')) as { thumbnails: { sprites: string[] }; outputs: { path: string }[] };
    expect(manifest.thumbnails.sprites).toEqual(track.sprites);
    expect(manifest.outputs.map((o) => o.path)).toEqual(expect.arrayContaining(['poster.jpg', 'thumbnails.vtt', ...track.sprites]));
  }, 120_000);

  it('by default (and with an MP4 file from the same encode): 2 s cues on one sheet', async () => {
    const { out } = await run1('default', '', true);
    const track = await checkThumbnailTrack(out, duration, { width: 160, height: 90 });
    expect(track.problems).toEqual([]);
    expect(track.cues.map((c) => c.start)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(track.sprites).toEqual(['thumbnails/sprite-0001.jpg']);
    expect(await imageSize(join(out, track.sprites[0]!))).toEqual({ width: 960, height: 90 });
    expect(await maxLuma(join(out, 'poster.jpg'))).toBeGreaterThan(150);
    expect(existsSync(join(out, 'mp4', '180p.mp4'))).toBe(true);
  }, 120_000);

  it('packaging.thumbnails: false makes none', async () => {
    const { out, events } = await run1('none', '  thumbnails: false');
    for (const f of ['poster.jpg', 'thumbnails.vtt', 'thumbnails']) expect(existsSync(join(out, f))).toBe(false);
    const done = events.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.thumbnails).toBeNull();
    const manifest = JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['thumbnails']).toBeUndefined();
  }, 120_000);

  it('a video that stops before its audio: the last cues show its last picture, not an empty tile', async () => {
    const short = join(dir, 'short-video.mp4');
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    await run(FFMPEG, [
      '-v', 'error',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=4',
      '-f', 'lavfi', '-i', 'sine=duration=9',
      '-c:v', 'libx264', '-preset', 'ultrafast',
      '-c:a', 'aac',
      short,
    ]);
    const preset = await writeFastPreset(dir, 'short-video', { codec: 'h264', rungs: [180] });
    const out = join(dir, 'short-video-out');
    await transcode({ input: short, preset, output: out, hw: 'cpu' });
    const track = await checkThumbnailTrack(out, await formatDuration(short), { width: 160, height: 90 });
    expect(track.problems).toEqual([]);
    expect(track.cues.map((c) => c.start)).toEqual([0, 2, 4, 6, 8]);
    // tiles the sheet has room for but no frame filled would be black (the tile filter's padding)
    for (const c of track.cues) expect(await tileMaxLuma(join(out, c.file), c)).toBeGreaterThan(150);
  }, 120_000);

  it('a title black throughout still gets a poster, and says it is black', async () => {
    const black = await makeSource(join(dir, 'black.mp4'), { duration: 3, rate: '25', vf: 'drawbox=color=black:t=fill' });
    const preset = await writeFastPreset(dir, 'black', { codec: 'h264', rungs: [180] });
    const out = join(dir, 'black-out');
    const events: TranscodeEvent[] = [];
    await transcode({ input: black, preset, output: out, hw: 'cpu', onEvent: (e) => events.push(e) });
    expect(await maxLuma(join(out, 'poster.jpg'))).toBeLessThan(40);
    expect(events.some((e) => e.type === 'warning' && /poster\.jpg is black/.test(e.message))).toBe(true);
    const done = events.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.thumbnails?.posterFrom).toBe('black');
    expect((await checkThumbnailTrack(out, await formatDuration(black))).problems).toEqual([]);
  }, 120_000);
});
