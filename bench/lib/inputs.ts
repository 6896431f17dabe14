// Benchmark inputs, made once into bench/work/inputs and reused (delete the folder to rebuild).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function ffmpeg(args: readonly string[], what: string): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`ffmpeg failed while ${what}: ${r.stderr}`);
}

/** Write through a temporary name so an interrupted build is never mistaken for a finished input. */
export function build(file: string, args: readonly string[], what: string): string {
  if (existsSync(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = file.replace(/\.mp4$/, '.partial.mp4');
  process.stderr.write(`bench: making ${what} -> ${file}\n`);
  ffmpeg([...args, tmp], what);
  renameSync(tmp, file);
  return file;
}

// A high-quality H.264 mezzanine at 1080p, like a real source: High profile, CRF 18, 4:2:0, AAC stereo.
// biome-ignore format: ffmpeg flag/value pairs, one pair per line
export const mezzanine = [
  '-c:v', 'libx264',
  '-preset', 'veryfast',
  '-crf', '18',
  '-pix_fmt', 'yuv420p',
  '-g', '48',
  '-c:a', 'aac',
  '-b:a', '192k',
  '-ar', '48000',
  '-ac', '2',
  '-movflags', '+faststart',
];

/**
 * Generated 1080p24 clip that is NOT easy to encode: a zooming Mandelbrot set (fine detail, constant
 * motion everywhere) with temporal film-grain-like noise on top, plus a two-tone stereo signal.
 * testsrc2 compresses to almost nothing and would flatter any encoder setting.
 */
export function generatedInput(workDir: string, seconds: number): string {
  const file = join(workDir, 'inputs', `generated-1080p24-v2-${seconds}s.mp4`);
  // zoom speed independent of the length, so short (quick) and long clips are the same kind of content;
  // about 20 Mb/s at CRF 18, in the range of real 1080p mezzanine files
  const video = 'mandelbrot=size=1920x1080:rate=24:maxiter=384:end_pts=120:end_scale=0.3,noise=alls=6:allf=t+u,format=yuv420p';
  const audio = "aevalsrc=exprs='0.2*sin(2*PI*440*t)|0.2*sin(2*PI*554.37*t)':s=48000:c=stereo";
  return build(file, ['-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', audio, '-t', String(seconds), ...mezzanine], `a ${seconds} s generated 1080p clip`);
}

/** ../shared/media (beside the checkout; worktrees sit one level deeper), or STREAMKIT_BENCH_MEDIA. */
export function sharedMediaDir(repoRoot: string): string | null {
  const candidates = [process.env.STREAMKIT_BENCH_MEDIA, resolve(repoRoot, '..', 'shared', 'media'), resolve(repoRoot, '..', '..', 'shared', 'media')].filter(
    (d): d is string => !!d,
  );
  return candidates.find((d) => existsSync(join(d, 'sintel-trailer-720p.mp4'))) ?? null;
}

/**
 * The Sintel trailer (1280x720, 24 fps, animated film) upscaled once to 1920x1080 with lanczos: a fair
 * 1080p workload with real film content. Starts at `from` s to skip the black opening titles.
 */
export function sintelInput(workDir: string, mediaDir: string, from: number, seconds: number): string {
  const src = join(mediaDir, 'sintel-trailer-720p.mp4');
  const file = join(workDir, 'inputs', `sintel-1080p24-${from}+${seconds}s.mp4`);
  return build(
    file,
    ['-ss', String(from), '-i', `file:${src}`, '-t', String(seconds), '-vf', 'scale=1920:1080:flags=lanczos', '-map', '0:v:0', '-map', '0:a:0', ...mezzanine],
    `the Sintel trailer ${from}-${from + seconds} s upscaled to 1080p`,
  );
}

/**
 * ../shared/media's only 1080p clip (dash-cam driving, raw H.264, 54 frames at 25 fps, full range)
 * looped to about `seconds` s (whole loops: a cut every 2.16 s) with a stereo tone, as a mezzanine.
 */
export function drivingInput(workDir: string, mediaDir: string, seconds: number): string {
  const src = join(mediaDir, 'driving-1080p25.h264');
  const loops = Math.max(1, Math.round(seconds / 2.16));
  const file = join(workDir, 'inputs', `driving-1080p25-loop${loops}.mp4`);
  const audio = "aevalsrc=exprs='0.2*sin(2*PI*440*t)|0.2*sin(2*PI*554.37*t)':s=48000:c=stereo";
  return build(
    file,
    // the loop filter repeats the 54 decoded frames (-stream_loop does not rewind a raw H.264 stream)
    [
      '-framerate',
      '25',
      '-f',
      'h264',
      '-i',
      `file:${src}`,
      '-f',
      'lavfi',
      '-i',
      audio,
      '-vf',
      `loop=loop=${loops - 1}:size=54:start=0,setpts=N/25/TB`,
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-shortest',
      ...mezzanine,
    ],
    `${loops} loops of driving-1080p25.h264 (${(loops * 2.16).toFixed(2)} s at 1080p)`,
  );
}

/** A 320x180 25 fps clip with a tone, for bench/memory.ts: cheap to encode, any length. */
export function lowresInput(workDir: string, minutes: number): string {
  const file = join(workDir, 'inputs', `lowres-180p25-${minutes}min.mp4`);
  return build(
    file,
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    [
      '-f', 'lavfi',
      '-i', 'testsrc2=size=320x180:rate=25',
      '-f', 'lavfi',
      '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(minutes * 60),
      '-c:v', 'libx264',
      '-preset', 'ultrafast',
      '-crf', '23',
      '-g', '50',
      '-pix_fmt', 'yuv420p',
      '-c:a', 'aac',
      '-b:a', '64k',
      '-movflags', '+faststart',
    ],
    `a ${minutes} min 320x180 clip`,
  );
}
