import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { PresetError, StreamkitError, type PresetIssue } from '../errors.js';
import { installDir } from '../install-dir.js';
import { presetDocument, presetSchema, type Preset } from './schema.js';

/** Folder of the built-in presets (presets/ in the folder streamkit is installed in). */
const builtinPresetDir = join(installDir(), 'presets');

export interface ResolvedPreset {
  /** the preset's name (its `name` key, else the file stem) */
  name: string;
  /** the file it was loaded from */
  file: string;
  /** every file that contributed, the loaded one first, then its bases */
  chain: string[];
  preset: Preset;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Does this string name a file rather than a built-in? */
function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || /\.(ya?ml|json)$/i.test(ref);
}

export async function listBuiltinPresets(): Promise<{ name: string; description: string; file: string }[]> {
  const files = (await readdir(builtinPresetDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out = [];
  for (const f of files) {
    const file = join(builtinPresetDir, f);
    const resolved = await loadPreset(file);
    out.push({ name: resolved.name, description: resolved.preset.description ?? '', file });
  }
  return out;
}

async function findPresetFile(ref: string, fromDir: string | null): Promise<string> {
  if (looksLikePath(ref)) return isAbsolute(ref) ? ref : resolve(fromDir ?? process.cwd(), ref);
  for (const ext of ['.yaml', '.yml', '.json']) {
    const candidate = join(builtinPresetDir, ref + ext);
    try {
      await readFile(candidate);
      return candidate;
    } catch {
      /* try the next extension */
    }
  }
  const names = (await readdir(builtinPresetDir).catch(() => [] as string[])).filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => f.replace(/\.(ya?ml|json)$/, ''));
  throw new StreamkitError('PRESET_NOT_FOUND', `No built-in preset named "${ref}".`, {
    hint: `Built-in presets: ${names.join(', ')}. To use a file, give a path such as ./${ref}.yaml.`,
    details: { preset: ref },
  });
}

async function readPresetDocument(file: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StreamkitError('PRESET_NOT_FOUND', `Cannot read preset file ${file}${code === 'ENOENT' ? ': no such file' : `: ${code ?? String(error)}`}.`, {
      hint: 'Give a built-in preset name (see `streamkit presets`) or the path of a YAML/JSON preset file.',
      details: { file },
      cause: error,
    });
  }
  let doc: unknown;
  try {
    doc = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `line ${error.linePos[0].line}` : '(root)';
    throw new PresetError([
      { file, path: where, message: `expected valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}` },
    ]);
  }
  if (!isObject(doc)) {
    throw new PresetError([
      { file, path: '', message: `expected a mapping of preset keys, got ${doc === null ? 'an empty document' : Array.isArray(doc) ? 'a list' : typeof doc}` },
    ]);
  }
  return doc;
}

/**
 * Deep merge: objects merge key by key, everything else (arrays included: a rung list replaces the
 * base's whole list) is replaced. `origins` records which file set each key path.
 */
function mergeInto(base: JsonObject, over: JsonObject, file: string, origins: Map<string, string>, prefix: string[] = []): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const path = [...prefix, key];
    const current = out[key];
    if (isObject(current) && isObject(value)) {
      out[key] = mergeInto(current, value, file, origins, path);
    } else {
      out[key] = value;
      for (const k of [...origins.keys()]) if (k === path.join('.') || k.startsWith(`${path.join('.')}.`)) origins.delete(k);
    }
    origins.set(path.join('.'), file);
  }
  return out;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function originOf(path: readonly PropertyKey[], origins: Map<string, string>, fallback: string): string {
  for (let n = path.length; n > 0; n--) {
    const key = path.slice(0, n).map(String).join('.');
    const file = origins.get(key);
    if (file) return file;
  }
  return fallback;
}

function describeIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string }[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ path: [...issue.path, k], message: `unknown key "${k}" (check the spelling; see README "Preset format")` }));
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // report every issue of the most specific branch (the one that got deepest into the input: e.g.
    // `video` as one ladder, not as a list, when a mapping was given)
    const depth = (branch: readonly z.core.$ZodIssue[]): number => Math.max(-1, ...branch.map((i) => i.path.length + (i.code === 'invalid_type' && i.path.length === 0 ? -1 : 0)));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
    if (best && best.length > 0) return best.flatMap((i) => describeIssue({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue));
  }
  if (issue.code === 'invalid_type') {
    const input = (issue as { input?: unknown }).input;
    const got =
      input === undefined
        ? 'nothing (the key is missing)'
        : input === null
          ? 'null'
          : Array.isArray(input)
            ? 'a list'
            : typeof input === 'object'
              ? 'a mapping'
              : `${typeof input} ${JSON.stringify(input)}`;
    return [
      { path: [...issue.path], message: `expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}, got ${got}` },
    ];
  }
  return [{ path: [...issue.path], message: issue.message }];
}

/** Load a preset by built-in name or file path, resolve `extends`, validate. */
export async function loadPreset(ref: string, fromDir: string | null = null): Promise<ResolvedPreset> {
  const chain: { file: string; doc: JsonObject }[] = [];
  let nextRef: string | undefined = ref;
  let dir = fromDir;
  while (nextRef !== undefined) {
    const file = await findPresetFile(nextRef, dir);
    if (chain.some((c) => c.file === file)) {
      throw new PresetError([
        { file: chain[chain.length - 1]!.file, path: 'extends', message: `expected no cycle, but ${[...chain.map((c) => c.file), file].join(' -> ')} loops` },
      ]);
    }
    const doc = await readPresetDocument(file);
    chain.push({ file, doc });
    const ext = doc['extends'];
    if (ext !== undefined && typeof ext !== 'string') {
      throw new PresetError([{ file, path: 'extends', message: 'expected the name of a built-in preset or a path to a preset file' }]);
    }
    nextRef = ext;
    dir = dirname(file);
  }

  const origins = new Map<string, string>();
  let merged: JsonObject = {};
  for (const { file, doc } of [...chain].reverse()) merged = mergeInto(merged, doc, file, origins);
  delete merged['extends'];
  const top = chain[0]!.file;
  if (typeof chain[0]!.doc['name'] !== 'string') merged['name'] = basename(top).replace(/\.(ya?ml|json)$/i, '');

  const result = presetSchema.safeParse(merged, { reportInput: true });
  if (!result.success) {
    const issues: PresetIssue[] = result.error.issues.flatMap(describeIssue).map(({ path, message }) => ({
      file: originOf(path, origins, top),
      path: formatPath(path),
      message,
    }));
    throw new PresetError(issues, { hint: 'Fix the preset file; `streamkit presets validate FILE` checks one without encoding.' });
  }
  return { name: result.data.name ?? basename(top), file: top, chain: chain.map((c) => c.file), preset: result.data };
}

/** Validate an already-resolved preset object (e.g. one carried inside a queue job). */
export function parsePresetObject(obj: unknown, source = '(job)'): Preset {
  // a parsed multi-ladder preset keeps its list in `ladders` (schema.ts presetDocument): read it as the list it was
  const doc = isObject(obj) && Array.isArray(obj['ladders']) ? presetDocument(obj as unknown as Preset) : obj;
  const result = presetSchema.safeParse(doc, { reportInput: true });
  if (!result.success) {
    throw new PresetError(result.error.issues.flatMap(describeIssue).map(({ path, message }) => ({ file: source, path: formatPath(path), message })));
  }
  return result.data;
}
