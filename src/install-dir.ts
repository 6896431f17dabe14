import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Installed {
  dir: string;
  version: string;
}

let cached: Installed | null = null;

/**
 * Where streamkit is installed (the folder holding its package.json and presets/) and its version,
 * read once. Found by walking up from this module, so it is right from src/, dist/ and the bundled
 * CLI in dist/bundle/.
 */
function installed(): Installed {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'streamkit') {
        cached = { dir, version: String(pkg.version) };
        return cached;
      }
    }
    if (dirname(dir) === dir) throw new Error(`streamkit's package.json was not found above ${start}; the installation is incomplete.`);
  }
}

/** The folder streamkit is installed in (package.json, presets/). */
export function installDir(): string {
  return installed().dir;
}

/** streamkit's own version, from its package.json. */
export function installedVersion(): string {
  return installed().version;
}
