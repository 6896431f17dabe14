/**
 * `streamkit batch` end to end on tiny generated clips, through the real CLI (dist/, built by
 * `npm test` / `npx tsc`) and the library: failures with reasons, idempotent re-runs, a run killed
 * with SIGKILL in the middle, Ctrl-C, and two overlapping runs.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchEvent } from '../../src/batch/events.js';
import { runBatch } from '../../src/batch/runner.js';
import { checkCurrent, fingerprintInput, jobKey, presetHash, readManifest } from '../../src/package/manifest.js';
import { loadPreset } from '../../src/preset/load.js';
import { jobOptions } from '../../src/package/job-identity.js';
import { assertBuilt, BIN, FFMPEG, FFPROBE, need, REPO, skipNoted, unmet } from '../helpers/index.js';

const execFileP = promisify(execFile);
// one verdict for both blocks: a missing ffmpeg is reported once (a skip locally, a failure under CI)
const noFfmpeg = unmet(need.ffmpeg);

// a small ladder (two rungs) after h264-ladder, fast to encode
const PRESET = `name: batch-test
extends: h264-ladder
video:
  encoder: { cpu: { name: libx264, preset: ultrafast } }
  rungs:
    - { name: 180p, height: 180, bitrate: 300k }
    - { name: 90p, height: 90, bitrate: 120k }
audio: { bitrate: 48k }
packaging:
  hls: { segmentDuration: 2, container: ts }
`;

type Ev = BatchEvent & { time?: string };

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: Ev[];
  stderr: string;
}

/** Spawn the CLI with --json; `onEvent` may kill it. */
function cli(args: string[], cwd: string, opts: { env?: NodeJS.ProcessEnv; onEvent?: (e: Ev, child: ReturnType<typeof spawn>) => void } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'batch', '--json', ...args], { cwd, env: { ...process.env, CI: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Ev[] = [];
    let stderr = '';
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as Ev;
        events.push(e);
        opts.onEvent?.(e, child);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, events, stderr }));
  });
}

const ofType = <T extends Ev['type']>(events: Ev[], type: T): Extract<Ev, { type: T }>[] => events.filter((e): e is Extract<Ev, { type: T }> => e.type === type);
const names = (events: { input: string }[]): string[] => events.map((e) => e.input.split('/').pop()!).sort();

async function makeClip(file: string, seconds: number, freq: number, size = '320x180'): Promise<void> {
  await execFileP(FFMPEG, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=25`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${freq}:sample_rate=48000`,
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    `file:${file}`,
  ]);
}

async function probe(file: string): Promise<{ codec_type: string; codec_name: string; width?: number; height?: number }[]> {
  const { stdout } = await execFileP(FFPROBE, ['-v', 'error', '-show_streams', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number }[] }).streams;
}

/** Every entry streamkit may leave behind by mistake: staging folders and lock files. */
async function leftovers(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.name.startsWith('.streamkit-')) out.push(join(d, e.name));
      else if (e.isDirectory()) await walk(join(d, e.name));
    }
  };
  await walk(dir);
  return out;
}

/** Processes whose command line mentions `needle` (e.g. orphaned ffmpeg writing below a test folder), zombies excluded. */
async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      const state = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.[0];
      if (cmd.includes(needle) && state !== 'Z') found.push(`${pid} ${cmd}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

describe.skipIf(noFfmpeg)('streamkit batch (real ffmpeg, real CLI)', () => {
  let root = '';
  let presetFile = '';
  let pHash = '';
  const expectedKey = async (input: string): Promise<string> => jobKey(await fingerprintInput(input), pHash, jobOptions({ hw: 'cpu' }));
  /** every destination is absent or holds a complete, current package */
  const absentOrCurrent = async (pairs: [string, string][]): Promise<{ current: number; absent: number }> => {
    let current = 0;
    let absent = 0;
    for (const [input, out] of pairs) {
      if (!existsSync(out)) {
        absent++;
        continue;
      }
      const c = await checkCurrent(out, await expectedKey(input), true);
      expect(c.current, `${out}: ${c.current ? '' : c.reason}`).toBe(true);
      current++;
    }
    return { current, absent };
  };

  beforeAll(async () => {
    assertBuilt();
    root = await mkdtemp(join(tmpdir(), 'streamkit-batch-'));
    presetFile = join(root, 'batch-test.yaml');
    await writeFile(presetFile, PRESET);
    pHash = presetHash((await loadPreset(presetFile)).preset);
    await mkdir(join(root, 'media'));
    await mkdir(join(root, 'kill'));
    await mkdir(join(root, 'twin'));
    await mkdir(join(root, 'intr'));
    // three distinct short clips, copied under many names (a job is its path plus content)
    await Promise.all([0, 1].map((i) => makeClip(join(root, `base${i}.mp4`), 2, 300 + 200 * i)));
    await makeClip(join(root, 'base2.mp4'), 2, 900);
    const copies: [number, string][] = [
      ...Array.from({ length: 9 }, (_, i): [number, string] => [i % 3, join(root, 'media', `clip${i + 1}.mp4`)]),
      ...['b', 'c', 'd', 'e'].map((n, i): [number, string] => [i % 3, join(root, 'kill', `${n}.mp4`)]),
      ...Array.from({ length: 4 }, (_, i): [number, string] => [i % 3, join(root, 'twin', `t${i + 1}.mp4`)]),
    ];
    for (const [b, f] of copies) await copyFile(join(root, `base${b}.mp4`), f);
    // long enough to be mid-encode when the short jobs beside it finish
    await makeClip(join(root, 'kill', 'a-long.mp4'), 30, 400);
    await copyFile(join(root, 'kill', 'a-long.mp4'), join(root, 'intr', 'long.mp4'));
    // corrupt: the first 20 kB of a real MP4 (no moov atom)
    await writeFile(join(root, 'media', 'broken.mp4'), (await readFile(join(root, 'base2.mp4'))).subarray(0, 20_000));
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const mediaPairs = async (): Promise<[string, string][]> =>
    (await readdir(join(root, 'media'))).filter((n) => n.startsWith('clip')).map((n) => [join(root, 'media', n), join(root, 'out', n.replace('.mp4', ''))]);

  it('encodes ten files two at a time; the corrupt one fails with its reason, the others succeed, exit 1', async () => {
    const stepSummary = join(root, 'step-summary.md');
    const r = await cli(['media', '-p', presetFile, '-o', 'out/{stem}', '-j', '2', '--hw', 'cpu', '--report', 'report.json'], root, { env: { GITHUB_STEP_SUMMARY: stepSummary } });
    expect(r.code, r.stderr).toBe(1);
    expect(ofType(r.events, 'batch-start')[0]).toMatchObject({ jobs: 10, concurrency: 2 });
    expect(names(ofType(r.events, 'job-done'))).toEqual(['clip1.mp4', 'clip2.mp4', 'clip3.mp4', 'clip4.mp4', 'clip5.mp4', 'clip6.mp4', 'clip7.mp4', 'clip8.mp4', 'clip9.mp4']);
    const failed = ofType(r.events, 'job-failed');
    expect(names(failed)).toEqual(['broken.mp4']);
    expect(failed[0]!.error).toMatchObject({ code: 'INPUT_NOT_MEDIA', message: expect.stringContaining('broken.mp4') });
    expect(JSON.stringify(failed[0]!.error)).toContain('moov atom not found');
    // never more than two jobs at once, and two did run together
    let running = 0;
    let most = 0;
    for (const e of r.events) {
      if (e.type === 'job-start') most = Math.max(most, ++running);
      if ((e.type === 'job-done' || e.type === 'job-failed') && e.attempts > 0) running--;
    }
    expect(most).toBe(2);
    // the error event closes the stream with exit code 1
    expect(r.events[r.events.length - 1]).toMatchObject({ type: 'error', code: 'JOB_FAILED', exitCode: 1 });

    const pairs = await mediaPairs();
    expect(await absentOrCurrent(pairs)).toEqual({ current: 9, absent: 0 });
    for (const [, out] of pairs.slice(0, 3)) {
      const master = await readFile(join(out, 'master.m3u8'), 'utf8');
      expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
      const streams = await probe(join(out, 'master.m3u8'));
      const videos = streams.filter((s) => s.codec_type === 'video').map((s) => `${s.codec_name} ${s.width}x${s.height}`);
      expect([...new Set(videos)].sort()).toEqual(['h264 160x90', 'h264 320x180']);
      expect(streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac')).toBe(true);
    }
    expect(existsSync(join(root, 'out', 'broken'))).toBe(false);
    expect(await leftovers(join(root, 'out'))).toEqual([]);

    const report = JSON.parse(await readFile(join(root, 'report.json'), 'utf8')) as {
      counts: Record<string, number>;
      jobs: { status: string; input: string; reason: string | null; sizeBytes: number | null }[];
    };
    expect(report.counts).toEqual({ total: 10, done: 9, skipped: 0, failed: 1, cancelled: 0 });
    expect(report.jobs.find((j) => j.input.endsWith('broken.mp4'))).toMatchObject({ status: 'failed', reason: expect.stringContaining('not a media file') });
    expect(report.jobs.filter((j) => j.status === 'done').every((j) => (j.sizeBytes ?? 0) > 10_000)).toBe(true);
    const md = await readFile(stepSummary, 'utf8');
    expect(md).toContain('### streamkit batch');
    expect(md).toContain('10 jobs: 9 done, 0 skipped, 1 failed');
    expect(md).toMatch(/\| ❌ failed \| media\/broken\.mp4 \|/);
  });

  it('a second run skips every finished package (the corrupt input fails again)', async () => {
    const before = await Promise.all((await mediaPairs()).map(async ([, out]) => (await readManifest(out))?.createdAt));
    const r = await cli(['media', '-p', presetFile, '-o', 'out/{stem}', '-j', '2', '--hw', 'cpu'], root);
    expect(r.code).toBe(1);
    expect(ofType(r.events, 'job-done')).toEqual([]);
    const skipped = ofType(r.events, 'job-skipped');
    expect(skipped).toHaveLength(9);
    expect(skipped.every((e) => e.skip === 'current')).toBe(true);
    expect(names(ofType(r.events, 'job-failed'))).toEqual(['broken.mp4']);
    expect(await Promise.all((await mediaPairs()).map(async ([, out]) => (await readManifest(out))?.createdAt))).toEqual(before);
  });

  it('touching one input redoes only that one', async () => {
    await rm(join(root, 'media', 'broken.mp4'));
    const touched = join(root, 'media', 'clip4.mp4');
    const later = new Date(Date.now() + 60_000);
    await utimes(touched, later, later);
    const before = await readManifest(join(root, 'out', 'clip4'));
    const r = await cli(['media', '-p', presetFile, '-o', 'out/{stem}', '-j', '2', '--hw', 'cpu'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(names(ofType(r.events, 'job-done'))).toEqual(['clip4.mp4']);
    expect(ofType(r.events, 'job-start')[0]!.why).toBe('input, preset or options changed');
    expect(ofType(r.events, 'job-skipped')).toHaveLength(8);
    const after = await readManifest(join(root, 'out', 'clip4'));
    expect(after?.input.mtimeMs).toBe(Math.round((await stat(touched)).mtimeMs));
    expect(after?.createdAt).not.toBe(before?.createdAt);
    expect(await absentOrCurrent(await mediaPairs())).toEqual({ current: 9, absent: 0 });
    expect(await leftovers(join(root, 'out'))).toEqual([]);
  });

  it('a run killed with SIGKILL in the middle leaves no broken package, and the next run finishes the rest', async () => {
    const args = ['kill', '-p', presetFile, '-o', 'kout/{stem}', '-j', '2', '--hw', 'cpu'];
    const done = new Set<number>();
    let longId = 0;
    let killedWhileRunning = false;
    const first = await cli(args, root, {
      onEvent: (e, child) => {
        if (e.type === 'job-start' && e.input.endsWith('a-long.mp4')) longId = e.id;
        if (e.type === 'job-done') done.add(e.id);
        // at least one job finished and the long one is encoding: pull the plug
        if (!killedWhileRunning && done.size >= 1 && longId && !done.has(longId) && e.type === 'job-progress' && e.id === longId) {
          killedWhileRunning = true;
          child.kill('SIGKILL');
        }
      },
    });
    expect(first.signal).toBe('SIGKILL');
    expect(killedWhileRunning).toBe(true);
    const pairs: [string, string][] = (await readdir(join(root, 'kill'))).map((n) => [join(root, 'kill', n), join(root, 'kout', n.replace('.mp4', ''))]);
    const mid = await absentOrCurrent(pairs);
    expect(mid.current).toBeGreaterThanOrEqual(1);
    expect(mid.absent).toBeGreaterThanOrEqual(1);

    const second = await cli(args, root);
    expect(second.code, second.stderr).toBe(0);
    // what the killed run finished is skipped, everything else is done now, exactly once
    expect(
      ofType(second.events, 'job-skipped')
        .map((e) => e.id)
        .sort(),
    ).toEqual([...done].sort());
    expect(ofType(second.events, 'job-done')).toHaveLength(5 - done.size);
    expect(await absentOrCurrent(pairs)).toEqual({ current: 5, absent: 0 });
    expect(await leftovers(join(root, 'kout'))).toEqual([]);
    // and no ffmpeg of the killed run is still working below kout/
    expect(await processesMentioning(join(root, 'kout'))).toEqual([]);
  });

  it('Ctrl-C stops the running ffmpeg, removes its staging folder and exits 130', async () => {
    let sent = false;
    const r = await cli(['intr', '-p', presetFile, '-o', 'iout/{stem}', '--hw', 'cpu'], root, {
      onEvent: (e, child) => {
        // once: a second Ctrl-C means "exit at once"
        if (e.type === 'job-progress' && !sent) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(r.code).toBe(130);
    expect(ofType(r.events, 'job-cancelled')[0]).toMatchObject({ reason: 'interrupted' });
    expect(ofType(r.events, 'summary')[0]).toMatchObject({ stopped: 'interrupted', counts: { cancelled: 1 } });
    expect(existsSync(join(root, 'iout', 'long'))).toBe(false);
    expect(await leftovers(root)).toEqual([]);
    expect(await processesMentioning(join(root, 'iout'))).toEqual([]);
  });

  it('two runs started at once do every job exactly once', async () => {
    const args = ['twin', '-p', presetFile, '-o', 'tout/{stem}', '-j', '2', '--hw', 'cpu'];
    const [a, b] = await Promise.all([cli(args, root), cli(args, root)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const doneInputs = [...ofType(a.events, 'job-done'), ...ofType(b.events, 'job-done')].map((e) => e.input).sort();
    const inputs = (await readdir(join(root, 'twin'))).map((n) => join(root, 'twin', n)).sort();
    expect(doneInputs).toEqual(inputs);
    for (const run of [a, b]) {
      // every job a run did not do, it skipped: as locked by the other run or as already current
      expect(ofType(run.events, 'job-done').length + ofType(run.events, 'job-skipped').length).toBe(4);
      expect(ofType(run.events, 'job-failed')).toEqual([]);
    }
    expect(await absentOrCurrent(inputs.map((i) => [i, join(root, 'tout', i.split('/').pop()!.replace('.mp4', ''))]))).toEqual({ current: 4, absent: 0 });
    expect(await leftovers(join(root, 'tout'))).toEqual([]);
  });

  it('library: fail-fast cancels the rest, input failures are not retried, a foreign folder is not replaced', async () => {
    const lib = join(root, 'lib');
    await mkdir(join(lib, 'in'), { recursive: true });
    await writeFile(join(lib, 'in', 'a-bad.mp4'), 'not a video');
    await copyFile(join(root, 'media', 'clip1.mp4'), join(lib, 'in', 'b.mp4'));
    await copyFile(join(root, 'media', 'clip2.mp4'), join(lib, 'in', 'c.mp4'));
    await mkdir(join(lib, 'out', 'c'), { recursive: true });
    await writeFile(join(lib, 'out', 'c', 'precious.txt'), 'mine');

    const events: BatchEvent[] = [];
    const s1 = await runBatch({ inputs: ['in'], preset: presetFile, output: 'out/{stem}', cwd: lib, concurrency: 1, failFast: true, retries: 2, hw: 'cpu' }, (e) => events.push(e));
    expect(s1.counts).toEqual({ total: 3, done: 0, skipped: 0, failed: 1, cancelled: 2 });
    expect(s1.stopped).toBe('fail-fast');
    expect(s1.jobs[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'INPUT_NOT_MEDIA' } });
    expect(ofType(events as Ev[], 'job-retry')).toEqual([]);
    expect(s1.jobs[1]!.reason).toContain('--fail-fast');

    const s2 = await runBatch({ inputs: ['in/b.mp4', 'in/c.mp4'], preset: presetFile, output: 'out/{stem}', cwd: lib, concurrency: 2, hw: 'cpu' });
    expect(s2.counts).toMatchObject({ done: 1, failed: 1 });
    expect(s2.jobs[1]).toMatchObject({ status: 'failed', error: { code: 'OUTPUT_EXISTS', message: expect.stringContaining('not a streamkit package') } });
    expect(await readFile(join(lib, 'out', 'c', 'precious.txt'), 'utf8')).toBe('mine');
    expect(await leftovers(join(lib, 'out'))).toEqual([]);
  });
});

/** Children of `ppid` named `comm`, from /proc (zombies excluded). */
async function childrenNamed(ppid: number, comm: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
    if (m && m[1] === comm && m[2] !== 'Z' && Number(m[3]) === ppid) out.push(Number(pid));
  }
  return out;
}

async function waitFor<T>(fn: () => Promise<T | null>, seconds: number): Promise<T | null> {
  for (let i = 0; i < seconds * 10; i++) {
    const v = await fn();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

const haveSetpriv = process.platform === 'linux' && ['/usr/bin/setpriv', '/bin/setpriv'].some((p) => existsSync(p));

describe.skipIf(noFfmpeg || skipNoted(!haveSetpriv && 'batch: setpriv (util-linux) is not installed, or this is not Linux: no --pdeathsig to test'))(
  'ffmpeg started by streamkit dies with it (setpriv --pdeathsig)',
  () => {
    it('SIGKILL of the node process takes its ffmpeg down too', async () => {
      assertBuilt();
      // a ten-minute real-time encode: it would outlive the test by far if it were orphaned
      const script = `import { runFfmpeg } from ${JSON.stringify(join(REPO, 'dist', 'ffmpeg', 'run.js'))};
await runFfmpeg(${JSON.stringify(FFMPEG)}, ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5', '-t', '600', '-f', 'null', '-']);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r));
      try {
        const ffmpegPid = await waitFor(async () => (await childrenNamed(child.pid!, basename(FFMPEG).slice(0, 15)))[0] ?? null, 20);
        expect(ffmpegPid).not.toBeNull();
        child.kill('SIGKILL');
        await exited;
        const gone = await waitFor(async () => {
          const stat = await readFile(`/proc/${ffmpegPid}/stat`, 'utf8').catch(() => null);
          return stat === null || /^\d+ \(.*\) Z/.test(stat) ? true : null;
        }, 10);
        expect(gone).toBe(true);
      } finally {
        child.kill('SIGKILL');
      }
    });
  },
);
