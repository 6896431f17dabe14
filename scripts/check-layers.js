#!/usr/bin/env node
// Layers only import downward: every runtime import in src/ must point at the same layer or one
// below it. Type-only imports (`import type`, `export type`) are exempt: they vanish at run time,
// and the shared value types (plan.ts, events.ts) name types from the layers they describe.
// Run by `npm run lint`; prints each upward import and exits 1 when there is one.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Top to bottom. A folder name stands for everything under it; a file name for that file in src/. */
const LAYERS = [
  ['cli', 'index.ts'],
  ['batch', 'queue', 'push', 'serve', 'live'],
  ['job'],
  ['transcode.ts'],
  ['pipeline'],
  ['package', 'per-title', 'quality'],
  ['args'],
  ['encoder'],
  ['media'],
  ['format'],
  ['ffmpeg'],
  ['preset'],
  ['errors.ts', 'events.ts', 'plan.ts', 'version.ts', 'install-dir.ts', 'remote.ts'],
];

const src = resolve(import.meta.dirname, '..', 'src');
const rankOf = (file) => {
  const first = relative(src, file).split('/')[0];
  const i = LAYERS.findIndex((names) => names.includes(first));
  if (i === -1) throw new Error(`scripts/check-layers.js: ${relative(src, file)} is in no layer; add it to LAYERS`);
  return i;
};

const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const runtimeImport = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm;

const upward = [];
for (const file of files(src)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(runtimeImport)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (rankOf(target) < rankOf(file)) upward.push(`${relative(src, file)} imports ${relative(src, target)} (a higher layer)`);
  }
}
for (const line of upward) console.error(`upward import: ${line}`);
if (upward.length > 0) process.exit(1);
console.log(`layers: ${files(src).length} modules, every runtime import points down`);
