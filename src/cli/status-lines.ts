import type { CommandContext } from './context.js';

/**
 * Output for long-running commands (push, live): event lines, and one status line that a terminal
 * rewrites in place (stderr) and plain logs (stdout, CI) print at most every 10 s. Nothing in
 * quiet mode. `finish` ends a status line left open.
 */
export function statusLines(ctx: CommandContext): { line: (s: string) => void; status: (s: string) => void; finish: () => void } {
  const tty = ctx.mode === 'tty';
  const out = tty ? ctx.io.err : ctx.io.out;
  let statusShown = false;
  let lastPlain = 0;
  const line = (s: string): void => {
    if (ctx.mode === 'quiet') return;
    if (statusShown) {
      out.write('\r\x1b[K');
      statusShown = false;
    }
    out.write(tty ? `${s}\n` : `[${new Date().toISOString()}] ${s}\n`);
  };
  const status = (s: string): void => {
    if (ctx.mode === 'quiet') return;
    if (tty) {
      out.write(`\r\x1b[K${s}`);
      statusShown = true;
    } else if (Date.now() - lastPlain >= 10_000) {
      lastPlain = Date.now();
      line(s);
    }
  };
  const finish = (): void => {
    if (statusShown) out.write('\n');
    statusShown = false;
  };
  return { line, status, finish };
}
