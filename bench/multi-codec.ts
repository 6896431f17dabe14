#!/usr/bin/env node
// Multi-codec packages (issue 20): what one run of the multi-codec-ladder preset (H.264 + HEVC + AV1
// from one decode, one scaler per size, one audio encode) costs against the three single-codec runs
// a user would otherwise make, one after another, with exactly the same rungs and encoder settings
// (three presets derived here from the multi-codec one: each of its ladders on its own, the same
// rung names, audio, segments and fMP4). Measured: CPU time (user + sys of the whole process tree:
// streamkit's Node process and every ffmpeg/ffprobe it ran) and wall time. Thumbnails are off in all
// four runs (a single-codec run would make its own set; leaving them out keeps the comparison to the
// ladder itself). Goal: multi / sum of singles <= 0.97 in CPU time.
//
// Input: ../shared/media/driving-1080p25.h264 (the only 1080p clip there), looped to about --seconds
// (default 8.64 s: 4 loops), with a stereo tone, as an H.264 mezzanine made once into bench/work/inputs.
// Skipped with a message when ../shared/media is absent.
//
//   npm run bench:multi                        2 runs of each (alternating order)
//   npm run bench:multi -- --runs 1 --seconds 4.32 --no-write
//
// Results: bench/work/multi-codec/results.json; the multi-codec section of bench/RESULTS.md is replaced.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { drivingInput, sharedMediaDir } from './lib/inputs.js';
import { cpuTimer, timedRun } from './lib/measure.js';
import { writeResultsSection } from './lib/results.js';
import { fmt, median, shellQuote } from './lib/stats.js';
import { benchArgs } from './lib/args.js';

// compiled to dist-bench/multi-codec.js: the repository root is one level up, as it is from bench/multi-codec.ts
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench', 'work');
const out = join(work, 'multi-codec');
const cli = join(root, 'bin', 'streamkit.js');

const { flag, value } = benchArgs('bench:multi', ['--runs', '--seconds', '--no-write'], { script: import.meta.url, lines: 19 });
const runs = Math.max(1, Number(value('--runs') ?? 2));
const seconds = Number(value('--seconds') ?? 8.64);

const media = sharedMediaDir(root);
if (!media || !existsSync(join(media, 'driving-1080p25.h264'))) {
  console.log('bench:multi: skipped: ../shared/media/driving-1080p25.h264 is absent (set STREAMKIT_BENCH_MEDIA to the folder holding it).');
  process.exit(0);
}
const input = drivingInput(work, media, seconds);

// ------------------------------------------------------------------------------------------ the presets
type Doc = Record<string, unknown>;
const multi = parseYaml(readFileSync(join(root, 'presets', 'multi-codec-ladder.yaml'), 'utf8')) as Doc;
const ladders = multi['video'] as Doc[];
const packaging = { ...(multi['packaging'] as Doc), thumbnails: false };
mkdirSync(out, { recursive: true });
// every rung named as the multi-codec package names it, so the four runs write the same folders
const named = (l: Doc): Doc => ({ ...l, rungs: (l['rungs'] as Doc[]).map((r) => ({ name: `${l['codec']}-${r['height']}p`, ...r })) });
const contenders = [
  { id: 'multi', doc: { ...multi, name: 'bench-multi', video: ladders.map(named), packaging } },
  ...ladders.map((l) => ({ id: String(l['codec']), doc: { ...multi, name: `bench-${l['codec']}`, video: named(l), packaging } })),
].map((c) => {
  const file = join(out, `${c.id}.yaml`);
  writeFileSync(file, `# derived from presets/multi-codec-ladder.yaml by bench/multi-codec.ts\n${toYaml(c.doc)}`);
  return { id: c.id, file };
});

// ----------------------------------------------------------------------------------------------- runs
interface Sample {
  run: number;
  id: string;
  cpu: number;
  wall: number;
  load1: number;
}
const samples: Sample[] = [];
const commandOf = (file: string, id: string): string[] => ['node', cli, 'transcode', input, '--preset', file, '-o', join(out, `pkg-${id}`), '--hw', 'cpu', '--force', '--json'];
const started = new Date();
// the commit of the checkout when the runs start (the build in dist/ is what runs: build before benchmarking)
const commit = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const loadStart = loadavg();
for (let run = 0; run < runs; run++) {
  // alternate the order, so a machine getting busier or quieter does not favour one side
  const order = run % 2 === 0 ? contenders : [...contenders].reverse();
  for (const c of order) {
    const load1 = loadavg()[0]!;
    process.stderr.write(`bench:multi: run ${run + 1}/${runs} ${c.id} (load ${load1.toFixed(2)})... `);
    const r = await timedRun(commandOf(c.file, c.id));
    if (r.code !== 0) {
      console.error(`\nbench:multi: ${c.id} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
      process.exit(1);
    }
    process.stderr.write(`cpu ${r.cpu.toFixed(1)} s, wall ${r.wall.toFixed(1)} s\n`);
    samples.push({ run, id: c.id, cpu: r.cpu, wall: r.wall, load1 });
  }
}
const loadEnd = loadavg();

// ----------------------------------------------------------------------------------------------- report
const perRun = Array.from({ length: runs }, (_, run) => {
  const of = (id: string): Sample => samples.find((s) => s.run === run && s.id === id)!;
  const singles = contenders.filter((c) => c.id !== 'multi').map((c) => of(c.id));
  const m = of('multi');
  const cpuSum = singles.reduce((a, s) => a + s.cpu, 0);
  const wallSum = singles.reduce((a, s) => a + s.wall, 0);
  return { run, multiCpu: m.cpu, singlesCpu: cpuSum, cpuRatio: m.cpu / cpuSum, multiWall: m.wall, singlesWall: wallSum, wallRatio: m.wall / wallSum, singles };
});
const cpuRatio = median(perRun.map((r) => r.cpuRatio));
const wallRatio = median(perRun.map((r) => r.wallRatio));
const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
const ffmpegVersion = /ffmpeg version (\S+)/.exec(spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
const result = {
  started: started.toISOString().replace(/\.\d+Z$/, 'Z'),
  commit,
  machine: { cpuModel: model, nproc: cpus().length, memGiB: +(totalmem() / 2 ** 30).toFixed(1), ffmpeg: ffmpegVersion, cpuTimer: cpuTimer() },
  input,
  runs,
  loadStart,
  loadEnd,
  samples,
  perRun,
  cpuRatio,
  wallRatio,
  goal: 0.97,
};
writeFileSync(join(out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);

const md = [
  `## Multi-codec package against three single-codec runs (\`npm run bench:multi\`), ${result.started}`,
  '',
  `Machine: ${model}, ${cpus().length} CPUs, ${result.machine.memGiB} GiB, ffmpeg ${ffmpegVersion}, commit ${commit}. CPU time by ${cpuTimer()}.`,
  `Load average (1/5/15 min) at the start ${loadStart.map((l) => l.toFixed(2)).join('/')}, at the end ${loadEnd.map((l) => l.toFixed(2)).join('/')}: the machine is shared with other work; CPU time is far less sensitive to that than wall time, but not immune (cache and frequency effects).`,
  `Input: ${input.replaceAll(`${root}/`, '')} (driving-1080p25.h264 looped, 1920x1080 25 fps, with a stereo tone). Presets: bench/work/multi-codec/{multi,h264,hevc,av1}.yaml, derived from presets/multi-codec-ladder.yaml (same rungs, encoders, speeds, audio, fMP4 segments; thumbnails off in all four).`,
  `Command per contender: \`${shellQuote(commandOf(join(out, 'ID.yaml'), 'ID')).replaceAll(`${root}/`, '')}\`; ${runs} run(s) of each, order alternating.`,
  '',
  '| run | multi CPU s | h264 + hevc + av1 CPU s | CPU ratio | multi wall s | singles wall s | wall ratio |',
  '|---|---|---|---|---|---|---|',
  ...perRun.map(
    (r) =>
      `| ${r.run + 1} | ${fmt(r.multiCpu, 1)} | ${r.singles.map((s) => fmt(s.cpu, 1)).join(' + ')} = ${fmt(r.singlesCpu, 1)} | ${fmt(r.cpuRatio, 3)} | ${fmt(r.multiWall, 1)} | ${fmt(r.singlesWall, 1)} | ${fmt(r.wallRatio, 3)} |`,
  ),
  '',
  `Median CPU ratio **${fmt(cpuRatio, 3)}** (goal <= 0.97: ${cpuRatio <= 0.97 ? 'met' : 'NOT met'}); median wall ratio ${fmt(wallRatio, 3)}.`,
].join('\n');
console.log(md);
if (!flag('--no-write')) {
  if (!writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'multi-codec', md))
    console.error('bench:multi: no multi-codec section markers in bench/RESULTS.md; not written there');
}
// the packages are large; keep the last ones only for inspection when asked
if (process.env['STREAMKIT_BENCH_KEEP'] !== '1') for (const c of contenders) rmSync(join(out, `pkg-${c.id}`), { recursive: true, force: true });
