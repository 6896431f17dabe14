import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/**
 * The folder streamkit is installed in (the one holding its package.json and presets/). Found by
 * walking up from this module, so it is right from src/, dist/ and the bundled CLI in dist/bundle/.
 */
export function installDir(): string {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'streamkit') return (cached = dir);
    if (dirname(dir) === dir) throw new Error(`streamkit's package.json was not found above ${start}; the installation is incomplete.`);
  }
}
