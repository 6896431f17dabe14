import { resolve } from 'node:path';
import type { JobsOptions } from 'bullmq';
import { StreamkitError } from '../errors.js';
import type { HardwareRequest } from '../encoder/select.js';
import { jobIdentity } from '../package/job-identity.js';
import { DEFAULT_OUTPUT_TEMPLATE, isUrl, outputFor } from '../job/template.js';
import { canonicalJson, sha256, type InputFingerprint } from '../package/manifest.js';
import { loadPreset, parsePresetObject } from '../preset/load.js';
import type { StageName } from '../events.js';

/**
 * What a queue job carries. Everything a worker needs is inside: absolute input path (on storage
 * every worker sees) or http(s) URL, absolute destination, and the preset already resolved and
 * validated on the machine that enqueued it, so workers need no preset files.
 */

export const JOB_NAME = 'transcode';
export const JOB_DATA_VERSION = 1;

export interface QueueJobData {
  v: typeof JOB_DATA_VERSION;
  input: string;
  output: string;
  preset: { name: string; hash: string; resolved: unknown };
  /** the options that are part of the job key (frame rate of raw inputs, hardware request) */
  options: { frameRate: string | null; hw: HardwareRequest; perTitle?: boolean };
  /** manifest job key when enqueued (input fingerprint + preset hash + options) */
  jobKey: string;
  fingerprint: InputFingerprint;
  /** re-encode even when the destination is already current, replacing it */
  force: boolean;
}

/** What a finished job returns (stored by BullMQ as the job's return value). */
export interface QueueJobResult {
  output: string;
  /** null for presets without HLS packaging (MP4/FLV files only) */
  master: string | null;
  /** true when the destination was already current and nothing was encoded */
  skipped: boolean;
  reason?: string;
  elapsedSeconds: number;
  worker: { host: string; pid: number };
}

/** Progress as stored with job.updateProgress (shown by `queue status`). */
export interface QueueJobProgress {
  stage: 'check' | StageName;
  percent: number | null;
  fps: number | null;
  speed: number | null;
  etaSeconds: number | null;
  worker: { host: string; pid: number };
}

/** Where queue inputs must be: what a missing input's error says. */
export const QUEUE_INPUT_HINT = 'Queue inputs must be paths every worker can read (shared storage, same path everywhere) or http(s) URLs.';

/**
 * The package folder for one input: the output template engine of `batch -o` (job/template.ts),
 * made absolute against `cwd` (workers run elsewhere, so jobs carry absolute paths only). A URL has
 * no folder: a template using `{dir}` is refused for it.
 */
export function expandOutputTemplate(template: string, input: string, presetName: string, cwd = process.cwd()): string {
  return outputFor({ template, input: isUrl(input) ? input : resolve(cwd, input), presetName, relativeTo: cwd, urlDir: null });
}

/**
 * The BullMQ job id: a hash of the job key and the destination. Enqueueing the same input with
 * the same preset, options and destination twice gives the same id, and BullMQ keeps one job.
 */
export function queueJobId(key: string, output: string): string {
  return `sk-${sha256(canonicalJson({ jobKey: key, output })).slice(0, 32)}`;
}

export interface BuildJobOptions {
  preset: string;
  output?: string | undefined;
  frameRate?: string | undefined;
  hw?: HardwareRequest | undefined;
  /** --per-title / --no-per-title; absent: the preset decides */
  perTitle?: boolean | undefined;
  force?: boolean | undefined;
  cwd?: string | undefined;
}

export interface BuiltJob {
  id: string;
  data: QueueJobData;
}

/** Resolve the preset once, then describe one job per input (nothing is enqueued here). */
export async function buildJobs(inputs: readonly string[], options: BuildJobOptions): Promise<BuiltJob[]> {
  const resolved = await loadPreset(options.preset);
  // what the worker will see after re-validating the carried object: hash that
  const preset = parsePresetObject(resolved.preset, resolved.file);
  if (!preset.packaging.hls) {
    throw new StreamkitError('USAGE', `Preset ${resolved.name} has no HLS packaging; queue workers write HLS packages.`, { hint: 'Add packaging.hls to the preset.' });
  }
  const cwd = options.cwd ?? process.cwd();
  const template = options.output ?? DEFAULT_OUTPUT_TEMPLATE;
  const jobs: BuiltJob[] = [];
  const byOutput = new Map<string, string>();
  for (const raw of inputs) {
    const input = isUrl(raw) ? raw : resolve(cwd, raw);
    const id = await jobIdentity(input, preset, options, QUEUE_INPUT_HINT);
    const output = expandOutputTemplate(template, raw, resolved.name, cwd);
    const previous = byOutput.get(output);
    if (previous !== undefined && previous !== input) {
      throw new StreamkitError('USAGE', `${previous} and ${input} would both be written to ${output}.`, {
        hint: 'Use {stem} (and {dir}) in --output so every input gets its own package folder.',
      });
    }
    if (previous !== undefined) continue; // the same input twice on one command line: one job
    byOutput.set(output, input);
    jobs.push({
      id: queueJobId(id.key, output),
      data: {
        v: JOB_DATA_VERSION,
        input,
        output,
        preset: { name: resolved.name, hash: id.presetHash, resolved: preset },
        options: id.options,
        jobKey: id.key,
        fingerprint: id.fingerprint,
        force: options.force ?? false,
      },
    });
  }
  return jobs;
}

export interface RetryPolicy {
  /** tries in all, the first included */
  attempts: number;
  /** first retry after this many ms, doubling each time */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 30_000 };

/** Finished jobs are kept (so duplicates are recognised and `queue status` can show them), then expire. */
const KEEP_COMPLETED = { age: 7 * 24 * 3600, count: 10_000 };
const KEEP_FAILED = { age: 30 * 24 * 3600, count: 10_000 };

export function jobAddOptions(id: string, retry: RetryPolicy): JobsOptions {
  return {
    jobId: id,
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/** Check what a worker took from Redis before trusting it (older/newer streamkit, hand-made jobs). */
export function parseJobData(data: unknown): QueueJobData {
  const d = data as Partial<QueueJobData> | null;
  const bad = (what: string): never => {
    throw new StreamkitError('USAGE', `This job was not made by a compatible \`streamkit queue add\`: ${what}.`, { hint: 'Enqueue it again with this version of streamkit.' });
  };
  if (!d || typeof d !== 'object') return bad('no job data');
  if (d.v !== JOB_DATA_VERSION) return bad(`job data version ${String(d.v)}, expected ${JOB_DATA_VERSION}`);
  if (typeof d.input !== 'string' || (!isUrl(d.input) && !d.input.startsWith('/'))) return bad('input is not an absolute path or http(s) URL');
  if (typeof d.output !== 'string' || !d.output.startsWith('/')) return bad('output is not an absolute path');
  if (!d.preset || typeof d.preset.name !== 'string') return bad('no preset');
  if (!d.options || !['auto', 'cpu', 'nvenc'].includes(String(d.options.hw))) return bad('no hardware option');
  if (d.options.frameRate !== null && typeof d.options.frameRate !== 'string') return bad('bad frame rate option');
  if (d.options.perTitle !== undefined && typeof d.options.perTitle !== 'boolean') return bad('bad per-title option');
  if (typeof d.jobKey !== 'string') return bad('no job key');
  return { ...(d as QueueJobData), force: d.force === true };
}
