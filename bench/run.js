#!/usr/bin/env node
// streamkit benchmark: streamkit's ladder (the real CLI) against the best hand-written single ffmpeg
// command and against the naive one-process-per-rung script, same input, same encoder flags.
//
//   npm run bench                 full mode (built-in presets; tens of minutes on 2 cores)
//   npm run bench -- --quick      quick mode (faster encoder speeds, shorter input; a few minutes)
//   options: --reps N  --only CASE[,CASE]  --no-quality  --no-write  --keep
//
// Plain Node, no dependencies; needs `npm install` (builds dist/) and ffmpeg/ffprobe on PATH.
// Results: bench/work/results-<mode>.{json,md}; the <mode> section of bench/RESULTS.md is replaced.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuFloor, expertCommand, floorCommands, naiveCommands, parseCommand } from './lib/commands.js';
import { generatedInput, sharedMediaDir, sintelInput } from './lib/inputs.js';
import { cpuTimer, timedRun } from './lib/measure.js';
import { measureQuality, playlistComplete, videoStats } from './lib/quality.js';
import { writeResultsSection } from './lib/results.js';
import { fmt, fmtSummary, median, mib, shellQuote, summary } from './lib/stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'streamkit.js');
const work = join(root, 'bench', 'work');
const presetsDir = join(root, 'bench', 'presets');

// ---------------------------------------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
for (const a of argv) {
  if (a.startsWith('--') && !['--quick', '--reps', '--only', '--no-quality', '--no-write', '--keep', '--help'].includes(a)) {
    console.error(`bench: unknown option ${a} (see the top of bench/run.js)`);
    process.exit(2);
  }
}
if (flag('--help')) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 10).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const mode = flag('--quick') ? 'quick' : 'full';

// ----------------------------------------------------------------------------------------------- config
// Inputs are [kind, start s, length s]. Lengths are chosen so that each mode fits its time budget on
// 2 cores; the fixed costs (start-up, verification) weigh more on short inputs, and are reported.
const CONFIG = {
  quick: {
    reps: 3,
    inputs: { gen: ['generated', 0, 3] },
    cases: [
      { id: 'gen-h264-4rung', input: 'gen', preset: 'quick-h264-4rung.yaml', headline: true },
      { id: 'gen-hevc', input: 'gen', preset: 'quick-hevc.yaml' },
      { id: 'gen-av1', input: 'gen', preset: 'quick-av1.yaml' },
    ],
  },
  full: {
    reps: 3,
    inputs: { gen: ['generated', 0, 8], sintel: ['sintel', 12, 12], sintelShort: ['sintel', 12, 6], sintelAll: ['sintel', 0, 53] },
    cases: [
      { id: 'gen-h264-4rung', input: 'gen', preset: 'h264-4rung.yaml', expertAudioOnce: true, headline: true },
      { id: 'sintel-h264-4rung', input: 'sintel', preset: 'h264-4rung.yaml', expertAudioOnce: true, headline: true },
      { id: 'sintel-h264-ladder', input: 'sintel', preset: 'h264-ladder' },
      { id: 'sintel-hevc-ladder', input: 'sintelShort', preset: 'hevc-ladder' },
      { id: 'sintel-av1-ladder', input: 'sintelShort', preset: 'av1-ladder' },
      // one long run against the expert command only: the fixed per-job costs amortized, Node memory
      // and the post-encode share on a longer input (no naive run, no quality: both cost minutes)
      { id: 'sintel-long-h264-ladder', input: 'sintelAll', preset: 'h264-ladder', contenders: ['streamkit', 'expert'], noQuality: true, reps: 1 },
    ],
  },
}[mode];

const reps = Number(value('--reps') ?? CONFIG.reps);
const only = value('--only')?.split(',');
const cases = CONFIG.cases.filter((c) => !only || only.includes(c.id));
const doQuality = !flag('--no-quality');

// ------------------------------------------------------------------------------------------------ setup
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.error('bench: dist/ is missing; run `npm install` (or `npm run build`) first.');
  process.exit(2);
}
for (const tool of ['ffmpeg', 'ffprobe']) {
  if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).status !== 0) {
    console.error(`bench: ${tool} is not on PATH.`);
    process.exit(2);
  }
}
const log = (s) => process.stderr.write(`${s}\n`);
const modeDir = join(work, mode);
mkdirSync(modeDir, { recursive: true });

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const ffv = spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  const lib = (name) => {
    const r = spawnSync('sh', ['-c', `dpkg-query -W -f='\${Version}' ${name} 2>/dev/null`], { encoding: 'utf8' });
    return r.stdout.trim() || null;
  };
  const hypervisor = /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo);
  return {
    nproc: cpus().length,
    cpuModel: model,
    hypervisor,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    ffmpeg: ffv,
    x264: lib('libx264-164'),
    x265: lib('libx265-199'),
    svtav1: lib('libsvtav1enc1'),
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    cpuTimer: cpuTimer(),
  };
}

function resolveInputs() {
  const media = sharedMediaDir(root);
  const made = {};
  for (const [id, [kind, from, seconds]] of Object.entries(CONFIG.inputs)) {
    if (!cases.some((c) => c.input === id)) continue;
    if (kind === 'generated') {
      made[id] = { file: generatedInput(work, seconds), label: `generated 1080p24, ${seconds} s (zooming Mandelbrot + temporal noise, stereo tone)`, seconds };
    } else if (media) {
      made[id] = { file: sintelInput(work, media, from, seconds), label: `Sintel trailer ${from}–${from + seconds} s, 720p upscaled to 1080p24 (lanczos)`, seconds };
    } else {
      log(`bench: skipping the Sintel cases: ../shared/media (or STREAMKIT_BENCH_MEDIA) with sintel-trailer-720p.mp4 not found.`);
      made[id] = null;
    }
  }
  return made;
}

const presetRef = (p) => (p.endsWith('.yaml') ? join(presetsDir, p) : p);

function streamkitArgv(input, preset, out, extra = []) {
  return [process.execPath, cli, 'transcode', input, '--preset', presetRef(preset), '--output', out, '--json', ...extra];
}

function dryRunPlan(input, preset, out) {
  const r = spawnSync(process.execPath, streamkitArgv(input, preset, out, ['--dry-run']).slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`streamkit --dry-run failed: ${r.stdout}${r.stderr}`);
  const plan = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'plan');
  if (!plan) throw new Error(`no plan event in: ${r.stdout}`);
  return plan;
}

function ndjson(text) {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

function freshDirs(base, dirs) {
  rmSync(base, { recursive: true, force: true });
  for (const d of dirs) mkdirSync(d, { recursive: true });
}

// ---------------------------------------------------------------------------------------------- startup
async function startupTimes(sampleInput) {
  const n = 10;
  const series = async (argvX) => {
    const wall = [];
    const cpu = [];
    for (let i = 0; i < n; i++) {
      const r = await timedRun(argvX);
      if (r.code !== 0) throw new Error(`${argvX.join(' ')} failed (${r.code}): ${r.stderr}`);
      wall.push(r.wall);
      cpu.push(r.cpu);
    }
    return { wall: summary(wall), cpu: summary(cpu) };
  };
  const dryArgv = streamkitArgv(sampleInput, 'h264-ladder', join(modeDir, 'dry-run-out'), ['--dry-run']).map((a) => (a === '--json' ? '--quiet' : a));
  return {
    n,
    nodeBaseline: await series([process.execPath, '-e', '0']),
    version: await series([process.execPath, cli, '--version']),
    dryRun: await series(dryArgv),
  };
}

// ------------------------------------------------------------------------------------------------- case
async function runCase(c, input) {
  const caseDir = join(modeDir, c.id);
  const dirs = { streamkit: join(caseDir, 'streamkit'), expert: join(caseDir, 'expert'), expertAudioOnce: join(caseDir, 'expert-audio-once'), naive: join(caseDir, 'naive') };
  const plan = dryRunPlan(input.file, c.preset, dirs.streamkit);
  const parsed = parseCommand(plan.command);
  const rungs = plan.ladder.map((r) => ({ name: r.name, width: r.width, height: r.height, bitrate: r.bitrate }));
  const expert = expertCommand(parsed, rungs, plan.output, dirs.expert, { audio: 'per-rung' });
  const expertOnce = expertCommand(parsed, rungs, plan.output, dirs.expertAudioOnce, { audio: 'once' });
  const naive = naiveCommands(parsed, rungs, plan.output, dirs.naive);
  const floor = floorCommands(parsed, rungs);
  const skArgv = streamkitArgv(input.file, c.preset, dirs.streamkit, ['--force']);

  const caseReps = c.reps ?? reps;
  const contenders = [
    { id: 'streamkit', label: 'streamkit (CLI)', run: () => runStreamkit(skArgv, dirs.streamkit, rungs) },
    { id: 'expert', label: 'expert: 1 ffmpeg, split from source, audio per rung', run: () => runFfmpegSet([expert.argv], dirs.expert, expert.dirs, rungs) },
    ...(c.expertAudioOnce ? [{ id: 'expertAudioOnce', label: 'expert, audio encoded once', run: () => runFfmpegSet([expertOnce.argv], dirs.expertAudioOnce, expertOnce.dirs, rungs) }] : []),
    { id: 'naive', label: `naive: ${rungs.length} ffmpeg runs, one per rung`, run: () => runFfmpegSet(naive.map((x) => x.argv), dirs.naive, naive.map((x) => x.dir), rungs) },
  ].filter((x) => !c.contenders || c.contenders.includes(x.id));
  const commands = {
    streamkit: shellQuote(skArgv.map((a, i) => (i === 0 ? 'node' : a))),
    streamkitFfmpeg: shellQuote(plan.command),
    expert: shellQuote(expert.argv),
    expertAudioOnce: c.expertAudioOnce ? shellQuote(expertOnce.argv) : null,
    naive: naive.map((x) => shellQuote(x.argv)),
    floorDecode: shellQuote(floor.decode),
    floorGraph: shellQuote(floor.graph),
    floorAudio: floor.audio ? shellQuote(floor.audio) : null,
    floorAudioCopy: floor.audioCopy ? shellQuote(floor.audioCopy) : null,
  };
  mkdirSync(caseDir, { recursive: true });
  writeFileSync(join(caseDir, 'commands.txt'), Object.entries(commands).filter(([, v]) => v).map(([k, v]) => `# ${k}\n${[v].flat().join('\n')}\n`).join('\n'));

  const runs = Object.fromEntries(contenders.map((x) => [x.id, []]));
  const floorRuns = [];
  for (let rep = 0; rep < caseReps; rep++) {
    // rotate the order every repetition so that drifting background load hits every contender alike
    const order = contenders.map((_, i) => contenders[(i + rep) % contenders.length]);
    for (const x of order) {
      const load = loadavg()[0];
      const r = await x.run();
      r.load1 = load;
      runs[x.id].push(r);
      log(`bench: ${c.id} rep ${rep + 1}/${caseReps} ${x.id.padEnd(15)} wall ${fmt(r.wall)} s  cpu ${fmt(r.cpu)} s${r.nodeHwmKiB ? `  node ${mib(r.nodeHwmKiB)} MiB` : ''}  (load ${fmt(load, 1)})`);
    }
    if (contenders.some((x) => x.id === 'expert')) {
      const parts = await runFloorParts(floor);
      floorRuns.push(parts);
      log(`bench: ${c.id} rep ${rep + 1}/${caseReps} floor parts: decode ${fmt(parts.decode)} s, graph ${fmt(parts.graph)} s, audio ${parts.audio === null ? '-' : `${fmt(parts.audio)} (copied ${fmt(parts.audioCopy)})`} s cpu`);
    }
  }

  // outputs of the last repetition: same frames everywhere, video bitrate, quality
  const outputs = {};
  for (const x of contenders) {
    const base = dirs[x.id];
    outputs[x.id] = rungs.map((r) => ({ rung: r.name, ...videoStats(join(base, r.name, 'index.m3u8')) }));
  }
  const frameCounts = new Set(Object.values(outputs).flatMap((o) => o.map((r) => r.frames)));
  if (frameCounts.size !== 1) log(`bench: WARNING ${c.id}: frame counts differ between contenders/rungs: ${JSON.stringify(outputs)}`);
  let quality = null;
  if (doQuality && !c.noQuality && contenders.some((x) => x.id === 'expert')) {
    quality = {};
    for (const id of ['streamkit', 'expert']) {
      log(`bench: ${c.id} quality of ${id} (psnr, ssim per rung)`);
      quality[id] = measureQuality(input.file, plan.frameRate, rungs.map((r) => ({ width: r.width, height: r.height, playlist: join(dirs[id], r.name, 'index.m3u8') })));
    }
  }
  if (!flag('--keep')) for (const id of Object.keys(dirs)) if (id !== 'streamkit') rmSync(dirs[id], { recursive: true, force: true });

  return { id: c.id, headline: !!c.headline, reps: caseReps, preset: c.preset, input: input.label, inputSeconds: input.seconds, encoder: plan.encoder, frameRate: plan.frameRate, rungs, contenders: contenders.map(({ id, label }) => ({ id, label })), runs, floorRuns, outputs, quality, commands };
}

async function runStreamkit(argvSk, outDir, rungs) {
  rmSync(outDir, { recursive: true, force: true });
  const r = await timedRun(argvSk, { sampleChildRss: true });
  if (r.code !== 0) throw new Error(`streamkit failed (exit ${r.code}): ${r.stdout.slice(-3000)}${r.stderr.slice(-3000)}`);
  const events = ndjson(r.stdout);
  const done = events.find((e) => e.type === 'done');
  if (!done) throw new Error(`streamkit emitted no done event: ${r.stdout.slice(-2000)}`);
  // stage times from the events' timestamps (ms)
  const at = (stage, status) => Date.parse(events.find((e) => e.type === 'stage' && e.stage === stage && e.status === status)?.time ?? 'x');
  const stages = {
    beforeEncode: (at('encode', 'start') - r.startedAtMs) / 1000,
    package: (at('package', 'done') - at('package', 'start')) / 1000,
    verify: (at('verify', 'done') - at('verify', 'start')) / 1000,
    afterDone: (r.endedAtMs - Date.parse(done.time)) / 1000,
  };
  for (const rung of rungs) if (!playlistComplete(join(outDir, rung.name, 'index.m3u8'))) throw new Error(`streamkit output ${rung.name} incomplete`);
  return { wall: r.wall, cpu: r.cpu, user: r.user, sys: r.sys, ffmpegMaxRssKiB: r.treeMaxRssKiB, nodeHwmKiB: r.childHwmKiB, nodeCpu: r.childOwnCpu, stages, encodeSeconds: done.encodeSeconds, postEncodeSeconds: done.postEncodeSeconds, elapsedSeconds: done.elapsedSeconds };
}

/** timedRun of one ffmpeg command that must succeed. */
async function timedFfmpeg(argvF, options) {
  const r = await timedRun(argvF, options);
  if (r.code !== 0) throw new Error(`ffmpeg failed (exit ${r.code}): ${shellQuote(argvF)}\n${r.stderr.slice(-3000)}`);
  return r;
}

/** CPU seconds of each floor part (floorCommands), one run each; they write nothing. */
async function runFloorParts(floor) {
  const cpu = async (a) => (a ? (await timedFfmpeg(a)).cpu : null);
  return { decode: await cpu(floor.decode), graph: await cpu(floor.graph), audio: await cpu(floor.audio), audioCopy: await cpu(floor.audioCopy) };
}

async function runFfmpegSet(argvs, base, outDirs, rungs) {
  freshDirs(base, outDirs);
  const total = { wall: 0, cpu: 0, user: 0, sys: 0, ffmpegMaxRssKiB: 0, processes: argvs.length };
  for (const a of argvs) {
    // in the output folder, as streamkit runs its ffmpeg: the HLS paths in the commands are relative to it
    const r = await timedFfmpeg(a, { cwd: base });
    total.wall += r.wall;
    total.cpu += r.cpu;
    total.user += r.user;
    total.sys += r.sys;
    total.ffmpegMaxRssKiB = Math.max(total.ffmpegMaxRssKiB, r.treeMaxRssKiB ?? 0) || null;
  }
  for (const rung of rungs) if (!playlistComplete(join(base, rung.name, 'index.m3u8'))) throw new Error(`${base}: ${rung.name} incomplete`);
  return total;
}

// ----------------------------------------------------------------------------------------------- report
function caseMarkdown(res) {
  const L = [];
  const sk = res.runs.streamkit;
  const skWall = summary(sk.map((r) => r.wall));
  const skCpu = summary(sk.map((r) => r.cpu));
  L.push(`### ${res.id}: ${res.preset.replace(/\.yaml$/, '')} on ${res.input}`);
  L.push('');
  L.push(`${res.encoder}, ${res.frameRate} fps, ${res.rungs.length} rungs (${res.rungs.map((r) => `${r.width}x${r.height}`).join(', ')}); ${res.reps} repetition${res.reps > 1 ? 's' : ''}${res.contenders.length > 1 ? ', order rotated each repetition' : ''}. Times in seconds, median (min–max).${res.contenders.length > 1 ? " Ratios: streamkit's median ÷ the contender's median (bold), then the range of the per-repetition ratios." : ''}`);
  L.push('');
  L.push('| contender | wall s | CPU s (user+sys) | streamkit ÷ this, wall | streamkit ÷ this, CPU | peak RSS of largest ffmpeg, MiB |');
  L.push('|---|---|---|---|---|---|');
  for (const x of res.contenders) {
    const rs = res.runs[x.id];
    const w = summary(rs.map((r) => r.wall));
    const c = summary(rs.map((r) => r.cpu));
    const ratio = (key, s) => {
      if (x.id === 'streamkit') return '—';
      const per = rs.map((r, i) => sk[i][key] / r[key]);
      return `**${fmt((key === 'wall' ? skWall : skCpu).median / s.median)}** (${fmt(Math.min(...per))}–${fmt(Math.max(...per))})`;
    };
    L.push(`| ${x.label} | ${fmtSummary(w)} | ${fmtSummary(c)} | ${ratio('wall', w)} | ${ratio('cpu', c)} | ${mib(Math.max(...rs.map((r) => r.ffmpegMaxRssKiB ?? 0)))} |`);
  }
  L.push('');
  const S = (f) => summary(sk.map(f));
  const loads = Object.values(res.runs).flat().map((r) => r.load1);
  L.push(`streamkit, inside its wall time: before ffmpeg starts (Node start-up, preset, ffprobe) ${fmtSummary(S((r) => r.stages.beforeEncode))} s; encode ${fmtSummary(S((r) => r.encodeSeconds))} s; post-encode ${fmtSummary(S((r) => r.postEncodeSeconds))} s = **${fmtSummary(S((r) => (100 * r.postEncodeSeconds) / r.encodeSeconds), 1)} % of encode** (packaging: reading every segment, playlists ${fmtSummary(S((r) => r.stages.package))} s; decode check of the first keyframe and last GOP of every rendition ${fmtSummary(S((r) => r.stages.verify))} s). Node process: own CPU ${fmtSummary(S((r) => r.nodeCpu ?? NaN))} s, peak RSS **${mib(Math.max(...sk.map((r) => r.nodeHwmKiB ?? 0)))} MiB** (VmHWM, largest of ${sk.length} run${sk.length > 1 ? 's' : ''}). Load average (1 min) at run starts: ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}.`);
  L.push('');
  const floorLine = floorMarkdown(res);
  if (floorLine) L.push(floorLine, '');
  const frames = res.outputs.streamkit[0]?.frames;
  if (res.quality) {
    L.push(`Quality of the last repetition's output against the source (reference: the source scaled to the rung with lanczos); video bitrate from the video packets only; ${frames} frames per rung.`);
    L.push('');
    L.push('| rung | video kb/s streamkit / expert | PSNR dB streamkit / expert | SSIM streamkit / expert |');
    L.push('|---|---|---|---|');
    res.rungs.forEach((r, i) => {
      const kb = (id) => fmt((res.outputs[id][i].bytes * 8) / (res.outputs[id][i].frames / evalRate(res.frameRate)) / 1000, 0);
      const q = res.quality;
      L.push(`| ${r.name} ${r.width}x${r.height} | ${kb('streamkit')} / ${kb('expert')} | ${fmt(q.streamkit[i].psnr)} / ${fmt(q.expert[i].psnr)} | ${fmt(q.streamkit[i].ssim, 4)} / ${fmt(q.expert[i].ssim, 4)} |`);
    });
    L.push('');
  }
  return L.join('\n');
}

/**
 * The lowest CPU ratio any command could reach with the encoders every contender runs (cpuFloor), per
 * repetition against that repetition's expert (and naive) run; null when the case had no expert.
 */
function floorMarkdown(res) {
  const fr = res.floorRuns ?? [];
  const ex = res.runs.expert;
  if (fr.length === 0 || !ex) return null;
  const floors = fr.map((p, i) => cpuFloor({ expertCpu: ex[i].cpu, decodeCpu: p.decode, graphCpu: p.graph, audioCpu: p.audio, audioCopyCpu: p.audioCopy, expertAudioEncodes: res.rungs.length }));
  const S = (xs) => fmtSummary(summary(xs));
  const vsExpert = floors.map((f, i) => f.seconds / ex[i].cpu);
  const share = floors.map((f, i) => (100 * f.avoidable) / ex[i].cpu);
  const naive = res.runs.naive;
  const vsNaive = naive ? floors.map((f, i) => f.seconds / naive[i].cpu) : null;
  const audio = fr.every((p) => p.audio !== null) ? `; encoding the audio once ${S(floors.map((f) => f.audioEncode))} s (the run's CPU less that of copying the same stream)` : '';
  return `**How low any command with these encoders can go** (CPU). Measured on their own in each repetition, into null outputs: decoding the source ${S(fr.map((p) => p.decode))} s; decoding plus the expert's fps, split and scalers ${S(fr.map((p) => p.graph))} s${audio}. Counting all of that graph but one decode, and every audio encode but one, as avoidable (generously: the rungs do need their scalers), at most ${S(floors.map((f) => f.avoidable))} s = **${fmtSummary(summary(share), 1)} % of the expert's CPU** can be saved by a better graph or process layout; the rest is the encoders, which every contender runs with the same flags on the same frames. Lowest CPU ratio reachable against the expert: **${S(vsExpert)}**${vsNaive ? `; against the naive script: **${S(vsNaive)}**` : ''} (per repetition, median (min–max)).`;
}

function evalRate(r) {
  const [n, d] = String(r).split('/').map(Number);
  return d ? n / d : n;
}

function markdown(result) {
  const m = result.machine;
  const s = result.startup;
  const L = [];
  L.push(`## ${mode === 'quick' ? 'Quick mode' : 'Full mode'} (\`npm run bench${mode === 'quick' ? ' -- --quick' : ''}\`), ${result.finished}`);
  L.push('');
  L.push(`Machine: ${m.nproc} CPUs, ${m.cpuModel}${m.hypervisor ? ' (virtual machine)' : ''}, ${m.memGiB} GiB RAM, Linux ${m.kernel}; ${m.ffmpeg}; x264 ${m.x264 ?? '?'}, x265 ${m.x265 ?? '?'}, SVT-AV1 ${m.svtav1 ?? '?'}; Node ${m.node}. CPU time measured with ${m.cpuTimer === 'gnu-time' ? 'GNU time (rusage of the whole process tree)' : "bash's times builtin"}. Load average (1/5/15 min) at start: ${result.loadStart.map((x) => fmt(x, 2)).join(' / ')}, at end: ${result.loadEnd.map((x) => fmt(x, 2)).join(' / ')}.`);
  L.push('');
  L.push(`Start-up, ${s.n} runs each, median (min–max) in seconds:`);
  L.push('');
  L.push('| command | wall | CPU (user+sys, incl. child processes) |');
  L.push('|---|---|---|');
  L.push(`| \`node -e 0\` (Node itself, for reference) | ${fmtSummary(s.nodeBaseline.wall, 3)} | ${fmtSummary(s.nodeBaseline.cpu, 3)} |`);
  L.push(`| \`streamkit --version\` | **${fmtSummary(s.version.wall, 3)}** | ${fmtSummary(s.version.cpu, 3)} |`);
  L.push(`| \`streamkit transcode IN --preset h264-ladder --dry-run\` (loads the preset, finds ffmpeg, probes the input) | **${fmtSummary(s.dryRun.wall, 3)}** | ${fmtSummary(s.dryRun.cpu, 3)} |`);
  L.push('');
  for (const c of result.cases) L.push(caseMarkdown(c));
  for (const sk of result.skipped) L.push(`- skipped ${sk}\n`);
  for (const f of result.failed ?? []) L.push(`- **failed** ${f.id}: ${f.error.split("\n")[0]}\n`);
  return L.join('\n');
}

// ------------------------------------------------------------------------------------------------- main
const started = Date.now();
const result = { mode, reps, machine: machine(), loadStart: loadavg(), startup: null, cases: [], skipped: [], failed: [] };
log(`bench: ${mode} mode, ${reps} repetitions, ${cases.length} cases; machine ${result.machine.nproc} x ${result.machine.cpuModel}, load ${result.loadStart.map((x) => x.toFixed(2)).join(' ')}`);
const inputs = resolveInputs();
const firstInput = Object.values(inputs).find(Boolean);
if (!firstInput) {
  console.error('bench: no input available.');
  process.exit(2);
}
result.startup = await startupTimes(firstInput.file);
log(`bench: start-up wall: --version ${fmtSummary(result.startup.version.wall, 3)} s, --dry-run ${fmtSummary(result.startup.dryRun.wall, 3)} s (node -e 0: ${fmtSummary(result.startup.nodeBaseline.wall, 3)} s)`);
for (const c of cases) {
  const input = inputs[c.input];
  if (!input) {
    result.skipped.push(`${c.id}: input not available (../shared/media absent)`);
    continue;
  }
  // one failing case must not cost the others' results: record it, save what is done, go on
  try {
    result.cases.push(await runCase(c, input));
  } catch (error) {
    log(`bench: ${c.id} FAILED: ${String(error?.stack ?? error).slice(0, 4000)}`);
    result.failed.push({ id: c.id, error: String(error?.message ?? error).slice(0, 4000) });
  }
  writeFileSync(join(work, `results-${mode}.partial.json`), JSON.stringify(result, null, 2));
}
result.loadEnd = loadavg();
result.finished = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
result.minutes = +((Date.now() - started) / 60000).toFixed(1);
const md = markdown(result);
writeFileSync(join(work, `results-${mode}.json`), JSON.stringify(result, null, 2));
writeFileSync(join(work, `results-${mode}.md`), md);
process.stdout.write(`${md}\n`);
if (!flag('--no-write') && only === undefined) {
  log(writeResultsSection(join(root, 'bench', 'RESULTS.md'), mode, md) ? `bench: updated the ${mode} section of ${relative(process.cwd(), join(root, 'bench', 'RESULTS.md'))}` : 'bench: bench/RESULTS.md has no section markers for this mode; not updated');
}
log(`bench: done in ${result.minutes} min; raw data in ${relative(process.cwd(), join(work, `results-${mode}.json`))}`);
if (result.failed.length > 0) {
  log(`bench: ${result.failed.length} case(s) failed: ${result.failed.map((f) => f.id).join(', ')}`);
  process.exitCode = 1;
}
