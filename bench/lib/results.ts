// Replaces one marked section of bench/RESULTS.md (<!-- bench:NAME:begin --> ... <!-- bench:NAME:end -->).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Returns false, writing nothing, when the file or its markers are missing. */
export function writeResultsSection(file: string, name: string, md: string): boolean {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  writeFileSync(file, `${text.slice(0, a + begin.length)}\n${md}\n${text.slice(b)}`);
  return true;
}
