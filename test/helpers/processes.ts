/** What is still running after a test: read from /proc. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Processes (other than this one) whose command line mentions `needle`: e.g. an ffmpeg still writing to a test's unique output path. */
export function processesMentioning(needle: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      // ffmpeg runs inside the staging folder with relative output paths: match its working folder too
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        /* not ours to read, or exited */
      }
      // zombies have an empty command line and hold nothing open
      if (cmdline !== '' && (cmdline.includes(needle) || cwd.includes(needle))) out.push({ pid: Number(name), cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
