import type { PerTitleReport } from '../pipeline/per-title.js';
import { kbps } from './format.js';

/**
 * The per-title ladder in words, for every output mode but JSON (which prints the report itself):
 * how it was measured, then one line per rung with why it was chosen: its predicted quality, its
 * bits against the fixed ladder's at that resolution, and (after the encode) what was measured.
 */
export function perTitleLines(r: PerTitleReport): string[] {
  const sampled = r.samples.reduce((a, s) => a + s.duration, 0);
  const head = `per-title: ${r.metricName}; ${r.samples.length} sample${r.samples.length === 1 ? '' : 's'} (${sampled.toFixed(0)} s${r.sceneCuts ? `, ${r.sceneCuts} scene cuts found` : ''}), ${r.candidates.length} candidates; analysis ${r.analysisSeconds.toFixed(1)} s${r.analysisCpuSeconds !== null ? ` (${r.analysisCpuSeconds.toFixed(0)} CPU s)` : ''}${r.cached ? ', from the cache' : ''}`;
  const lines = [head];
  const name = Math.max(6, ...r.rungs.map((x) => x.name.length));
  for (const x of r.rungs) {
    const measured = x.measured === null ? '' : `, measured ${x.measured.toFixed(1)}${x.measuredBitrate !== null ? ` at ${kbps(x.measuredBitrate)}` : ''}`;
    const ceiling = x.atCeiling ? ' (at the ceiling: encoded as the fixed rung)' : '';
    const how = x.crf === null ? 'vbr      ' : `crf ${String(x.crf).padEnd(5)}`;
    lines.push(
      `  ${x.name.padEnd(name)} ${`${x.width}x${x.height}`.padEnd(10)} ${how} ${kbps(x.bitrate).padStart(11)} (fixed ladder ${kbps(x.fixedBitrate)})${ceiling}  quality ${x.quality.toFixed(1)} predicted${measured}`,
    );
  }
  const total = r.rungs.reduce((a, x) => a + x.bitrate, 0);
  const fixed = r.fixed.reduce((a, x) => a + x.bitrate, 0);
  if (fixed > 0)
    lines.push(
      `  ${r.rungs.length} rungs, ${kbps(total)} in all against ${kbps(fixed)} for the fixed ladder's ${r.fixed.length} (${(((total - fixed) / fixed) * 100).toFixed(0)}%, predicted)`,
    );
  return lines;
}
