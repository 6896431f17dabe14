import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildMpd, checkDashPackage, writeDash, type DashReport, type DashSubtitle } from '../package/dash.js';
import type { HlsPackage } from '../package/hls.js';
import type { SubtitleReport } from '../package/subtitles.js';
import type { SingleFileIndex } from '../package/single-file.js';
import { MPD_NAME } from '../plan.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';

/**
 * Stage 5d (after the HLS package and its subtitles are written): manifest.mpd over the same fMP4
 * segments (package/dash.ts), written from the measured segments, then read back and checked against
 * the files before anything is committed. Null when the plan has no DASH target.
 */
export async function makeDash(
  ctx: JobContext,
  encoded: Encoded,
  pkg: HlsPackage | null,
  subtitles: readonly SubtitleReport[] | null,
  singleFiles: ReadonlyMap<string, SingleFileIndex> | null,
): Promise<DashReport | null> {
  const { plan } = encoded;
  if (!plan.dash || !pkg) return null;
  const subs: DashSubtitle[] = [];
  for (const s of subtitles ?? []) {
    if (!s.sidecar) continue;
    const { size } = await stat(join(ctx.workDir, s.sidecar));
    subs.push({ dir: s.dir, file: s.sidecar, language: s.language, default: s.default, forced: s.forced, sizeBytes: size });
  }
  const { xml, report } = await writeDash(ctx.workDir, MPD_NAME, buildMpd(plan, pkg, subs, singleFiles));
  await checkDashPackage(ctx.workDir, xml, encoded.facts);
  return report;
}
