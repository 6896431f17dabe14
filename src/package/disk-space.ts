import { statfs } from 'node:fs/promises';
import { StreamkitError } from '../errors.js';
import type { TranscodePlan } from '../plan.js';

/**
 * Room on the output's file system: refuse a job that cannot fit before it starts, and stop a job as
 * soon as the disk fills up, with the real cause instead of whatever broke first (a truncated
 * playlist, a segment that fails to parse).
 */

/** Below this many free bytes during an encode the disk counts as full: ffmpeg's next write fails. */
const FULL_BELOW_BYTES = 256 * 1024;

/**
 * An upper bound on the package's size: every rung at its maxrate (the VBV cap every built-in
 * rate control mode holds to), every audio rendition at its bitrate, once for HLS and once more for
 * each progressive file, over the source's duration. Null when the duration is unknown.
 */
export function estimatePackageBytes(plan: Pick<TranscodePlan, 'media' | 'ladder' | 'hls' | 'files' | 'audio' | 'audioRenditions'>): number | null {
  const seconds = plan.media.duration;
  if (seconds === null) return null;
  const audioRate = plan.audio ? plan.audio.bitrate : 0;
  const hls = plan.hls ? plan.ladder.rungs.reduce((a, r) => a + r.maxrate, 0) + audioRate * plan.audioRenditions.length : 0;
  const files = plan.files.reduce((a, f) => a + (plan.ladder.rungs[f.rungIndex]?.maxrate ?? 0) + audioRate * f.audio.length, 0);
  return Math.ceil(((hls + files) * seconds) / 8);
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`; null when it cannot be asked. */
export async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    // some FUSE and network file systems report no blocks at all: their free space is unknown, not zero
    return s.blocks > 0 ? s.bavail * s.bsize : null;
  } catch {
    return null;
  }
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** The error for a full disk: exit 1, with what was needed and what is free. */
export function noSpaceError(dir: string, needed: number | null, free: number | null, cause?: unknown): StreamkitError {
  const amounts = [needed !== null ? `needed about ${mb(needed)}` : null, free !== null ? `${mb(free)} free` : null].filter(Boolean).join(', ');
  // what failed because of it, for --verbose and the JSON error event (formatError does not print causes)
  const failed = cause instanceof Error ? { failure: cause.message, ...(cause instanceof StreamkitError ? { failureDetails: cause.details } : {}) } : {};
  return new StreamkitError('NO_SPACE', `No space left on the device holding ${dir}${amounts ? `: ${amounts}` : ''}.`, {
    hint: 'Free some space there or choose another output folder (-o). Nothing was written to the destination.',
    details: { dir, neededBytes: needed, freeBytes: free, ...failed },
    ...(cause ? { cause } : {}),
  });
}

/** Refuse a job whose package cannot fit where it is staged. */
export async function checkRoom(dir: string, plan: Parameters<typeof estimatePackageBytes>[0]): Promise<void> {
  const needed = estimatePackageBytes(plan);
  const free = await freeBytes(dir);
  if (needed !== null && free !== null && needed > free) throw noSpaceError(dir, needed, free);
}

/** Is the file system holding `dir` (nearly) full, so that any failed write there is explained by it? */
export async function diskLooksFull(dir: string): Promise<boolean> {
  const free = await freeBytes(dir);
  return free !== null && free < FULL_BELOW_BYTES;
}

/** Did one of our own writes fail for want of space (ENOSPC from Node's fs)? */
export function isEnospc(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';
}

/**
 * Poll the free space under `dir` while ffmpeg writes there; `onFull` is called once when less than
 * FULL_BELOW_BYTES remain (ffmpeg itself goes on encoding after a failed write).
 */
export function watchDiskSpace(dir: string, onFull: () => void, intervalMs = 500): { stop(): void } {
  let full = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || full) return;
    busy = true;
    void freeBytes(dir).then((free) => {
      busy = false;
      if (free !== null && free < FULL_BELOW_BYTES && !full) {
        full = true;
        onFull();
      }
    });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
