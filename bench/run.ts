// streamkit benchmark: streamkit's ladder (the real CLI) against the best hand-written single ffmpeg
// command and against the naive one-process-per-rung script, same input, same encoder flags.
//
//   npm run bench                 full mode (built-in presets; tens of minutes on 2 cores)
//   npm run bench -- --quick      quick mode (faster encoder speeds, shorter input; a few minutes)
//   options: --reps N  --only CASE[,CASE]  --no-quality  --no-write  --keep
//
// TypeScript, compiled by `npm run bench` (tsc -p bench/tsconfig.build.json) into dist-bench/ and
// run from there; no dependencies beyond streamkit's build (dist/, from `npm install`) and
// ffmpeg/ffprobe on PATH. Results: bench/work/results-<mode>.{json,md}; the <mode> section of
// bench/RESULTS.md is replaced.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encoderProfiles, planTranscode } from 'streamkit';
import { benchLadder, cpuFloor, expertCommand, ladderFolders, floorCommands, missingEncoderFlags, naiveCommands, type FloorCommands } from './lib/commands.js';
import { generatedInput, sharedMediaDir, sintelInput } from './lib/inputs.js';
import { cpuTimer, timedRun, type CpuTimer, type TimedRunOptions } from './lib/measure.js';
import { measureQuality, playlistComplete, videoStats, type Quality } from './lib/quality.js';
import { writeResultsSection } from './lib/results.js';
import { fmt, fmtSummary, median, mib, shellQuote, summary, type Summary } from './lib/stats.js';
import { benchArgs } from './lib/args.js';

const HELP = `streamkit benchmark: streamkit's ladder (the real CLI) against the best hand-written single ffmpeg
command and against the naive one-process-per-rung script, same input, same encoder flags.

  npm run bench                 full mode (built-in presets; tens of minutes on 2 cores)
  npm run bench -- --quick      quick mode (faster encoder speeds, shorter input; a few minutes)
  options: --reps N  --only CASE[,CASE]  --no-quality  --no-write  --keep

See docs/benchmark.md.`;

// compiled to dist-bench/run.js: the repository root is one level up, as it is from bench/run.ts
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'streamkit.js');
const work = join(root, 'bench', 'work');
const presetsDir = join(root, 'bench', 'presets');

// ---------------------------------------------------------------------------------------------- options
const { flag, value } = benchArgs('bench', ['--quick', '--reps', '--only', '--no-quality', '--no-write', '--keep'], HELP);
type Mode = 'quick' | 'full';
const mode: Mode = flag('--quick') ? 'quick' : 'full';

// ----------------------------------------------------------------------------------------------- config
/**
 * streamkitFfmpeg: streamkit's own ffmpeg command (its plan's argv), run by hand: what streamkit's
 * encode costs without anything streamkit does around it (start-up, probe, playlists, checks), so
 * that the case can say how much of streamkit ÷ expert is the encode's layout and how much the
 * fixed work around it.
 */
type ContenderId = 'streamkit' | 'expert' | 'expertAudioOnce' | 'naive' | 'streamkitFfmpeg';

interface BenchCase {
  id: string;
  /** key into the mode's inputs */
  input: string;
  /** a bench/presets/*.yaml file or a built-in preset name */
  preset: string;
  /** listed in the conclusions of bench/RESULTS.md */
  headline?: boolean;
  /** also run the expert with the audio encoded once (streamkit's layout) */
  expertAudioOnce?: boolean;
  /** only these contenders (default: all) */
  contenders?: ContenderId[];
  noQuality?: boolean;
  /** repetitions, whatever --reps says */
  reps?: number;
  /** repetitions unless --reps says otherwise (default: the mode's) */
  defaultReps?: number;
  /** a target for streamkit ÷ expert in wall time (median of the per-repetition ratios), reported with the case */
  wallTarget?: { max: number; what: string };
}

/** [kind, start s, length s] */
type InputSpec = ['generated' | 'sintel', number, number];

interface ModeConfig {
  reps: number;
  inputs: Record<string, InputSpec>;
  cases: BenchCase[];
}

// Inputs are [kind, start s, length s]. Lengths are chosen so that each mode fits its time budget on
// 2 cores; the fixed costs (start-up, verification) weigh more on short inputs, and are reported.
const CONFIGS: Record<Mode, ModeConfig> = {
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
    inputs: { gen: ['generated', 0, 8], gen10: ['generated', 0, 10], sintel: ['sintel', 12, 12], sintelShort: ['sintel', 12, 6], sintelAll: ['sintel', 0, 53] },
    cases: [
      { id: 'gen-h264-4rung', input: 'gen', preset: 'h264-4rung.yaml', expertAudioOnce: true, headline: true },
      // issue 18's measurement: streamkit against the hand-written expert alone, in alternated pairs
      // (two contenders, the order swapped every repetition), wall time, x264 veryfast, 10 s of 1080p
      {
        id: 'gen10-h264-4rung-veryfast',
        input: 'gen10',
        preset: 'quick-h264-4rung.yaml',
        contenders: ['streamkit', 'expert', 'streamkitFfmpeg'],
        noQuality: true,
        defaultReps: 6,
        headline: true,
        wallTarget: { max: 1.0, what: 'issue 18: a 10 s 1080p clip, 4-rung x264 veryfast ladder, streamkit ÷ hand-written expert in wall time, alternated pairs' },
      },
      { id: 'sintel-h264-4rung', input: 'sintel', preset: 'h264-4rung.yaml', expertAudioOnce: true, headline: true },
      { id: 'sintel-h264-ladder', input: 'sintel', preset: 'h264-ladder' },
      { id: 'sintel-hevc-ladder', input: 'sintelShort', preset: 'hevc-ladder' },
      { id: 'sintel-av1-ladder', input: 'sintelShort', preset: 'av1-ladder' },
      // one long run against the expert command only: the fixed per-job costs amortized, Node memory
      // and the post-encode share on a longer input (no naive run, no quality: both cost minutes)
      { id: 'sintel-long-h264-ladder', input: 'sintelAll', preset: 'h264-ladder', contenders: ['streamkit', 'expert'], noQuality: true, reps: 1 },
    ],
  },
};
const CONFIG = CONFIGS[mode];

const repsOption = value('--reps');
const repsFlag = repsOption === undefined ? undefined : Number(repsOption);
if (repsFlag !== undefined && !(Number.isInteger(repsFlag) && repsFlag > 0)) {
  console.error(`bench: --reps takes a positive whole number, got ${repsOption}`);
  process.exit(2);
}
const reps = repsFlag ?? CONFIG.reps;
const only = value('--only')?.split(',');
for (const id of only ?? []) {
  if (CONFIG.cases.some((c) => c.id === id)) continue;
  const other: Mode = mode === 'quick' ? 'full' : 'quick';
  const hint = CONFIGS[other].cases.some((c) => c.id === id) ? ` (a ${other}-mode case: ${other === 'quick' ? 'add' : 'drop'} --quick)` : '';
  console.error(`bench: no ${mode}-mode case ${id}${hint}; ${mode}-mode cases: ${CONFIG.cases.map((c) => c.id).join(', ')}`);
  process.exit(2);
}
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
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const modeDir = join(work, mode);
mkdirSync(modeDir, { recursive: true });

interface Machine {
  nproc: number;
  cpuModel: string;
  hypervisor: boolean;
  memGiB: number;
  ffmpeg: string;
  x264: string | null;
  x265: string | null;
  svtav1: string | null;
  node: string;
  kernel: string;
  cpuTimer: CpuTimer;
}

function machine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const ffv = spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
  const lib = (name: string): string | null => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Version} is dpkg-query's format field, not a template
    const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() || null : null;
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

interface Input {
  file: string;
  label: string;
  seconds: number;
}

function resolveInputs(): Record<string, Input | null> {
  const media = sharedMediaDir(root);
  const made: Record<string, Input | null> = {};
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

const presetRef = (p: string): string => (p.endsWith('.yaml') ? join(presetsDir, p) : p);

function streamkitArgv(input: string, preset: string, out: string, extra: string[] = []): string[] {
  return [process.execPath, cli, 'transcode', input, '--preset', presetRef(preset), '--output', out, '--json', ...extra];
}

/** streamkit's NDJSON events, as much of them as the bench reads. */
interface StreamkitEvent {
  type: string;
  stage?: string;
  status?: string;
  time?: string;
  encodeSeconds?: number;
  postEncodeSeconds?: number;
  elapsedSeconds?: number;
}

function ndjson(text: string): StreamkitEvent[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as StreamkitEvent);
}

function freshDirs(base: string, dirs: readonly string[]): void {
  rmSync(base, { recursive: true, force: true });
  for (const d of dirs) mkdirSync(d, { recursive: true });
}

// ---------------------------------------------------------------------------------------------- startup
interface Series {
  wall: Summary;
  cpu: Summary;
}

interface Startup {
  n: number;
  nodeBaseline: Series;
  version: Series;
  dryRun: Series;
}

async function startupTimes(sampleInput: string): Promise<Startup> {
  const n = 10;
  const series = async (argvX: string[]): Promise<Series> => {
    const wall: number[] = [];
    const cpu: number[] = [];
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
interface RungInfo {
  name: string;
  width: number;
  height: number;
  bitrate: number;
}

/** One contender's run: the streamkit fields only for streamkit, processes only for the ffmpeg sets. */
interface Run {
  wall: number;
  cpu: number;
  user: number;
  sys: number;
  ffmpegMaxRssKiB: number | null;
  load1?: number;
  processes?: number;
  nodeHwmKiB?: number | null;
  nodeCpu?: number | null;
  stages?: { beforeEncode: number; package: number; verify: number; afterDone: number };
  encodeSeconds?: number;
  postEncodeSeconds?: number;
  elapsedSeconds?: number;
}

type StreamkitRun = Required<Pick<Run, 'stages' | 'encodeSeconds' | 'postEncodeSeconds' | 'elapsedSeconds'>> & Run;

interface FloorRun {
  decode: number;
  graph: number;
  audio: number | null;
  audioCopy: number | null;
}

interface CaseResult {
  id: string;
  headline: boolean;
  reps: number;
  preset: string;
  input: string;
  inputSeconds: number;
  encoder: string;
  frameRate: string;
  rungs: RungInfo[];
  contenders: { id: ContenderId; label: string }[];
  runs: Partial<Record<ContenderId, Run[]>> & { streamkit: StreamkitRun[] };
  floorRuns: FloorRun[];
  outputs: Partial<Record<ContenderId, { rung: string; frames: number; bytes: number }[]>>;
  quality: { streamkit: Quality[]; expert: Quality[] } | null;
  commands: Record<string, string | string[] | null>;
  wallTarget: WallTargetResult | null;
}

interface WallTargetResult {
  what: string;
  max: number;
  /** streamkit ÷ expert, wall, one per repetition (pair) */
  perPair: number[];
  /** median of perPair: what the target is judged on */
  median: number;
  /** median streamkit wall ÷ median expert wall, as in the table */
  ratioOfMedians: number;
  met: boolean;
  /**
   * With streamkit's own ffmpeg command run alone in the same repetitions: that command ÷ the expert
   * (the encode's layout), and the seconds streamkit adds around it (streamkit − its command), per
   * repetition; the budget is what streamkit could add and still be at `max` (max × expert − command)
   */
  own: { perPair: number[]; median: number; addedSeconds: number[]; budgetSeconds: number[] } | null;
}

/** streamkit ÷ expert in wall time, pair by pair (repetition i of each), against the case's target. */
function wallTargetResult(target: { max: number; what: string }, runs: CaseResult['runs']): WallTargetResult | null {
  const ex = runs.expert;
  if (!ex || ex.length === 0) return null;
  const perPair = runs.streamkit.map((r, i) => r.wall / ex[i]!.wall);
  const med = median(perPair);
  const cmd = runs.streamkitFfmpeg;
  const ownPerPair = cmd?.length === ex.length ? cmd.map((r, i) => r.wall / ex[i]!.wall) : null;
  const own =
    cmd && ownPerPair
      ? {
          perPair: ownPerPair,
          median: median(ownPerPair),
          addedSeconds: runs.streamkit.map((r, i) => r.wall - cmd[i]!.wall),
          budgetSeconds: ex.map((r, i) => target.max * r.wall - cmd[i]!.wall),
        }
      : null;
  return { ...target, perPair, median: med, ratioOfMedians: median(runs.streamkit.map((r) => r.wall)) / median(ex.map((r) => r.wall)), met: med <= target.max, own };
}

interface Contender {
  id: ContenderId;
  label: string;
  run: () => Promise<Run>;
}

async function runCase(c: BenchCase, input: Input): Promise<CaseResult> {
  const caseDir = join(modeDir, c.id);
  const dirs: Record<ContenderId, string> = {
    streamkit: join(caseDir, 'streamkit'),
    expert: join(caseDir, 'expert'),
    expertAudioOnce: join(caseDir, 'expert-audio-once'),
    naive: join(caseDir, 'naive'),
    streamkitFfmpeg: join(caseDir, 'streamkit-ffmpeg'),
  };
  // streamkit's plan for this job, from the build (what `transcode` runs, without running it): the
  // hand-written contenders are written from its facts, not from its ffmpeg argv
  const planned = await planTranscode({ input: input.file, preset: presetRef(c.preset), output: dirs.streamkit });
  const { plan } = planned;
  const ladder = benchLadder(plan, encoderProfiles[plan.encoder], { ffmpeg: planned.toolchain.ffmpeg.path, input: input.file });
  const unlike = missingEncoderFlags(planned.argv, ladder);
  if (unlike.length > 0)
    throw new Error(`streamkit's ffmpeg command does not carry the encoder flags the contenders use for ${unlike.join(', ')}: the comparison would not be like for like`);
  const rungs: RungInfo[] = ladder.rungs.map((r) => ({ name: r.name, width: r.width, height: r.height, bitrate: r.bitrate }));
  const expert = expertCommand(ladder, dirs.expert, { audio: 'per-rung' });
  const expertOnce = expertCommand(ladder, dirs.expertAudioOnce, { audio: 'once' });
  const naive = naiveCommands(ladder, dirs.naive);
  const floor = floorCommands(ladder);
  const skArgv = streamkitArgv(input.file, c.preset, dirs.streamkit, ['--force']);

  const caseReps = c.reps ?? repsFlag ?? c.defaultReps ?? CONFIG.reps;
  const streamkitRuns: StreamkitRun[] = [];
  const contenders: Contender[] = [
    {
      id: 'streamkit' as const,
      label: 'streamkit (CLI)',
      run: async () => {
        const r = await runStreamkit(skArgv, dirs.streamkit, rungs);
        streamkitRuns.push(r);
        return r;
      },
    },
    { id: 'expert' as const, label: 'expert: 1 ffmpeg, split from source, audio per rung', run: () => runFfmpegSet([expert.argv], dirs.expert, expert.dirs, rungs) },
    ...(c.expertAudioOnce
      ? [{ id: 'expertAudioOnce' as const, label: 'expert, audio encoded once', run: () => runFfmpegSet([expertOnce.argv], dirs.expertAudioOnce, expertOnce.dirs, rungs) }]
      : []),
    {
      id: 'streamkitFfmpeg' as const,
      label: "streamkit's own ffmpeg command alone (no start-up, probe, playlists or checks)",
      run: () =>
        runFfmpegSet(
          // as streamkit starts it, less `-progress pipe:1` (streamkit reads it; here nothing would)
          [[planned.toolchain.ffmpeg.path, '-hide_banner', '-nostdin', '-nostats', ...planned.argv]],
          dirs.streamkitFfmpeg,
          // the folders streamkit creates for its ffmpeg: one per rung and audio rendition
          ladderFolders(ladder, dirs.streamkitFfmpeg),
          rungs,
        ),
    },
    {
      id: 'naive' as const,
      label: `naive: ${rungs.length} ffmpeg runs, one per rung`,
      run: () =>
        runFfmpegSet(
          naive.map((x) => x.argv),
          dirs.naive,
          naive.map((x) => x.dir),
          rungs,
        ),
    },
  ].filter((x) => !c.contenders || c.contenders.includes(x.id));
  const commands: CaseResult['commands'] = {
    streamkit: shellQuote(skArgv.map((a, i) => (i === 0 ? 'node' : a))),
    // streamkit runs it with its progress options (-progress pipe:1 ...) in its staging folder
    streamkitFfmpeg: shellQuote([planned.toolchain.ffmpeg.path, ...planned.argv]),
    expert: shellQuote(expert.argv),
    expertAudioOnce: c.expertAudioOnce ? shellQuote(expertOnce.argv) : null,
    naive: naive.map((x) => shellQuote(x.argv)),
    floorDecode: shellQuote(floor.decode),
    floorGraph: shellQuote(floor.graph),
    floorAudio: floor.audio ? shellQuote(floor.audio) : null,
    floorAudioCopy: floor.audioCopy ? shellQuote(floor.audioCopy) : null,
  };
  mkdirSync(caseDir, { recursive: true });
  writeFileSync(
    join(caseDir, 'commands.txt'),
    Object.entries(commands)
      .filter(([, v]) => v)
      .map(([k, v]) => `# ${k}\n${[v].flat().join('\n')}\n`)
      .join('\n'),
  );

  const runs: CaseResult['runs'] = { streamkit: streamkitRuns };
  for (const x of contenders) if (x.id !== 'streamkit') runs[x.id] = [];
  const floorRuns: FloorRun[] = [];
  for (let rep = 0; rep < caseReps; rep++) {
    // rotate the order every repetition so that drifting background load hits every contender alike
    const order = contenders.map((_, i) => contenders[(i + rep) % contenders.length]!);
    for (const x of order) {
      const load = loadavg()[0]!;
      const r = await x.run();
      r.load1 = load;
      if (x.id !== 'streamkit') runs[x.id]!.push(r);
      log(
        `bench: ${c.id} rep ${rep + 1}/${caseReps} ${x.id.padEnd(15)} wall ${fmt(r.wall)} s  cpu ${fmt(r.cpu)} s${r.nodeHwmKiB ? `  node ${mib(r.nodeHwmKiB)} MiB` : ''}  (load ${fmt(load, 1)})`,
      );
    }
    if (contenders.some((x) => x.id === 'expert')) {
      const parts = await runFloorParts(floor);
      floorRuns.push(parts);
      log(
        `bench: ${c.id} rep ${rep + 1}/${caseReps} floor parts: decode ${fmt(parts.decode)} s, graph ${fmt(parts.graph)} s, audio ${parts.audio === null ? '-' : `${fmt(parts.audio)} (copied ${fmt(parts.audioCopy)})`} s cpu`,
      );
    }
  }

  // outputs of the last repetition: same frames everywhere, video bitrate, quality
  const outputs: CaseResult['outputs'] = {};
  for (const x of contenders) {
    const base = dirs[x.id];
    outputs[x.id] = rungs.map((r) => ({ rung: r.name, ...videoStats(join(base, r.name, 'index.m3u8')) }));
  }
  const frameCounts = new Set(Object.values(outputs).flatMap((o) => o.map((r) => r.frames)));
  if (frameCounts.size !== 1) log(`bench: WARNING ${c.id}: frame counts differ between contenders/rungs: ${JSON.stringify(outputs)}`);
  let quality: CaseResult['quality'] = null;
  if (doQuality && !c.noQuality && contenders.some((x) => x.id === 'expert')) {
    const measure = (id: 'streamkit' | 'expert'): Quality[] => {
      log(`bench: ${c.id} quality of ${id} (psnr, ssim per rung)`);
      return measureQuality(
        input.file,
        ladder.fps,
        rungs.map((r) => ({ width: r.width, height: r.height, playlist: join(dirs[id], r.name, 'index.m3u8') })),
      );
    };
    quality = { streamkit: measure('streamkit'), expert: measure('expert') };
  }
  if (!flag('--keep')) for (const [id, dir] of Object.entries(dirs)) if (id !== 'streamkit') rmSync(dir, { recursive: true, force: true });

  return {
    id: c.id,
    headline: !!c.headline,
    reps: caseReps,
    preset: c.preset,
    input: input.label,
    inputSeconds: input.seconds,
    encoder: plan.encoder,
    frameRate: ladder.fps,
    rungs,
    contenders: contenders.map(({ id, label }) => ({ id, label })),
    runs,
    floorRuns,
    outputs,
    quality,
    commands,
    wallTarget: c.wallTarget ? wallTargetResult(c.wallTarget, runs) : null,
  };
}

async function runStreamkit(argvSk: string[], outDir: string, rungs: readonly RungInfo[]): Promise<StreamkitRun> {
  rmSync(outDir, { recursive: true, force: true });
  const r = await timedRun(argvSk, { sampleChildRss: true });
  if (r.code !== 0) throw new Error(`streamkit failed (exit ${r.code}): ${r.stdout.slice(-3000)}${r.stderr.slice(-3000)}`);
  const events = ndjson(r.stdout);
  const done = events.find((e) => e.type === 'done');
  if (!done) throw new Error(`streamkit emitted no done event: ${r.stdout.slice(-2000)}`);
  // stage times from the events' timestamps (ms)
  const at = (stage: string, status: string): number => Date.parse(events.find((e) => e.type === 'stage' && e.stage === stage && e.status === status)?.time ?? 'x');
  const stages = {
    beforeEncode: (at('encode', 'start') - r.startedAtMs) / 1000,
    package: (at('package', 'done') - at('package', 'start')) / 1000,
    verify: (at('verify', 'done') - at('verify', 'start')) / 1000,
    afterDone: (r.endedAtMs - Date.parse(done.time ?? 'x')) / 1000,
  };
  for (const rung of rungs) if (!playlistComplete(join(outDir, rung.name, 'index.m3u8'))) throw new Error(`streamkit output ${rung.name} incomplete`);
  return {
    wall: r.wall,
    cpu: r.cpu,
    user: r.user,
    sys: r.sys,
    ffmpegMaxRssKiB: r.treeMaxRssKiB,
    nodeHwmKiB: r.childHwmKiB,
    nodeCpu: r.childOwnCpu,
    stages,
    encodeSeconds: done.encodeSeconds ?? NaN,
    postEncodeSeconds: done.postEncodeSeconds ?? NaN,
    elapsedSeconds: done.elapsedSeconds ?? NaN,
  };
}

/** timedRun of one ffmpeg command that must succeed. */
async function timedFfmpeg(argvF: string[], options?: TimedRunOptions): Promise<Awaited<ReturnType<typeof timedRun>>> {
  const r = await timedRun(argvF, options);
  if (r.code !== 0) throw new Error(`ffmpeg failed (exit ${r.code}): ${shellQuote(argvF)}\n${r.stderr.slice(-3000)}`);
  return r;
}

/** CPU seconds of each floor part (floorCommands), one run each; they write nothing. */
async function runFloorParts(floor: FloorCommands): Promise<FloorRun> {
  const cpu = async (a: string[] | null): Promise<number | null> => (a ? (await timedFfmpeg(a)).cpu : null);
  return { decode: (await timedFfmpeg(floor.decode)).cpu, graph: (await timedFfmpeg(floor.graph)).cpu, audio: await cpu(floor.audio), audioCopy: await cpu(floor.audioCopy) };
}

async function runFfmpegSet(argvs: string[][], base: string, outDirs: readonly string[], rungs: readonly RungInfo[]): Promise<Run> {
  freshDirs(base, outDirs);
  const total: Run = { wall: 0, cpu: 0, user: 0, sys: 0, ffmpegMaxRssKiB: 0, processes: argvs.length };
  for (const a of argvs) {
    // in the output folder, as streamkit runs its ffmpeg: the HLS paths in the commands are relative to it
    const r = await timedFfmpeg(a, { cwd: base });
    total.wall += r.wall;
    total.cpu += r.cpu;
    total.user += r.user;
    total.sys += r.sys;
    total.ffmpegMaxRssKiB = Math.max(total.ffmpegMaxRssKiB ?? 0, r.treeMaxRssKiB ?? 0) || null;
  }
  for (const rung of rungs) if (!playlistComplete(join(base, rung.name, 'index.m3u8'))) throw new Error(`${base}: ${rung.name} incomplete`);
  return total;
}

// ----------------------------------------------------------------------------------------------- report
function caseMarkdown(res: CaseResult): string {
  const L: string[] = [];
  const sk = res.runs.streamkit;
  const skWall = summary(sk.map((r) => r.wall));
  const skCpu = summary(sk.map((r) => r.cpu));
  L.push(`### ${res.id}: ${res.preset.replace(/\.yaml$/, '')} on ${res.input}`);
  L.push('');
  L.push(
    `${res.encoder}, ${res.frameRate} fps, ${res.rungs.length} rungs (${res.rungs.map((r) => `${r.width}x${r.height}`).join(', ')}); ${res.reps} repetition${res.reps > 1 ? 's' : ''}${res.contenders.length > 1 ? ', order rotated each repetition' : ''}. Times in seconds, median (min–max).${res.contenders.length > 1 ? " Ratios: streamkit's median ÷ the contender's median (bold), then the range of the per-repetition ratios." : ''}`,
  );
  L.push('');
  L.push('| contender | wall s | CPU s (user+sys) | streamkit ÷ this, wall | streamkit ÷ this, CPU | peak RSS of largest ffmpeg, MiB |');
  L.push('|---|---|---|---|---|---|');
  for (const x of res.contenders) {
    const rs = res.runs[x.id] ?? [];
    const w = summary(rs.map((r) => r.wall));
    const c = summary(rs.map((r) => r.cpu));
    const ratio = (key: 'wall' | 'cpu', s: Summary): string => {
      if (x.id === 'streamkit') return '—';
      const per = rs.map((r, i) => sk[i]![key] / r[key]);
      return `**${fmt((key === 'wall' ? skWall : skCpu).median / s.median)}** (${fmt(Math.min(...per))}–${fmt(Math.max(...per))})`;
    };
    L.push(`| ${x.label} | ${fmtSummary(w)} | ${fmtSummary(c)} | ${ratio('wall', w)} | ${ratio('cpu', c)} | ${mib(Math.max(...rs.map((r) => r.ffmpegMaxRssKiB ?? 0)))} |`);
  }
  L.push('');
  const t = res.wallTarget;
  if (t) {
    const n = t.perPair.length;
    L.push(
      `**Target** (${t.what}): streamkit ÷ expert, wall ≤ ${fmt(t.max)}. Measured: **${fmt(t.median)}**, the median of ${n} per-pair ratio${n > 1 ? 's' : ''}${n > 1 ? ` (${fmt(Math.min(...t.perPair))}–${fmt(Math.max(...t.perPair))})` : ''}; ratio of the medians ${fmt(t.ratioOfMedians)}: **${t.met ? 'met' : 'not met'}**${n < 4 ? ` (only ${n} pair${n > 1 ? 's' : ''}: too few to tell a few % from noise)` : ''}.`,
    );
    L.push('');
    if (t.own) {
      const S2 = (xs: number[]): string => fmtSummary(summary(xs));
      L.push(
        `**Where it goes**, per repetition (median (min–max)): streamkit's own ffmpeg command alone ÷ expert **${S2(t.own.perPair)}** (its encode layout: one audio encode instead of one per rung); what streamkit could add around that command and still be at ${fmt(t.max)} ÷ expert: **${S2(t.own.budgetSeconds)} s**; what it adds (streamkit − its command): **${S2(t.own.addedSeconds)} s**.`,
      );
      L.push('');
    }
  }
  const S = (f: (r: StreamkitRun) => number): Summary => summary(sk.map(f));
  const loads = Object.values(res.runs)
    .flat()
    .map((r) => r.load1 ?? NaN);
  L.push(
    `streamkit, inside its wall time: before ffmpeg starts (Node start-up, preset, ffprobe) ${fmtSummary(S((r) => r.stages.beforeEncode))} s; encode ${fmtSummary(S((r) => r.encodeSeconds))} s; post-encode ${fmtSummary(S((r) => r.postEncodeSeconds))} s = **${fmtSummary(
      S((r) => (100 * r.postEncodeSeconds) / r.encodeSeconds),
      1,
    )} % of encode** (packaging: reading every segment, playlists ${fmtSummary(S((r) => r.stages.package))} s; decode check of the first keyframe and last GOP of every rendition ${fmtSummary(S((r) => r.stages.verify))} s). Node process: own CPU ${fmtSummary(S((r) => r.nodeCpu ?? NaN))} s, peak RSS **${mib(Math.max(...sk.map((r) => r.nodeHwmKiB ?? 0)))} MiB** (VmHWM, largest of ${sk.length} run${sk.length > 1 ? 's' : ''}). Load average (1 min) at run starts: ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}.`,
  );
  L.push('');
  const floorLine = floorMarkdown(res);
  if (floorLine) L.push(floorLine, '');
  const frames = res.outputs.streamkit?.[0]?.frames;
  if (res.quality) {
    const q = res.quality;
    L.push(
      `Quality of the last repetition's output against the source (reference: the source scaled to the rung with lanczos); video bitrate from the video packets only; ${frames} frames per rung.`,
    );
    L.push('');
    L.push('| rung | video kb/s streamkit / expert | PSNR dB streamkit / expert | SSIM streamkit / expert |');
    L.push('|---|---|---|---|');
    res.rungs.forEach((r, i) => {
      const kb = (id: 'streamkit' | 'expert'): string => {
        const o = res.outputs[id]![i]!;
        return fmt((o.bytes * 8) / (o.frames / evalRate(res.frameRate)) / 1000, 0);
      };
      L.push(
        `| ${r.name} ${r.width}x${r.height} | ${kb('streamkit')} / ${kb('expert')} | ${fmt(q.streamkit[i]!.psnr)} / ${fmt(q.expert[i]!.psnr)} | ${fmt(q.streamkit[i]!.ssim, 4)} / ${fmt(q.expert[i]!.ssim, 4)} |`,
      );
    });
    L.push('');
  }
  return L.join('\n');
}

/**
 * The lowest CPU ratio any command could reach with the encoders every contender runs (cpuFloor), per
 * repetition against that repetition's expert (and naive) run; null when the case had no expert.
 */
function floorMarkdown(res: CaseResult): string | null {
  const fr = res.floorRuns;
  const ex = res.runs.expert;
  if (fr.length === 0 || !ex) return null;
  const floors = fr.map((p, i) =>
    cpuFloor({ expertCpu: ex[i]!.cpu, decodeCpu: p.decode, graphCpu: p.graph, audioCpu: p.audio, audioCopyCpu: p.audioCopy, expertAudioEncodes: res.rungs.length }),
  );
  const S = (xs: number[]): string => fmtSummary(summary(xs));
  const vsExpert = floors.map((f, i) => f.seconds / ex[i]!.cpu);
  const share = floors.map((f, i) => (100 * f.avoidable) / ex[i]!.cpu);
  const naive = res.runs.naive;
  const vsNaive = naive ? floors.map((f, i) => f.seconds / naive[i]!.cpu) : null;
  const audio = fr.every((p) => p.audio !== null) ? `; encoding the audio once ${S(floors.map((f) => f.audioEncode))} s (the run's CPU less that of copying the same stream)` : '';
  return `**How low any command with these encoders can go** (CPU). Measured on their own in each repetition, into null outputs: decoding the source ${S(fr.map((p) => p.decode))} s; decoding plus the expert's fps, split and scalers ${S(fr.map((p) => p.graph))} s${audio}. Counting all of that graph but one decode, and every audio encode but one, as avoidable (generously: the rungs do need their scalers), at most ${S(floors.map((f) => f.avoidable))} s = **${fmtSummary(summary(share), 1)} % of the expert's CPU** can be saved by a better graph or process layout; the rest is the encoders, which every contender runs with the same flags on the same frames. Lowest CPU ratio reachable against the expert: **${S(vsExpert)}**${vsNaive ? `; against the naive script: **${S(vsNaive)}**` : ''} (per repetition, median (min–max)).`;
}

function evalRate(r: string): number {
  const [n, d] = String(r).split('/').map(Number);
  return d ? n! / d : n!;
}

interface BenchResult {
  mode: Mode;
  reps: number;
  machine: Machine;
  loadStart: number[];
  loadEnd?: number[];
  startup: Startup | null;
  cases: CaseResult[];
  skipped: string[];
  failed: { id: string; error: string }[];
  finished?: string;
  minutes?: number;
}

function markdown(result: BenchResult & { startup: Startup; loadEnd: number[]; finished: string }): string {
  const m = result.machine;
  const s = result.startup;
  const L: string[] = [];
  L.push(`## ${mode === 'quick' ? 'Quick mode' : 'Full mode'} (\`npm run bench${mode === 'quick' ? ' -- --quick' : ''}\`), ${result.finished}`);
  L.push('');
  L.push(
    `Machine: ${m.nproc} CPUs, ${m.cpuModel}${m.hypervisor ? ' (virtual machine)' : ''}, ${m.memGiB} GiB RAM, Linux ${m.kernel}; ${m.ffmpeg}; x264 ${m.x264 ?? '?'}, x265 ${m.x265 ?? '?'}, SVT-AV1 ${m.svtav1 ?? '?'}; Node ${m.node}. CPU time measured with ${m.cpuTimer === 'gnu-time' ? 'GNU time (rusage of the whole process tree)' : "bash's times builtin"}. Load average (1/5/15 min) at start: ${result.loadStart.map((x) => fmt(x, 2)).join(' / ')}, at end: ${result.loadEnd.map((x) => fmt(x, 2)).join(' / ')}.`,
  );
  L.push('');
  L.push(`Start-up, ${s.n} runs each, median (min–max) in seconds:`);
  L.push('');
  L.push('| command | wall | CPU (user+sys, incl. child processes) |');
  L.push('|---|---|---|');
  L.push(`| \`node -e 0\` (Node itself, for reference) | ${fmtSummary(s.nodeBaseline.wall, 3)} | ${fmtSummary(s.nodeBaseline.cpu, 3)} |`);
  L.push(`| \`streamkit --version\` | **${fmtSummary(s.version.wall, 3)}** | ${fmtSummary(s.version.cpu, 3)} |`);
  L.push(
    `| \`streamkit transcode IN --preset h264-ladder --dry-run\` (loads the preset, finds ffmpeg, probes the input) | **${fmtSummary(s.dryRun.wall, 3)}** | ${fmtSummary(s.dryRun.cpu, 3)} |`,
  );
  L.push('');
  for (const c of result.cases) L.push(caseMarkdown(c));
  for (const sk of result.skipped) L.push(`- skipped ${sk}\n`);
  for (const f of result.failed) L.push(`- **failed** ${f.id}: ${f.error.split('\n')[0]}\n`);
  return L.join('\n');
}

// ------------------------------------------------------------------------------------------------- main
const started = Date.now();
const result: BenchResult = { mode, reps, machine: machine(), loadStart: loadavg(), startup: null, cases: [], skipped: [], failed: [] };
log(
  `bench: ${mode} mode, ${reps} repetitions, ${cases.length} cases; machine ${result.machine.nproc} x ${result.machine.cpuModel}, load ${result.loadStart.map((x) => x.toFixed(2)).join(' ')}`,
);
const inputs = resolveInputs();
const firstInput = Object.values(inputs).find((x): x is Input => x !== null);
if (!firstInput) {
  console.error('bench: no input available.');
  process.exit(2);
}
const startup = await startupTimes(firstInput.file);
result.startup = startup;
log(
  `bench: start-up wall: --version ${fmtSummary(startup.version.wall, 3)} s, --dry-run ${fmtSummary(startup.dryRun.wall, 3)} s (node -e 0: ${fmtSummary(startup.nodeBaseline.wall, 3)} s)`,
);
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
    const text = (full: boolean): string => String((full && error instanceof Error ? error.stack : undefined) ?? (error instanceof Error ? error.message : error)).slice(0, 4000);
    log(`bench: ${c.id} FAILED: ${text(true)}`);
    result.failed.push({ id: c.id, error: text(false) });
  }
  writeFileSync(join(work, `results-${mode}.partial.json`), JSON.stringify(result, null, 2));
}
const finished = { ...result, startup, loadEnd: loadavg(), finished: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), minutes: +((Date.now() - started) / 60000).toFixed(1) };
const md = markdown(finished);
writeFileSync(join(work, `results-${mode}.json`), JSON.stringify(finished, null, 2));
writeFileSync(join(work, `results-${mode}.md`), md);
process.stdout.write(`${md}\n`);
if (!flag('--no-write') && only === undefined) {
  log(
    writeResultsSection(join(root, 'bench', 'RESULTS.md'), mode, md)
      ? `bench: updated the ${mode} section of ${relative(process.cwd(), join(root, 'bench', 'RESULTS.md'))}`
      : 'bench: bench/RESULTS.md has no section markers for this mode; not updated',
  );
}
log(`bench: done in ${finished.minutes} min; raw data in ${relative(process.cwd(), join(work, `results-${mode}.json`))}`);
if (result.failed.length > 0) {
  log(`bench: ${result.failed.length} case(s) failed: ${result.failed.map((f) => f.id).join(', ')}`);
  process.exitCode = 1;
}
