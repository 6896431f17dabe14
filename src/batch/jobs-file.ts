import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { StreamkitError } from '../errors.js';
import { validateTemplate } from '../job/template.js';

/**
 * Jobs file (YAML or JSON): a list of jobs, or `{ jobs: [...] }`.
 *
 *   - input: media/intro.mp4        # a file, a folder or a glob, relative to the jobs file
 *     preset: h264-ladder           # built-in name or preset file (relative to the jobs file); default --preset
 *     output: /srv/hls/{stem}       # output template; default -o, else {dir}/{stem}-{preset}
 *     overrides: { frameRate: 30000/1001, hw: cpu }
 */

const frameRate = z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?(\/\d+)?$/, 'expected a frame rate such as 25, 29.97 or 30000/1001')]).transform((v) => String(v));

export const jobSpecSchema = z.strictObject({
  input: z.string().min(1, 'expected a file, folder or glob'),
  preset: z.string().min(1).optional(),
  output: z
    .string()
    .min(1)
    .superRefine((t, ctx) => {
      try {
        validateTemplate(t);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
  overrides: z
    .strictObject({
      frameRate: frameRate.optional(),
      hw: z.enum(['auto', 'cpu', 'nvenc']).optional(),
      perTitle: z.boolean().optional(),
    })
    .optional(),
});
export type JobSpec = z.output<typeof jobSpecSchema>;

const jobsFileSchema = z.union([z.array(jobSpecSchema), z.strictObject({ jobs: z.array(jobSpecSchema) })]).transform((v) => (Array.isArray(v) ? v : v.jobs));

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(root)';
}

function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // a list is the common form: report its branch unless the document is a mapping
      const branch = issue.errors.find((b) => b.every((i) => i.code !== 'invalid_type' || i.path.length > 0)) ?? issue.errors[0]!;
      for (const i of branch)
        out.push({
          path: pathText([...issue.path, ...i.path]),
          message: i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')} (expected input, preset, output, overrides)` : i.message,
        });
    } else if (issue.code === 'unrecognized_keys') {
      out.push({ path: pathText(issue.path), message: `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` });
    } else {
      out.push({ path: pathText(issue.path), message: issue.message });
    }
  }
  return out;
}

/** Validate an already-parsed jobs document (the part of loadJobsFile after reading). */
export function parseJobs(doc: unknown, file = '(jobs)'): JobSpec[] {
  const r = jobsFileSchema.safeParse(doc);
  if (!r.success) {
    const issues = issuesOf(r.error);
    const first = issues[0] ?? { path: '(root)', message: 'invalid' };
    throw new StreamkitError('USAGE', `Invalid jobs file ${file}: ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, {
      hint: 'A jobs file is a list of { input, preset?, output?, overrides?: { frameRate?, hw?, perTitle? } } (see README "Batch").',
      details: { file, issues },
    });
  }
  return r.data;
}

export async function loadJobsFile(file: string): Promise<JobSpec[]> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StreamkitError('INPUT_MISSING', `Cannot read the jobs file ${abs}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}.`, {
      details: { file: abs },
      cause: error,
    });
  }
  let doc: unknown;
  try {
    doc = extname(abs).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new StreamkitError(
      'USAGE',
      `Invalid jobs file ${abs}: not valid ${extname(abs).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
      { details: { file: abs }, cause: error },
    );
  }
  return parseJobs(doc, abs);
}
