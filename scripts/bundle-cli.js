#!/usr/bin/env node
// Bundles the built CLI (dist/cli/main.js and everything it imports) into dist/bundle/, so that
// `streamkit` starts by reading a handful of files instead of resolving ~250 modules one by one:
// on Node 20 that is most of the start-up time (0.45 s before a preset is even looked at, against
// 0.2 s bundled; see README, Development). Run after `tsc` by `npm run build`.
//
// bin/streamkit.js uses the bundle only when it is at least as new as dist/cli/main.js, and falls
// back to the unbundled dist/ otherwise, so a bare `tsc` never leaves a stale CLI behind. Without
// rolldown (a production install that skipped devDependencies) this prints why and exits 0.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
const outDir = join(root, 'dist', 'bundle');

if (!existsSync(entry)) {
  console.error(`bundle-cli: ${entry} is missing; run tsc first (npm run build does both).`);
  process.exit(1);
}

let build;
try {
  ({ build } = await import('rolldown'));
} catch (error) {
  console.error(`bundle-cli: rolldown is not installed (${error.code ?? error.message}); the CLI runs unbundled from dist/cli, only its start-up is slower.`);
  process.exit(0);
}

await rm(outDir, { recursive: true, force: true });
await build({
  input: entry,
  platform: 'node',
  // bullmq (queue commands only, loaded lazily) reads its Lua scripts from its own folder at run time;
  // ffmpeg-static is optional and found with require() at run time
  external: [/^bullmq($|\/)/, /^ioredis($|\/)/, /^ffmpeg-static($|\/)/],
  logLevel: 'warn',
  output: { dir: outDir, format: 'esm', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js', sourcemap: false },
});
// dist/bundle/ is two levels below the package root like every other dist/*/ module, and
// install-dir.ts finds package.json and presets/ by walking up, so nothing else changes.
console.error(`bundle-cli: wrote ${outDir}`);
