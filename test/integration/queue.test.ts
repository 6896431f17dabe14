/**
 * The job queue end to end, with a real redis-server on a loopback port, real ffmpeg and the built
 * CLI (`node bin/streamkit.js`, so run `npx tsc` or `npm test` first): enqueue tiny jobs, run two
 * worker processes, SIGKILL one in the middle of an encode, and check that every job completes
 * exactly once with a valid package, that failures keep their reason, and that `queue status`
 * tells the truth. Also: SIGTERM hands a running job back, or lets it finish within the grace.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCurrent, readManifest } from '../../src/package/manifest.js';
import { parseMasterPlaylist, parseMediaPlaylist } from '../../src/package/playlist.js';
import type { QueueJobData, QueueJobProgress, QueueJobResult } from '../../src/queue/job.js';
import { assertBuilt, BIN, FFPROBE, makeClip, need, REDIS, unmet } from '../helpers/index.js';

const run = promisify(execFile);
const unavailable = unmet(need.ffmpeg, need.redis);
// the workers are the built CLI: a missing build fails the file, it is never a reason to skip
if (!unavailable) assertBuilt();

/** Short locks so a killed worker's job is taken over within seconds. */
const FAST = ['--lock-duration', '3', '--stalled-interval', '1'];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, CI: '1' } }, (error, stdout, stderr) => {
      res({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function ndjson(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface WorkerProc {
  child: ChildProcess;
  pid: number;
  events: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

async function redisAnswers(port: number): Promise<boolean> {
  return new Promise((res) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('error', () => res(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      res(d.toString().startsWith('+PONG'));
    });
  });
}

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // gone
  }
}

/** Processes (by /proc) whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readProc(`/proc/${e}/stat`);
    if (stat !== null && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
  }
  return out;
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  const stat = readProc(`/proc/${pid}/stat`);
  return stat !== null && !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
}

/** Every staging folder left anywhere under `dir`. */
async function stagingLeft(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.name.startsWith('.streamkit-tmp-')) out.push(join(e.parentPath, e.name));
  return out;
}

/** A package is valid: current manifest for its job, master playlist whose variant segments are 160x90 H.264. */
async function expectValidPackage(data: QueueJobData): Promise<void> {
  const cur = await checkCurrent(data.output, data.jobKey, true);
  expect(cur, `${data.output} current`).toMatchObject({ current: true });
  const master = parseMasterPlaylist(await readFile(join(data.output, 'master.m3u8'), 'utf8'));
  expect(master.variants).toHaveLength(1);
  expect(master.variants[0]!.attrs['RESOLUTION']).toBe('160x90');
  const media = parseMediaPlaylist(await readFile(join(data.output, master.variants[0]!.uri), 'utf8'));
  expect(media.endList).toBe(true);
  const seg = join(data.output, master.variants[0]!.uri, '..', media.segments[0]!.uri);
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', seg]);
  expect(JSON.parse(stdout).streams[0]).toMatchObject({ codec_name: 'h264', width: 160, height: 90 });
}

describe.skipIf(unavailable)('streamkit queue + worker on a real Redis', () => {
  let root = '';
  let port = 0;
  let redisUrl = '';
  let redis: ChildProcess | null = null;
  const workers: WorkerProc[] = [];
  const queues: Queue[] = [];
  const orphans: number[] = [];
  const inDir = (): string => join(root, 'in');
  const preset = (): string => join(root, 'queue-test.yaml');

  /** `ownGroup`: in a process group of its own, like a program started in a terminal (Ctrl-C reaches ffmpeg too) */
  function startWorker(queue: string, extra: string[] = [], ownGroup = false): WorkerProc {
    const child = spawn(process.execPath, [BIN, 'worker', '--json', '--redis', redisUrl, '--queue', queue, ...FAST, ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '1' },
      detached: ownGroup,
    });
    const w: WorkerProc = {
      child,
      pid: child.pid!,
      events: [],
      stderr: [],
      exited: new Promise((res) => child.once('exit', (code) => res(code))),
    };
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') w.events.push(JSON.parse(l) as Record<string, unknown>);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => w.stderr.push(chunk));
    workers.push(w);
    return w;
  }

  const workerReady = (w: WorkerProc): Promise<true> =>
    waitFor(
      'worker ready',
      async () =>
        w.events.some((e) => e['type'] === 'worker' && e['status'] === 'ready') || (w.child.exitCode !== null && Promise.reject(new Error(`worker exited: ${w.stderr.join('')}`))),
      30_000,
    );

  function openQueue(name: string): Queue<QueueJobData> {
    const q = new Queue<QueueJobData>(name, { connection: { host: '127.0.0.1', port } });
    queues.push(q);
    return q;
  }

  /**
   * Wait until `id` is being encoded: its progress says stage "encode" and the worker named there
   * has the ladder's ffmpeg (the one writing HLS) running. `after`: only a run that started later.
   */
  async function encoding(q: Queue, id: string, after = 0): Promise<QueueJobProgress & { ffmpeg: number }> {
    return waitFor(`job ${id} mid-encode`, async () => {
      const job = await q.getJob(id);
      const p = job?.progress as QueueJobProgress | undefined;
      if (p?.stage !== 'encode' || (job?.processedOn ?? 0) <= after) return null;
      const ffmpeg = childrenOf(p.worker.pid).find((pid) => {
        const argv = readProc(`/proc/${pid}/cmdline`)?.split('\0') ?? [];
        return argv[0]?.endsWith('ffmpeg') && argv.includes('hls');
      });
      return ffmpeg === undefined ? null : { ...p, ffmpeg };
    });
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'streamkit-queue-'));
    port = await freePort();
    redisUrl = `redis://127.0.0.1:${port}`;
    redis = spawn(REDIS!, ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
    await mkdir(inDir());
    const av = (size: string, seconds: number, file: string): Promise<unknown> => makeClip(join(inDir(), file), seconds, [], size);
    await Promise.all([
      // long enough to be killed mid-encode (a few seconds with the test preset)
      av('320x180', 60, 'long.mp4'),
      av('160x90', 2, 'short-1.mp4'),
      av('320x180', 2, 'short-2.mp4'),
      av('160x90', 2, 'short-3.mp4'),
      av('320x180', 2, 'short-4.mp4'),
      writeFile(join(inDir(), 'corrupt.mp4'), Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 251))),
      writeFile(
        preset(),
        [
          'extends: h264-ladder',
          'name: queue-test',
          'video:',
          '  encoder:',
          '    cpu: { name: libx264, preset: ultrafast }',
          '  rungs:',
          '    - { name: 90p, height: 90, bitrate: 150k }',
          'packaging:',
          '  hls: { segmentDuration: 2 }',
          '',
        ].join('\n'),
      ),
    ]);
    await waitFor('redis-server', () => redisAnswers(port), 10_000);
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
    for (const pid of orphans) if (running(pid)) process.kill(pid, 'SIGKILL');
    redis?.kill('SIGTERM');
    if (root) await rm(root, { recursive: true, force: true });
  });

  describe('two workers, one killed mid-encode', () => {
    const q = (): Queue<QueueJobData> => openQueue('main');
    let main: Queue<QueueJobData>;
    let ids: Record<string, string> = {};
    let blockedId = '';
    let survivor: WorkerProc;
    let victim: WorkerProc;

    it('enqueues one job per input with the resolved preset inside, and dedupes a second add', async () => {
      main = q();
      const inputs = ['long', 'short-1', 'short-2', 'short-3', 'short-4', 'corrupt'].map((n) => join(inDir(), `${n}.mp4`));
      const add = await cli([
        'queue',
        'add',
        ...inputs,
        '--json',
        '--redis',
        redisUrl,
        '--queue',
        'main',
        '-p',
        preset(),
        '-o',
        join(root, 'out', '{stem}-{preset}'),
        '--backoff',
        '0.2',
      ]);
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
      const queued = ndjson(add.stdout).filter((e) => e['type'] === 'queued');
      expect(queued.map((e) => e['outcome'])).toEqual(Array(6).fill('added'));
      ids = Object.fromEntries(queued.map((e) => [String(e['input']).replace(/^.*\/(.*)\.mp4$/, '$1'), String(e['id'])]));
      expect(queued.find((e) => e['input'] === join(inDir(), 'long.mp4'))?.['output']).toBe(join(root, 'out', 'long-queue-test'));

      const job = (await main.getJob(ids['short-1']!))!;
      expect(job.data.preset.name).toBe('queue-test');
      expect(job.data.preset.resolved).toMatchObject({
        video: { encoder: { cpu: { name: 'libx264', preset: 'ultrafast' } }, rungs: [{ name: '90p', height: 90, bitrate: 150000 }] },
      });
      expect(job.opts.attempts).toBe(3);

      const again = await cli(['queue', 'add', ...inputs, '--json', '--redis', redisUrl, '--queue', 'main', '-p', preset(), '-o', join(root, 'out', '{stem}-{preset}')]);
      expect(again.code).toBe(0);
      const dup = ndjson(again.stdout).filter((e) => e['type'] === 'queued');
      expect(dup.map((e) => [e['id'], e['outcome'], e['previousState']])).toEqual(queued.map((e) => [e['id'], 'duplicate', 'waiting']));
      expect((await main.getJobCounts('wait')).wait).toBe(6);

      // a destination whose parent is a file: not an input problem, so it is retried, then fails
      await writeFile(join(root, 'not-a-folder'), 'x');
      const blocked = await cli([
        'queue',
        'add',
        join(inDir(), 'short-1.mp4'),
        '--json',
        '--redis',
        redisUrl,
        '--queue',
        'main',
        '-p',
        preset(),
        '-o',
        join(root, 'not-a-folder', '{stem}'),
        '--attempts',
        '2',
        '--backoff',
        '0.2',
      ]);
      expect(blocked.code).toBe(0);
      blockedId = String(ndjson(blocked.stdout).find((e) => e['type'] === 'queued')?.['id']);
    });

    it('completes every job exactly once although a worker is SIGKILLed mid-encode', async () => {
      const a = startWorker('main');
      const b = startWorker('main');
      await Promise.all([workerReady(a), workerReady(b)]);
      const p = await encoding(main, ids['long']!);
      victim = p.worker.pid === a.pid ? a : b;
      survivor = victim === a ? b : a;
      expect(p.worker.pid).toBe(victim.pid);
      orphans.push(p.ffmpeg); // the worker's ffmpeg outlives it
      victim.child.kill('SIGKILL');
      expect(await victim.exited).toBeNull();

      await waitFor(
        'all jobs finished',
        async () => {
          const c = await main.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed');
          return c.completed === 5 && c.failed === 2 && c.wait === 0 && c.active === 0 && c.delayed === 0;
        },
        90_000,
      );

      // the killed job was taken over by the survivor after its lock expired, and completed once
      const long = (await main.getJob(ids['long']!)) as Job<QueueJobData, QueueJobResult>;
      expect(long.returnvalue).toMatchObject({ skipped: false, worker: { pid: survivor.pid } });
      const client = (await main.client) as unknown as { xrange(key: string, start: string, end: string): Promise<[string, string[]][]> };
      const stream = await client.xrange(main.keys['events']!, '-', '+');
      const events = stream.map(([, kv]) => Object.fromEntries(Array.from({ length: kv.length / 2 }, (_, i) => [kv[2 * i], kv[2 * i + 1]])) as Record<string, string>);
      expect(events.some((e) => e['event'] === 'stalled' && e['jobId'] === ids['long'])).toBe(true);
      for (const name of ['long', 'short-1', 'short-2', 'short-3', 'short-4']) {
        expect(
          events.filter((e) => e['event'] === 'completed' && e['jobId'] === ids[name]),
          name,
        ).toHaveLength(1);
        const job = (await main.getJob(ids[name]!))!;
        await expectValidPackage(job.data);
      }
      // the orphaned ffmpeg did not survive the takeover, and nothing half-written is left
      for (const pid of orphans) expect(running(pid)).toBe(false);
      expect(await stagingLeft(root)).toEqual([]);
      expect(await readdir(join(root, 'out'))).toEqual(['long-queue-test', 'short-1-queue-test', 'short-2-queue-test', 'short-3-queue-test', 'short-4-queue-test']);
    });

    it('fails a corrupt input at once with its reason, retries other failures with backoff', async () => {
      const corrupt = (await main.getJob(ids['corrupt']!))!;
      expect(await corrupt.getState()).toBe('failed');
      expect(corrupt.attemptsMade).toBe(1);
      expect(corrupt.failedReason).toMatch(/^INPUT_NOT_MEDIA: .*corrupt\.mp4/);
      const blocked = (await main.getJob(blockedId))!;
      expect(await blocked.getState()).toBe('failed');
      expect(blocked.attemptsMade).toBe(2);
      expect(blocked.failedReason).toMatch(/^OUTPUT_UNWRITABLE: /);
      const logs = await main.getJobLogs(blockedId);
      expect(logs.logs).toHaveLength(2);
      expect(logs.logs[0]).toMatch(/attempt 1\/2 failed \(OUTPUT_UNWRITABLE\), will retry\nerror: Cannot write the output folder .*not-a-folder/);
      expect(logs.logs[1]).toMatch(/attempt 2\/2 failed \(OUTPUT_UNWRITABLE\)\n/);
    });

    it('queue status --json tells the truth', async () => {
      const st = await cli(['queue', 'status', '--json', '--redis', redisUrl, '--queue', 'main']);
      expect(st.code).toBe(0);
      const s = ndjson(st.stdout)[0]!;
      expect(s['type']).toBe('queue-status');
      expect(s['counts']).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 5, failed: 2 });
      const failed = s['failed'] as { id: string; code: string; attemptsMade: number; attempts: number }[];
      expect(failed.map((f) => [f.id, f.code, f.attemptsMade, f.attempts]).sort()).toEqual(
        [
          [ids['corrupt'], 'INPUT_NOT_MEDIA', 1, 3],
          [blockedId, 'OUTPUT_UNWRITABLE', 2, 2],
        ].sort(),
      );
      const completed = s['completed'] as { id: string; result: QueueJobResult }[];
      expect(completed.map((c) => c.id).sort()).toEqual(['long', 'short-1', 'short-2', 'short-3', 'short-4'].map((n) => ids[n]).sort());
      const human = await cli(['queue', 'status', '--redis', redisUrl, '--queue', 'main']);
      expect(human.stdout).toContain('waiting 0, active 0, delayed 0, completed 5, failed 2');
      expect(human.stdout).toMatch(/INPUT_NOT_MEDIA: .*\(1 of 3 attempts\)/);
    });

    it('re-adding finished jobs is a no-op; a job whose package is current completes without encoding; --force re-encodes', async () => {
      const inputs = ['short-1', 'corrupt'].map((n) => join(inDir(), `${n}.mp4`));
      const args = ['queue', 'add', '--json', '--redis', redisUrl, '--queue', 'main', '-p', preset(), '-o', join(root, 'out', '{stem}-{preset}')];
      const again = await cli([...args, ...inputs]);
      expect(
        ndjson(again.stdout)
          .filter((e) => e['type'] === 'queued')
          .map((e) => [e['outcome'], e['previousState']]),
      ).toEqual([
        ['duplicate', 'completed'],
        ['duplicate', 'failed'],
      ]);
      expect((await main.getJobCounts('wait')).wait).toBe(0);

      // once the finished record is gone (expired), the same job runs again and finds its package current
      await main.remove(ids['short-2']!);
      const before = await readManifest(join(root, 'out', 'short-2-queue-test'));
      const readd = await cli([...args, join(inDir(), 'short-2.mp4')]);
      expect(ndjson(readd.stdout)[0]).toMatchObject({ id: ids['short-2'], outcome: 'added' });
      const skipped = await waitFor('re-added job', async () => ((await main.getJob(ids['short-2']!))?.returnvalue as QueueJobResult | undefined) ?? null);
      expect(skipped).toMatchObject({ skipped: true, worker: { pid: survivor.pid } });
      expect((await readManifest(join(root, 'out', 'short-2-queue-test')))?.createdAt).toBe(before?.createdAt);

      const forced = await cli([...args, '--force', join(inDir(), 'short-3.mp4')]);
      expect(ndjson(forced.stdout)[0]).toMatchObject({ id: ids['short-3'], outcome: 'replaced', previousState: 'completed' });
      const redone = await waitFor('forced job', async () => ((await main.getJob(ids['short-3']!))?.returnvalue as QueueJobResult | undefined) ?? null);
      expect(redone.skipped).toBe(false);
      await expectValidPackage((await main.getJob(ids['short-3']!))!.data);
      expect(await stagingLeft(root)).toEqual([]);
    });

    it('the survivor stops on SIGTERM with exit code 0', async () => {
      survivor.child.kill('SIGTERM');
      expect(await survivor.exited).toBe(0);
      expect(survivor.events.at(-1)).toMatchObject({ type: 'worker', status: 'stopped' });
    });
  });

  describe('SIGTERM', () => {
    it('hands a running job back to the queue (no attempt used) when the grace period runs out', async () => {
      const term = openQueue('term');
      const add = await cli(['queue', 'add', join(inDir(), 'long.mp4'), '--json', '--redis', redisUrl, '--queue', 'term', '-p', preset(), '-o', join(root, 'out-term', '{stem}')]);
      const id = String(ndjson(add.stdout)[0]?.['id']);
      const w = startWorker('term', ['--grace', '0.2']);
      await workerReady(w);
      const { ffmpeg } = await encoding(term, id);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      const job = (await term.getJob(id))!;
      expect(await job.getState()).toBe('waiting');
      expect(job.attemptsMade).toBe(0);
      expect(w.events.map((e) => e['status'])).toEqual(expect.arrayContaining(['stopping', 'handed-back', 'stopped']));
      expect(running(ffmpeg)).toBe(false);
      expect(await stagingLeft(root)).toEqual([]);
      expect(existsSync(join(root, 'out-term', 'long'))).toBe(false);
    });

    it('hands the job back on Ctrl-C, although ffmpeg gets the SIGINT too and stops first', async () => {
      const term = openQueue('term');
      const id = (await term.getWaiting())[0]!.id!;
      const w = startWorker('term', ['--grace', '120'], true);
      await workerReady(w);
      await encoding(term, id);
      process.kill(-w.pid, 'SIGINT'); // the whole process group, as a terminal does
      expect(await w.exited).toBe(0);
      const job = (await term.getJob(id))!;
      expect(await job.getState()).toBe('waiting');
      expect(job.attemptsMade).toBe(0);
      expect(w.events.find((e) => e['status'] === 'handed-back')?.['reason']).toMatch(/^FFMPEG_FAILED: /);
      expect(await stagingLeft(root)).toEqual([]);
    });

    it('a worker that loses its job lock abandons the job, which is recovered; SIGTERM with a long grace lets it finish', async () => {
      const term = openQueue('term');
      const id = (await term.getWaiting())[0]!.id!;
      const w = startWorker('term', ['--grace', '120']);
      await workerReady(w);
      await encoding(term, id);
      // as if Redis had been out of reach for longer than the lock: the lock is gone
      const client = (await term.client) as unknown as { del(key: string): Promise<number> };
      expect(await client.del(`${term.toKey(id)}:lock`)).toBe(1);
      await waitFor('job abandoned', async () => w.events.some((e) => e['status'] === 'abandoned'), 30_000);
      const abandonedAt = Date.now();
      expect(await stagingLeft(root)).toEqual([]);
      // the stalled-job check puts it back; the same worker takes it again
      await encoding(term, id, abandonedAt);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      const job = (await term.getJob(id))!;
      expect(await job.getState()).toBe('completed');
      const statuses = w.events.filter((e) => e['type'] === 'job' || e['status'] === 'stopping').map((e) => e['status']);
      expect(statuses).toEqual(['start', 'abandoned', 'start', 'stopping', 'done']);
      await expectValidPackage(job.data);
      expect(await stagingLeft(root)).toEqual([]);
    });
  });
});
