import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, rmdirSync } from 'node:fs';
import { access, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { StreamkitError } from '../errors.js';

/**
 * Atomic output: work happens in a hidden staging folder beside the destination (same file system,
 * so the final move is a rename), and the destination appears only when everything succeeded.
 * On failure the staging folder (and any parent folders we created) is removed.
 */

const STAGING_PREFIX = '.streamkit-tmp-';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The staging folders of one destination are named `.streamkit-tmp-<name>-<pid>-<8 hex>` (and
 * `...-<pid>-old-<ms>` while --force swaps an old package out). The one pattern for them, with the
 * owning pid as group 1.
 */
function stagingPattern(dest: string): RegExp {
  return new RegExp(`^${escapeRegExp(`${STAGING_PREFIX}${basename(dest)}-`)}(\\d+)-(?:old-\\d+|[0-9a-f]{8})$`);
}

export interface Staging {
  /** the final destination */
  dest: string;
  /** where to write meanwhile */
  dir: string;
  /** move into place; with `replace`, an existing destination is swapped out and removed */
  commit(options?: { replace?: boolean }): Promise<void>;
  /** remove everything written; safe to call twice */
  discard(): Promise<void>;
}

/** Staging folders not yet committed or discarded, with the parents created for them. */
const open = new Map<string, string[]>();

/**
 * Synchronous last-resort cleanup for a process that must exit now (second Ctrl-C, stdout gone):
 * removes every staging folder still open. Call it after the processes writing there are killed.
 */
export function discardAllSync(): void {
  for (const [dir, created] of open) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* nothing more can be done while exiting */
    }
    for (const p of [...created].reverse()) {
      try {
        rmdirSync(p);
      } catch {
        /* not empty or already gone */
      }
    }
  }
  open.clear();
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The output folder cannot be written (its staging folder, or its lock beside it: job/lock.ts): why,
 * in words, by errno. EEXIST comes from mkdir meeting a file where a folder of the path should be.
 */
export function unwritableOutput(dest: string, error: unknown, more: { hint?: string; details?: Record<string, unknown> } = {}): StreamkitError {
  const code = (error as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOTDIR: 'part of the path is a file, not a folder',
    EEXIST: 'part of the path is a file, not a folder',
    ENOENT: 'a folder cannot be created there',
    ENOSPC: 'no space left on the device',
  };
  return new StreamkitError('OUTPUT_UNWRITABLE', `Cannot write the output folder ${dest}: ${(code && why[code]) ?? code ?? String(error)}.`, {
    hint: more.hint ?? 'Choose another --output folder, or fix its permissions.',
    details: { output: dest, ...more.details },
    cause: error,
  });
}

export async function checkDestination(destInput: string, force: boolean): Promise<string> {
  const dest = resolve(destInput);
  if (await exists(dest)) {
    if (!force) {
      throw new StreamkitError('OUTPUT_EXISTS', `Output ${dest} already exists.`, {
        hint: 'Use --force to replace it (the old package stays until the new one is complete), or choose another --output.',
        details: { output: dest },
      });
    }
    const st = await stat(dest);
    if (!st.isDirectory())
      throw new StreamkitError('OUTPUT_EXISTS', `Output ${dest} exists and is not a folder; refusing to replace a file with a package.`, { details: { output: dest } });
  }
  return dest;
}

export async function createStaging(destInput: string): Promise<Staging> {
  const dest = resolve(destInput);
  const parent = dirname(dest);
  // create missing parents, remembering which, so a failure can take them away again
  const created: string[] = [];
  for (let p = parent; !(await exists(p)); p = dirname(p)) created.unshift(p);
  let dir: string;
  try {
    for (const p of created) await mkdir(p);
    // not mkdtemp: its 0700 mode would survive the rename and keep web servers from reading the package
    dir = join(parent, `${STAGING_PREFIX}${basename(dest)}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir);
  } catch (error) {
    for (const p of [...created].reverse()) await rmdir(p).catch(() => undefined);
    throw unwritableOutput(dest, error);
  }
  open.set(dir, created);
  let done = false;
  const removeCreatedParents = async (): Promise<void> => {
    for (const p of [...created].reverse()) {
      try {
        if ((await readdir(p)).length === 0) await rmdir(p);
      } catch {
        /* not ours to remove any more */
      }
    }
  };
  return {
    dest,
    dir,
    async commit(options = {}) {
      if (done) throw new Error('staging already finished');
      if (await exists(dest)) {
        if (!options.replace) throw new StreamkitError('OUTPUT_EXISTS', `Output ${dest} appeared while encoding; not replacing it.`, { details: { output: dest } });
        const old = join(parent, `${STAGING_PREFIX}${basename(dest)}-${process.pid}-old-${Date.now()}`);
        await rename(dest, old);
        try {
          await rename(dir, dest);
        } catch (error) {
          await rename(old, dest).catch(() => undefined);
          throw unwritableOutput(dest, error);
        }
        done = true;
        open.delete(dir);
        await rm(old, { recursive: true, force: true });
        return;
      }
      try {
        await rename(dir, dest);
      } catch (error) {
        throw unwritableOutput(dest, error);
      }
      done = true;
      open.delete(dir);
    },
    async discard() {
      if (done) return;
      done = true;
      await rm(dir, { recursive: true, force: true });
      open.delete(dir);
      await removeCreatedParents();
    },
  };
}

/** Staging folders of `dest` whose owning process (by pid, on this machine) no longer exists: safe to remove. */
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
    if (pid !== process.pid && !isAlive(pid)) out.push(join(parent, name));
  }
  return out;
}

/** Is this pid a running process? Zombies (exited, not yet reaped) count as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
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
