// Timed process runs for the benchmark: wall time, CPU time (user + sys of the whole process tree),
// the tree's peak RSS, and optionally the peak RSS of the direct child itself (the streamkit Node
// process), sampled from /proc while it runs. Benchmark code only: nothing here is part of streamkit.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';

let timeTool = null;

/**
 * How CPU time is measured. GNU time (apt package `time`) reports the rusage of everything its child
 * waited for, i.e. streamkit's Node process plus every ffmpeg/ffprobe it ran, and the largest RSS among
 * them. Without it, bash's `times` builtin gives the same user/sys sums (no RSS).
 */
export function cpuTimer() {
  if (timeTool) return timeTool;
  const r = spawnSync(GNU_TIME, ['-f', '%e %U %S %M', 'true'], { encoding: 'utf8' });
  timeTool = r.status === 0 && /^[\d.]+ [\d.]+ [\d.]+ \d+/m.test(r.stderr) ? 'gnu-time' : 'bash-times';
  return timeTool;
}

function parseGnuTime(text) {
  // "Command exited with non-zero status N" may precede the numbers
  const line = text.trim().split('\n').pop() ?? '';
  const [e, u, s, m] = line.split(' ').map(Number);
  if (![e, u, s, m].every(Number.isFinite)) throw new Error(`cannot parse GNU time output: ${JSON.stringify(text)}`);
  return { user: u, sys: s, treeMaxRssKiB: m };
}

function parseBashTimes(text) {
  // two lines: the shell's own times, then its children's: "0m1.234s 0m0.056s"
  const lines = text.trim().split('\n');
  const child = lines[lines.length - 1] ?? '';
  const secs = [...child.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`cannot parse bash times output: ${JSON.stringify(text)}`);
  return { user: secs[0], sys: secs[1], treeMaxRssKiB: null };
}

function readProc(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Peak resident set (VmHWM, KiB) of the wrapper's direct child, or null once it has exited. */
function sampleChildHwm(wrapperPid) {
  const kids = readProc(`/proc/${wrapperPid}/task/${wrapperPid}/children`);
  if (!kids) return null;
  let best = null;
  for (const pid of kids.trim().split(/\s+/).filter(Boolean)) {
    const status = readProc(`/proc/${pid}/status`);
    const m = status && /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (m) best = Math.max(best ?? 0, Number(m[1]));
  }
  return best;
}

/**
 * Run argv[0] with argv[1..] and measure it. Returns { wall, user, sys, cpu, treeMaxRssKiB,
 * childHwmKiB, code, stdout, stderr }. stdout is kept (streamkit's NDJSON events are small);
 * stderr is kept to the last 64 KiB for error messages.
 */
export function timedRun(argv, { cwd, env, sampleChildRss = false, sampleMs = 50 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'streamkit-bench-'));
  const timesFile = join(dir, 'times');
  const tool = cpuTimer();
  const wrapped = tool === 'gnu-time'
    ? [GNU_TIME, '-f', '%e %U %S %M', '-o', timesFile, '--', ...argv]
    : ['bash', '-c', '"$@"; rc=$?; times > "$BENCH_TIMES_FILE"; exit $rc', 'bash', ...argv];
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(wrapped[0], wrapped.slice(1), {
      cwd,
      env: { ...process.env, ...env, BENCH_TIMES_FILE: timesFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => {
      stderr += c;
      if (stderr.length > 65536) stderr = stderr.slice(-65536);
    });
    let hwm = null;
    const sample = () => {
      const v = sampleChildHwm(child.pid);
      if (v !== null) hwm = Math.max(hwm ?? 0, v);
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
      let t;
      try {
        const text = readFileSync(timesFile, 'utf8');
        t = tool === 'gnu-time' ? parseGnuTime(text) : parseBashTimes(text);
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        reject(new Error(`${argv.join(' ')}: no CPU times (${e.message}); exit ${code}; stderr: ${stderr.slice(-2000)}`));
        return;
      }
      rmSync(dir, { recursive: true, force: true });
      resolvePromise({ wall, user: t.user, sys: t.sys, cpu: t.user + t.sys, treeMaxRssKiB: t.treeMaxRssKiB, childHwmKiB: hwm, code, stdout, stderr });
    });
  });
}

/** Wall time of a short command, run n times; returns the list of seconds (the command must succeed). */
export function repeatWall(argv, n, { cwd } = {}) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
    out.push(dt);
  }
  return out;
}
