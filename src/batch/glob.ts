import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { MANIFEST_NAME } from '../package/manifest.js';

/**
 * A small glob matcher (Node 20 has no stable fs.glob): `*` (any run of characters within one path
 * segment), `?` (one character), `**` (any number of folders, a segment of its own), `[abc]`,
 * `[a-z]`, `[!abc]` and `{mp4,mov}` alternatives (not nested). `\` escapes the next character.
 * Like a shell, a wildcard never matches a leading `.`: hidden files and folders are matched only by
 * a pattern segment that itself starts with `.`. Paths use `/`.
 */

const GLOB_CHARS = /(^|[^\\])[*?[{]/;

/** Does this argument contain glob syntax? */
export function isGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** One path segment (no `/`) to a regular expression source. */
function segmentSource(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) {
      out += escapeRegExp(seg[++i]!);
    } else if (c === '*') {
      while (seg[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      // a class runs to the next `]` (a `]` right after `[` or `[!` is a member)
      let j = i + 1;
      if (seg[j] === '!' || seg[j] === '^') j++;
      if (seg[j] === ']') j++;
      while (j < seg.length && seg[j] !== ']') j++;
      if (j >= seg.length) {
        out += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, j);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      const members = body.replace(/\\/g, '\\\\').replace(/\^/g, '\\^').replace(/^\]/, '\\]');
      out += `[${negate ? '^/' : ''}${members}]`;
      i = j;
    } else if (c === '{') {
      const j = seg.indexOf('}', i + 1);
      if (j < 0) {
        out += '\\{';
        continue;
      }
      out += `(?:${seg.slice(i + 1, j).split(',').map(segmentSource).join('|')})`;
      i = j;
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

/** A glob (relative, `/`-separated) to a RegExp matching whole relative paths. */
export function globToRegExp(pattern: string): RegExp {
  const segs = pattern.split('/').filter((s, i, all) => s !== '' || i === all.length - 1);
  let re = '';
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    if (seg === '**') {
      // zero or more non-hidden folders (and, at the end, any non-hidden file below)
      re += last ? '(?:(?!\\.)[^/]*/)*(?!\\.)[^/]*' : '(?:(?!\\.)[^/]*/)*';
      return;
    }
    re += `${seg.startsWith('.') ? '' : '(?!\\.)'}${segmentSource(seg)}${last ? '' : '/'}`;
  });
  return new RegExp(`^${re}$`);
}

/**
 * Split a glob into the folder to walk from (its leading segments without glob syntax) and the
 * pattern relative to it: `media/2024/**\/*.mp4` -> `media/2024` + `**\/*.mp4`.
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

/** Is this folder a finished streamkit package (its segments and init files are outputs, not inputs)? */
async function isPackage(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, MANIFEST_NAME))).isFile();
  } catch {
    return false;
  }
}

/**
 * Walk `root` and yield files (relative `/` paths) for which `accept(rel)` is true. Hidden entries
 * (names starting with `.`, which includes streamkit's staging folders and lock files) and streamkit
 * packages (folders with a streamkit.json) are never entered. Symbolic links to files are followed,
 * links to folders are not (no loops). `maxDepth` limits how many folders deep it goes.
 */
export async function walkFiles(root: string, accept: (rel: string) => boolean, maxDepth = Infinity): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string, rel: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (depth < maxDepth && !(await isPackage(path))) await visit(path, r, depth + 1);
      } else if (e.isFile() || (e.isSymbolicLink() && (await stat(path).then((s) => s.isFile(), () => false)))) {
        if (accept(r)) out.push(path);
      }
    }
  };
  await visit(resolve(root), '', 0);
  return out;
}

/** Expand a glob to the absolute paths of matching files (sorted), walking from its base folder. */
export async function expandGlob(pattern: string, cwd: string): Promise<{ base: string; files: string[] }> {
  const { base, rest } = splitGlob(pattern);
  const root = resolve(cwd, base);
  const re = globToRegExp(rest);
  const depth = rest.split('/').includes('**') ? Infinity : rest.split('/').length - 1;
  return { base: root, files: await walkFiles(root, (rel) => re.test(rel), depth) };
}
