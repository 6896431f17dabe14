import { basename, dirname, extname, relative } from 'node:path';
import { StreamkitError } from '../errors.js';

/**
 * Output templates: `-o '{dir}/{stem}-{preset}'`. Placeholders:
 * - `{dir}`    the input's folder (absolute)
 * - `{stem}`   the input's file name without its extension
 * - `{name}`   the input's file name with its extension
 * - `{ext}`    the extension without the dot (`mp4`)
 * - `{preset}` the preset's name
 * - `{reldir}` the input's folder relative to the folder or glob base it was found under (empty for
 *              inputs named directly), to mirror a tree: `-o '/srv/hls/{reldir}/{stem}'`
 * A relative result is taken relative to the current folder (or to the jobs file's folder).
 */

export const DEFAULT_OUTPUT_TEMPLATE = '{dir}/{stem}-{preset}';

export const TEMPLATE_PLACEHOLDERS = ['dir', 'stem', 'name', 'ext', 'preset', 'reldir'] as const;
export type TemplatePlaceholder = (typeof TEMPLATE_PLACEHOLDERS)[number];
export type TemplateVars = Record<TemplatePlaceholder, string>;

const TOKEN = /\{([^{}]*)\}/g;

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
    throw new StreamkitError('USAGE', `Unbalanced brace in the output template ${template}.`, { hint: `Placeholders look like {stem}; the default template is ${DEFAULT_OUTPUT_TEMPLATE}.`, details: { template } });
  }
}

/** The placeholder values for an input (absolute path) found under `base` (a folder). */
export function templateVars(input: string, presetName: string, base: string | null): TemplateVars {
  if (/^https?:\/\//i.test(input)) {
    const path = new URL(input).pathname;
    const name = basename(path) || 'stream';
    return { dir: process.cwd(), stem: basename(name, extname(name)) || 'stream', name, ext: extname(name).slice(1), preset: presetName, reldir: '' };
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

/** Fill in a template. Throws on unknown placeholders (see validateTemplate). */
export function expandTemplate(template: string, vars: TemplateVars): string {
  validateTemplate(template);
  return template.replace(TOKEN, (_m, key: TemplatePlaceholder) => vars[key]);
}
