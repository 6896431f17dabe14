/**
 * A/V sync as a viewer meets it: a clip that flashes a white frame and beeps at the same instants,
 * packaged with every built-in preset; then the PTS of the first white frame in each video rendition
 * and of the first beep in each audio rendition are measured by decoding what a player downloads
 * (init segment + media segments, concatenated; for MP4/FLV the file itself) with -copyts.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcode } from '../../src/transcode.js';
import { FFMPEG, ffmpeg, need, run, unmet } from '../helpers/index.js';

/** A white frame and a 1 kHz beep every 2 s, both from t = 0; 24 fps (B-frames shift H.264 by 2 frames). */
async function makeFlashBeep(out: string, extra: string[] = []): Promise<string> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    "color=black:size=320x240:rate=24,drawbox=w=iw:h=ih:color=white:t=fill:enable='lt(mod(t,2),1/24)'",
    '-f',
    'lavfi',
    '-i',
    "aevalsrc='if(lt(mod(t,2),0.05),sin(2*PI*1000*t),0)':s=48000",
    '-t',
    '4',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    ...extra,
    out,
  ]);
  return out;
}

/** First presentation time (s) at which the picture is white. */
async function firstWhite(file: string): Promise<number> {
  const { stdout } = await run(FFMPEG, [
    '-hide_banner',
    '-nostdin',
    '-copyts',
    '-i',
    file,
    '-an',
    '-vf',
    'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-',
    '-f',
    'null',
    '-',
  ]);
  return firstWhere(stdout, 'lavfi.signalstats.YAVG', (v) => v > 128);
}

/** First presentation time (s) of a 1 ms window whose peak is above -20 dBFS. */
async function firstBeep(file: string): Promise<number> {
  const { stdout } = await run(FFMPEG, [
    '-hide_banner',
    '-nostdin',
    '-copyts',
    '-i',
    file,
    '-vn',
    '-af',
    'asetnsamples=n=48,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.Peak_level:file=-',
    '-f',
    'null',
    '-',
  ]);
  return firstWhere(stdout, 'lavfi.astats.Overall.Peak_level', (v) => v > -20);
}

function firstWhere(metadata: string, key: string, test: (v: number) => boolean): number {
  let pts: number | null = null;
  for (const line of metadata.split('\n')) {
    const frame = /pts_time:(-?[\d.]+)/.exec(line);
    if (frame) pts = Number(frame[1]);
    else if (line.startsWith(`${key}=`) && pts !== null && test(Number(line.slice(key.length + 1)))) return pts;
  }
  throw new Error(`no frame matched ${key}`);
}

/** What a player downloads for one rendition, as one file: its init segment (fMP4) and every segment in order. */
async function renditionStream(pkg: string, dir: string, out: string): Promise<string> {
  const files = (await readdir(join(pkg, dir))).filter((f) => /^seg_\d+\.(ts|m4s)$/.test(f)).sort();
  const init = existsSync(join(pkg, dir, 'init.mp4')) ? [await readFile(join(pkg, dir, 'init.mp4'))] : [];
  const parts = [...init, ...(await Promise.all(files.map((f) => readFile(join(pkg, dir, f)))))];
  await writeFile(out, Buffer.concat(parts));
  return out;
}

describe.skipIf(unmet(need.ffmpeg))('A/V sync: one timeline for every rendition', () => {
  let dir: string;
  let flash: string;
  let late: string;
  let videoLate: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sk-avsync-'));
    flash = await makeFlashBeep(join(dir, 'flash.mp4'));
    // the same clip with its audio starting 0.7 s after its video
    late = join(dir, 'late.mp4');
    await ffmpeg(['-i', flash, '-itsoffset', '0.7', '-i', flash, '-map', '0:v', '-map', '1:a', '-c', 'copy', late]);
    // and with its video starting 0.5 s after its audio (as in MPEG-TS captures)
    videoLate = join(dir, 'video-late.ts');
    await ffmpeg(['-itsoffset', '0.5', '-i', flash, '-i', flash, '-map', '0:v', '-map', '1:a', '-c', 'copy', videoLate]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** audio minus video, in ms, for every rung against every audio rendition of an HLS package */
  async function hlsOffsets(pkg: string): Promise<number[]> {
    const entries = await readdir(pkg, { withFileTypes: true });
    const audio = entries.filter((e) => e.isDirectory() && e.name.startsWith('audio-')).map((e) => e.name);
    const video = entries.filter((e) => e.isDirectory() && !e.name.startsWith('audio-') && !['mp4', 'flv', 'thumbnails'].includes(e.name)).map((e) => e.name);
    expect(audio.length).toBeGreaterThan(0);
    expect(video.length).toBeGreaterThan(0);
    const offsets: number[] = [];
    for (const a of audio) {
      const beep = await firstBeep(await renditionStream(pkg, a, join(dir, `${a}.bin`)));
      for (const v of video) offsets.push((beep - (await firstWhite(await renditionStream(pkg, v, join(dir, `${v}.bin`))))) * 1000);
    }
    return offsets;
  }

  for (const preset of ['h264-ladder', 'hevc-ladder', 'av1-ladder']) {
    it(`${preset}: the beep and the white frame share a PTS in every rendition, and the package records it`, async () => {
      const out = join(dir, preset);
      const result = await transcode({ input: flash, preset, output: out });
      const offsets = await hlsOffsets(out);
      for (const ms of offsets) expect(Math.abs(ms)).toBeLessThanOrEqual(10);
      const manifest = JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8')) as { avSync?: { audioVideoOffsetMs: number; renditions: unknown[] } };
      expect(manifest.avSync?.renditions.length).toBe(result.package!.rungs.length + result.package!.audio.length);
      expect(Math.abs(manifest.avSync!.audioVideoOffsetMs)).toBeLessThanOrEqual(1);
    });
  }

  for (const preset of ['mp4-download', 'flv-live']) {
    it(`${preset}: each file keeps the beep on the white frame`, async () => {
      const out = join(dir, preset);
      const result = await transcode({ input: flash, preset, output: out });
      expect(result.files.length).toBeGreaterThan(0);
      for (const f of result.files) {
        const file = join(out, f.path);
        expect(Math.abs((await firstBeep(file)) - (await firstWhite(file))) * 1000).toBeLessThanOrEqual(10);
      }
    });
  }

  const shifted = [
    { name: 'audio that starts 0.7 s after the video', source: (): string => late, preset: 'h264-ladder', sign: 1 },
    { name: 'audio that starts 0.7 s after the video', source: (): string => late, preset: 'hevc-ladder', sign: 1 },
    { name: 'video that starts 0.5 s after the audio (TS)', source: (): string => videoLate, preset: 'h264-ladder', sign: -1 },
  ];
  for (const c of shifted) {
    it(`${c.preset}: ${c.name} keeps its offset`, async () => {
      const out = join(dir, `shifted-${c.preset}-${c.sign}`);
      await transcode({ input: c.source(), preset: c.preset, output: out });
      // the source as ffmpeg presents it (edit lists applied): the reference, not a fixed number
      const source = (await firstBeep(c.source())) - (await firstWhite(c.source()));
      expect(source * c.sign).toBeGreaterThan(0.45);
      for (const ms of await hlsOffsets(out)) expect(Math.abs(ms - source * 1000)).toBeLessThanOrEqual(10);
    });
  }
});
