/**
 * Shared by the test/integration/cli-*.test.ts files: run the BUILT command line
 * (`node bin/streamkit.js`, i.e. dist/ from `npm run build`) as a real process, make tiny media with
 * the system ffmpeg, and look for anything a run may have left behind.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'streamkit.js');
export const FFMPEG = '/usr/bin/ffmpeg';
export const FFPROBE = '/usr/bin/ffprobe';
export const haveFfmpeg = existsSync(FFMPEG) && existsSync(FFPROBE);

/** The CLI tests run dist/: fail loudly (not skip) when it was never built. */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (or `npm test`, which builds first) before the CLI tests');
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** A private cache per run, no CI variable inherited, no colour forcing: the tests choose. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}, cacheDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['CI', 'NO_COLOR', 'FORCE_COLOR', 'STREAMKIT_FFMPEG', 'STREAMKIT_FFPROBE']) delete env[k];
  if (cacheDir) env['XDG_CACHE_HOME'] = cacheDir;
  return { ...env, ...extra };
}

/** Spawn the CLI; stdout/stderr are pipes (so stdout is not a TTY: plain mode unless --json/--quiet). */
export function startCli(args: readonly string[], options: CliOptions): ChildProcess {
  const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env ?? cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] };
  if (options.uid !== undefined) spawnOptions.uid = options.uid;
  if (options.gid !== undefined) spawnOptions.gid = options.gid;
  return spawn(process.execPath, [BIN, ...args], spawnOptions);
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

export function cli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return collect(startCli(args, options));
}

/** NDJSON stdout -> events; throws on any line that is not a JSON object (stdout must hold nothing else). */
export function parseEvents(stdout: string): Array<Record<string, unknown> & { type: string }> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const v = JSON.parse(l) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as { type?: unknown }).type !== 'string') {
        throw new Error(`not an event: ${l}`);
      }
      return v as Record<string, unknown> & { type: string };
    });
}

export async function ffmpeg(args: readonly string[], cwd?: string): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], cwd ? { cwd } : {});
}

export async function ffprobeJson(file: string, entries = 'format=duration,format_name:stream=codec_type,codec_name,width,height'): Promise<{ format?: Record<string, string>; streams?: Record<string, unknown>[] }> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_entries', entries, '-of', 'json', file]);
  return JSON.parse(stdout) as { format?: Record<string, string>; streams?: Record<string, unknown>[] };
}

/** A small real clip: 320x180 testsrc2 + a sine, H.264/AAC in MP4. */
export async function makeClip(file: string, seconds = 2, extra: readonly string[] = []): Promise<string> {
  await ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-shortest', ...extra, file,
  ]);
  return file;
}

/** A fast preset for tests: libx264 ultrafast, two small rungs, 1 s keyframes, 2 s segments. */
export async function writeFastPreset(dir: string, name = 'fast.yaml', speed = 'ultrafast'): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    [
      'extends: h264-ladder',
      `name: test-${speed}`,
      'video:',
      '  encoder:',
      `    cpu: { name: libx264, preset: ${speed} }`,
      '  keyframeInterval: 1',
      '  rungs:',
      '    - { name: 180p, height: 180, bitrate: 300k }',
      '    - { name: 144p, height: 144, bitrate: 150k }',
      'packaging:',
      '  hls: { segmentDuration: 2, container: ts }',
      '',
    ].join('\n'),
  );
  return file;
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `streamkit-${prefix}-`));
}

/** Staging folders (`.streamkit-tmp-*`) left in a folder. */
export async function stagingLeft(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.streamkit-tmp-'));
}

/** Processes (other than this one) whose command line mentions `needle`: e.g. an ffmpeg still writing to a test's unique output path. */
export function processesMentioning(needle: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      // ffmpeg runs inside the staging folder with relative output paths: match its working folder too
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        /* not ours to read, or exited */
      }
      // zombies have an empty command line and hold nothing open
      if (cmdline !== '' && (cmdline.includes(needle) || cwd.includes(needle))) out.push({ pid: Number(name), cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Any process with a file open under `dir` (by /proc/PID/fd links). */
export function processesWithFilesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${name}/fd/${fd}`).startsWith(dir)) {
          pids.push(Number(name));
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return pids;
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// eslint-disable-next-line no-control-regex
export const ANSI_RE = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007/;
