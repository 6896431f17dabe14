import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, staleStagingFor } from '../package/atomic.js';

/**
 * Leftovers of a run or worker that died without cleaning up (SIGKILL, OOM killer, power loss):
 * staging folders beside a destination, named `.streamkit-tmp-<dest>-<pid>-<random>` by the atomic
 * output code, whose process is gone. The next job for that destination removes them before it
 * starts, and again after it commits.
 *
 * A killed process's ffmpeg may outlive it (it is not in the killed process; systemd and container
 * runtimes kill the whole group, a plain `kill -9 PID` does not) and keep writing into its staging
 * folder. On Linux such orphans are found through /proc by their working folder or command line
 * and killed first. Processes on other machines cannot be seen; their folders are removed all the
 * same (the job now belongs to this process: the batch lock or BullMQ's job lock guarantees that).
 */

/**
 * Local ffmpeg processes writing into `dir` (Linux; elsewhere: none found): by the path in their
 * command line, or by their working folder (streamkit runs ffmpeg inside the staging folder).
 */
async function orphanFfmpegPids(dir: string): Promise<number[]> {
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
    let cwd = '';
    try {
      cwd = await readlink(`/proc/${pid}/cwd`);
    } catch {
      /* not ours to read */
    }
    if (cwd === dir || `${cwd}/`.startsWith(needle) || argv.some((a) => a.includes(needle))) pids.push(pid);
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
    for (let i = 0; i < 40 && killed.some(isAlive); i++) await sleep(50);
    // an orphan on another machine may still be writing there: retry while it races us
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    removed.push(dir);
  }
  return { removed, killed };
}
