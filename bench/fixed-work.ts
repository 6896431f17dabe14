#!/usr/bin/env node
// Where streamkit's fixed per-job work goes, process by process: issue 18's job (10 s of generated
// 1080p24, bench/presets/quick-h264-4rung.yaml, x264 veryfast, 4 rungs) run several times with
// --ffmpeg and --ffprobe set to wrapper scripts that run the real binaries under GNU time and log
// each process's CPU and wall time. The encode's own ffmpeg is told from everything else, so the
// table shows what streamkit adds around the encode: its probes, the decode checks (the first
// pieces while ffmpeg encodes, the last GOPs after it), and its own Node process. On a machine whose
// cores the encode keeps busy, that CPU is wall time: it is what stands between streamkit and the
// hand-written command of `npm run bench -- --only gen10-h264-4rung-veryfast`.
//
//   npm run bench:fixed-work                    5 runs after one warm-up run
//   npm run bench:fixed-work -- --runs 3 --no-write
//
// Needs GNU time (/usr/bin/time). Results: bench/work/results-fixed-work.json; the fixed-work
// section of bench/RESULTS.md is replaced unless --no-write.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.js';
import { generatedInput } from './lib/inputs.js';
import { timedRun } from './lib/measure.js';
import { writeResultsSection } from './lib/results.js';
import { fmt, fmtSummary, summary } from './lib/stats.js';

const { flag, value } = benchArgs('bench:fixed-work', ['--runs', '--no-write'], { script: import.meta.url, lines: 15 });
// compiled to dist-bench/fixed-work.js: the repository root is one level up, as from bench/
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench', 'work');
const runs = Number(value('--runs') ?? '5');
if (!(Number.isInteger(runs) && runs > 0)) {
  console.error('bench:fixed-work: --runs takes a positive whole number');
  process.exit(2);
}
const GNU_TIME = '/usr/bin/time';
if (!existsSync(GNU_TIME)) {
  console.error('bench:fixed-work: needs GNU time at /usr/bin/time (apt-get install time)');
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.error('bench:fixed-work: dist/ is missing; run `npm install` (or `npm run build`) first.');
  process.exit(2);
}
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** What a logged process was, from its command line. */
type Kind = 'encode' | 'probe' | 'audio start probe' | 'decode check while encoding' | 'decode check after the encode' | 'NVENC trial' | 'other';

function kindOf(argv: string): Kind {
  if (argv.includes(' -filter_complex ')) return 'encode';
  if (argv.includes(' -show_format ')) return 'probe';
  if (argv.includes(' -show_frames ')) return 'audio start probe';
  if (argv.includes('.verify-early-')) return 'decode check while encoding';
  if (argv.includes(' -xerror ')) return 'decode check after the encode';
  if (argv.includes('_nvenc')) return 'NVENC trial';
  return 'other';
}

const dir = join(work, 'fixed-work');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const logFile = join(dir, 'processes.log');
const wrapper = (tool: 'ffmpeg' | 'ffprobe'): string => {
  const real = ['/usr/bin', '/usr/local/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
  if (!real) throw new Error(`bench:fixed-work: no ${tool} in /usr/bin or /usr/local/bin`);
  const file = join(dir, tool);
  // one line per process: wall, user, sys, then the command line
  writeFileSync(file, `#!/bin/sh\nexec ${GNU_TIME} -a -o '${logFile}' -f '%e %U %S %C' '${real}' "$@"\n`);
  chmodSync(file, 0o755);
  return file;
};
const ffmpeg = wrapper('ffmpeg');
const ffprobe = wrapper('ffprobe');
const input = generatedInput(work, 10);
const preset = join(root, 'bench', 'presets', 'quick-h264-4rung.yaml');
// a cache of its own: the warm-up run fills it (capabilities, demuxers, an NVENC trial that failed for want of a driver)
const env = { XDG_CACHE_HOME: join(dir, 'cache') };

interface Process {
  kind: Kind;
  wall: number;
  cpu: number;
}
interface JobRun {
  wall: number;
  cpu: number;
  encodeWall: number;
  processes: Process[];
  load1: number;
}

async function job(): Promise<JobRun> {
  rmSync(logFile, { force: true });
  const out = join(dir, 'out');
  const load1 = loadavg()[0]!;
  const r = await timedRun(
    [process.execPath, join(root, 'bin', 'streamkit.js'), 'transcode', input, '--preset', preset, '--output', out, '--force', '--json', '--ffmpeg', ffmpeg, '--ffprobe', ffprobe],
    { env },
  );
  if (r.code !== 0) throw new Error(`streamkit exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const processes = readFileSync(logFile, 'utf8')
    .split('\n')
    .map((l) => /^(\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ kind: kindOf(` ${m[4]!} `), wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) }));
  const encode = processes.find((p) => p.kind === 'encode');
  if (!encode) throw new Error('bench:fixed-work: no encode in the process log');
  return { wall: r.wall, cpu: r.cpu, encodeWall: encode.wall, processes, load1 };
}

log(`bench:fixed-work: warm-up run (fills the cache) ...`);
await job();
const results: JobRun[] = [];
for (let i = 0; i < runs; i++) {
  const r = await job();
  results.push(r);
  log(`bench:fixed-work: run ${i + 1}/${runs}: wall ${fmt(r.wall)} s (encode ${fmt(r.encodeWall)} s), CPU ${fmt(r.cpu)} s, load ${fmt(r.load1, 1)}`);
}
writeFileSync(join(work, 'results-fixed-work.json'), JSON.stringify({ runs: results }, null, 2));

const kinds: Kind[] = ['probe', 'audio start probe', 'NVENC trial', 'decode check while encoding', 'decode check after the encode', 'other'];
const cpuOf = (r: JobRun, k: Kind): number => r.processes.filter((p) => p.kind === k).reduce((a, p) => a + p.cpu, 0);
const countOf = (r: JobRun, k: Kind): number => r.processes.filter((p) => p.kind === k).length;
const children = (r: JobRun): number => r.processes.reduce((a, p) => a + p.cpu, 0);
const S = (f: (r: JobRun) => number): string => fmtSummary(summary(results.map(f)));
const rows: string[] = [];
rows.push(`| the encode (one ffmpeg) | 1 | ${S((r) => cpuOf(r, 'encode'))} |`);
for (const k of kinds) {
  if (results.every((r) => countOf(r, k) === 0)) continue;
  rows.push(`| ${k} | ${fmt(summary(results.map((r) => countOf(r, k))).median, 0)} | ${S((r) => cpuOf(r, k))} |`);
}
rows.push(`| streamkit's Node process (and the wrappers) | 1 | ${S((r) => r.cpu - children(r))} |`);
rows.push(`| **everything but the encode** | | **${S((r) => r.cpu - cpuOf(r, 'encode'))}** |`);
const md = [
  `### Where the fixed work goes (\`npm run bench:fixed-work\`), ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
  '',
  `Issue 18's job (10 s of generated 1080p24, quick-h264-4rung: 4 rungs, x264 veryfast) run ${runs} times after one warm-up run, ffmpeg and ffprobe through wrappers that log each process's CPU (GNU time). CPU seconds (user + sys) per job, median (min–max); load average (1 min) at the starts ${fmt(Math.min(...results.map((r) => r.load1)), 1)}–${fmt(Math.max(...results.map((r) => r.load1)), 1)}.`,
  '',
  '| process | count | CPU s |',
  '|---|---|---|',
  ...rows,
  '',
  `Wall: the whole job ${S((r) => r.wall)} s, its encode ${S((r) => r.encodeWall)} s, so streamkit adds ${S((r) => r.wall - r.encodeWall)} s around its encode.`,
].join('\n');
console.log(md);
if (!flag('--no-write')) {
  const file = join(root, 'bench', 'RESULTS.md');
  if (writeResultsSection(file, 'fixed-work', md)) log(`bench:fixed-work: wrote the fixed-work section of ${file}`);
  else log(`bench:fixed-work: ${file} has no fixed-work markers; nothing written`);
}
