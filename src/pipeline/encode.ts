import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HardwareRequest } from '../encoder/select.js';
import { FfmpegError } from '../errors.js';
import { buildTranscodeArgs } from '../args/command.js';
import { progressEta, progressPercent } from '../ffmpeg/progress.js';
import { probeAudioStarts } from '../media/probe.js';
import { runFfmpeg } from '../ffmpeg/run.js';
import { hlsRenditions } from '../package/hls.js';
import type { SegmentFactsCache } from '../package/segment-facts.js';
import { earlyDecodes } from '../package/early-decode.js';
import { watchSegments, type SegmentWatcher } from '../package/segment-watcher.js';
import { estimatePackageBytes, freeBytes, noSpaceError, watchDiskSpace } from '../package/disk-space.js';
import { checkNotTruncated } from '../package/verify.js';
import { outputFolders, type TranscodePlan } from '../plan.js';
import type { HardwareKind } from '../preset/schema.js';
import type { JobContext } from './context.js';
import { fallBackToCpu, type PlannedHardware } from './hardware.js';
import type { Source } from './probe.js';

/** ffmpeg's own warnings (damaged input, encoder complaints) are shown, not interpreted; a few are enough. */
const MAX_FFMPEG_WARNINGS = 5;

/** What the encode left in the staging folder, and what is already known about it. */
export interface Encoded {
  /** the plan that was encoded: the planned one, or the CPU plan after an NVENC fallback */
  plan: TranscodePlan;
  /** segments measured and hashed while ffmpeg was still encoding (segment-watcher.ts) */
  facts: SegmentFactsCache;
  /** when each encoded audio stream's first decoded sample plays, by source order (for the A/V sync check) */
  audioStarts: ReadonlyMap<number, number | null>;
  /** decode-check pieces already decoded without error while ffmpeg encoded (package/early-decode.ts) */
  decoded: ReadonlySet<string>;
  /** with a short first segment: how many segments of each rendition (by folder) were joined from ffmpeg's pieces during the encode */
  joined: ReadonlyMap<string, number>;
  encodeSeconds: number;
}

/**
 * A failed encode is retried on the CPU only under `--hw auto`, only when NVENC was encoding, only
 * when ffmpeg failed before a single frame was encoded (sessions taken by another process between
 * the trial and the encode, say), never after an interruption. The caller then asks a fresh trial:
 * if NVENC works again, the failure was something else and is reported as it is.
 */
export function mayRetryOnCpu(x: { request: HardwareRequest; hardware: HardwareKind; error: unknown; framesEncoded: number | null; aborted: boolean }): boolean {
  return x.request === 'auto' && x.hardware === 'nvenc' && x.error instanceof FfmpegError && (x.framesEncoded ?? 0) === 0 && !x.aborted;
}

/** The folders ffmpeg writes into, created empty (again, after a failed start). */
async function freshFolders(ctx: JobContext, plan: TranscodePlan): Promise<void> {
  for (const dir of outputFolders(plan)) {
    await rm(join(ctx.workDir, dir), { recursive: true, force: true });
    await mkdir(join(ctx.workDir, dir), { recursive: true });
  }
}

/** One ffmpeg run of the whole plan, with progress events, while finished segments are measured. */
async function runEncode(
  ctx: JobContext,
  plan: TranscodePlan,
  ffmpeg: string,
  facts: SegmentFactsCache,
  counters: { frames: number | null; warnings: number },
  joined: Map<string, number>,
): Promise<{ run: Awaited<ReturnType<typeof runFfmpeg>>; decoded: ReadonlySet<string> }> {
  const duration = plan.media.duration;
  // a full disk stops ffmpeg at once (it would go on encoding into failed writes) and is reported as such
  const diskFull = new AbortController();
  const disk = watchDiskSpace(ctx.workDir, () => diskFull.abort('the disk is full'));
  const failed = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, diskFull.signal]) : diskFull.signal;
  // the first pieces of the decode check, as soon as every rendition's first segment is complete
  const renditions = hlsRenditions(plan);
  const early = earlyDecodes(ffmpeg, ctx.workDir, renditions, AbortSignal.any([signal, failed.signal]));
  // with a short first segment, each segment's pieces are joined as soon as they are all there
  const pieces = plan.hls?.pieces ? { first: plan.hls.pieces.first, rest: plan.hls.pieces.rest, joined } : null;
  const watcher: SegmentWatcher | null = plan.hls ? watchSegments(ctx.workDir, renditions, facts, undefined, { onSegment: early.onSegment, pieces }) : null;
  counters.frames = null;
  try {
    const run = await runFfmpeg(ffmpeg, buildTranscodeArgs(plan), {
      what: 'encoding the ladder',
      // the argv's output paths are relative to the staging folder (see args/command.ts hlsMuxer)
      cwd: ctx.workDir,
      signal,
      onStderrLine: (line) => {
        // ffmpeg names the cause in its log (strerror(ENOSPC)) before the free-space poll may see it
        if (/No space left on device/i.test(line)) diskFull.abort('the disk is full');
        counters.warnings++;
        if (counters.warnings <= MAX_FFMPEG_WARNINGS) ctx.emit({ type: 'warning', source: 'ffmpeg', message: line.trim() });
      },
      onProgress: (s) => {
        counters.frames = s.frame ?? counters.frames;
        ctx.emit({
          type: 'progress',
          percent: progressPercent(s, duration),
          outTimeSeconds: s.outTimeSeconds,
          durationSeconds: duration,
          fps: s.fps,
          speed: s.speed,
          etaSeconds: progressEta(s, duration),
          frame: s.frame,
          dupFrames: s.dupFrames,
          dropFrames: s.dropFrames,
        });
      },
    });
    await watcher?.stop();
    return { run, decoded: await early.settle() };
  } catch (error) {
    failed.abort('the encode failed');
    if (diskFull.signal.aborted && !ctx.signal?.aborted) throw noSpaceError(ctx.workDir, estimatePackageBytes(plan), await freeBytes(ctx.workDir), error);
    throw error;
  } finally {
    disk.stop();
    await watcher?.stop();
    await early.settle();
  }
}

/**
 * Stage 4: encode the whole ladder in one ffmpeg process into the staging folder. Under `--hw auto`,
 * an NVENC encode that fails before its first frame is run again on the CPU (mayRetryOnCpu).
 */
export async function encode(ctx: JobContext, source: Source, planned: PlannedHardware): Promise<Encoded> {
  const started = performance.now();
  const ffmpeg = source.toolchain.ffmpeg.path;
  let { plan } = planned;
  const facts: SegmentFactsCache = new Map();
  const joined = new Map<string, number>();
  const counters = { frames: null as number | null, warnings: 0 };
  // asked while ffmpeg encodes: only packaging needs it, and a few packets per stream are quick
  const audioStarts = plan.hls
    ? probeAudioStarts(
        plan.media,
        plan.audioRenditions.map((a) => a.sourceOrder),
        { ffprobe: source.toolchain.ffprobe.path, ...(ctx.signal ? { signal: ctx.signal } : {}) },
      )
    : Promise.resolve(new Map<number, number | null>());
  audioStarts.catch(() => undefined);
  await freshFolders(ctx, plan);
  let encoded: Awaited<ReturnType<typeof runEncode>>;
  try {
    encoded = await runEncode(ctx, plan, ffmpeg, facts, counters, joined);
  } catch (error) {
    if (!mayRetryOnCpu({ request: source.request, hardware: plan.hardware, error, framesEncoded: counters.frames, aborted: ctx.signal?.aborted ?? false })) throw error;
    const cpu = await fallBackToCpu(source, plan, ctx.signal);
    if (!cpu) throw error;
    plan = cpu.plan;
    ctx.emit({ type: 'warning', message: `${cpu.why}; encoding on the CPU instead.` });
    ctx.emit({ type: 'fallback', from: 'nvenc', hardware: 'cpu', encoder: cpu.hardware.encoder, hardwareReason: cpu.hardware.reason });
    facts.clear();
    joined.clear();
    await freshFolders(ctx, plan);
    encoded = await runEncode(ctx, plan, ffmpeg, facts, counters, joined);
  }
  if (counters.warnings > MAX_FFMPEG_WARNINGS)
    ctx.emit({ type: 'warning', source: 'ffmpeg', message: `(${counters.warnings - MAX_FFMPEG_WARNINGS} more warning lines not shown)` });
  // the container's duration covers every stream: compare only when every stream that could make
  // it longer was encoded too (video, and all audio)
  const allAudio = plan.audioRenditions.length === plan.media.audio.length;
  checkNotTruncated(ctx.input, allAudio ? plan.media.duration : null, encoded.run.last?.outTimeSeconds ?? null, 'encoded');
  return { plan, facts, audioStarts: await audioStarts, decoded: encoded.decoded, joined, encodeSeconds: (performance.now() - started) / 1000 };
}
