import { readdir, stat, type Dirent } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { glob, type FileSystemAdapter } from 'tinyglobby';
import { MANIFEST_NAME } from '../package/manifest.js';

/**
 * Finding input files: globs and folder walks, matched by tinyglobby. The syntax: `*` (any run of
 * characters within one path segment), `?` (one character), `**` (any number of folders),
 * `[abc]`, `[a-z]`, `[!abc]`, `{mp4,mov}` alternatives, `\` escapes the next character; extglobs
 * (`+(a)`) are off, so parentheses are plain characters. Matching is case-sensitive. As in a shell,
 * a wildcard never matches a leading `.`: hidden files and folders are matched only by a pattern
 * segment that itself starts with `.`.
 *
 * Two walk rules of streamkit's own, applied while walking (see walkRules): folders holding a
 * finished streamkit package (a streamkit.json) are never entered (their segments and init files
 * are outputs, not inputs; a two-hour ladder has thousands), and links to folders are not followed
 * (no loops, no walking into another tree); links to files are followed. Results are sorted as a
 * walk that visits each folder's entries in name order would find them.
 */

const GLOB_CHARS = /(^|[^\\])[*?[{]/;

/** Does this argument contain glob syntax? */
export function isGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/**
 * Split a glob into the folder to walk from (its leading segments without glob syntax) and the
 * pattern relative to it: `media/2024/**\/*.mp4` -> `media/2024` + `**\/*.mp4`. The folder is also
 * the base that `{reldir}` is relative to.
 */
export function splitGlob(pattern: string): { base: string; rest: string } {
  const posix = sep === '\\' ? pattern.replace(/\\/g, '/') : pattern;
  const segs = posix.split('/');
  const firstGlob = segs.findIndex((s) => isGlob(s));
  if (firstGlob < 0) return { base: posix, rest: '' };
  const baseSegs = segs.slice(0, firstGlob);
  const base = baseSegs.length === 0 ? '.' : baseSegs.join('/') === '' ? '/' : baseSegs.join('/');
  return { base, rest: segs.slice(firstGlob).join('/') };
}

function isPackage(dir: string): Promise<boolean> {
  return new Promise((done) => stat(join(dir, MANIFEST_NAME), (error, st) => done(!error && st.isFile())));
}

function isFileLink(path: string): Promise<boolean> {
  return new Promise((done) => stat(path, (error, st) => done(!error && st.isFile())));
}

/** node:fs for tinyglobby, with streamkit's walk rules: package folders and links to folders are not listed. */
const walkRules: FileSystemAdapter = {
  readdir: ((path: string, options: { withFileTypes: true }, callback: (error: NodeJS.ErrnoException | null, entries: Dirent[]) => void) => {
    readdir(path, options, (error, entries) => {
      if (error) return callback(error, []);
      void Promise.all(
        entries.map((e) => {
          const p = join(path, e.name);
          if (e.isDirectory()) return isPackage(p).then((pkg) => !pkg);
          if (e.isSymbolicLink()) return isFileLink(p);
          return true;
        }),
      ).then((keep) =>
        callback(
          null,
          entries.filter((_, i) => keep[i]),
        ),
      );
    });
  }) as FileSystemAdapter['readdir'],
};

/** `a/b` before `a-c`: compare path segments, as a walk in name order finds them. */
function walkOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

/**
 * Our syntax to tinyglobby's: without extglobs picomatch still reads `(a|b)` as a group and a
 * leading `!` as a negation; here they are plain characters (file names such as `movie (2019).mp4`).
 */
function plainCharacters(pattern: string): string {
  return pattern.replace(/\\.|[()]/g, (m) => (m.length === 1 ? `\\${m}` : m)).replace(/^!/, '\\!');
}

/** Files below `root` matching `pattern` (relative, `/`-separated), as absolute paths in walk order. */
async function findFiles(root: string, pattern: string): Promise<string[]> {
  const abs = resolve(root);
  const found = await glob(plainCharacters(pattern), {
    cwd: abs,
    onlyFiles: true,
    dot: false,
    extglob: false,
    expandDirectories: false,
    caseSensitiveMatch: true,
    followSymbolicLinks: true,
    fs: walkRules,
  });
  return found.sort(walkOrder).map((rel) => join(abs, rel));
}

/** Every file below a folder (hidden entries and packages skipped), for `accept` to choose from. */
export async function walkFiles(root: string, accept: (path: string) => boolean): Promise<string[]> {
  return (await findFiles(root, '**/*')).filter(accept);
}

/** Expand a glob to the absolute paths of matching files, walking from its base folder. */
export async function expandGlob(pattern: string, cwd: string): Promise<{ base: string; files: string[] }> {
  const split = splitGlob(pattern);
  // no glob syntax left (only escapes, `a\\*.mp4`): match the last segment in its folder
  const { base, rest } = split.rest === '' ? { base: dirname(split.base), rest: basename(split.base) } : split;
  const root = resolve(cwd, base);
  return { base: root, files: await findFiles(root, rest) };
}
