import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installDir } from './install-dir.js';

let cached: string | null = null;

/** streamkit's own version, from package.json (works from src/, dist/ and the bundled CLI). */
export function streamkitVersion(): string {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(join(installDir(), 'package.json'), 'utf8')) as { version: string };
  cached = pkg.version;
  return cached;
}
