#!/usr/bin/env node
// Does the streamkit (Node) process's memory stay flat whatever the input length? The same small
// ladder (bench/presets/memory-lowres.yaml) on generated 320x180 inputs of increasing length; the
// peak RSS (VmHWM) of the Node process is sampled from /proc while it runs, as in bench/run.js.
// Low resolution keeps the encode short while the package still grows to thousands of segment
// files, which is what Node handles (progress lines, packaging, decode check, checksums).
//
//   npm run bench:memory                  1, 10 and 40 minutes (about 5 minutes on 2 cores)
//   npm run bench:memory -- --minutes 1,60 --no-write
//
// TypeScript, compiled with the rest of bench/ into dist-bench/ by `npm run bench:memory`.
// Results: bench/work/results-memory.json; the memory section of bench/RESULTS.md is replaced.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lowresInput } from './lib/inputs.js';
import { timedRun } from './lib/measure.js';
import { writeResultsSection } from './lib/results.js';
import { fmt } from './lib/stats.js';

// compiled to dist-bench/memory.js: the repository root is one level up, as it is from bench/memory.ts
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench', 'work');
const argv = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const minutes = (value('--minutes') ?? '1,10,40').split(',').map(Number);
if (minutes.some((m) => !(m > 0))) {
  console.error('bench:memory: --minutes takes positive numbers, e.g. --minutes 1,10,40');
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.error('bench:memory: dist/ is missing; run `npm install` (or `npm run build`) first.');
  process.exit(2);
}
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

interface Row {
  minutes: number;
  files: number;
  events: number;
  nodePeakRssMiB: number | null;
  nodeOwnCpu: number | null;
  wall: number;
  encodeSeconds: number | null;
  postEncodeSeconds: number | null;
}

const rows: Row[] = [];
for (const min of minutes) {
  const file = lowresInput(work, min);
  const out = join(work, 'memory', `${min}min`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  log(`bench:memory: streamkit on ${min} min ...`);
  const r = await timedRun(
    [
      process.execPath,
      join(root, 'bin', 'streamkit.js'),
      'transcode',
      file,
      '--preset',
      join(root, 'bench', 'presets', 'memory-lowres.yaml'),
      '--output',
      out,
      '--json',
      '--force',
    ],
    { sampleChildRss: true },
  );
  if (r.code !== 0) throw new Error(`streamkit exited ${r.code} on ${file}: ${r.stderr.slice(-2000)}`);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; encodeSeconds?: number; postEncodeSeconds?: number });
  const done = events.find((e) => e.type === 'done');
  const manifest = JSON.parse(readFileSync(join(out, 'streamkit.json'), 'utf8')) as { outputs: unknown[] };
  const row: Row = {
    minutes: min,
    files: manifest.outputs.length,
    events: events.length,
    nodePeakRssMiB: r.childHwmKiB === null ? null : r.childHwmKiB / 1024,
    nodeOwnCpu: r.childOwnCpu,
    wall: r.wall,
    encodeSeconds: done?.encodeSeconds ?? null,
    postEncodeSeconds: done?.postEncodeSeconds ?? null,
  };
  rows.push(row);
  log(`bench:memory: ${min} min: ${manifest.outputs.length} files, Node peak RSS ${fmt(row.nodePeakRssMiB, 0)} MiB, wall ${fmt(r.wall, 1)} s`);
  rmSync(out, { recursive: true, force: true });
}

const md = [
  `## Node memory against input length (\`npm run bench:memory\`), ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
  '',
  'bench/presets/memory-lowres.yaml (3 rungs 320x180 to 160x90, x264 ultrafast, 2 s segments, AAC) on generated 320x180 25 fps inputs; one run each. Peak RSS is the streamkit Node process alone (VmHWM), not ffmpeg.',
  '',
  '| input | files in the package | NDJSON events | Node peak RSS, MiB | Node own CPU s | wall s | encode s | post-encode s |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.minutes} min | ${r.files} | ${r.events} | **${fmt(r.nodePeakRssMiB, 0)}** | ${fmt(r.nodeOwnCpu, 2)} | ${fmt(r.wall, 1)} | ${fmt(r.encodeSeconds, 1)} | ${fmt(r.postEncodeSeconds, 2)} |`,
  ),
  '',
].join('\n');
writeFileSync(join(work, 'results-memory.json'), JSON.stringify({ rows }, null, 2));
process.stdout.write(`${md}\n`);
if (!argv.includes('--no-write')) {
  log(
    writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'memory', md)
      ? 'bench:memory: updated the memory section of bench/RESULTS.md'
      : 'bench:memory: bench/RESULTS.md has no memory section markers; not updated',
  );
}
