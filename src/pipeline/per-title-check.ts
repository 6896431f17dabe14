import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Distorted } from '../args/per-title.js';
import { parseMediaPlaylist } from '../package/playlist.js';
import { samplePlaylist } from '../per-title/pieces.js';
import type { Sample } from '../per-title/samples.js';
import { rungDir, type TranscodePlan } from '../plan.js';
import { InterruptedError } from '../errors.js';
import { scoreAgainstSource } from '../quality/score.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';
import type { HlsPackage } from '../package/hls.js';
import { vmafSubsample, type PerTitleReport } from './per-title.js';

/** A rung's segments this far above its ceiling get a note (container overhead allowed for). */
const OVER_CEILING = 1.25;

/**
 * How the check reads a rung: its HLS playlist cut into one small playlist per sample (the segments
 * that cover it, per-title/pieces.ts), else its MP4/FLV file (input seeking is exact there); null
 * when the package holds neither.
 */
async function renditionOf(pkgDir: string, work: string, plan: TranscodePlan, rung: string, samples: readonly Sample[]): Promise<Distorted | null> {
  if (plan.hls) {
    const dir = join(pkgDir, rungDir(rung));
    const playlist = parseMediaPlaylist(await readFile(join(dir, 'index.m3u8'), 'utf8'));
    const pieces = [];
    for (const [i, s] of samples.entries()) {
      const { text, skip } = samplePlaylist(playlist, dir, s);
      const file = join(work, `${rungDir(rung)}-sample-${i}.m3u8`);
      await writeFile(file, text);
      pieces.push({ playlist: file, skip });
    }
    return { pieces };
  }
  const file = plan.files.find((f) => f.rung === rung);
  return file ? { file: join(pkgDir, file.path) } : null;
}

/**
 * After the encode, per-title jobs only: every rung's real quality on the analysis' samples, cut from
 * what was encoded (its HLS playlist, else its MP4/FLV file) at the same times as the source's and
 * scored the same way as the candidates were. Measured against predicted goes into the report
 * (streamkit.json, the summary); a rung more than `margin` below its prediction is said so in a
 * note, with the two numbers.
 */
export async function checkPerTitle(ctx: JobContext, ffmpeg: string, encoded: Encoded, pkg: HlsPackage | null, report: PerTitleReport | null): Promise<PerTitleReport | null> {
  if (!report) return null;
  const { plan } = encoded;
  const work = await mkdtemp(join(tmpdir(), 'streamkit-per-title-check-'));
  let scores: number[];
  const measurable: { name: string; distorted: Distorted }[] = [];
  let failure: string | null = null;
  try {
    for (const r of plan.ladder.rungs) {
      const distorted = await renditionOf(ctx.workDir, work, plan, r.name, report.samples);
      if (distorted) measurable.push({ name: r.name, distorted });
    }
    ctx.emit({ type: 'analysis', phase: 'check', percent: 0 });
    scores = await scoreAgainstSource(
      {
        ffmpeg,
        workDir: work,
        signal: ctx.signal,
        threads: availableParallelism(),
        subsample: vmafSubsample(plan),
        onProgress: (f) => ctx.emit({ type: 'analysis', phase: 'check', percent: Math.round(f * 1000) / 10 }),
      },
      report.metric,
      plan,
      report.samples,
      measurable.map((t) => t.distorted),
    );
  } catch (error) {
    // the package is complete and checked; only the measurement failed: say so, keep the package
    if (error instanceof InterruptedError || ctx.signal?.aborted) throw error;
    failure = error instanceof Error ? error.message : String(error);
    scores = [];
    measurable.length = 0;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const notes = [...report.notes];
  if (failure) notes.push(`the rungs could not be measured after the encode (${failure}); their qualities are predictions only`);
  const rungs = report.rungs.map((r) => {
    const k = measurable.findIndex((t) => t.name === r.name);
    const measured = k >= 0 ? Math.round(scores[k]! * 100) / 100 : null;
    // the rung's own bytes over the title (segments, container included), against the ceiling it was held under
    const packaged = pkg?.rungs.find((p) => p.name === r.name);
    const measuredBitrate = packaged && pkg && pkg.duration > 0 ? Math.round((packaged.sizeBytes * 8) / pkg.duration) : null;
    // a capped-CRF rung well above its ceiling: the samples misjudged the title (a rung held at its
    // ceiling is encoded as the fixed rung; segments carry their container, up to ~20% at 150 kb/s in TS)
    if (measuredBitrate !== null && r.crf !== null && measuredBitrate > r.fixedBitrate * OVER_CEILING) {
      notes.push(
        `${r.name}: ${Math.round(measuredBitrate / 1000)} kb/s over the whole title (segments, container included), above the fixed ladder's ${Math.round(r.fixedBitrate / 1000)} kb/s for ${r.height}p (predicted ${Math.round(r.bitrate / 1000)} kb/s from the samples)`,
      );
    }
    if (measured === null) {
      if (!failure) notes.push(`${r.name}: not measured after the encode (no HLS rendition or file of it)`);
    } else if (measured < r.quality - report.spec.margin) {
      notes.push(
        `${r.name}: measured ${measured.toFixed(1)} on the samples after the encode, ${(r.quality - measured).toFixed(1)} below its prediction (${r.quality.toFixed(1)}; margin ${report.spec.margin})`,
      );
    }
    return { ...r, measured, measuredBitrate };
  });
  return { ...report, rungs, notes };
}
