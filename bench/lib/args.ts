import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchArgs {
  /** the arguments as given (for the command line a report quotes) */
  argv: readonly string[];
  flag(name: string): boolean;
  value(name: string): string | undefined;
}

/**
 * The command line of a bench script: an unknown `--option` exits 2 naming the known ones; `--help`
 * prints `help` (text, or the script's own leading `//` comment, lines 2 to `lines`) and exits 0.
 */
export function benchArgs(name: string, known: readonly string[], help: string | { script: string; lines: number }): BenchArgs {
  const argv = process.argv.slice(2);
  for (const a of argv) {
    if (a.startsWith('--') && ![...known, '--help'].includes(a)) {
      console.error(`${name}: unknown option ${a} (known: ${[...known, '--help'].join(' ')})`);
      process.exit(2);
    }
  }
  if (argv.includes('--help')) {
    console.log(
      typeof help === 'string'
        ? help
        : readFileSync(fileURLToPath(help.script), 'utf8')
            .split('\n')
            .slice(1, help.lines)
            .join('\n')
            .replace(/^\/\/ ?/gm, ''),
    );
    process.exit(0);
  }
  return {
    argv,
    flag: (n) => argv.includes(n),
    value: (n) => {
      const i = argv.indexOf(n);
      return i >= 0 ? argv[i + 1] : undefined;
    },
  };
}
