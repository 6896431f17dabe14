import { StreamkitError } from '../errors.js';
import type { Staging } from '../package/atomic.js';
import type { HlsPackage } from '../package/hls.js';
import { fingerprintInput, jobKey, presetHash, writeManifest } from '../package/manifest.js';
import { streamkitVersion } from '../version.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';
import type { Source } from './probe.js';

/**
 * Stage 7: write streamkit.json (what made the package, every file with its SHA-256) and move the
 * staging folder into place, replacing an old package only when `replace`.
 */
export async function commitPackage(ctx: JobContext, source: Source, encoded: Encoded, pkg: HlsPackage | null, staging: Staging, job: { options: Record<string, unknown>; replace: boolean }): Promise<void> {
  if (ctx.signal?.aborted) throw new StreamkitError('INTERRUPTED', 'Interrupted; nothing was written to the destination.');
  const { plan } = encoded;
  const hash = presetHash(plan.preset);
  const fingerprint = await fingerprintInput(ctx.input);
  await writeManifest(ctx.workDir, {
    streamkitVersion: streamkitVersion(),
    jobKey: jobKey(fingerprint, hash, job.options),
    input: fingerprint,
    preset: { name: source.preset.name, hash, resolved: plan.preset },
    options: job.options,
    ffmpeg: { path: source.toolchain.ffmpeg.path, version: source.toolchain.caps.version.raw },
    hardware: plan.hardware,
    encoder: plan.encoder,
    ...(pkg ? { avSync: pkg.sync } : {}),
  }, encoded.facts);
  ctx.emit({ type: 'stage', stage: 'commit', status: 'start' });
  await staging.commit({ replace: job.replace });
  ctx.emit({ type: 'stage', stage: 'commit', status: 'done' });
}
