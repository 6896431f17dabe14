#!/usr/bin/env node
// Per-title ladders (issue 21): each clip transcoded twice with the same preset, the fixed ladder and
// `--per-title` (a fresh STREAMKIT_CACHE_DIR per run, so the analysis is done and paid for), then every
// rung of both packages scored by this script with libvmaf's `vmaf` tool over the WHOLE clip, upscaled
// bicubic to the source's display size (bench/lib/vmaf.ts), not taken from streamkit. Reported per
// clip and codec: total video bytes (packet payload of every rung), the top rungs' VMAF, BD-rate
// (bench/lib/bdrate.ts: PCHIP of log-rate over the overlapping VMAF range), and the CPU seconds of
// both runs; and the analysis cost on a 1080p title of 60 s (the Sintel trailer, upscaled and looped).
// Targets: per-title H.264 video bytes >= 20% below the fixed h264-ladder on average, >= 40% below on
// easy content; per-title top-rung VMAF >= min(fixed top-rung VMAF, 95) - 1.5 on every clip; analysis
// CPU <= half the CPU of encoding the ladder (fixed, and per-title after the analysis).
//
// Inputs are made once into bench/work/inputs from ../shared/media (skipped with a message when absent):
// 6 s excerpts of sintel-720p, tos-332p, car-432p, flower-720p; easy-pan-720p (EASY: a slow pan over a
// still); hard-noise-720p (HARD: testsrc2 with strong temporal noise); driving-1080p only with --only
// (54 frames looped: the 1080p cost title covers 1080p). Titles up to 12 s are analysed whole by
// streamkit, so the analysis of a clip costs in proportion to its length: 6 s keeps the default run
// near 25 min on 2 cores (an estimate, not measured), with HEVC and AV1 on car-432p only.
//
//   npm run bench:per-title                         the default set, H.264; HEVC and AV1 on --codec-clips; cost title
//   npm run bench:per-title -- --quick --no-write   smoke test: one 4 s clip, H.264 only (about 3 min)
//   npm run bench:per-title -- --only sintel-1080p-60s          the analysis cost alone
//   options: --only a,b  --codecs h264,hevc,av1  --codec-clips a,b  --seconds N (6)  --subsample N (2: the
//   rungs below the top one scored every 2nd frame)  --no-cost  --no-write
//
// Results: bench/work/per-title/results.json; the per-title section of bench/RESULTS.md is replaced.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.js';
import { type BdRate, bdRate } from './lib/bdrate.js';
import { build, drivingInput, mezzanine, sharedMediaDir } from './lib/inputs.js';
import { cpuTimer, timedRun } from './lib/measure.js';
import { playlistComplete, videoStats } from './lib/quality.js';
import { writeResultsSection } from './lib/results.js';
import { fmt, shellQuote } from './lib/stats.js';
import { vmafAgainstSource } from './lib/vmaf.js';

// compiled to dist-bench/per-title.js: the repository root is one level up, as it is from bench/per-title.ts
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench', 'work');
const out = join(work, 'per-title');
const cli = join(root, 'bin', 'streamkit.js');

const { flag, value, argv } = benchArgs('bench:per-title', ['--no-write', '--only', '--codecs', '--codec-clips', '--quick', '--seconds', '--subsample', '--no-cost'], {
  script: import.meta.url,
  lines: 26,
});
const quick = flag('--quick');
const seconds = Number(value('--seconds') ?? (quick ? 4 : 6));
const subsample = Math.max(1, Math.round(Number(value('--subsample') ?? 2)));
const codecs = quick ? ['h264'] : (value('--codecs') ?? 'h264,hevc,av1').split(',').filter(Boolean);
for (const c of codecs) {
  if (!['h264', 'hevc', 'av1'].includes(c)) {
    console.error(`bench:per-title: unknown codec ${c} (h264, hevc, av1)`);
    process.exit(2);
  }
}
// x265 medium and SVT-AV1 preset 8 are several times slower than x264 on 2 cores: the other codecs run on a subset
const codecClips = (value('--codec-clips') ?? 'car-432p').split(',').filter(Boolean);

const media = sharedMediaDir(root);
const vmafTool = resolve(root, '..', 'shared', 'tools', 'vmaf', 'vmaf');
const vmafAlt = resolve(root, '..', '..', 'shared', 'tools', 'vmaf', 'vmaf');
const tool = [process.env['STREAMKIT_BENCH_VMAF'], vmafTool, vmafAlt].find((t): t is string => !!t && existsSync(t));
if (!media || !tool) {
  console.log(
    `bench:per-title: skipped: ${!media ? '../shared/media (with sintel-trailer-720p.mp4) is absent (set STREAMKIT_BENCH_MEDIA)' : '../shared/tools/vmaf/vmaf is absent (set STREAMKIT_BENCH_VMAF)'}.`,
  );
  process.exit(0);
}
const vmafPath: string = tool;
// libvmaf 3's tool prints its version on stderr
const versionRun = spawnSync(vmafPath, ['--version'], { encoding: 'utf8' });
const vmafVersion = /(\d+\.\d+(?:\.\d+)?)/.exec(`${versionRun.stdout ?? ''} ${versionRun.stderr ?? ''}`)?.[1] ?? 'unknown';

// ----------------------------------------------------------------------------------------------- inputs
type Kind = 'real' | 'easy' | 'hard';
interface Clip {
  id: string;
  kind: Kind;
  about: string;
  make: () => string;
  /** left out of the default set (for the time budget); run with --only */
  optional?: boolean;
}
const tone = "aevalsrc=exprs='0.2*sin(2*PI*440*t)|0.2*sin(2*PI*554.37*t)':s=48000:c=stereo";
const inputs = join(work, 'inputs');
const sintel = join(media, 'sintel-trailer-720p.mp4');
const s = String(seconds);
const excerpt = (id: string, file: string, from: number, about: string, kind: Kind = 'real'): Clip => ({
  id,
  kind,
  about,
  make: () =>
    build(
      join(inputs, `pt-${id}-${from}+${s}s.mp4`),
      ['-ss', String(from), '-i', `file:${file}`, '-t', s, '-map', '0:v:0', '-map', '0:a:0', ...mezzanine],
      `${id}: ${s} s from ${from} s`,
    ),
});
const allClips: Clip[] = [
  excerpt('sintel-720p', sintel, 24, 'Sintel trailer (animated film), 1280x720 24 fps'),
  excerpt('tos-332p', join(media, 'tos-battle-332p.webm'), 20, 'Tears of Steel battle (live action, high motion), 800x332 24 fps'),
  excerpt('car-432p', join(media, 'car-detection-432p.mp4'), 0, 'parking lot from above (static camera), 768x432 12.5 fps'),
  {
    id: 'flower-720p',
    kind: 'real',
    about: 'handheld phone shot, 1280x720 30 fps (raw H.264 remuxed)',
    make: () =>
      build(
        join(inputs, `pt-flower-720p-${s}s.mp4`),
        ['-framerate', '30', '-f', 'h264', '-i', `file:${join(media, 'flower-720p30.h264')}`, '-f', 'lavfi', '-i', tone, '-map', '0:v', '-map', '1:a', '-t', s, ...mezzanine],
        `flower-720p: ${s} s`,
      ),
  },
  {
    id: 'driving-1080p',
    kind: 'real',
    about: 'dash-cam driving, 1920x1080 25 fps, 54 frames looped (a cut every 2.16 s)',
    optional: true,
    make: () => drivingInput(work, media, seconds),
  },
  {
    id: 'easy-pan-720p',
    kind: 'easy',
    about: 'EASY: a slow pan (24 px/s) over one still frame of the Sintel trailer upscaled to 2560x1440, 1280x720 24 fps',
    make: () =>
      build(
        join(inputs, `pt-easy-pan-720p-${s}s.mp4`),
        // biome-ignore format: ffmpeg flag/value pairs
        [
          '-ss', '33', '-i', `file:${sintel}`, '-f', 'lavfi', '-i', tone,
          '-filter_complex', "[0:v]trim=end_frame=1,loop=loop=-1:size=1,setpts=N/24/TB,scale=2560:1440:flags=lanczos,crop=1280:720:x='t*24':y=360,format=yuv420p[v]",
          '-map', '[v]', '-map', '1:a', '-r', '24', '-t', s, ...mezzanine,
        ],
        `easy-pan-720p: ${s} s`,
      ),
  },
  {
    id: 'hard-noise-720p',
    kind: 'hard',
    about: 'HARD: testsrc2 with strong temporal noise (noise=alls=30:allf=t+u), 1280x720 24 fps',
    make: () =>
      build(
        join(inputs, `pt-hard-noise-720p-${s}s.mp4`),
        ['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=24,noise=alls=30:allf=t+u,format=yuv420p', '-f', 'lavfi', '-i', tone, '-t', s, ...mezzanine],
        `hard-noise-720p: ${s} s`,
      ),
  },
];
const only = value('--only')?.split(',').filter(Boolean);
const costId = 'sintel-1080p-60s';
if (only) {
  const unknown = only.filter((id) => id !== costId && !allClips.some((c) => c.id === id));
  if (unknown.length) {
    console.error(`bench:per-title: unknown clip(s) ${unknown.join(', ')} (known: ${[...allClips.map((c) => c.id), costId].join(', ')})`);
    process.exit(2);
  }
}
const clips = quick ? allClips.filter((c) => c.id === 'sintel-720p') : allClips.filter((c) => (only ? only.includes(c.id) : !c.optional));
// the analysis-cost title: 1080p, 60 s, real film with audio (not scored with VMAF: the cost is the point)
const costTitle: Clip = {
  id: costId,
  kind: 'real',
  about: 'Sintel trailer upscaled to 1920x1080 (lanczos) and looped to 60 s, with its audio',
  make: () =>
    build(
      join(inputs, 'pt-sintel-1080p24-loop60s.mp4'),
      ['-stream_loop', '1', '-i', `file:${sintel}`, '-t', '60', '-vf', 'scale=1920:1080:flags=lanczos', '-map', '0:v:0', '-map', '0:a:0', ...mezzanine],
      'the Sintel trailer at 1080p looped to 60 s',
    ),
};
const runCost = !quick && !flag('--no-cost') && codecs.includes('h264') && (!only || only.includes(costId));

interface Probe {
  width: number;
  height: number;
  frames: number;
  duration: number;
}
function probe(file: string): Probe {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=width,height,sample_aspect_ratio,nb_read_packets:format=duration', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { streams: { width: number; height: number; sample_aspect_ratio?: string; nb_read_packets: string }[]; format: { duration: string } };
  const st = j.streams[0]!;
  const [n, d] = (st.sample_aspect_ratio ?? '1:1').split(':').map(Number);
  const sar = n && d ? n / d : 1;
  // the display size, even (what streamkit scores at)
  return { width: Math.round((st.width * sar) / 2) * 2, height: st.height, frames: Number(st.nb_read_packets), duration: Number(j.format.duration) };
}

// ------------------------------------------------------------------------------------------------- runs
interface RungResult {
  name: string;
  width: number;
  height: number;
  /** video packet payload of the whole rung */
  bytes: number;
  frames: number;
  /** bytes * 8 / source duration */
  kbps: number;
  vmaf: number | null;
  /** every Nth frame scored */
  subsample: number;
  /** per-title only: CRF, predicted and streamkit-measured quality (on its samples) */
  crf?: number;
  predicted?: number;
  streamkitMeasured?: number | null;
}
interface LadderRun {
  cpu: number;
  wall: number;
  rungs: RungResult[];
  bytes: number;
}
interface Case {
  clip: string;
  kind: Kind;
  codec: string;
  source: Probe;
  fixed: LadderRun;
  perTitle: LadderRun & { analysisCpu: number | null; analysisSeconds: number; cached: boolean; notes: string[]; metricName: string; samples: unknown };
  saving: number;
  topTarget: number | null;
  topMet: boolean | null;
  bd: BdRate | null;
  problems: string[];
}

interface Manifest {
  rungs: { name: string; width: number; height: number }[];
  perTitle?: {
    rungs: { name: string; crf: number; quality: number; measured: number | null }[];
    analysisCpuSeconds: number | null;
    analysisSeconds: number;
    cached: boolean;
    notes: string[];
    metricName: string;
    samples: unknown;
  };
}

const presetOf = (codec: string): string => `${codec}-ladder`;
const commandOf = (input: string, codec: string, pkg: string, perTitle: boolean): string[] => [
  'node',
  cli,
  'transcode',
  input,
  '-p',
  presetOf(codec),
  ...(perTitle ? ['--per-title', '--vmaf', vmafPath] : []),
  '-o',
  pkg,
  '--hw',
  'cpu',
  '--force',
  '--json',
];

async function transcode(input: string, codec: string, pkg: string, perTitle: boolean): Promise<{ cpu: number; wall: number; manifest: Manifest }> {
  // a fresh, empty cache: the analysis runs and is measured
  const cache = mkdtempSync(join(out, 'cache-'));
  try {
    const r = await timedRun(commandOf(input, codec, pkg, perTitle), { env: { STREAMKIT_CACHE_DIR: cache } });
    if (r.code !== 0) throw new Error(`${perTitle ? 'per-title' : 'fixed'} ${codec} transcode of ${input} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    const manifest = JSON.parse(readFileSync(join(pkg, 'streamkit.json'), 'utf8')) as Manifest;
    return { cpu: r.cpu, wall: r.wall, manifest };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

async function ladder(pkg: string, manifest: Manifest, source: Probe, sourceFile: string, score: boolean, problems: string[]): Promise<RungResult[]> {
  const rungs: RungResult[] = manifest.rungs.map((r) => {
    const playlist = join(pkg, r.name, 'index.m3u8');
    if (!playlistComplete(playlist)) throw new Error(`${playlist} is missing or has no EXT-X-ENDLIST`);
    const v = videoStats(playlist);
    if (v.frames !== source.frames) problems.push(`${r.name}: ${v.frames} video frames, the source has ${source.frames}`);
    return { name: r.name, width: r.width, height: r.height, bytes: v.bytes, frames: v.frames, kbps: (v.bytes * 8) / source.duration / 1000, vmaf: null, subsample };
  });
  if (!score) return rungs;
  // the top rung (largest, then most bits) over every frame; the others every --subsample-th frame
  const top = [...rungs].sort((a, b) => b.height - a.height || b.bytes - a.bytes)[0]!;
  for (const r of rungs) {
    r.subsample = r === top ? 1 : subsample;
    process.stderr.write(`  VMAF ${r.name} (${r.width}x${r.height})... `);
    const v = await vmafAgainstSource({
      tool: vmafPath,
      source: sourceFile,
      distorted: join(pkg, r.name, 'index.m3u8'),
      width: source.width,
      height: source.height,
      workDir: out,
      subsample: r.subsample,
      threads: cpus().length,
    });
    const expected = Math.ceil(source.frames / r.subsample);
    if (Math.abs(v.scored - expected) > 1) problems.push(`${r.name}: VMAF scored ${v.scored} frames, expected ${expected}`);
    r.vmaf = v.mean;
    process.stderr.write(`${v.mean.toFixed(2)}\n`);
  }
  return rungs;
}

const topOf = (rungs: readonly RungResult[]): RungResult => [...rungs].sort((a, b) => b.height - a.height || b.bytes - a.bytes)[0]!;
const sum = (rungs: readonly RungResult[]): number => rungs.reduce((a, r) => a + r.bytes, 0);

async function runCase(clip: Clip, codec: string, score: boolean): Promise<Case> {
  const input = clip.make();
  const source = probe(input);
  const problems: string[] = [];
  const fixedPkg = join(out, `pkg-${clip.id}-${codec}-fixed`);
  const ptPkg = join(out, `pkg-${clip.id}-${codec}-per-title`);
  process.stderr.write(`bench:per-title: ${clip.id} ${codec} fixed (load ${loadavg()[0]!.toFixed(2)})... `);
  const f = await transcode(input, codec, fixedPkg, false);
  process.stderr.write(`cpu ${f.cpu.toFixed(1)} s, wall ${f.wall.toFixed(1)} s\n`);
  process.stderr.write(`bench:per-title: ${clip.id} ${codec} per-title (load ${loadavg()[0]!.toFixed(2)})... `);
  const p = await transcode(input, codec, ptPkg, true);
  process.stderr.write(`cpu ${p.cpu.toFixed(1)} s, wall ${p.wall.toFixed(1)} s\n`);
  const report = p.manifest.perTitle;
  if (!report) throw new Error(`${ptPkg}/streamkit.json has no perTitle`);
  const fixedRungs = await ladder(fixedPkg, f.manifest, source, input, score, problems);
  const ptRungs = await ladder(ptPkg, p.manifest, source, input, score, problems);
  for (const r of ptRungs) {
    const pr = report.rungs.find((x) => x.name === r.name);
    if (pr) Object.assign(r, { crf: pr.crf, predicted: pr.quality, streamkitMeasured: pr.measured });
  }
  const fixedTop = topOf(fixedRungs).vmaf;
  const ptTop = topOf(ptRungs).vmaf;
  const topTarget = fixedTop === null ? null : Math.min(fixedTop, 95) - 1.5;
  const points = (rs: RungResult[]) => rs.map((r) => ({ rate: r.kbps * 1000, quality: r.vmaf ?? Number.NaN }));
  if (process.env['STREAMKIT_BENCH_KEEP'] !== '1') for (const pkg of [fixedPkg, ptPkg]) rmSync(pkg, { recursive: true, force: true });
  return {
    clip: clip.id,
    kind: clip.kind,
    codec,
    source,
    fixed: { cpu: f.cpu, wall: f.wall, rungs: fixedRungs, bytes: sum(fixedRungs) },
    perTitle: {
      cpu: p.cpu,
      wall: p.wall,
      rungs: ptRungs,
      bytes: sum(ptRungs),
      analysisCpu: report.analysisCpuSeconds,
      analysisSeconds: report.analysisSeconds,
      cached: report.cached,
      notes: report.notes,
      metricName: report.metricName,
      samples: report.samples,
    },
    saving: 1 - sum(ptRungs) / sum(fixedRungs),
    topTarget,
    topMet: topTarget === null || ptTop === null ? null : ptTop >= topTarget,
    bd: score ? bdRate(points(fixedRungs), points(ptRungs)) : null,
    problems,
  };
}

mkdirSync(out, { recursive: true });
const started = new Date();
const commit = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const loadStart = loadavg();
const cases: Case[] = [];
for (const codec of codecs) {
  for (const clip of clips) {
    if (codec !== 'h264' && !codecClips.includes(clip.id)) continue;
    cases.push(await runCase(clip, codec, true));
  }
}
const cost = runCost ? await runCase(costTitle, 'h264', false) : null;
const loadEnd = loadavg();
const finished = new Date();

// ------------------------------------------------------------------------------------------------ report
const h264 = cases.filter((c) => c.codec === 'h264');
const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const avgSaving = mean(h264.map((c) => c.saving));
const easy = h264.filter((c) => c.kind === 'easy');
const verdict = (ok: boolean | null): string => (ok === null ? 'not measured' : ok ? 'met' : '**NOT met**');
const avgMet = h264.length ? avgSaving >= 0.2 : null;
const easyMet = easy.length ? easy.every((c) => c.saving >= 0.4) : null;
const topAll = h264.length && h264.every((c) => c.topMet !== null) ? h264.every((c) => c.topMet) : null;
const costCase = cost ?? (quick ? (h264[0] ?? null) : null);
const ratios = costCase?.perTitle.analysisCpu
  ? { fixed: costCase.perTitle.analysisCpu / costCase.fixed.cpu, ptEncode: costCase.perTitle.analysisCpu / (costCase.perTitle.cpu - costCase.perTitle.analysisCpu) }
  : null;
const costMet = ratios ? ratios.fixed <= 0.5 && ratios.ptEncode <= 0.5 : null;

const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
const ffmpegVersion = /ffmpeg version (\S+)/.exec(spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
const pct = (x: number | null | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
const rel = (p: string): string => p.replaceAll(`${root}/`, '').replaceAll(resolve(root, '..'), '..');
const rungList = (rs: RungResult[]): string =>
  rs
    .map(
      (r) =>
        `${r.name} ${r.width}x${r.height}${r.crf !== undefined ? ` crf ${r.crf}` : ''} ${fmt(r.kbps, 0)}k VMAF ${fmt(r.vmaf, 2)}` +
        (r.predicted !== undefined ? ` (streamkit: predicted ${fmt(r.predicted, 1)}, on its samples ${fmt(r.streamkitMeasured, 1)})` : ''),
    )
    .join('; ');

const table = (cs: Case[]): string[] => [
  '| clip | kind | fixed rungs | fixed video kbit/s (all rungs) | per-title rungs | per-title video kbit/s | bytes saved | fixed top VMAF | per-title top VMAF | top target (>=) | BD-rate (per-title vs fixed) | lowest rung kbit/s (VMAF) fixed / per-title | CPU s fixed / per-title |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...cs.map((c) => {
    const ft = topOf(c.fixed.rungs);
    const pt = topOf(c.perTitle.rungs);
    // the floor of each ladder: what a client on the slowest link gets
    const low = (rs: RungResult[]): string => {
      const r = [...rs].sort((x, y) => x.kbps - y.kbps)[0]!;
      return `${fmt(r.kbps, 0)} (${fmt(r.vmaf, 1)})`;
    };
    return `| ${c.clip} | ${c.kind} | ${c.fixed.rungs.length} | ${fmt(
      c.fixed.rungs.reduce((a, r) => a + r.kbps, 0),
      0,
    )} | ${c.perTitle.rungs.length} | ${fmt(
      c.perTitle.rungs.reduce((a, r) => a + r.kbps, 0),
      0,
    )} | **${pct(c.saving)}** | ${fmt(ft.vmaf, 2)} (${ft.name}) | ${fmt(pt.vmaf, 2)} (${pt.name}) | ${fmt(c.topTarget, 2)}: ${verdict(c.topMet)} | ${c.bd?.bdRate === null || !c.bd ? `n/a (${c.bd?.note ?? 'not scored'})` : pct(c.bd.bdRate)} | ${low(c.fixed.rungs)} / ${low(c.perTitle.rungs)} | ${fmt(c.fixed.cpu, 1)} / ${fmt(c.perTitle.cpu, 1)} |`;
  }),
];

const codecSections = codecs
  .filter((codec) => cases.some((c) => c.codec === codec))
  .flatMap((codec) => [
    '',
    `### ${codec.toUpperCase()} (${presetOf(codec)}${codec === 'h264' ? '' : `; clips: ${codecClips.join(', ')}, for the time budget`})`,
    '',
    ...table(cases.filter((c) => c.codec === codec)),
  ]);

const costLines = costCase
  ? [
      '',
      `### Analysis cost (${costCase === cost ? `${costTitle.id}: ${costTitle.about}` : `QUICK run: ${costCase.clip}, ${seconds} s, not the 60 s 1080p title the target names`})`,
      '',
      '| fixed-ladder transcode CPU s | per-title transcode CPU s (all) | analysis CPU s (streamkit.json) | per-title encode CPU s (all − analysis) | analysis ÷ fixed | analysis ÷ per-title encode | analysis wall s |',
      '|---|---|---|---|---|---|---|',
      `| ${fmt(costCase.fixed.cpu, 1)} | ${fmt(costCase.perTitle.cpu, 1)} | ${fmt(costCase.perTitle.analysisCpu, 1)} | ${fmt(costCase.perTitle.analysisCpu === null ? null : costCase.perTitle.cpu - costCase.perTitle.analysisCpu, 1)} | **${fmt(ratios?.fixed, 3)}** | **${fmt(ratios?.ptEncode, 3)}** | ${fmt(costCase.perTitle.analysisSeconds, 1)} |`,
      '',
      `CPU seconds are user + sys of the whole process tree (streamkit and every ffmpeg/ffprobe/vmaf it ran), by ${cpuTimer()}; both transcodes include audio, thumbnails and packaging. The per-title encode's CPU is the per-title run's total less streamkit's own analysisCpuSeconds (the CPU of the analysis' child processes, from /proc/self/stat); it includes streamkit's check of the rungs after the encode (VMAF on the samples), which the fixed ladder does not run.`,
    ]
  : [];

const allProblems = cases.concat(cost ? [cost] : []).flatMap((c) => c.problems.map((p) => `${c.clip} ${c.codec}: ${p}`));
const md = [
  `## Per-title ladders against the fixed ladders (\`npm run bench:per-title\`), ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`,
  '',
  `Machine: ${model}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ffmpeg ${ffmpegVersion}, vmaf ${vmafVersion}, commit ${commit}. Load average (1/5/15 min) at the start ${loadStart.map((l) => l.toFixed(2)).join('/')}, at the end ${loadEnd.map((l) => l.toFixed(2)).join('/')}; ${((finished.getTime() - started.getTime()) / 60000).toFixed(1)} min in all (inputs already made).`,
  `Command: \`npm run bench:per-title${argv.length ? ` -- ${shellQuote(argv)}` : ''}\`. Per clip and codec: \`${rel(shellQuote(commandOf('IN', 'CODEC', 'OUT', true)))}\` with a fresh empty STREAMKIT_CACHE_DIR, and the same without \`--per-title --vmaf\` for the fixed ladder.`,
  `VMAF by this bench, not streamkit: ${rel(vmafPath)} ${vmafVersion}, model vmaf_v0.6.1, each rung decoded from the start of its playlist over the whole clip, upscaled bicubic to the source's display size, 8-bit 4:2:0 y4m through named pipes; ${subsample > 1 ? `the top rungs every frame, the other rungs one frame in ${subsample} (--subsample ${subsample})` : 'every rung every frame'}. Video bytes: the packet payload of every rung (ffprobe; no container, no audio); kbit/s = bytes × 8 ÷ the clip's duration.`,
  "BD-rate: bits at equal VMAF, per-title against fixed, each ladder's rungs as (video bitrate, VMAF) points (a rung that costs more and scores no better is dropped); with 2-6 points per curve, log10(rate) is interpolated with a monotone piecewise-cubic Hermite interpolant (PCHIP) over the overlapping VMAF range and integrated exactly. Negative: per-title needs fewer bits.",
  `Clips (${seconds} s excerpts, made once into bench/work/inputs as H.264 CRF 18 mezzanines): ${clips.map((c) => `${c.id} (${c.about})`).join('; ')}.`,
  ...codecSections,
  '',
  '### Targets',
  '',
  `- Per-title H.264 video bytes >= 20% below the fixed h264-ladder on average: ${pct(avgSaving)} over ${h264.length} clip(s): ${verdict(avgMet)}${quick ? ' (quick run: one clip)' : ''}.`,
  `- >= 40% below on easy content: ${easy.length ? easy.map((c) => `${c.clip} ${pct(c.saving)}`).join(', ') : 'no easy clip in this run'}: ${verdict(easyMet)}.`,
  `- Per-title top-rung VMAF >= min(fixed top-rung VMAF, 95) - 1.5 on every clip (H.264): ${h264.map((c) => `${c.clip} ${fmt(topOf(c.perTitle.rungs).vmaf, 2)} vs ${fmt(c.topTarget, 2)}`).join(', ')}: ${verdict(topAll)}.`,
  `- Analysis CPU <= half the CPU of encoding the ladder: ${ratios ? `${fmt(ratios.fixed, 3)} of the fixed ladder, ${fmt(ratios.ptEncode, 3)} of the per-title encode` : 'not measured'}: ${verdict(costMet)}${costCase && costCase !== cost ? ' (quick run: not the 60 s 1080p title)' : ''}.`,
  ...costLines,
  '',
  '### Rungs',
  '',
  ...cases
    .concat(cost ? [cost] : [])
    .flatMap((c) => [
      `- ${c.clip} ${c.codec}: fixed: ${rungList(c.fixed.rungs)}.`,
      `  per-title: ${rungList(c.perTitle.rungs)}. Analysis ${fmt(c.perTitle.analysisSeconds, 1)} s wall, ${fmt(c.perTitle.analysisCpu, 1)} s CPU${c.perTitle.cached ? ' (CACHED: not measured)' : ''}; ${c.perTitle.metricName}.${c.perTitle.notes.length ? ` Notes: ${c.perTitle.notes.join(' / ')}` : ''}`,
    ]),
  ...(allProblems.length ? ['', '### Problems seen', '', ...allProblems.map((p) => `- ${p}`)] : []),
].join('\n');

writeFileSync(
  join(out, 'results.json'),
  `${JSON.stringify({ started, finished, commit, machine: { model, nproc: cpus().length, ffmpeg: ffmpegVersion, vmaf: vmafVersion, cpuTimer: cpuTimer() }, argv, loadStart, loadEnd, cases, cost, avgSaving, ratios }, null, 2)}\n`,
);
console.log(md);
if (!flag('--no-write')) {
  if (!writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'per-title', md))
    console.error('bench:per-title: no per-title section markers in bench/RESULTS.md; not written there');
}
