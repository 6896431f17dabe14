import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/** streamkit's own version, from package.json (works from src/ and dist/). */
export function streamkitVersion(): string {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { version: string };
  cached = pkg.version;
  return cached;
}
