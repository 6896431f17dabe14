/**
 * Which file a request path names, or why none. Two steps:
 * - `parseRequestPath` (pure): the raw request target -> path segments, refusing what could climb
 *   out of the served folder or hide from the checks: `..` and `.` segments however they are encoded,
 *   backslashes, NUL bytes, double encoding, and names that start with a dot (dotfiles and the
 *   `.streamkit-tmp-*` staging folders of an unfinished package).
 * - `resolveInside`: the segments -> a regular file whose real path (symlinks followed) is still under
 *   the served folder's real path.
 *
 * The raw target is read as bytes on the wire, never through `new URL()`: the URL parser resolves
 * `/a/%2e%2e/` into `/` before anyone could refuse it.
 */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export type PathVerdict =
  | { ok: true; segments: string[] }
  /** 400: not a path at all; 403: an attempt to leave the folder; 404: hidden (dotfiles, staging) */
  | { ok: false; status: 400 | 403 | 404; reason: string };

/** The raw request target (`req.url`) -> the decoded path segments it names, or why it is refused. */
export function parseRequestPath(target: string): PathVerdict {
  const end = target.search(/[?#]/);
  const raw = end === -1 ? target : target.slice(0, end);
  if (!raw.startsWith('/')) return { ok: false, status: 400, reason: 'the request target is not an absolute path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (decoded.includes('\0') || raw.includes('\0')) return { ok: false, status: 400, reason: 'NUL byte in the path' };
  if (decoded.includes('\\')) return { ok: false, status: 403, reason: 'backslash in the path' };
  // what is still percent-encoded after one decoding was encoded twice: a proxy or a second decoder
  // down the line would see something else than these checks did
  if (/%[0-9a-f]{2}/i.test(decoded)) return { ok: false, status: 403, reason: 'double percent-encoding' };
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403, reason: 'a . or .. segment' };
  if (segments.some((s) => s.startsWith('.'))) return { ok: false, status: 404, reason: 'dotfiles and staging folders are never served' };
  return { ok: true, segments };
}

export type Resolved = { ok: true; file: string; relative: string[]; stats: Stats } | { ok: false; status: 403 | 404; reason: string };

/**
 * `segments` under `realRoot` (already a real path): the file, its real path relative to the root
 * (the name send() is given), and its stats; or why not. Only regular files: a folder is a 404
 * (no listings), a symlink that leads out of the root a 403, a symlink into a hidden name a 404.
 */
export async function resolveInside(realRoot: string, segments: readonly string[]): Promise<Resolved> {
  let real: string;
  try {
    real = await realpath(join(realRoot, ...segments));
  } catch {
    return { ok: false, status: 404, reason: 'no such file' };
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || rel.startsWith(sep)) {
    return rel === '' ? { ok: false, status: 404, reason: 'a folder' } : { ok: false, status: 403, reason: 'a symlink that leaves the served folder' };
  }
  const parts = rel.split(sep);
  if (parts.some((s) => s.startsWith('.'))) return { ok: false, status: 404, reason: 'dotfiles and staging folders are never served' };
  let stats: Stats;
  try {
    stats = await stat(real);
  } catch {
    return { ok: false, status: 404, reason: 'no such file' };
  }
  if (!stats.isFile()) return { ok: false, status: 404, reason: stats.isDirectory() ? 'a folder' : 'not a regular file' };
  return { ok: true, file: real, relative: parts, stats };
}
