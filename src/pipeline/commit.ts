import { StreamkitError } from '../errors.js';
import type { Staging } from '../package/atomic.js';
import type { HlsPackage } from '../package/hls.js';
import { jobIdentity } from '../package/job-identity.js';
import type { HardwareRequest } from '../encoder/select.js';
import type { ColourPlan } from '../media/colour.js';
import { writeManifest } from '../package/manifest.js';
import type { SubtitleReport } from '../package/subtitles.js';
import type { DashReport } from '../package/dash.js';
import type { ThumbnailsReport } from '../package/thumbnails.js';
import { streamkitVersion } from '../version.js';
import { encodingOf } from '../plan.js';
import { presetDocument } from '../preset/schema.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';
import type { Source } from './probe.js';
import type { PerTitleReport } from './per-title.js';

/** The colour decision as streamkit.json records it (its notes are among the plan's). */
function colourRecord(c: ColourPlan): Omit<ColourPlan, 'notes'> {
  const { notes: _, ...rest } = c;
  return rest;
}

/**
 * Stage 7: write streamkit.json (what made the package, every file with its SHA-256) and move the
 * staging folder into place, replacing an old package only when `replace`.
 */
export async function commitPackage(
  ctx: JobContext,
  source: Source,
  encoded: Encoded,
  pkg: HlsPackage | null,
  made: { thumbnails: ThumbnailsReport | null; subtitles: SubtitleReport[] | null; dash?: DashReport | null; perTitle?: PerTitleReport | null },
  staging: Staging,
  job: { frameRate?: string | undefined; hw?: HardwareRequest | undefined; perTitle?: boolean | undefined; replace: boolean },
): Promise<void> {
  if (ctx.signal?.aborted) throw new StreamkitError('INTERRUPTED', 'Interrupted; nothing was written to the destination.');
  const { plan } = encoded;
  // the job as asked: the preset as loaded (a per-title job's plan has the per-title rungs instead; they are in `perTitle`)
  const asked = source.preset.preset;
  const id = await jobIdentity(ctx.input, asked, job);
  await writeManifest(
    ctx.workDir,
    {
      streamkitVersion: streamkitVersion(),
      jobKey: id.key,
      input: id.fingerprint,
      preset: { name: source.preset.name, hash: id.presetHash, resolved: presetDocument(asked) },
      options: id.options,
      ffmpeg: { path: source.toolchain.ffmpeg.path, version: source.toolchain.caps.version.raw },
      hardware: plan.hardware,
      encoder: plan.encoder,
      rungs: plan.ladder.rungs.map((r) => {
        const e = encodingOf(plan, r);
        const m = pkg?.rungs.find((x) => x.name === r.name);
        return {
          name: r.name,
          codec: e.codec,
          encoder: e.encoder,
          width: r.width,
          height: r.height,
          ...(m ? { codecs: m.codecs, bandwidth: m.bandwidth, averageBandwidth: m.averageBandwidth } : {}),
        };
      }),
      ...(pkg ? { avSync: pkg.sync } : {}),
      ...(plan.colour ? { colour: colourRecord(plan.colour) } : {}),
      notes: plan.notes,
      ...(made.thumbnails ? { thumbnails: made.thumbnails } : {}),
      ...(made.subtitles ? { subtitles: made.subtitles } : {}),
      ...(made.dash ? { dash: made.dash } : {}),
      ...(made.perTitle ? { perTitle: made.perTitle } : {}),
    },
    encoded.facts,
  );
  ctx.emit({ type: 'stage', stage: 'commit', status: 'start' });
  await staging.commit({ replace: job.replace });
  ctx.emit({ type: 'stage', stage: 'commit', status: 'done' });
}
