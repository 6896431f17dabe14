import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { HardwareRequest } from '../encoder/select.js';
import { StreamkitError } from '../errors.js';
import { presetHash } from '../package/manifest.js';
import { loadPreset, type ResolvedPreset } from '../preset/load.js';
import type { Toolchain } from '../transcode.js';
import { DEFAULT_OUTPUT_TEMPLATE, outputFor, validateTemplate } from '../job/template.js';
import { expandInputs } from './inputs.js';
import { loadJobsFile, type JobSpec } from './jobs-file.js';

/**
 * What a batch will do, decided before anything runs: the jobs (input, preset, output from the
 * template, options), each checked (presets loaded, templates valid, no two jobs writing one
 * output), so a mistake in the 40th job fails the batch before the first one starts.
 */

export interface BatchOptions {
  /** files, folders (searched recursively for media files) and globs, relative to `cwd` */
  inputs?: readonly string[] | undefined;
  /** a YAML/JSON jobs file (see jobs-file.ts); its relative paths are relative to its folder */
  jobsFile?: string | undefined;
  /** jobs given directly (as in a jobs file; relative paths relative to `cwd`) */
  jobs?: readonly JobSpec[] | undefined;
  /** preset for inputs and for jobs without their own */
  preset?: string | undefined;
  /** output template (see job/template.ts); default `{dir}/{stem}-{preset}` */
  output?: string | undefined;
  /** jobs at once; default defaultConcurrency() */
  concurrency?: number | undefined;
  /** redo every job, even current ones, and replace destinations that are not streamkit packages */
  force?: boolean | undefined;
  /** stop at the first failed job (running jobs are cancelled, their staging removed) */
  failFast?: boolean | undefined;
  /** retry a failed job this many times, at once (job/retry.ts says which failures are retried) */
  retries?: number | undefined;
  /** defaults for every job (jobs-file overrides win) */
  frameRate?: string | undefined;
  hw?: HardwareRequest | undefined;
  /** --per-title / --no-per-title for every job (jobs-file overrides win); absent: each preset decides */
  perTitle?: boolean | undefined;
  /** libvmaf's `vmaf` tool for per-title analyses */
  vmaf?: string | undefined;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  toolchain?: Toolchain | undefined;
  /** abort = interrupt: running jobs stop and leave nothing behind, the rest are cancelled */
  signal?: AbortSignal | undefined;
  cwd?: string | undefined;
}

export interface BatchJob {
  /** 1-based position */
  id: number;
  input: string;
  output: string;
  preset: ResolvedPreset;
  presetHash: string;
  frameRate: string | undefined;
  hw: HardwareRequest;
  perTitle: boolean | undefined;
}

export interface BatchPlan {
  jobs: BatchJob[];
  /** folders and globs that matched no file */
  empty: string[];
}

/**
 * Encoders are multi-threaded (x264/x265/SVT-AV1 each use every core), so running more jobs than
 * there are cores only adds memory and context switches. Two or more jobs on bigger machines still
 * help: every job has single-threaded phases (probing, packaging, checksums, the decode check) and
 * encoders scale less than linearly. Hence half the cores, at least one.
 */
export function defaultConcurrency(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || /\.(ya?ml|json)$/i.test(ref);
}

/** Expand inputs and jobs into a checked list of jobs. Nothing is written; usage errors throw. */
export async function planBatch(options: BatchOptions): Promise<BatchPlan> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const specs: { spec: JobSpec; dir: string; from: string }[] = [];
  for (const input of options.inputs ?? []) specs.push({ spec: { input }, dir: cwd, from: 'the command line' });
  for (const spec of options.jobs ?? []) specs.push({ spec, dir: cwd, from: 'the jobs list' });
  if (options.jobsFile) {
    const file = resolve(cwd, options.jobsFile);
    for (const spec of await loadJobsFile(file)) specs.push({ spec, dir: dirname(file), from: file });
  }
  if (options.output !== undefined) validateTemplate(options.output);
  if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
    throw new StreamkitError('USAGE', `Concurrency must be a whole number of at least 1, got ${options.concurrency}.`);
  }
  if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0)) {
    throw new StreamkitError('USAGE', `Retries must be a whole number of at least 0, got ${options.retries}.`);
  }

  const presets = new Map<string, Promise<ResolvedPreset>>();
  const presetFor = (ref: string, dir: string): Promise<ResolvedPreset> => {
    const key = looksLikePath(ref) ? resolve(dir, ref) : ref;
    let p = presets.get(key);
    if (!p) {
      p = loadPreset(ref, dir);
      presets.set(key, p);
    }
    return p;
  };

  const jobs: BatchJob[] = [];
  const empty: string[] = [];
  const byOutput = new Map<string, BatchJob>();
  for (const { spec, dir, from } of specs) {
    const presetRef = spec.preset ?? options.preset;
    if (!presetRef) {
      throw new StreamkitError('USAGE', `No preset for ${spec.input} (from ${from}).`, { hint: 'Give --preset NAME, or a preset for each job in the jobs file.' });
    }
    // a preset named in a jobs file is relative to that file; --preset is relative to the current folder
    const preset = await presetFor(presetRef, spec.preset ? dir : cwd);
    const template = spec.output ?? options.output ?? DEFAULT_OUTPUT_TEMPLATE;
    const templateDir = spec.output ? dir : cwd;
    const expanded = await expandInputs([spec.input], dir);
    empty.push(...expanded.empty);
    for (const { input, base } of expanded.inputs) {
      // a URL's {dir} is the current folder
      const output = outputFor({ template, input, presetName: preset.name, base, relativeTo: templateDir, urlDir: process.cwd() });
      const job: BatchJob = {
        id: 0,
        input,
        output,
        preset,
        presetHash: presetHash(preset.preset),
        frameRate: spec.overrides?.frameRate ?? options.frameRate,
        hw: spec.overrides?.hw ?? options.hw ?? 'auto',
        perTitle: spec.overrides?.perTitle ?? options.perTitle,
      };
      const other = byOutput.get(output);
      if (other) {
        if (other.input === input && other.presetHash === job.presetHash && other.frameRate === job.frameRate && other.hw === job.hw && other.perTitle === job.perTitle) continue; // named twice
        throw new StreamkitError('USAGE', `Two jobs would write the same output ${output}: ${other.input} and ${input}.`, {
          hint: 'Put {stem}, {reldir} or {preset} in the output template (-o) so that every job gets its own folder.',
          details: { output, inputs: [other.input, input] },
        });
      }
      byOutput.set(output, job);
      jobs.push(job);
    }
  }
  jobs.forEach((j, i) => {
    j.id = i + 1;
  });
  return { jobs, empty };
}
