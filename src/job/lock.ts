import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isAlive, unwritableOutput } from '../package/atomic.js';

/**
 * One lock per job destination, so that overlapping runs (cron firing again while the last run is
 * still busy) never work on the same package: `.streamkit-lock-<name>` beside the destination
 * `<name>`, holding the owner's pid, host, process start time and a random nonce.
 *
 * - Taking a free lock: the owner record is written to a private temporary file and hard-linked to the
 *   lock name; link() fails if the name exists, so exactly one process wins, and a lock file is never
 *   seen half-written.
 * - A lock whose owner is alive (or on another host, where we cannot tell) is held: the caller skips
 *   the job.
 * - A stale lock (owner pid dead on this host, or the pid now belongs to a process started later) is
 *   taken over without races: the lock's exact content identifies its generation, and only the process
 *   that exclusively creates `<lock>.takeover-<hash of that content>` may replace that generation (by
 *   renaming its own record over it, after re-reading that the lock is still the stale one). A lock's
 *   content never repeats (nonce), so a late racer's re-read fails and it backs off. If a recoverer
 *   itself died in the middle, its takeover file is stale in turn and is passed the same way.
 */

export interface LockOwner {
  pid: number;
  hostname: string;
  /** start time of the owner process (Linux /proc/<pid>/stat field 22), to detect pid reuse */
  pidStart: string | null;
  startedAt: string;
  nonce: string;
  /** what holds it, for humans */
  what?: string;
}

export interface HeldLock {
  path: string;
  owner: LockOwner;
  /** remove the lock if it is still ours; safe to call twice */
  release(): Promise<void>;
}

export type LockAttempt = { acquired: true; lock: HeldLock } | { acquired: false; path: string; owner: LockOwner | null; reason: string };

const LOCK_PREFIX = '.streamkit-lock-';

export function lockPathFor(dest: string): string {
  const abs = resolve(dest);
  return join(dirname(abs), `${LOCK_PREFIX}${basename(abs)}`);
}

/** State (R, S, Z...) and start time (clock ticks since boot) of a process, from Linux /proc; null elsewhere. */
function procStat(pid: number): { state: string; start: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces and parentheses: fields resume after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] && fields[19] ? { state: fields[0], start: fields[19] } : null;
  } catch {
    return null;
  }
}

/** Start time of a process (Linux /proc/<pid>/stat field 22), or null where /proc is not available. */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}

export function currentOwner(what?: string): LockOwner {
  return {
    pid: process.pid,
    hostname: hostname(),
    pidStart: processStartTime(process.pid),
    startedAt: new Date().toISOString(),
    nonce: randomBytes(8).toString('hex'),
    ...(what ? { what } : {}),
  };
}

/** Is the owner certainly gone? Only decidable on the same host; elsewhere the lock counts as held. */
export function isStaleOwner(owner: LockOwner, host = hostname()): boolean {
  if (owner.hostname !== host) return false;
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return true;
  if (!isAlive(owner.pid)) return true;
  const now = procStat(owner.pid);
  if (now?.state === 'Z' || now?.state === 'X') return true; // exited, not yet reaped
  return Boolean(owner.pidStart && now && now.start !== owner.pidStart); // the pid now belongs to another process
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.hostname !== 'string' || typeof o.nonce !== 'string') return null;
    return {
      pid: o.pid,
      hostname: o.hostname,
      pidStart: typeof o.pidStart === 'string' ? o.pidStart : null,
      startedAt: String(o.startedAt ?? ''),
      nonce: o.nonce,
      ...(o.what ? { what: o.what } : {}),
    };
  } catch {
    return null;
  }
}

function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function tmpName(path: string, owner: LockOwner): string {
  return `${path}.${owner.pid}-${owner.nonce}.tmp`;
}

/** Create `path` with `text` only if it does not exist (write a private file, then link it). */
async function createExclusive(path: string, text: string, owner: LockOwner): Promise<boolean> {
  const tmp = tmpName(path, owner);
  await writeFile(tmp, text, { flag: 'w' });
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function unlinkQuiet(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** Create the folder (and missing parents); return those created, outermost first. */
async function ensureDir(dir: string): Promise<string[]> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return [];
  const created: string[] = [];
  for (let p = dir; p.length >= first.length; p = dirname(p)) {
    created.unshift(p);
    if (p === first) break;
  }
  return created;
}

/** The lock's state was judged stale: replace exactly that state with ours, or find it taken. */
async function takeOver(path: string, staleText: string, text: string, me: LockOwner): Promise<'acquired' | 'busy' | 'retry'> {
  let claim = contentHash(staleText);
  const passed: string[] = [];
  for (let depth = 0; depth < 8; depth++) {
    const marker = `${path}.takeover-${claim}`;
    if (await createExclusive(marker, text, me)) {
      const current = await readText(path);
      if (current !== staleText) {
        // someone replaced (or released) that generation before us: start again
        await unlinkQuiet(marker);
        return 'retry';
      }
      const tmp = tmpName(path, me);
      await writeFile(tmp, text);
      await rename(tmp, path);
      await unlinkQuiet(marker);
      for (const p of passed) await unlinkQuiet(p);
      return 'acquired';
    }
    const markerText = await readText(marker);
    if (markerText === null) continue; // its holder gave up: try to create it again
    const holder = parseOwner(markerText);
    if (holder && !isStaleOwner(holder)) return 'busy';
    // the recoverer died mid-takeover: its marker is a stale generation of its own
    passed.push(marker);
    claim = contentHash(markerText);
  }
  return 'busy';
}

/**
 * Try to take the lock for a destination; never waits. Missing parent folders are created (and
 * removed again on release when they are empty). A lock that cannot be created at all (the parent
 * is not writable) is OUTPUT_UNWRITABLE: the staging folder could not be created there either.
 */
export async function acquireLock(dest: string, options: { what?: string } = {}): Promise<LockAttempt> {
  try {
    return await tryLock(dest, options);
  } catch (error) {
    // the staging folder would fail there the same way (package/atomic.ts): the same words
    throw unwritableOutput(resolve(dest), error, {
      hint: 'Choose another output folder, or fix its permissions (the lock file and the staging folder are written beside it).',
      details: { lock: lockPathFor(dest) },
    });
  }
}

async function tryLock(dest: string, options: { what?: string }): Promise<LockAttempt> {
  const path = lockPathFor(dest);
  const me = currentOwner(options.what);
  const text = `${JSON.stringify(me)}\n`;
  let created = await ensureDir(dirname(path));
  for (let attempt = 0; attempt < 20; attempt++) {
    let mine: boolean;
    try {
      mine = await createExclusive(path, text, me);
    } catch (error) {
      // the folder was removed under us (another run cleaning up its empty parents): recreate it;
      // a folder that is there and still refuses the file (a pseudo file system such as /proc) is the error
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(dirname(path))) throw error;
      created = [...created, ...(await ensureDir(dirname(path)))];
      continue;
    }
    if (mine) return { acquired: true, lock: heldLock(path, me, text, created) };
    const existing = await readText(path);
    if (existing === null) continue; // released meanwhile
    const owner = parseOwner(existing);
    if (owner && !isStaleOwner(owner)) {
      return { acquired: false, path, owner, reason: `locked by another run (pid ${owner.pid} on ${owner.hostname} since ${owner.startedAt})` };
    }
    const r = await takeOver(path, existing, text, me);
    if (r === 'acquired') return { acquired: true, lock: heldLock(path, me, text, created) };
    if (r === 'busy') return { acquired: false, path, owner, reason: 'a stale lock is being recovered by another run' };
  }
  return { acquired: false, path, owner: null, reason: 'the lock kept changing hands' };
}

/** Locks this process holds, by path, with the record that makes them ours (for releaseAllLocksSync). */
const held = new Map<string, string>();

/**
 * Synchronous last-resort release for a process that must exit now (a second Ctrl-C): every lock it
 * still holds is removed, if it is still ours. The parents created for them stay (empty folders).
 */
export function releaseAllLocksSync(): void {
  for (const [path, text] of held) {
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      /* gone already, or not readable: nothing of ours to remove */
    }
  }
  held.clear();
}

function heldLock(path: string, owner: LockOwner, text: string, createdDirs: string[]): HeldLock {
  let released = false;
  held.set(path, text);
  return {
    path,
    owner,
    async release() {
      if (released) return;
      released = true;
      held.delete(path);
      // only remove it if it is still ours (nobody takes over a live owner's lock, but be exact)
      if ((await readText(path).catch(() => null)) === text) await unlinkQuiet(path);
      for (const d of [...createdDirs].reverse()) {
        try {
          if ((await readdir(d)).length === 0) await rmdir(d);
        } catch {
          /* not empty or already gone: not ours to remove */
        }
      }
    },
  };
}

/**
 * While holding the lock: remove leftovers of dead lock attempts beside it (temporary files of dead
 * processes, takeover files of earlier generations; the lock is ours now, so no generation they
 * name can come back).
 */
export async function cleanLockLeftovers(lock: HeldLock): Promise<string[]> {
  const dir = dirname(lock.path);
  const name = basename(lock.path);
  const removed: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!n.startsWith(`${name}.`)) continue;
    const rest = n.slice(name.length + 1);
    const tmp = /^(?:takeover-[0-9a-f]+\.)?(\d+)-[0-9a-f]+\.tmp$/.exec(rest);
    if ((tmp && !isAlive(Number(tmp[1]))) || /^takeover-[0-9a-f]+$/.test(rest)) {
      await unlinkQuiet(join(dir, n));
      removed.push(join(dir, n));
    }
  }
  return removed;
}
