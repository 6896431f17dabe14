import type { HardwareRequest } from '../encoder/select.js';
import { isStreamkitError, StreamkitError } from '../errors.js';
import { checkInputFile } from '../media/probe.js';
import { isHttpUrl } from '../remote.js';
import { fingerprintInput, jobKey, presetHash, type InputFingerprint } from './manifest.js';
import { asksForPerTitle, type Preset } from '../preset/schema.js';

/**
 * What a job is, as one key: the input's fingerprint (path, size, mtime, a hash of its first and
 * last MiB), the hash of the resolved preset, and the options that change the result. Equal keys
 * mean the same work: a package whose streamkit.json holds the key is current (batch and workers
 * skip it), and the queue derives its job ids from it. This module is the one place that computes
 * it; transcode() writes it into the manifest.
 */

/** The options that change what a job produces (part of the key, recorded in the manifest as they are). */
export type JobOptions = {
  /** frame rate of raw elementary-stream inputs */
  frameRate: string | null;
  hw: HardwareRequest;
  /** --per-title (true) or --no-per-title (false) where it changes what the preset decides; absent otherwise (the preset's hash holds its own choice) */
  perTitle?: boolean;
};

type JobOptionsInput = { frameRate?: string | null | undefined; hw?: HardwareRequest | undefined; perTitle?: boolean | undefined };

export function jobOptions(options: JobOptionsInput): JobOptions {
  return { frameRate: options.frameRate ?? null, hw: options.hw ?? 'auto', ...(options.perTitle !== undefined ? { perTitle: options.perTitle } : {}) };
}

export interface JobIdentity {
  key: string;
  fingerprint: InputFingerprint;
  presetHash: string;
  options: JobOptions;
}

/**
 * Fingerprint the input and compute the job key. `preset` is the resolved preset object (what
 * `presetHash` hashes). An input that cannot be read is INPUT_MISSING / INPUT_UNREADABLE (exit 3);
 * `hint` says where inputs must be for the caller (a queue worker: on shared storage).
 */
export async function jobIdentity(input: string, preset: Preset, options: JobOptionsInput, hint?: string): Promise<JobIdentity> {
  let fingerprint: InputFingerprint;
  try {
    // the probe's own checks first (the same errors as transcode's); a FIFO is never opened
    if (!isHttpUrl(input)) await checkInputFile(input);
    fingerprint = await fingerprintInput(input);
  } catch (error) {
    throw unreadableInput(input, error, hint);
  }
  const hash = presetHash(preset);
  // --per-title / --no-per-title count only where they change what the preset decides (its hash holds that)
  const presetWants = asksForPerTitle(preset);
  const opts = jobOptions({ ...options, perTitle: options.perTitle === undefined || options.perTitle === presetWants ? undefined : options.perTitle });
  return { key: jobKey(fingerprint, hash, opts), fingerprint, presetHash: hash, options: opts };
}

function unreadableInput(input: string, error: unknown, hint: string | undefined): StreamkitError {
  if (isStreamkitError(error)) {
    if (!hint || error.code !== 'INPUT_MISSING') return error;
    return new StreamkitError(error.code, error.message, { hint, details: error.details, cause: error });
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StreamkitError('INPUT_MISSING', `Input ${input} does not exist.`, { ...(hint ? { hint } : {}), details: { input }, cause: error });
  return new StreamkitError('INPUT_UNREADABLE', `Cannot read input ${input}: ${code ?? String(error)}.`, { ...(hint ? { hint } : {}), details: { input }, cause: error });
}
