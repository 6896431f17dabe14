// Timed process runs for the benchmark: wall time, CPU time (user + sys of the whole process tree),
// the tree's peak RSS, and optionally the peak RSS of the direct child itself (the streamkit Node
// process), sampled from /proc while it runs. Benchmark code only: nothing here is part of streamkit.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';

export type CpuTimer = 'gnu-time' | 'bash-times';

let timeTool: CpuTimer | null = null;

/**
 * How CPU time is measured. GNU time (apt package `time`) reports the rusage of everything its child
 * waited for, i.e. streamkit's Node process plus every ffmpeg/ffprobe it ran, and the largest RSS among
 * them. Without it, bash's `times` builtin gives the same user/sys sums (no RSS).
 */
export function cpuTimer(): CpuTimer {
  if (timeTool) return timeTool;
  const r = spawnSync(GNU_TIME, ['-f', '%e %U %S %M', 'true'], { encoding: 'utf8' });
  timeTool = r.status === 0 && /^[\d.]+ [\d.]+ [\d.]+ \d+/m.test(r.stderr) ? 'gnu-time' : 'bash-times';
  return timeTool;
}

interface Times {
  user: number;
  sys: number;
  treeMaxRssKiB: number | null;
}

function parseGnuTime(text: string): Times {
  // "Command exited with non-zero status N" may precede the numbers
  const line = text.trim().split('\n').pop() ?? '';
  const [e, u, s, m] = line.split(' ').map(Number);
  if (e === undefined || u === undefined || s === undefined || m === undefined || ![e, u, s, m].every(Number.isFinite))
    throw new Error(`cannot parse GNU time output: ${JSON.stringify(text)}`);
  return { user: u, sys: s, treeMaxRssKiB: m };
}

function parseBashTimes(text: string): Times {
  // two lines: the shell's own times, then its children's: "0m1.234s 0m0.056s"
  const lines = text.trim().split('\n');
  const child = lines[lines.length - 1] ?? '';
  const secs = [...child.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const [user, sys] = secs;
  if (secs.length !== 2 || user === undefined || sys === undefined) throw new Error(`cannot parse bash times output: ${JSON.stringify(text)}`);
  return { user, sys, treeMaxRssKiB: null };
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const CLK_TCK = 100; // Linux USER_HZ

/**
 * The wrapper's direct child (the streamkit Node process): its peak resident set (VmHWM, KiB) and its
 * own CPU seconds (utime + stime, without its children), or null once it has exited.
 */
function sampleChild(wrapperPid: number): { hwmKiB: number; cpu: number } | null {
  const kids = readProc(`/proc/${wrapperPid}/task/${wrapperPid}/children`);
  if (!kids) return null;
  const pid = kids.trim().split(/\s+/).filter(Boolean)[0];
  if (!pid) return null;
  const status = readProc(`/proc/${pid}/status`);
  const stat = readProc(`/proc/${pid}/stat`);
  const m = status && /^VmHWM:\s+(\d+) kB/m.exec(status);
  if (!m || !stat) return null;
  // fields after the parenthesised command name: state is field 3, utime 14, stime 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { hwmKiB: Number(m[1]), cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK };
}

export interface TimedRunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** sample the direct child's VmHWM and own CPU from /proc while it runs */
  sampleChildRss?: boolean;
  sampleMs?: number;
}

export interface TimedRun {
  /** seconds */
  wall: number;
  user: number;
  sys: number;
  /** user + sys of the whole process tree, seconds */
  cpu: number;
  /** largest RSS in the tree (GNU time only), KiB */
  treeMaxRssKiB: number | null;
  /** the direct child's peak RSS (VmHWM), KiB: with sampleChildRss only */
  childHwmKiB: number | null;
  /** the direct child's own CPU seconds (without its children): with sampleChildRss only */
  childOwnCpu: number | null;
  startedAtMs: number;
  endedAtMs: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run argv[0] with argv[1..] and measure it (see TimedRun; the child* values only with
 * sampleChildRss; sampled every sampleMs, so they miss at most the child's last sampleMs). stdout is
 * kept (streamkit's NDJSON events are small); stderr is kept to the last 64 KiB for error messages.
 */
export function timedRun(argv: readonly string[], { cwd, env, sampleChildRss = false, sampleMs = 50 }: TimedRunOptions = {}): Promise<TimedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'streamkit-bench-'));
  const timesFile = join(dir, 'times');
  const tool = cpuTimer();
  const wrapped =
    tool === 'gnu-time' ? [GNU_TIME, '-f', '%e %U %S %M', '-o', timesFile, '--', ...argv] : ['bash', '-c', '"$@"; rc=$?; times > "$BENCH_TIMES_FILE"; exit $rc', 'bash', ...argv];
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const startedAtMs = Date.now();
    const child = spawn(wrapped[0]!, wrapped.slice(1), {
      cwd,
      env: { ...process.env, ...env, BENCH_TIMES_FILE: timesFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (stderr.length > 65536) stderr = stderr.slice(-65536);
    });
    let hwm: number | null = null;
    let ownCpu: number | null = null;
    const sample = (): void => {
      const v = child.pid === undefined ? null : sampleChild(child.pid);
      if (v === null) return;
      hwm = Math.max(hwm ?? 0, v.hwmKiB);
      ownCpu = Math.max(ownCpu ?? 0, v.cpu);
    };
    const timer = sampleChildRss ? setInterval(sample, sampleMs) : null;
    child.on('error', (e) => {
      if (timer) clearInterval(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(e);
    });
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (timer) clearInterval(timer);
      let t: Times;
      try {
        const text = readFileSync(timesFile, 'utf8');
        t = tool === 'gnu-time' ? parseGnuTime(text) : parseBashTimes(text);
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        reject(new Error(`${argv.join(' ')}: no CPU times (${e instanceof Error ? e.message : String(e)}); exit ${code}; stderr: ${stderr.slice(-2000)}`));
        return;
      }
      rmSync(dir, { recursive: true, force: true });
      resolvePromise({
        wall,
        user: t.user,
        sys: t.sys,
        cpu: t.user + t.sys,
        treeMaxRssKiB: t.treeMaxRssKiB,
        childHwmKiB: hwm,
        childOwnCpu: ownCpu,
        startedAtMs,
        endedAtMs: Date.now(),
        code,
        stdout,
        stderr,
      });
    });
  });
}
