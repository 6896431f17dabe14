import { basename, dirname, extname, relative, resolve, sep } from 'node:path';
import { StreamkitError } from '../errors.js';
import { isHttpUrl } from '../remote.js';

/**
 * Output templates, the one engine for `batch -o`, jobs-file `output` and `queue add --output`:
 * `'{dir}/{stem}-{preset}'`. Placeholders:
 * - `{dir}`    the input's folder (absolute); for an http(s) URL see `urlDir` below
 * - `{stem}`   the input's file name without its extension
 * - `{name}`   the input's file name with its extension
 * - `{ext}`    the extension without the dot (`mp4`)
 * - `{preset}` the preset's name
 * - `{reldir}` the input's folder relative to the folder or glob base it was found under (empty for
 *              inputs named directly), to mirror a tree: `-o '/srv/hls/{reldir}/{stem}'`
 * A relative result is taken relative to a folder the caller names (the current folder, or the
 * jobs file's folder).
 */

export const DEFAULT_OUTPUT_TEMPLATE = '{dir}/{stem}-{preset}';

export const TEMPLATE_PLACEHOLDERS = ['dir', 'stem', 'name', 'ext', 'preset', 'reldir'] as const;
export type TemplatePlaceholder = (typeof TEMPLATE_PLACEHOLDERS)[number];
/** a null value is a placeholder this input has no value for (`{dir}` of a URL, where refused) */
export type TemplateVars = Record<Exclude<TemplatePlaceholder, 'dir'>, string> & { dir: string | null };

const TOKEN = /\{([^{}]*)\}/g;

export function isUrl(input: string): boolean {
  return isHttpUrl(input);
}

/** Check a template's syntax without inputs: known placeholders, balanced braces, not empty. */
export function validateTemplate(template: string): void {
  if (template.trim() === '') throw new StreamkitError('USAGE', 'The output template is empty.', { hint: `Give a template such as ${DEFAULT_OUTPUT_TEMPLATE}.` });
  for (const m of template.matchAll(TOKEN)) {
    if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      throw new StreamkitError('USAGE', `Unknown placeholder {${m[1]}} in the output template ${template}.`, {
        hint: `Placeholders: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}.`,
        details: { template },
      });
    }
  }
  const rest = template.replace(TOKEN, '');
  if (rest.includes('{') || rest.includes('}')) {
    throw new StreamkitError('USAGE', `Unbalanced brace in the output template ${template}.`, {
      hint: `Placeholders look like {stem}; the default template is ${DEFAULT_OUTPUT_TEMPLATE}.`,
      details: { template },
    });
  }
}

/**
 * The placeholder values for an input (an absolute path, or an http(s) URL) found under `base` (a
 * folder; null for inputs named directly). A URL has no folder: its `{dir}` is `urlDir`, or none
 * (null: a template using `{dir}` is refused for it).
 */
export function templateVars(input: string, presetName: string, base: string | null, urlDir: string | null = process.cwd()): TemplateVars {
  if (isUrl(input)) {
    const path = new URL(input).pathname;
    const name = basename(path) || 'stream';
    return { dir: urlDir, stem: basename(name, extname(name)) || 'stream', name, ext: extname(name).slice(1), preset: presetName, reldir: '' };
  }
  const name = basename(input);
  const rel = base === null ? '' : relative(base, dirname(input));
  return {
    dir: dirname(input),
    stem: basename(name, extname(name)) || name,
    name,
    ext: extname(name).slice(1),
    preset: presetName,
    reldir: rel.startsWith('..') ? '' : rel,
  };
}

/** Fill in a template. Throws on unknown placeholders (see validateTemplate) and on `{dir}` without a value. */
export function expandTemplate(template: string, vars: TemplateVars, input?: string): string {
  validateTemplate(template);
  return template.replace(TOKEN, (_m, key: TemplatePlaceholder) => {
    const value = vars[key];
    if (value === null) {
      throw new StreamkitError('USAGE', `The output template "${template}" uses {${key}}, but ${input ?? 'the input'} is a URL and has no folder.`, {
        hint: 'Give URL inputs a template without {dir}, on storage every worker sees, e.g. --output /srv/media/out/{stem}-{preset}.',
        details: { template, ...(input ? { input } : {}) },
      });
    }
    return value;
  });
}

export interface OutputFor {
  template: string;
  /** absolute path or http(s) URL */
  input: string;
  presetName: string;
  /** the folder or glob base the input was found under; null when named directly */
  base?: string | null | undefined;
  /** what a relative result is relative to */
  relativeTo: string;
  /** `{dir}` of URL inputs; null refuses `{dir}` for them */
  urlDir?: string | null | undefined;
}

/**
 * The absolute package folder for one input. Refuses (USAGE) an output that would replace the
 * input itself or a folder above it.
 */
export function outputFor(o: OutputFor): string {
  const vars = templateVars(o.input, o.presetName, o.base ?? null, o.urlDir === undefined ? o.relativeTo : o.urlDir);
  const output = resolve(o.relativeTo, expandTemplate(o.template, vars, o.input));
  if (!isUrl(o.input) && (o.input === output || o.input.startsWith(output + sep))) {
    throw new StreamkitError('USAGE', `The output ${output} for ${o.input} would replace the input itself.`, {
      hint: `Use an output template that names a new folder, such as ${DEFAULT_OUTPUT_TEMPLATE}.`,
      details: { input: o.input, output },
    });
  }
  return output;
}
