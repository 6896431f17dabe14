import { stat } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { StreamkitError } from '../errors.js';
import { expandGlob, isGlob, walkFiles } from './glob.js';
import { isHttpUrl } from '../remote.js';

/**
 * What a folder given as an input contributes: media files by extension, recursively (hidden
 * entries and finished streamkit packages are skipped). `.ts` is deliberately not in the list (HLS
 * segments and TypeScript share it), nor are raw `.h264`/`.hevc` streams (they need --framerate):
 * name such files directly or with a glob (`'rec/**\/*.ts'`).
 */
const MEDIA_EXTENSIONS: readonly string[] = [
  '3gp',
  'avi',
  'f4v',
  'flv',
  'm2ts',
  'm2v',
  'm4v',
  'mkv',
  'mov',
  'mp4',
  'mpeg',
  'mpg',
  'mts',
  'mxf',
  'ogv',
  'vob',
  'webm',
  'wmv',
  'y4m',
];

function isMediaFile(path: string): boolean {
  return MEDIA_EXTENSIONS.includes(extname(path).slice(1).toLowerCase());
}

export interface ExpandedInput {
  /** absolute path (or an http(s) URL) */
  input: string;
  /** the folder or glob base it was found under; null for inputs named directly */
  base: string | null;
}

export interface ExpandResult {
  inputs: ExpandedInput[];
  /** folders or globs that matched nothing (not an error: a cron-watched folder may be empty) */
  empty: string[];
}

/**
 * Turn input arguments into files: an existing file is itself (whatever its extension), an existing
 * folder is walked recursively for media files, anything with glob syntax is matched (every file
 * type; hidden files only by a `.` pattern), an http(s) URL is kept. A plain path that does not exist
 * is an error (a typo should not silently become an empty batch).
 */
export async function expandInputs(specs: readonly string[], cwd: string): Promise<ExpandResult> {
  const inputs: ExpandedInput[] = [];
  const empty: string[] = [];
  for (const spec of specs) {
    if (isHttpUrl(spec)) {
      inputs.push({ input: spec, base: null });
      continue;
    }
    const abs = resolve(cwd, spec);
    const st = await stat(abs).catch(() => null);
    if (st?.isDirectory()) {
      const files = await walkFiles(abs, isMediaFile);
      if (files.length === 0) empty.push(spec);
      for (const f of files) inputs.push({ input: f, base: abs });
    } else if (st) {
      inputs.push({ input: abs, base: null });
    } else if (isGlob(spec)) {
      const { base, files } = await expandGlob(spec, cwd);
      if (files.length === 0) empty.push(spec);
      for (const f of files) inputs.push({ input: f, base });
    } else {
      throw new StreamkitError('INPUT_MISSING', `Input ${abs} does not exist.`, {
        hint: 'Give files, folders (searched recursively for media files) or quoted globs such as "media/**/*.mp4".',
        details: { input: abs, folder: dirname(abs) },
      });
    }
  }
  return { inputs, empty };
}
