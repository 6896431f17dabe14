/**
 * Run the BUILT command line (`node bin/streamkit.js`, i.e. dist/ from `npm run build`) as a real
 * process, parse what it prints, and look for what a run may have left behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './requirements.js';

export const BIN = join(REPO, 'bin', 'streamkit.js');

/** The CLI tests run dist/: fail loudly (not skip) when it was never built. */
export function assertBuilt(): void {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) {
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
  /** default: the repository */
  cwd?: string;
  /** default: cliEnv() */
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/**
 * A private cache per run, no CI variable inherited, no colour forcing: the tests choose.
 * STREAMKIT_FFMPEG / STREAMKIT_FFPROBE and PATH are passed on, so the CLI finds the same ffmpeg as
 * the tests did (requirements.ts `located`).
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}, cacheDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['CI', 'NO_COLOR', 'FORCE_COLOR']) delete env[k];
  if (cacheDir) env['XDG_CACHE_HOME'] = cacheDir;
  return { ...env, ...extra };
}

/** Spawn the CLI; stdout/stderr are pipes (so stdout is not a TTY: plain mode unless --json/--quiet). */
export function startCli(args: readonly string[], options: CliOptions = {}): ChildProcess {
  const spawnOptions: SpawnOptions = { cwd: options.cwd ?? REPO, env: options.env ?? cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] };
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

/** The CLI as a user runs it: `node bin/streamkit.js ...args`. Never rejects; `code` is the exit code. */
export function cli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
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

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `streamkit-${prefix}-`));
}

/** Staging folders (`.streamkit-tmp-*`) and destination locks (`.streamkit-lock-*`) left in a folder. */
export async function stagingLeft(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.streamkit-tmp-') || n.startsWith('.streamkit-lock-'));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC and end with BEL
export const ANSI_RE = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007/;

/** `text` as a literal inside a RegExp (a located ffmpeg path may hold `.` or `+`). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export interface ServeProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  port: number;
  /** the --json events so far (listening first, then one per request) */
  events: Array<Record<string, unknown> & { type: string }>;
  stderr(): string;
  /** SIGINT, then the exit */
  stop(): Promise<CliResult>;
}

/**
 * `streamkit --json serve DIR --port 0 ...ARGS` as a real process, resolved once it listens (its
 * `serve`/`listening` event says the port it got).
 */
export async function startServe(dir: string, args: readonly string[] = []): Promise<ServeProcess> {
  const child = startCli(['--json', 'serve', dir, '--port', '0', ...args]);
  const events: ServeProcess['events'] = [];
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = collect(child);
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const l of lines) {
        const e = parseEvents(l)[0];
        if (!e) continue;
        events.push(e);
        if (e.type === 'serve' && e['status'] === 'listening') resolve(e);
      }
    });
    void done.then((r) => reject(new Error(`streamkit serve exited (code ${r.code}) before listening: ${stderr}`)));
  });
  const port = Number(listening['port']);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    port,
    events,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const r = await done;
      return { ...r, stderr };
    },
  };
}
