import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, stagingPattern } from '../package/atomic.js';

/**
 * Leftovers of a worker that died without cleaning up (SIGKILL, OOM killer, power loss): staging
 * folders beside a destination, named `.streamkit-tmp-<dest>-<pid>-<random>` by the atomic output
 * code, whose process is gone. The worker that takes the job next removes them before it starts,
 * and again after it commits.
 *
 * A killed worker's ffmpeg may outlive it (it is not in the killed process; systemd and container
 * runtimes kill the whole group, a plain `kill -9 PID` does not) and keep writing into its staging
 * folder. On Linux such orphans are found through /proc by the staging path in their command line
 * and killed first. Processes on other machines cannot be seen; their folders are removed all the
 * same (the job now belongs to this worker, BullMQ's lock guarantees that).
 */

/** Staging folders for `dest` whose owning process (by pid, on this machine) no longer exists. */
export async function staleStagingFor(dest: string): Promise<string[]> {
  const parent = dirname(dest);
  const pattern = stagingPattern(dest);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !isRunning(pid)) out.push(join(parent, name));
  }
  return out;
}

/** Alive and not a zombie (a killed orphan that nobody reaped still answers kill(pid, 0)). */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true; // no /proc here: trust kill(pid, 0)
  }
  // "pid (comm) S ...": the state letter follows the last ')'
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Local ffmpeg processes whose command line writes into `dir` (Linux; elsewhere: none found). */
export async function orphanFfmpegPids(dir: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const needle = `${dir}/`;
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (!/ffmpeg/i.test(basename(argv[0] ?? ''))) continue;
    if (argv.some((a) => a.includes(needle))) pids.push(pid);
  }
  return pids;
}

/** Kill orphaned encoders of stale staging folders of `dest`, then remove the folders. Returns what was removed. */
export async function cleanStaleStaging(dest: string): Promise<{ removed: string[]; killed: number[] }> {
  const removed: string[] = [];
  const killed: number[] = [];
  for (const dir of await staleStagingFor(dest)) {
    for (const pid of await orphanFfmpegPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        /* already gone */
      }
    }
    for (let i = 0; i < 40 && killed.some(isRunning); i++) await sleep(50);
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return { removed, killed };
}
