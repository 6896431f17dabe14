import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { bytes } from '../format/quantities.js';
import { streamkitVersion } from '../version.js';
import type { BatchJobResult, BatchSummary } from './events.js';
import { isHttpUrl } from '../remote.js';

/** Summaries of a finished batch: a text table, Markdown (GitHub step summary) and a JSON report. */

/** A path relative to `cwd` when it is inside it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  if (isHttpUrl(path)) return path;
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : path;
}

export function seconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s - m * 60)).padStart(2, '0')} min`;
}

export function speedText(x: number | null): string {
  return x === null ? '-' : `${x.toFixed(x >= 10 ? 0 : 1)}x`;
}

function summaryLine(summary: BatchSummary): string {
  const c = summary.counts;
  const parts = [`${c.done} done`, `${c.skipped} skipped`, `${c.failed} failed`];
  if (c.cancelled > 0) parts.push(`${c.cancelled} cancelled`);
  const stop = summary.stopped === 'interrupted' ? ' (interrupted)' : summary.stopped === 'fail-fast' ? ' (stopped at the first failure: --fail-fast)' : '';
  return `${c.total} job${c.total === 1 ? '' : 's'}: ${parts.join(', ')} in ${seconds(summary.elapsedSeconds)}${stop}`;
}

interface Row {
  status: string;
  input: string;
  time: string;
  speed: string;
  size: string;
  detail: string;
}

function rows(summary: BatchSummary, cwd: string): Row[] {
  return summary.jobs.map((j: BatchJobResult) => ({
    status: j.status === 'skipped' && j.skip === 'locked' ? 'locked' : j.status,
    input: displayPath(j.input, cwd),
    time: seconds(j.elapsedSeconds),
    speed: speedText(j.speed),
    size: j.sizeBytes === null ? '-' : bytes(j.sizeBytes),
    detail: j.status === 'done' ? `-> ${displayPath(j.output, cwd)}` : (j.reason ?? ''),
  }));
}

/** Plain-text table, one line per job, then the totals line. */
export function summaryTable(summary: BatchSummary, cwd = process.cwd()): string[] {
  const header: Row = { status: 'STATUS', input: 'INPUT', time: 'TIME', speed: 'SPEED', size: 'SIZE', detail: 'OUTPUT / REASON' };
  const all = [header, ...rows(summary, cwd)];
  const w = (k: keyof Row): number => Math.max(...all.map((r) => r[k].length));
  const widths = { status: w('status'), input: Math.min(w('input'), 60), time: w('time'), speed: w('speed'), size: w('size') };
  const lines = all.map((r) =>
    [
      r.status.padEnd(widths.status),
      r.input.padEnd(widths.input),
      r.time.padStart(widths.time),
      r.speed.padStart(widths.speed),
      r.size.padStart(widths.size),
      r.detail.split('\n')[0],
    ]
      .join('  ')
      .trimEnd(),
  );
  lines.push(summaryLine(summary));
  return lines;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Markdown for $GITHUB_STEP_SUMMARY. */
export function summaryMarkdown(summary: BatchSummary, cwd = process.cwd()): string {
  const icon: Record<string, string> = { done: '✅ done', skipped: '⏭️ skipped', locked: '🔒 locked', failed: '❌ failed', cancelled: '⏹️ cancelled' };
  const lines = [
    '### streamkit batch',
    '',
    summaryLine(summary),
    '',
    '| Status | Input | Time | Speed | Size | Output / reason |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...rows(summary, cwd).map((r) => `| ${icon[r.status] ?? r.status} | ${cell(r.input)} | ${r.time} | ${r.speed} | ${r.size} | ${cell(r.detail)} |`),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** The JSON report (--report FILE), written atomically (temporary file, then rename). */
export async function writeBatchReport(file: string, summary: BatchSummary): Promise<void> {
  const abs = resolve(file);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ tool: 'streamkit batch', streamkitVersion: streamkitVersion(), ...summary }, null, 2)}\n`);
  await rename(tmp, abs);
}

export async function appendStepSummary(file: string, summary: BatchSummary, cwd = process.cwd()): Promise<void> {
  await appendFile(file, summaryMarkdown(summary, cwd));
}
