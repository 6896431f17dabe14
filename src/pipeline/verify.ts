import type { HlsPackage } from '../package/hls.js';
import { encodingOf } from '../plan.js';
import { verifyFiles, type WrittenFile } from '../package/progressive.js';
import { decodeCheck } from '../package/verify.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';
import type { Source } from './probe.js';

/**
 * Stage 6: check that what was written plays. Both ends of every HLS rendition decode (the first
 * ends, mostly, were decoded while ffmpeg encoded: package/early-decode.ts); every MP4/FLV file is
 * complete, has the expected streams and decodes at both ends.
 */
export async function verifyOutputs(ctx: JobContext, source: Source, encoded: Encoded, pkg: HlsPackage | null): Promise<WrittenFile[]> {
  const { plan } = encoded;
  const tools = { ffmpeg: source.toolchain.ffmpeg.path, ffprobe: source.toolchain.ffprobe.path };
  if (pkg) await decodeCheck(tools.ffmpeg, ctx.workDir, pkg.decodePieces, ctx.signal, undefined, encoded.decoded);
  return verifyFiles(
    tools,
    ctx.workDir,
    plan.files,
    {
      codec: plan.preset.video.codec,
      rungCodecs: new Map(plan.ladder.rungs.map((r) => [r.name, encodingOf(plan, r).codec])),
      sizes: new Map(plan.ladder.rungs.map((r) => [r.name, { width: r.width, height: r.height }])),
      durationSeconds: plan.media.duration,
    },
    ctx.signal,
  );
}
