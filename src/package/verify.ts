import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FfmpegError, StreamkitError } from '../errors.js';
import { buildDecodeCheckArgs } from '../ffmpeg/command.js';
import { runFfmpeg } from '../ffmpeg/run.js';

/**
 * Did the whole input make it into the package? ffmpeg exits 0 on an input cut short (a download
 * that stopped half way, with the index at the front): it encodes what is there and stops. The
 * video's own duration says how long it should be. The tolerance (10% and half a second) leaves
 * room for variable-frame-rate ends and container rounding, not for a missing part.
 */
export function checkOutputDuration(input: string, expected: number | null | undefined, actual: number): void {
  if (!expected || !Number.isFinite(expected)) return;
  if (actual >= expected * 0.9 - 0.5) return;
  throw new StreamkitError('INPUT_UNREADABLE', `The package is ${actual.toFixed(2)} s long but the video in ${input} says it lasts ${expected.toFixed(2)} s: the input is probably truncated or damaged.`, {
    hint: 'Check that the input plays to its end (ffmpeg -v error -i INPUT -f null -); download or export it again.',
    details: { input, expectedSeconds: expected, outputSeconds: actual },
  });
}

/**
 * Never trust ffmpeg's exit code alone: decode the given segments (fMP4 ones with their init
 * segment) in one ffmpeg process. Any decode error fails the package.
 */
export async function decodeCheck(
  ffmpeg: string,
  root: string,
  targets: readonly { dir: string; init: string | null; segments: readonly string[] }[],
  signal?: AbortSignal,
): Promise<void> {
  const files: string[] = [];
  const scratch: string[] = [];
  try {
    for (const t of targets) {
      for (const seg of t.segments) {
        if (t.init) {
          const joined = join(root, t.dir, `.verify-${seg}.mp4`);
          await writeFile(joined, Buffer.concat([await readFile(join(root, t.dir, t.init)), await readFile(join(root, t.dir, seg))]));
          scratch.push(joined);
          files.push(joined);
        } else {
          files.push(join(root, t.dir, seg));
        }
      }
    }
    if (files.length === 0) return;
    try {
      const r = await runFfmpeg(ffmpeg, buildDecodeCheckArgs(files), { what: 'decoding the output to check it', ...(signal ? { signal } : {}) });
      if (r.stderrTail.length > 0) {
        throw new StreamkitError('VERIFY_FAILED', `The output does not decode cleanly: ${r.stderrTail[r.stderrTail.length - 1]}`, { details: { stderrTail: r.stderrTail } });
      }
    } catch (error) {
      if (error instanceof FfmpegError) {
        throw new StreamkitError('VERIFY_FAILED', 'The output does not decode cleanly; ffmpeg reported errors while decoding it.', {
          details: { command: error.command, stderrTail: error.stderrTail },
          cause: error,
        });
      }
      throw error;
    }
  } finally {
    await Promise.all(scratch.map((f) => rm(f, { force: true })));
  }
}
