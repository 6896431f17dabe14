import { basename, extname, resolve } from 'node:path';
import type { CheckedHardware } from './encoder/preset-check.js';
import { StreamkitError } from './errors.js';
import type { EventSink, TranscodeEvent } from './events.js';
import { buildTranscodeArgs } from './args/command.js';
import { ffmpegCommandPrefix } from './ffmpeg/run.js';
import { formatRational } from './media/rational.js';
import { checkDestination, createStaging } from './package/atomic.js';
import { checkRoom, diskLooksFull, estimatePackageBytes, freeBytes, isEnospc, noSpaceError } from './package/disk-space.js';
import type { HlsPackage } from './package/hls.js';
import type { WrittenFile } from './package/progressive.js';
import { encodingOf, type TranscodePlan } from './plan.js';
import { commitPackage } from './pipeline/commit.js';
import type { JobContext } from './pipeline/context.js';
import { encode } from './pipeline/encode.js';
import { planHardware } from './pipeline/hardware.js';
import { packageOutputs } from './pipeline/package.js';
import { probeSource, type Source, type SourceOptions } from './pipeline/probe.js';
import type { Toolchain } from './pipeline/toolchain.js';
import { verifyOutputs } from './pipeline/verify.js';
import { makeThumbnails } from './pipeline/thumbnails.js';
import { makeSubtitles } from './pipeline/subtitles.js';
import { makeDash } from './pipeline/dash.js';
import { layoutSingleFiles } from './pipeline/single-file.js';
import { analysePerTitle, type PerTitleReport } from './pipeline/per-title.js';
import { checkPerTitle } from './pipeline/per-title-check.js';
import type { ResolvedPreset } from './preset/load.js';
import { isHttpUrl } from './remote.js';

/**
 * One transcode, top to bottom. Each stage is its own module in pipeline/ and takes what the ones
 * before it produced:
 *
 *   toolchain + probe (pipeline/probe.ts)  the preset, ffmpeg and what it can do, the source, the encoder
 *   plan (pipeline/hardware.ts, plan.ts)   one pure TranscodePlan (NVENC tried on this input first)
 *   encode (pipeline/encode.ts)            one ffmpeg process into the staging folder
 *   package (pipeline/package.ts)          playlists from the measured bitstream, alignment and A/V sync
 *   verify (pipeline/verify.ts)            both ends of every rendition and file decode
 *   thumbnails (pipeline/thumbnails.ts)    poster and sprites checked (or made, NVENC), thumbnails.vtt
 *                                          written; beside verify, not after it
 *   subtitles (pipeline/subtitles.ts)      text subtitles and sidecar files as WebVTT renditions, on the video's segments
 *   single file (pipeline/single-file.ts)  layout single-file: each rendition as one byte-range-addressed file
 *   dash (pipeline/dash.ts)                manifest.mpd over the same fMP4 segments, read back and checked
 *   commit (pipeline/commit.ts)            streamkit.json, then the staging folder moved into place
 */

export { resolveToolchain, type Toolchain } from './pipeline/toolchain.js';

/** A failure that a full disk can cause: ffmpeg's, the package checks', or one of our own writes (not a StreamkitError). */
const mayBeWriteFailure = (error: unknown): boolean => !(error instanceof StreamkitError) || error.code === 'FFMPEG_FAILED' || error.code === 'VERIFY_FAILED';

export interface PlanOptions extends SourceOptions {
  output?: string | undefined;
  /** --per-title (true), --no-per-title (false); absent: the preset's video.perTitle decides */
  perTitle?: boolean | undefined;
  /** --vmaf: libvmaf's `vmaf` tool for the per-title analysis */
  vmaf?: string | undefined;
}

export interface PlannedTranscode {
  plan: TranscodePlan;
  argv: string[];
  toolchain: Toolchain;
  /** the preset as loaded (a per-title job's plan holds the per-title rungs instead) */
  preset: ResolvedPreset;
  hardware: CheckedHardware;
  output: string;
  /** the per-title analysis and the ladder it chose; null for the fixed ladder */
  perTitle: PerTitleReport | null;
}

/** `movie.mp4` + `h264-ladder` -> `./movie-h264-ladder` (in the current folder). */
export function defaultOutput(input: string, presetName: string): string {
  const stem = isHttpUrl(input) ? basename(new URL(input).pathname, extname(new URL(input).pathname)) || 'stream' : basename(input, extname(input));
  return resolve(`${stem || 'output'}-${presetName}`);
}

/**
 * Everything short of running ffmpeg: find tools, load and check the preset, probe, choose the
 * encoder, the per-title analysis when asked (it runs ffmpeg on samples, never on the whole title),
 * plan. `beforeAnalysis` runs between probing and the analysis (transcode checks the destination
 * there, so a refused destination costs no analysis).
 */
async function prepare(
  options: PlanOptions,
  emit: (e: TranscodeEvent) => void,
  beforeAnalysis?: (output: string) => Promise<void>,
): Promise<{ asked: Source; source: Source; planned: PlannedTranscode }> {
  const asked = await probeSource(options);
  const output = resolve(options.output ?? defaultOutput(options.input, asked.preset.name));
  await beforeAnalysis?.(output);
  const analysed = await analysePerTitle(asked, options, emit);
  const source = analysed?.source ?? asked;
  if (analysed) emit({ type: 'per-title', when: 'chosen', ...analysed.report });
  const { plan, hardware } = await planHardware(source, options.signal);
  return {
    asked,
    source,
    planned: { plan, argv: buildTranscodeArgs(plan), toolchain: source.toolchain, preset: asked.preset, hardware, output, perTitle: analysed?.report ?? null },
  };
}

/** The plan and the exact ffmpeg argv for a job, without running it (`--dry-run`, push, the benchmark). */
export async function planTranscode(options: PlanOptions & { onEvent?: EventSink | undefined }): Promise<PlannedTranscode> {
  return (await prepare(options, (e) => options.onEvent?.(e))).planned;
}

export { jobOptions } from './package/job-identity.js';

export interface TranscodeOptions extends PlanOptions {
  force?: boolean | undefined;
  onEvent?: EventSink | undefined;
}

export interface TranscodeResult {
  output: string;
  /** master playlist; null when the preset has no HLS target */
  master: string | null;
  /** the HLS package as measured; `master` is its master playlist in `output` */
  package: (HlsPackage & { master: string }) | null;
  /** progressive MP4/FLV files, paths relative to `output` */
  files: WrittenFile[];
  elapsedSeconds: number;
}

function startEvent(options: TranscodeOptions, output: string, planned: PlannedTranscode): TranscodeEvent {
  const { plan, toolchain, hardware } = planned;
  return {
    type: 'start',
    input: options.input,
    output,
    preset: planned.preset.name,
    hardware: hardware.hardware,
    hardwareReason: hardware.reason,
    encoder: hardware.encoder,
    ladder: plan.ladder.rungs.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      bitrate: r.bitrate,
      maxrate: r.maxrate,
      codec: encodingOf(plan, r).codec,
      encoder: encodingOf(plan, r).encoder,
    })),
    frameRate: formatRational(plan.ladder.frameRate),
    ffmpeg: { path: toolchain.ffmpeg.path, version: toolchain.caps.version.raw },
    notes: plan.notes,
    ...(plan.nvenc ? { gpuPipeline: { mode: plan.nvenc.mode, scaler: plan.nvenc.scaler, bFrameRefs: plan.nvenc.bFrameRefs, reason: plan.nvenc.reason } } : {}),
    targets: { hls: plan.hls !== null, files: plan.files.map((f) => f.path), thumbnails: plan.thumbnails !== null },
    command: [toolchain.ffmpeg.path, ...ffmpegCommandPrefix, ...planned.argv],
  };
}

/**
 * The checks after the encode and the thumbnail stage side by side (each is mostly one ffmpeg
 * process): the first failure stops the other, both have ended before it is reported.
 */
async function verifyAndThumbnails(
  ctx: JobContext,
  source: Source,
  encoded: Awaited<ReturnType<typeof encode>>,
  pkg: HlsPackage | null,
): Promise<{ files: WrittenFile[]; thumbnails: Awaited<ReturnType<typeof makeThumbnails>> }> {
  const failed = new AbortController();
  const sub: JobContext = { ...ctx, signal: ctx.signal ? AbortSignal.any([ctx.signal, failed.signal]) : failed.signal };
  const verifying = verifyOutputs(sub, source, encoded, pkg);
  const thumbnailing = makeThumbnails(sub, source, encoded);
  for (const p of [verifying, thumbnailing]) p.catch(() => failed.abort('another check failed'));
  try {
    // rejects with the first failure in time
    const [files, thumbnails] = await Promise.all([verifying, thumbnailing]);
    return { files, thumbnails };
  } finally {
    await Promise.allSettled([verifying, thumbnailing]);
  }
}

/** Transcode one input into a package at `output` (HLS, MP4, FLV: whatever the preset's packaging asks for), atomically. */
export async function transcode(options: TranscodeOptions): Promise<TranscodeResult> {
  const started = performance.now();
  const emit = (e: TranscodeEvent): void => options.onEvent?.(e);
  emit({ type: 'stage', stage: 'probe', status: 'start' });
  // every check (preset, ffmpeg, encoder, input, destination) happens before anything is created on disk
  let dest = '';
  const { asked, source, planned } = await prepare(options, emit, async (output) => {
    dest = await checkDestination(output, options.force ?? false);
  });
  const staging = await createStaging(dest);
  const ctx: JobContext = { input: options.input, workDir: staging.dir, emit, signal: options.signal };
  try {
    // refuse a package that cannot fit before encoding anything
    await checkRoom(staging.dir, planned.plan);
    emit({ type: 'stage', stage: 'probe', status: 'done' });
    emit(startEvent(options, dest, planned));
    for (const note of planned.plan.notes) emit({ type: 'warning', message: note });

    emit({ type: 'stage', stage: 'encode', status: 'start' });
    const encoded = await encode(ctx, source, planned);
    emit({ type: 'stage', stage: 'encode', status: 'done' });

    const postStart = performance.now();
    emit({ type: 'stage', stage: 'package', status: 'start' });
    const pkg = await packageOutputs(ctx, encoded);
    emit({ type: 'stage', stage: 'package', status: 'done' });

    emit({ type: 'stage', stage: 'verify', status: 'start' });
    const { files, thumbnails } = await verifyAndThumbnails(ctx, source, encoded, pkg);
    // per-title: every rung's real quality on the samples, against its prediction
    const perTitle = await checkPerTitle(ctx, source.toolchain.ffmpeg.path, encoded, pkg, planned.perTitle);
    if (perTitle) {
      for (const note of perTitle.notes.slice(planned.perTitle?.notes.length ?? 0)) emit({ type: 'warning', message: note });
      emit({ type: 'per-title', when: 'measured', ...perTitle });
    }
    const subtitles = await makeSubtitles(ctx, source, encoded, pkg);
    const singleFiles = await layoutSingleFiles(ctx, encoded, pkg);
    const dash = await makeDash(ctx, encoded, pkg, subtitles, singleFiles);
    emit({ type: 'stage', stage: 'verify', status: 'done' });
    for (const f of files) emit({ type: 'file', ...f });
    for (const r of pkg?.rungs ?? [])
      emit({
        type: 'rung',
        name: r.name,
        width: r.width,
        height: r.height,
        codecs: r.codecs,
        bandwidth: r.bandwidth,
        averageBandwidth: r.averageBandwidth,
        sizeBytes: r.sizeBytes,
        segments: r.segments,
      });

    await commitPackage(ctx, asked, encoded, pkg, { thumbnails, subtitles, dash, perTitle }, staging, {
      frameRate: options.frameRate,
      hw: options.hw,
      perTitle: options.perTitle,
      replace: options.force ?? false,
    });

    const elapsedSeconds = (performance.now() - started) / 1000;
    const master = pkg ? resolve(dest, 'master.m3u8') : null;
    const sizeBytes =
      (pkg?.rungs ?? []).reduce((a, r) => a + r.sizeBytes, 0) +
      (pkg?.audio ?? []).reduce((a, r) => a + r.sizeBytes, 0) +
      files.reduce((a, f) => a + f.sizeBytes, 0) +
      (thumbnails?.sizeBytes ?? 0) +
      (subtitles ?? []).reduce((a, s) => a + s.sizeBytes, 0);
    emit({
      type: 'done',
      output: dest,
      master,
      rungs: pkg?.rungs ?? [],
      audio: pkg?.audio ?? [],
      files,
      avSync: pkg?.sync ?? null,
      thumbnails,
      dash,
      perTitle,
      sizeBytes,
      elapsedSeconds,
      encodeSeconds: encoded.encodeSeconds,
      postEncodeSeconds: (performance.now() - postStart) / 1000,
    });
    return { output: dest, master, package: pkg && master ? { ...pkg, master } : null, files, elapsedSeconds };
  } catch (error) {
    // our own writes (playlists, streamkit.json) on a full disk: the real cause, not the write that failed
    // and a failure of what writes (ffmpeg, packaging, verification) while the disk is full: a playlist
    // ffmpeg could not finish, say. Failures of the input, preset, destination or interruption stay as they are.
    const full = isEnospc(error) || (mayBeWriteFailure(error) && (await diskLooksFull(staging.dir)));
    const reported = full ? noSpaceError(staging.dir, estimatePackageBytes(planned.plan), await freeBytes(staging.dir), error) : error;
    await staging.discard();
    throw reported;
  }
}
