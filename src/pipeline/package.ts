import { packageHls, type HlsPackage } from '../package/hls.js';
import { checkNotTruncated } from '../package/verify.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';

/**
 * Stage 5: package what the encode wrote. HLS: every segment measured (most already were, during the
 * encode), CODECS and BANDWIDTH from the bitstream, segment alignment and A/V sync checked, every
 * playlist written. Null when the plan has no HLS target.
 */
export async function packageOutputs(ctx: JobContext, encoded: Encoded): Promise<HlsPackage | null> {
  const { plan } = encoded;
  if (!plan.hls) return null;
  const pkg = await packageHls(plan, ctx.workDir, encoded.facts, encoded.audioStarts, encoded.joined);
  checkNotTruncated(ctx.input, plan.media.video.duration, pkg.duration, 'packaged');
  return pkg;
}
