import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The per-title analysis, kept by key (input fingerprint, preset, analysis options, metric, encoder
 * and ffmpeg version: pipeline/per-title.ts analysisKey), so re-running a batch does not analyse a
 * title again. One JSON file per key under STREAMKIT_CACHE_DIR, else $XDG_CACHE_HOME/streamkit,
 * else ~/.cache/streamkit; written whole (a temporary file renamed), so a reader never sees half of
 * one. A file that does not parse, or holds another version, is a miss. Writing is best effort: a
 * cache that cannot be written costs time, never the job.
 */

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['STREAMKIT_CACHE_DIR'] || (env['XDG_CACHE_HOME'] ? join(env['XDG_CACHE_HOME'], 'streamkit') : join(homedir(), '.cache', 'streamkit'));
  return join(dir, 'per-title');
}

export async function readCached<T>(dir: string, key: string, version: number): Promise<T | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as { version?: unknown; value?: T };
    return parsed.version === version && parsed.value !== undefined ? parsed.value : null;
  } catch {
    return null;
  }
}

/** Store; returns false (and leaves nothing half-written) when the folder cannot be written. */
export async function writeCached(dir: string, key: string, version: number, value: unknown): Promise<boolean> {
  const file = join(dir, `${key}.json`);
  const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, `${JSON.stringify({ version, value }, null, 2)}\n`);
    await rename(tmp, file);
    return true;
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
    return false;
  }
}
