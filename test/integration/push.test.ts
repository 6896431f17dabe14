/**
 * `streamkit push` against a real RTMP ingest: nginx with Debian's libnginx-mod-rtmp, started here
 * on a loopback port with a config written into a temp folder, recording what it receives.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { FFMPEG, FFPROBE, need, NGINX, RTMP_MODULE, unmet } from '../helpers/index.js';

const run = promisify(execFile);

const KEY = 'sk_live_7f3a9c2e51d84b6f';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** One nginx-rtmp process: `application live` records everything it receives into `recordDir`. */
class Nginx {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly recordDir: string,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  static async start(dir: string, port: number, recordDir: string): Promise<Nginx> {
    await mkdir(dir, { recursive: true });
    await mkdir(recordDir, { recursive: true });
    const conf = join(dir, 'nginx.conf');
    await writeFile(
      conf,
      `
load_module ${RTMP_MODULE};
daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 64; }
rtmp {
  server {
    listen 127.0.0.1:${port};
    application live { live on; record all; record_path ${recordDir}; record_unique off; }
    application closed { live on; deny publish all; }
  }
}
`,
    );
    const child = spawn(NGINX!, ['-c', conf, '-p', `${dir}/`, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    let gone = false;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        gone = true;
        resolve();
      }),
    );
    for (let i = 0; i < 200 && !gone; i++) {
      if (await canConnect(port)) return new Nginx(dir, port, recordDir, child, exited);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    throw new Error(`nginx did not start on port ${port}: ${stderr}\n${log}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

type Event = { type: string; [k: string]: unknown };

/** Run the CLI in-process; `onEvent` sees each --json event as it is written. */
async function cli(args: string[], onEvent?: (e: Event) => void): Promise<{ code: number; stdout: string; stderr: string; events: Event[] }> {
  let stdout = '';
  let stderr = '';
  let partial = '';
  const events: Event[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      const s = String(chunk);
      stdout += s;
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        const e = JSON.parse(l) as Event;
        events.push(e);
        onEvent?.(e);
      }
      cb();
    },
  });
  const err = new Writable({
    write(chunk, _enc, cb) {
      stderr += String(chunk);
      cb();
    },
  });
  const code = await main(['--ffmpeg', FFMPEG, '--ffprobe', FFPROBE, ...args], { out, err, env: { ...process.env, CI: '1' }, signal: new AbortController().signal });
  return { code, stdout, stderr, events };
}

interface Recording {
  codecs: string[];
  width: number;
  sampleRate: string;
  duration: number;
  keyframes: number[];
  videoBytes: number;
}

async function recording(file: string): Promise<Recording> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  const p = JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; width?: number; sample_rate?: string }[]; format: { duration: string } };
  const { stdout: pk } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags,size', '-of', 'json', file], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const packets = (JSON.parse(pk) as { packets: { pts_time: string; flags: string; size: string }[] }).packets;
  return {
    codecs: p.streams.map((s) => s.codec_name).sort(),
    width: p.streams.find((s) => s.codec_type === 'video')?.width ?? 0,
    sampleRate: p.streams.find((s) => s.codec_type === 'audio')?.sample_rate ?? '',
    duration: Number(p.format.duration),
    keyframes: packets.filter((x) => x.flags.startsWith('K')).map((x) => Number(x.pts_time)),
    videoBytes: packets.reduce((a, x) => a + Number(x.size), 0),
  };
}

describe.skipIf(unmet(need.ffmpeg, need.nginxRtmp))('streamkit push to nginx-rtmp', () => {
  let root = '';
  let src = '';
  let nginx: Nginx | null = null;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'streamkit-push-'));
    src = join(root, 'src.mp4');
    await run(FFMPEG, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=44100',
      '-t',
      '6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-ac',
      '2',
      `file:${src}`,
    ]);
    nginx = await Nginx.start(join(root, 'nginx'), await freePort(), join(root, 'rec'));
  });
  afterAll(async () => {
    await nginx?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('publishes H.264 + AAC 48 kHz with a keyframe every 2 s, paced in real time, key never shown', async () => {
    const url = `rtmp://127.0.0.1:${nginx!.port}/live/${KEY}`;
    const r = await cli(['--json', 'push', src, url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
    const types = r.events.map((e) => e.type);
    expect(types.filter((t) => t !== 'live' && t !== 'warning')).toEqual(['push', 'connecting', 'connected', 'push-done']);
    const start = r.events[0]!;
    expect(start['url']).toBe(`rtmp://127.0.0.1:${nginx!.port}/live/****`);
    expect(start['preset']).toBe('flv-live');
    const live = r.events.filter((e) => e.type === 'live');
    expect(live.length).toBeGreaterThan(2);
    for (const k of ['liveSeconds', 'sentSeconds', 'fps', 'bitrateKbps', 'dupFrames', 'dropFrames']) expect(live[live.length - 1]).toHaveProperty(k);
    const done = r.events.find((e) => e.type === 'push-done')!;
    expect(done['sentSeconds'] as number).toBeGreaterThan(5.5);
    expect(done['reconnects']).toBe(0);
    // -re: six seconds of input take about six seconds on air, not a burst
    expect(done['liveSeconds'] as number).toBeGreaterThan(5);

    const rec = await recording(join(nginx!.recordDir, `${KEY}.flv`));
    expect(rec.codecs).toEqual(['aac', 'h264']);
    expect(rec.width).toBe(320);
    expect(rec.sampleRate).toBe('48000');
    expect(rec.duration).toBeGreaterThan(5.5);
    expect(rec.duration).toBeLessThan(6.5);
    expect(rec.keyframes.length).toBeGreaterThanOrEqual(3);
    rec.keyframes.slice(1).forEach((t, i) => {
      expect(t - rec.keyframes[i]!).toBeCloseTo(2, 1);
    });
    // CBR: the video bitrate is the preset's 3000k scaled to the 180p source (x 0.0625 = 187.5k)
    const kbps = (rec.videoBytes * 8) / rec.duration / 1000;
    expect(kbps).toBeGreaterThan(187.5 * 0.8);
    expect(kbps).toBeLessThan(187.5 * 1.2);
  });

  it('reconnects when the server restarts mid-stream and keeps the --duration budget', async () => {
    const dir = join(root, 'restart');
    const port = await freePort();
    let server: Nginx | null = await Nginx.start(join(dir, 'first'), port, join(dir, 'rec-first'));
    let restart: Promise<void> | null = null;
    try {
      const r = await cli(['--json', 'push', src, `rtmp://127.0.0.1:${port}/live/${KEY}`, '--loop', '--duration', '8', '--reconnect-delay', '0.3'], (e) => {
        if (!restart && e.type === 'live' && (e['sentSeconds'] as number) >= 2.5) {
          restart = (async () => {
            await server!.stop();
            await new Promise((res) => setTimeout(res, 300));
            server = await Nginx.start(join(dir, 'second'), port, join(dir, 'rec-second'));
          })();
        }
      });
      await restart;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
      const reconnects = r.events.filter((e) => e.type === 'reconnect');
      expect(reconnects.length).toBeGreaterThanOrEqual(1);
      expect(reconnects[0]).toMatchObject({ attempt: 1, maxAttempts: 5, url: `rtmp://127.0.0.1:${port}/live/****` });
      expect(r.events.filter((e) => e.type === 'connected').length).toBeGreaterThanOrEqual(2);
      const done = r.events.find((e) => e.type === 'push-done')!;
      expect(done['reconnects']).toBe(reconnects.length);
      expect(done['sentSeconds'] as number).toBeCloseTo(8, 0);

      const first = await recording(join(dir, 'rec-first', `${KEY}.flv`));
      const second = await recording(join(dir, 'rec-second', `${KEY}.flv`));
      expect(first.codecs).toEqual(['aac', 'h264']);
      expect(second.codecs).toEqual(['aac', 'h264']);
      expect(first.duration).toBeGreaterThan(1.5);
      expect(second.duration).toBeGreaterThan(3);
      expect(first.duration + second.duration).toBeGreaterThan(7);
      expect(first.duration + second.duration).toBeLessThan(9);
    } finally {
      await restart;
      await server?.stop();
    }
  });

  it('reports a refused publish clearly (exit 1), without the key, in JSON and in text', async () => {
    const url = `rtmp://127.0.0.1:${nginx!.port}/closed/${KEY}`;
    const j = await cli(['--json', 'push', src, url, '--duration', '3']);
    expect(j.code).toBe(1);
    const error = j.events.find((e) => e.type === 'error')!;
    expect(error).toMatchObject({ code: 'PUBLISH_FAILED', exitCode: 1 });
    expect(error['message']).toMatch(/refused the stream at rtmp:\/\/127\.0\.0\.1:\d+\/closed\/\*\*\*\*/);
    expect(j.events.some((e) => e.type === 'reconnect')).toBe(false);
    expect(`${j.stdout}${j.stderr}`).not.toContain(KEY);

    const t = await cli(['push', src, url, '--duration', '3']);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/^error: The server refused the stream/m);
    expect(t.stderr).toMatch(/^hint: Check the application name/m);
    expect(t.stderr).toMatch(/^command: .*-f flv/m);
    expect(`${t.stdout}${t.stderr}`).not.toContain(KEY);

    const wrongApp = await cli(['push', src, `rtmp://127.0.0.1:${nginx!.port}/nosuchapp/${KEY}`, '--duration', '3']);
    expect(wrongApp.code).toBe(1);
    expect(wrongApp.stderr).toMatch(/refused the stream/);
    expect(`${wrongApp.stdout}${wrongApp.stderr}`).not.toContain(KEY);

    const nobody = await cli(['push', src, `rtmp://127.0.0.1:${await freePort()}/live/${KEY}`, '--duration', '3']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/Cannot connect to rtmp:\/\/127\.0\.0\.1:\d+\/live\/\*\*\*\*: connection refused/);
    expect(`${nobody.stdout}${nobody.stderr}`).not.toContain(KEY);
  });

  it('refuses outputs that are not rtmp:// or rtmps:// (exit 2) and prints the dry-run command redacted', async () => {
    for (const bad of [`http://127.0.0.1/live/${KEY}`, `file:///tmp/${KEY}.flv`, `${root}/out.flv`]) {
      const r = await cli(['push', src, bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/rtmp:\/\//);
    }
    const d = await cli(['push', src, `rtmps://live.example.com/app/${KEY}`, '--dry-run', '--loop', '--duration', '1:00']);
    expect(d.code).toBe(0);
    expect(d.stdout).not.toContain(KEY);
    expect(d.stdout).toMatch(/ -re .*-stream_loop -1 .*-t 60\.000 .*-protocol_whitelist rtmps,tls,tcp -f flv 'rtmps:\/\/live\.example\.com\/app\/\*\*\*\*'/);
  });
});
