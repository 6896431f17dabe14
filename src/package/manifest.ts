import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import type { ColourPlan } from '../media/colour.js';
import type { SyncReport } from './av-sync.js';
import type { SubtitleReport } from './subtitles.js';
import type { PerTitleReport } from '../pipeline/per-title.js';
import type { DashReport } from './dash.js';
import type { ThumbnailsReport } from './thumbnails.js';
import { isHttpUrl } from '../remote.js';

/**
 * streamkit.json: written into every finished package. It says what made the package (input
 * fingerprint, resolved preset and its hash, options, ffmpeg and streamkit versions) and what is in
 * it (every file with size and SHA-256). A package whose manifest matches the job and whose files are
 * all there at their recorded sizes is current: batch runs and queue workers skip it.
 */

export const MANIFEST_NAME = 'streamkit.json';
const MANIFEST_VERSION = 1;

export interface InputFingerprint {
  /** absolute path or URL */
  input: string;
  size: number | null;
  mtimeMs: number | null;
  /** SHA-256 over the size and the first and last MiB: cheap on big files, changes with any edit that changes them */
  sample: string | null;
}

export interface ManifestOutput {
  path: string;
  size: number;
  sha256: string;
}

export interface ManifestRung {
  name: string;
  codec: string;
  encoder: string;
  width: number;
  height: number;
  /** the CODECS string read from the bitstream, peak and average BANDWIDTH (audio included); absent without HLS */
  codecs?: string[];
  bandwidth?: number;
  averageBandwidth?: number;
}

export interface Manifest {
  manifestVersion: number;
  streamkitVersion: string;
  createdAt: string;
  /** hash of input fingerprint + preset hash + options: equal keys mean the same job */
  jobKey: string;
  input: InputFingerprint;
  preset: { name: string; hash: string; resolved: unknown };
  options: Record<string, unknown>;
  ffmpeg: { path: string; version: string };
  hardware: string;
  /** the encoder of the first (or only) video ladder; every rung's own is in `rungs` */
  encoder: string;
  /** every video rung: its codec and encoder (a multi-codec package has several), and what HLS measured */
  rungs?: ManifestRung[];
  /** where each HLS rendition starts against the source's start times (package/av-sync.ts); absent without HLS */
  avSync?: SyncReport;
  /** what every rung's colour is and why: range, bit depth, tone mapping, tags, HDR10 metadata (media/colour.ts) */
  colour?: Omit<ColourPlan, 'notes'>;
  /** every decision the plan reported (dropped rungs, colour, files...), as the run printed them */
  notes?: string[];
  /** poster.jpg, thumbnails.vtt and the sprite sheets (package/thumbnails.ts); absent when none were made */
  thumbnails?: ThumbnailsReport;
  /** the WebVTT subtitle renditions (package/subtitles.ts); absent when none were made */
  subtitles?: SubtitleReport[];
  /** manifest.mpd over the HLS package's fMP4 segments (package/dash.ts); absent without packaging.dash */
  dash?: DashReport;
  /** a per-title job: the metric, samples, candidates, hull, chosen rungs with predicted and measured quality (pipeline/per-title.ts) */
  perTitle?: PerTitleReport;
  outputs: ManifestOutput[];
}

/** JSON with sorted keys, so equal objects hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function presetHash(resolvedPreset: unknown): string {
  return sha256(canonicalJson(resolvedPreset));
}

export async function fingerprintInput(input: string): Promise<InputFingerprint> {
  if (isHttpUrl(input)) return { input, size: null, mtimeMs: null, sample: null };
  const path = resolve(input);
  const st = await stat(path);
  const chunk = 1024 * 1024;
  const h = createHash('sha256').update(String(st.size));
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(chunk, st.size));
    await fh.read(head, 0, head.length, 0);
    h.update(head);
    if (st.size > chunk) {
      const tailLen = Math.min(chunk, st.size - chunk);
      const tail = Buffer.alloc(tailLen);
      await fh.read(tail, 0, tailLen, st.size - tailLen);
      h.update(tail);
    }
  } finally {
    await fh.close();
  }
  return { input: path, size: st.size, mtimeMs: Math.round(st.mtimeMs), sample: h.digest('hex') };
}

export function jobKey(input: InputFingerprint, presetHashValue: string, options: Record<string, unknown>): string {
  return sha256(canonicalJson({ input, preset: presetHashValue, options }));
}

/** SHA-256 of a file, read through `buf` (reused by the caller: no garbage per chunk or per file). */
async function hashFile(path: string, buf: Buffer): Promise<string> {
  const h = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return h.digest('hex');
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else if (e.isFile() && !(dir === root && e.name === MANIFEST_NAME)) out.push(p);
  }
  return out.sort();
}

/** Files hashed at once (libuv's default thread pool reads 4 at a time anyway), and each one's read buffer. */
const HASH_CONCURRENCY = 4;
const HASH_BUFFER_BYTES = 256 * 1024;

/** A file's SHA-256 computed earlier, valid while the file keeps that size and mtime (package/segment-facts.ts). */
export interface KnownHash {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/**
 * Describe every file in a finished package folder (sizes and SHA-256). Files in `known` (by path
 * relative to `root`) that still have the recorded size and mtime are not read again: packaging
 * hashed every segment when it read it. The rest are read a few files at a time, each reader with
 * its own reused buffer: a two-hour ladder has thousands of segments, and a read stream on each at
 * once held thousands of descriptors and buffers, so memory grew with the input's length.
 */
export async function describeOutputs(root: string, known: ReadonlyMap<string, KnownHash> = new Map()): Promise<ManifestOutput[]> {
  const files = await listFiles(root);
  const out = new Array<ManifestOutput>(files.length);
  let next = 0;
  const reader = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(HASH_BUFFER_BYTES);
    while (next < files.length) {
      const i = next++;
      const f = files[i]!;
      const path = relative(root, f);
      const st = statSync(f); // one system call; an asynchronous stat costs ~15 times the CPU, per file
      const k = known.get(path);
      out[i] = { path, size: st.size, sha256: k && k.size === st.size && k.mtimeMs === st.mtimeMs ? k.sha256 : await hashFile(f, buf) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, files.length) }, reader));
  return out;
}

export async function writeManifest(
  root: string,
  manifest: Omit<Manifest, 'outputs' | 'manifestVersion' | 'createdAt'>,
  known?: ReadonlyMap<string, KnownHash>,
): Promise<Manifest> {
  const full: Manifest = { manifestVersion: MANIFEST_VERSION, createdAt: new Date().toISOString(), ...manifest, outputs: await describeOutputs(root, known) };
  await writeFile(join(root, MANIFEST_NAME), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

const fingerprintSchema = z.object({
  input: z.string(),
  size: z.number().nonnegative().nullable(),
  mtimeMs: z.number().nullable(),
  sample: z.string().nullable(),
});

/** a path inside the package: relative, without `..` (checkCurrent stats and hashes these) */
const outputPath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes('..'), 'expected a path inside the package');

/**
 * What a streamkit.json must hold to be trusted. Unknown keys are allowed (a newer streamkit may add
 * some within the same manifest version); a different manifestVersion is not this format.
 */
const manifestSchema = z.object({
  manifestVersion: z.literal(MANIFEST_VERSION),
  streamkitVersion: z.string(),
  createdAt: z.string(),
  jobKey: z.string().min(1),
  input: fingerprintSchema,
  preset: z.object({ name: z.string(), hash: z.string(), resolved: z.unknown() }),
  options: z.record(z.string(), z.unknown()),
  ffmpeg: z.object({ path: z.string(), version: z.string() }),
  hardware: z.string(),
  encoder: z.string(),
  thumbnails: z
    .object({
      poster: outputPath,
      posterFrom: z.enum(['window', 'title', 'black']),
      vtt: outputPath,
      sprites: z.array(outputPath),
      count: z.number().int().positive(),
      intervalSeconds: z.number().positive(),
      durationSeconds: z.number().positive(),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      columns: z.number().int().positive(),
      rows: z.number().int().positive(),
      sizeBytes: z.number().int().nonnegative(),
      pass: z.enum(['encode', 'separate']),
    })
    .optional(),
  outputs: z.array(z.object({ path: outputPath, size: z.number().int().nonnegative(), sha256: z.string() })),
});

/** Reading a package's streamkit.json: there and valid, absent, or there and not to be trusted (with why). */
export type ManifestRead = { status: 'valid'; manifest: Manifest } | { status: 'missing' } | { status: 'invalid'; reason: string };

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  return `${path || '(root)'}: ${issue.message}`;
}

/** Read and validate `root`/streamkit.json. Never throws: a broken file is `invalid` with the reason. */
export async function loadManifest(root: string): Promise<ManifestRead> {
  let text: string;
  try {
    text = await readFile(join(root, MANIFEST_NAME), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'missing' };
    return { status: 'invalid', reason: `${MANIFEST_NAME} cannot be read (${code ?? String(error)})` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { status: 'invalid', reason: `${MANIFEST_NAME} is not valid JSON` };
  }
  const version = (doc as { manifestVersion?: unknown } | null)?.manifestVersion;
  if (typeof version === 'number' && version !== MANIFEST_VERSION)
    return { status: 'invalid', reason: `${MANIFEST_NAME} has manifest version ${version}, expected ${MANIFEST_VERSION}` };
  const r = manifestSchema.safeParse(doc);
  if (!r.success) return { status: 'invalid', reason: `${MANIFEST_NAME} is not a streamkit manifest (${firstIssue(r.error)})` };
  const manifest: Manifest = r.data; // the schema checks what the interface promises
  return { status: 'valid', manifest };
}

/** The package's manifest, or null when it is missing or not valid (see loadManifest for why). */
export async function readManifest(root: string): Promise<Manifest | null> {
  const r = await loadManifest(root);
  return r.status === 'valid' ? r.manifest : null;
}

export type CurrentCheck = { current: true; manifest: Manifest } | { current: false; reason: string };

/**
 * Is the package at `root` a complete result of the job `expectedJobKey`? Complete means: manifest
 * present with the same job key, and every listed file present with its recorded size
 * (`verifyHashes` also re-hashes them).
 */
export async function checkCurrent(root: string, expectedJobKey: string, verifyHashes = false): Promise<CurrentCheck> {
  const r = await loadManifest(root);
  if (r.status === 'missing') return { current: false, reason: 'no manifest' };
  if (r.status === 'invalid') return { current: false, reason: r.reason };
  return checkManifestCurrent(root, r.manifest, expectedJobKey, verifyHashes);
}

/** checkCurrent for a manifest already read from `root`. */
export async function checkManifestCurrent(root: string, m: Manifest, expectedJobKey: string, verifyHashes = false): Promise<CurrentCheck> {
  if (m.jobKey !== expectedJobKey) return { current: false, reason: 'input, preset or options changed' };
  const buf = Buffer.allocUnsafe(verifyHashes ? HASH_BUFFER_BYTES : 0);
  for (const o of m.outputs) {
    try {
      const st = await stat(join(root, o.path));
      if (st.size !== o.size) return { current: false, reason: `${o.path} changed size` };
      if (verifyHashes && (await hashFile(join(root, o.path), buf)) !== o.sha256) return { current: false, reason: `${o.path} changed content` };
    } catch {
      return { current: false, reason: `${o.path} is missing` };
    }
  }
  return { current: true, manifest: m };
}
