/**
 * `streamkit live` as a real process, and real publishers: ffmpeg reading lavfi sources at their own
 * pace (-re) and publishing FLV over RTMP or MPEG-TS over SRT, as OBS would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collect, parseEvents, startCli, type CliResult } from './cli.js';
import { FFMPEG } from './requirements.js';

export type LiveEventRecord = Record<string, unknown> & { type: string; time: string };

export interface LiveProcess {
  child: ChildProcess;
  /** the --json events so far */
  events: LiveEventRecord[];
  /** the port streamkit listens on (from its live-start event) */
  port: number;
  stderr(): string;
  /** resolves with the first event (from now or already seen, at index >= `from`) that passes `test` */
  waitFor(test: (e: LiveEventRecord) => boolean, what: string, timeoutMs?: number, from?: number): Promise<LiveEventRecord>;
  /** send `signal` and wait for the exit */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/** `streamkit --json live --listen URL -o DIR ...ARGS`, resolved once it listens. */
export async function startLive(listen: string, output: string, args: readonly string[] = []): Promise<LiveProcess> {
  const child = startCli(['--json', 'live', '--listen', listen, '-o', output, ...args]);
  const events: LiveEventRecord[] = [];
  const waiters = new Set<() => void>();
  let pending = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    pending += c;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) for (const e of parseEvents(l)) events.push(e as LiveEventRecord);
    for (const w of waiters) w();
  });
  const done = collect(child);
  let exited: CliResult | null = null;
  void done.then((r) => {
    exited = r;
    for (const w of waiters) w();
  });
  const waitFor = (test: (e: LiveEventRecord) => boolean, what: string, timeoutMs = 30_000, from = 0): Promise<LiveEventRecord> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = events.slice(from).find(test);
        if (hit) {
          cleanup();
          resolve(hit);
        } else if (exited) {
          cleanup();
          reject(new Error(`streamkit live exited (code ${exited.code}) before ${what}: ${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; events: ${events.map((e) => e.type).join(' ')}; stderr: ${stderr}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const start = await waitFor((e) => e.type === 'live-start', 'live-start', 30_000);
  return {
    child,
    events,
    port: Number(start['port']),
    stderr: () => stderr,
    waitFor,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return { ...(await done), stderr };
    },
  };
}

export interface Publisher {
  child: ChildProcess;
  /** exit code (null: killed by a signal) and ffmpeg's stderr */
  done: Promise<{ code: number | null; stderr: string }>;
}

/**
 * A publisher: testsrc2 + a sine tone, H.264 (x264 zerolatency, 1 s GOP) + AAC, at real time (-re),
 * for `seconds`, to `url` (rtmp:// as FLV, srt:// as MPEG-TS).
 */
export function publish(url: string, seconds: number, size = '426x240'): Publisher {
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-re', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`,
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k',
    '-f', url.startsWith('srt:') ? 'mpegts' : 'flv', url,
  ];
  const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, done };
}

/** A live preset small enough for two busy cores: the live-ladder with two tiny rungs, x264 ultrafast. */
export async function writeLivePreset(dir: string): Promise<string> {
  const file = join(dir, 'live-tiny.yaml');
  await writeFile(
    file,
    [
      'name: live-tiny',
      'extends: live-ladder',
      'video:',
      '  encoder:',
      '    cpu: { name: libx264, preset: ultrafast }',
      '  rungs:',
      '    - { name: 240p, height: 240, bitrate: 400k }',
      '    - { name: 144p, height: 144, bitrate: 150k }',
      'audio: { codec: aac, bitrate: 64k, channels: 2, sampleRate: 48000, streams: first }',
      '',
    ].join('\n'),
  );
  return file;
}

/** A UDP port that was free a moment ago (for an SRT listener). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
