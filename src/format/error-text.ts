import { FfmpegError, isStreamkitError } from '../errors.js';
import { shellQuote } from '../ffmpeg/shell-quote.js';

/**
 * An error as people read it: one sentence, the problems of a preset, the ffmpeg command and the end
 * of its log for ffmpeg failures, the hint. The CLI prints it; queue workers keep it in a job's log.
 */
export function formatError(error: unknown, verbose: boolean): string {
  if (!isStreamkitError(error)) {
    const e = error as Error;
    return `error: ${e?.message ?? String(error)}\n${verbose && e?.stack ? e.stack : 'hint: this looks like a bug in streamkit; rerun with --verbose and report it'}`;
  }
  const lines = [`error: ${error.message}`];
  if (error.details['issues'] && Array.isArray(error.details['issues']) && error.details['issues'].length > 1) {
    for (const i of error.details['issues'] as { file: string; path: string; message: string }[]) lines.push(`  ${i.file}: ${i.path}: ${i.message}`);
  }
  const tool = typeof error.details['tool'] === 'string' ? error.details['tool'] : 'ffmpeg';
  // log lines can be huge (a whitelist echoed back): keep each readable
  const clip = (l: string): string => (l.length > 300 ? `${l.slice(0, 300)}... (${l.length - 300} more characters)` : l);
  const tailOf = (t: unknown): string[] =>
    Array.isArray(t)
      ? (t as unknown[])
          .map(String)
          .filter((l) => l.trim() !== '')
          .map(clip)
      : [];
  if (error instanceof FfmpegError || Array.isArray(error.details['command'])) {
    const command = (error instanceof FfmpegError ? error.command : (error.details['command'] as string[])) ?? [];
    if (command.length > 0) lines.push(`command: ${shellQuote(command)}`);
    const tail = tailOf(error instanceof FfmpegError ? error.stderrTail : error.details['stderrTail']);
    if (tail.length > 0) lines.push(`${tool} said (last ${tail.length} line${tail.length > 1 ? 's' : ''} of its log):`, ...tail.map((l) => `  ${l}`));
  } else if (tailOf(error.details['stderrTail']).length > 0) {
    lines.push(`${tool} said:`, ...tailOf(error.details['stderrTail']).map((l) => `  ${l}`));
  }
  if (error.hint) lines.push(`hint: ${error.hint}`);
  if (verbose && error.stack) lines.push(error.stack);
  return lines.join('\n');
}
