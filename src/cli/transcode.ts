import { resolve } from 'node:path';
import type { HardwareRequest } from '../encoder/select.js';
import { InterruptedError, StreamkitError } from '../errors.js';
import { runJob } from '../job/run.js';
import { probeMedia, type MediaInfo } from '../media/probe.js';
import { loadPreset, type ResolvedPreset } from '../preset/load.js';
import { defaultOutput, resolveToolchain, type Toolchain } from '../transcode.js';
import type { CommandContext } from './context.js';

export interface TranscodeCommand {
  input: string;
  preset: string;
  output?: string | undefined;
  force?: boolean | undefined;
  frameRate?: string | undefined;
  hw: HardwareRequest;
  subtitles?: string[] | undefined;
  perTitle?: boolean | undefined;
  vmaf?: string | undefined;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  signal: AbortSignal;
}

/**
 * `streamkit transcode`: one job through the job lifecycle batch and the queue use (job/run.ts),
 * with what a single command needs: whatever is at the output is refused unless --force (batch and
 * the queue skip a current package instead), no retries. It takes the destination's lock like a
 * batch job, so two commands writing one output cannot both run (the second is refused, exit 2);
 * staging folders left there by processes that no longer run are removed first, and said so.
 */
export async function transcodeCommand(ctx: CommandContext, c: TranscodeCommand): Promise<void> {
  // the order of the errors a user sees: preset, then tools, then input, then output
  const preset = await loadPreset(c.preset);
  const toolchain = await resolveToolchain({ ffmpeg: c.ffmpeg, ffprobe: c.ffprobe });
  // ffprobe looks at the input while the job's key is worked out and the destination judged (on
  // another core); its errors wait their turn (pipeline/probe.ts), and it is stopped if unused
  const unused = new AbortController();
  const probed = probeMedia(c.input, { ffprobe: toolchain.ffprobe.path, frameRate: c.frameRate, signal: AbortSignal.any([c.signal, unused.signal]) });
  probed.catch(() => undefined);
  try {
    await transcodeJob(ctx, c, preset, toolchain, probed);
  } finally {
    unused.abort('not needed');
  }
}

async function transcodeJob(ctx: CommandContext, c: TranscodeCommand, preset: ResolvedPreset, toolchain: Toolchain, probed: Promise<MediaInfo>): Promise<void> {
  const output = resolve(c.output ?? defaultOutput(c.input, preset.name));
  const result = await runJob(
    { input: c.input, output, preset, frameRate: c.frameRate, hw: c.hw, subtitles: c.subtitles, perTitle: c.perTitle, vmaf: c.vmaf, force: c.force ?? false, existing: 'refuse' },
    {
      toolchain,
      probed,
      signal: c.signal,
      lock: { what: `streamkit transcode ${c.input}` },
      onEvent: (e) => {
        if (e.type === 'transcode') ctx.reporter.event(e.event);
        else if (e.type === 'cleanup')
          ctx.reporter.event({
            type: 'warning',
            message: `Removed ${e.removed.length} staging folder(s) of ${output} left by processes that no longer run${e.killed.length > 0 ? ` (and stopped their ffmpeg: pid ${e.killed.join(', ')})` : ''}: ${e.removed.join(', ')}.`,
          });
      },
    },
  );
  if (result.status === 'failed') throw result.error;
  if (result.status === 'skipped')
    throw new StreamkitError('OUTPUT_EXISTS', `Output ${output} is being written by another streamkit process (${result.reason}).`, {
      hint: 'Wait for it to finish, or choose another --output.',
      details: { output, reason: result.reason },
    });
  if (result.status === 'cancelled') throw result.error ?? new InterruptedError(String(c.signal.reason ?? 'SIGINT'));
}
