import { access, constants, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { StreamkitError } from '../errors.js';

export type BinarySource = 'option' | 'env' | 'path' | 'ffmpeg-static' | 'beside-ffmpeg';

export interface LocatedBinary {
  path: string;
  source: BinarySource;
  /** why this one was chosen, in words (shown by `streamkit doctor`) */
  reason: string;
}

export interface LocateOptions {
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The first executable file called `name` in the PATH of `env` (also for other tools: libvmaf's `vmaf`). */
export async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/** ffmpeg-static is optional: its install downloads a binary and may have failed (offline). */
function ffmpegStaticPath(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const p = require('ffmpeg-static') as string | null;
    return typeof p === 'string' ? p : null;
  } catch {
    return null;
  }
}

async function explicit(path: string, source: 'option' | 'env', label: string): Promise<LocatedBinary> {
  if (!(await isExecutable(path))) {
    throw new StreamkitError('FFMPEG_NOT_FOUND', `${label} points at ${path}, which is not an executable file.`, {
      hint: 'Give the full path of an ffmpeg/ffprobe binary, or leave the option unset to use the one on PATH.',
      details: { binary: path, source },
    });
  }
  return { path, source, reason: `given by ${label}` };
}

export async function locateFfmpeg(options: LocateOptions = {}): Promise<LocatedBinary> {
  const env = options.env ?? process.env;
  if (options.ffmpeg) return explicit(options.ffmpeg, 'option', '--ffmpeg');
  if (env['STREAMKIT_FFMPEG']) return explicit(env['STREAMKIT_FFMPEG'], 'env', 'STREAMKIT_FFMPEG');
  const fromPath = await onPath('ffmpeg', env);
  if (fromPath) return { path: fromPath, source: 'path', reason: 'found on PATH' };
  const fromStatic = ffmpegStaticPath();
  if (fromStatic && (await isExecutable(fromStatic))) return { path: fromStatic, source: 'ffmpeg-static', reason: 'the ffmpeg-static package (no ffmpeg on PATH)' };
  throw new StreamkitError('FFMPEG_NOT_FOUND', 'No ffmpeg found: not given by --ffmpeg or STREAMKIT_FFMPEG, not on PATH, and ffmpeg-static is not installed.', {
    hint: 'Install ffmpeg (Debian/Ubuntu: `apt-get install ffmpeg`), or set STREAMKIT_FFMPEG to its path.',
  });
}

export async function locateFfprobe(ffmpeg: LocatedBinary, options: LocateOptions = {}): Promise<LocatedBinary> {
  const env = options.env ?? process.env;
  if (options.ffprobe) return explicit(options.ffprobe, 'option', '--ffprobe');
  if (env['STREAMKIT_FFPROBE']) return explicit(env['STREAMKIT_FFPROBE'], 'env', 'STREAMKIT_FFPROBE');
  // an explicitly chosen ffmpeg build brings its own ffprobe: prefer the one beside it
  if (ffmpeg.source === 'option' || ffmpeg.source === 'env') {
    const beside = join(dirname(ffmpeg.path), 'ffprobe');
    if (await isExecutable(beside)) return { path: beside, source: 'beside-ffmpeg', reason: `beside the chosen ffmpeg (${ffmpeg.path})` };
  }
  const fromPath = await onPath('ffprobe', env);
  if (fromPath) return { path: fromPath, source: 'path', reason: 'found on PATH' };
  const beside = join(dirname(ffmpeg.path), 'ffprobe');
  if (await isExecutable(beside)) return { path: beside, source: 'beside-ffmpeg', reason: `beside ffmpeg (${ffmpeg.path})` };
  throw new StreamkitError('FFMPEG_NOT_FOUND', 'No ffprobe found: not given by --ffprobe or STREAMKIT_FFPROBE, not on PATH, not beside ffmpeg.', {
    hint: 'Install ffmpeg (it ships ffprobe), or set STREAMKIT_FFPROBE to its path. ffmpeg-static ships no ffprobe.',
  });
}
