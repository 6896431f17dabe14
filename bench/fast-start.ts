#!/usr/bin/env node
// Fast start (issue 22): how long a viewer waits for the first frame. The Sintel trailer is packaged
// (a) by streamkit (the built CLI, preset h264-ladder) and (b) by one hand-written ffmpeg command
// with ffmpeg's own HLS muxer (split/scale, var_stream_map, master_pl_name; the same rungs, bitrates,
// GOP, audio and segment duration as the preset). Both are served by a minimal static server on
// loopback (no caching) and loaded by hls.js (default config) in Debian's Chromium through Chrome
// DevTools Protocol network throttling (cache disabled; 1.5 Mbit/s, 5 Mbit/s, 20 Mbit/s, each with
// 150 ms latency). A run times `hls.loadSource()` to the first `requestVideoFrameCallback` after
// `video.play()` (muted autoplay), in a fresh browser context; runs alternate the contenders. Also
// recorded: requests and bytes fetched before the first frame, and the level hls.js started with.
//
//   npm run bench:start                              5 runs per contender and condition
//   npm run bench:start -- --runs 7 --conditions 1.5,5,20 --reuse --no-write
//
// Options: --runs N, --conditions MBIT[,MBIT] (latency always 150 ms), --reuse (keep the packages in
// bench/work/fast-start/ from an earlier run instead of packaging again; only right when src/ has not
// changed), --only streamkit|ffmpeg, --label TEXT (names the streamkit build in the report),
// --no-write (do not replace the fast-start section of bench/RESULTS.md).
// Results: bench/work/fast-start/results.json; the fast-start section of bench/RESULTS.md is replaced.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { sharedMediaDir } from './lib/inputs.js';
import { writeResultsSection } from './lib/results.js';
import { fmt, shellQuote, summary, type Summary } from './lib/stats.js';
import { benchArgs } from './lib/args.js';

// compiled to dist-bench/fast-start.js: the repository root is one level up, as it is from bench/fast-start.ts
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench', 'work', 'fast-start');
const cli = join(root, 'bin', 'streamkit.js');
const HLS_JS = join(root, 'node_modules', 'hls.js', 'dist', 'hls.min.js');
const CHROMIUM = '/usr/bin/chromium';
const LATENCY_MS = 150;

// ---------------------------------------------------------------------------------------------- options
const { argv, flag, value } = benchArgs('bench:start', ['--runs', '--conditions', '--reuse', '--only', '--label', '--no-write'], { script: import.meta.url, lines: 20 });
const runs = Number(value('--runs') ?? 5);
const conditions = (value('--conditions') ?? '1.5,5,20').split(',').map(Number);
if (!(runs >= 1) || conditions.some((c) => !(c > 0))) {
  console.error('bench:start: --runs takes a positive number, --conditions positive Mbit/s values, e.g. --conditions 1.5,5,20');
  process.exit(2);
}
type Contender = 'streamkit' | 'ffmpeg';
const only = value('--only');
if (only !== undefined && only !== 'streamkit' && only !== 'ffmpeg') {
  console.error('bench:start: --only takes streamkit or ffmpeg');
  process.exit(2);
}
const contenders: Contender[] = only ? [only] : ['streamkit', 'ffmpeg'];
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

const media = sharedMediaDir(root);
if (!media) {
  log('bench:start: skipped: the Sintel trailer (../shared/media/sintel-trailer-720p.mp4, or STREAMKIT_BENCH_MEDIA) is not here.');
  process.exit(0);
}
const input = join(media, 'sintel-trailer-720p.mp4');
for (const [what, file] of [
  ['Chromium', CHROMIUM],
  ['hls.js (npm ci)', HLS_JS],
  ["streamkit's build (npm run build)", join(root, 'dist', 'cli', 'main.js')],
] as const) {
  if (!existsSync(file)) {
    log(`bench:start: skipped: ${what} is missing (${file}).`);
    process.exit(0);
  }
}

// --------------------------------------------------------------------------------------------- packages
/**
 * ffmpeg's own HLS muxer, written by hand: h264-ladder's rungs as streamkit fits them to this 720p
 * source (1080p dropped, never upscaled), the same bitrates (peak and VBV buffer 1.5x), 2 s closed
 * GOPs (48 frames at 24 fps, no scene-cut keyframes), libx264 medium, AAC 128k stereo 48 kHz in its
 * own rendition group, 6 s MPEG-TS segments. The rungs are listed top first, as people write them.
 */
const rungs = [
  { name: '720p', w: 1280, h: 720, kbps: 4500 },
  { name: '540p', w: 960, h: 540, kbps: 2000 },
  { name: '432p', w: 768, h: 432, kbps: 1100 },
  { name: '360p', w: 640, h: 360, kbps: 365 },
  { name: '234p', w: 416, h: 234, kbps: 145 },
];
function ffmpegCommand(): string[] {
  const graph = [`[0:v]fps=24,split=${rungs.length}${rungs.map((_, i) => `[s${i}]`).join('')}`, ...rungs.map((r, i) => `[s${i}]scale=${r.w}:${r.h},setsar=1[v${i}]`)].join(';');
  const args = ['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'warning', '-y', '-i', input, '-filter_complex', graph];
  for (let i = 0; i < rungs.length; i++) args.push('-map', `[v${i}]`);
  args.push('-map', '0:a:0');
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  args.push(
    '-c:v', 'libx264',
    '-preset', 'medium',
    '-g', '48',
    '-keyint_min', '48',
    '-sc_threshold', '0',
  );
  rungs.forEach((r, i) => {
    args.push(`-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps * 1.5}k`, `-bufsize:v:${i}`, `${r.kbps * 1.5}k`);
  });
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  args.push(
    '-c:a', 'aac',
    '-b:a', '128k',
    '-ac', '2',
    '-ar', '48000',
    '-f', 'hls',
    '-hls_time', '6',
    '-hls_playlist_type', 'vod',
    '-hls_segment_type', 'mpegts',
    '-hls_flags', 'independent_segments',
    '-hls_segment_filename', '%v/seg_%05d.ts',
    '-master_pl_name', 'master.m3u8',
    '-var_stream_map', ['a:0,agroup:aud,name:audio', ...rungs.map((r, i) => `v:${i},agroup:aud,name:${r.name}`)].join(' '),
    '%v/index.m3u8',
  );
  return args;
}

function streamkitCommand(out: string): string[] {
  return [process.execPath, cli, 'transcode', input, '--preset', 'h264-ladder', '-o', out, '--force'];
}

function makePackage(c: Contender): { dir: string; command: string[] } {
  const dir = join(work, c);
  const command = c === 'streamkit' ? streamkitCommand(dir) : ffmpegCommand();
  if (flag('--reuse') && existsSync(join(dir, 'master.m3u8'))) {
    log(`bench:start: reusing ${dir}`);
    return { dir, command };
  }
  rmSync(dir, { recursive: true, force: true });
  if (c === 'ffmpeg') mkdirSync(dir, { recursive: true });
  log(`bench:start: packaging with ${c}: ${shellQuote(command)}`);
  const r = spawnSync(command[0]!, command.slice(1), { cwd: c === 'ffmpeg' ? dir : root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 || !existsSync(join(dir, 'master.m3u8'))) throw new Error(`${c} failed to package (exit ${r.status})`);
  return { dir, command };
}

mkdirSync(work, { recursive: true });
const packages = Object.fromEntries(contenders.map((c) => [c, makePackage(c)])) as Record<Contender, { dir: string; command: string[] }>;

/** The first variant listed in a master playlist: its RESOLUTION and BANDWIDTH. */
function firstListed(dir: string): string {
  const lines = readFileSync(join(dir, 'master.m3u8'), 'utf8').split('\n');
  const inf = lines.find((l) => l.startsWith('#EXT-X-STREAM-INF:')) ?? '';
  const res = /RESOLUTION=(\d+x\d+)/.exec(inf)?.[1] ?? '?';
  const bw = /[:,]BANDWIDTH=(\d+)/.exec(inf)?.[1];
  return `${res} @ ${bw ? `${(Number(bw) / 1000).toFixed(0)} kbit/s` : '?'}`;
}

/** Seconds of each video segment of the first-listed variant's playlist (the first few). */
function firstSegments(dir: string): string {
  const lines = readFileSync(join(dir, 'master.m3u8'), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('#EXT-X-STREAM-INF:'));
  const uri = lines[i + 1]?.trim();
  if (!uri) return '?';
  const media = readFileSync(join(dir, uri), 'utf8');
  const durations = [...media.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
  return `${durations
    .slice(0, 3)
    .map((d) => d.toFixed(2))
    .join(', ')}, ...`;
}

// ----------------------------------------------------------------------------------------------- server
const types: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.js': 'text/javascript',
  '.html': 'text/html; charset=utf-8',
};

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline width="640" height="360"></video>
<script src="/hls.js"></script>
<script>
window.timeFirstFrame = async (src) => {
  const video = document.getElementById('v');
  const hls = new Hls();
  const out = { errors: [], firstLevel: null, timeline: [] };
  let t0 = 0;
  const mark = (what) => out.timeline.push(Math.round(performance.now() - t0) + ' ' + what);
  hls.on(Hls.Events.ERROR, (_, d) => { out.errors.push(d.details + (d.fatal ? ' (fatal)' : '')); mark('error ' + d.details); });
  for (const e of ['MANIFEST_PARSED', 'LEVEL_LOADED', 'AUDIO_TRACK_LOADED']) hls.on(Hls.Events[e], () => mark(e));
  hls.on(Hls.Events.FRAG_BUFFERED, (_, d) => mark('FRAG_BUFFERED ' + d.frag.type + ' ' + d.frag.sn));
  const ranges = (r) => Array.from({ length: r ? r.length : 0 }, (_, i) => r.start(i).toFixed(3) + '-' + r.end(i).toFixed(3)).join(',');
  hls.on(Hls.Events.BUFFER_APPENDED, (_, d) => mark('BUFFER_APPENDED ' + d.type + ' ' + Object.entries(d.timeRanges || {}).map(([k, r]) => k + ' ' + ranges(r)).join(' ')));
  for (const e of ['loadeddata', 'canplay', 'playing', 'seeking', 'seeked', 'waiting']) video.addEventListener(e, () => mark('video ' + e + ' at ' + video.currentTime.toFixed(3)));
  hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
    if (out.firstLevel === null && d.frag.type === 'main') out.firstLevel = hls.levels[d.frag.level].height + 'p';
  });
  await new Promise((resolve) => { hls.once(Hls.Events.MEDIA_ATTACHED, resolve); hls.attachMedia(video); });
  const frame = new Promise((resolve) => video.requestVideoFrameCallback((now) => resolve(performance.now())));
  t0 = performance.now();
  hls.loadSource(src);
  const played = video.play().catch((e) => out.errors.push('play(): ' + e.message));
  const failed = new Promise((_, reject) => hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) reject(new Error('fatal hls.js error ' + d.details)); }));
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no frame in 60 s')), 60000));
  const t1 = await Promise.race([frame, failed, timeout]);
  await played;
  const entries = performance.getEntriesByType('resource').filter((e) => e.name.includes('/pkg/') && e.startTime >= t0 && e.responseEnd <= t1);
  out.seconds = (t1 - t0) / 1000;
  out.requests = entries.length;
  out.bytes = entries.reduce((a, e) => a + e.encodedBodySize, 0);
  out.files = entries.map((e) => new URL(e.name).pathname.split('/').slice(3).join('/'));
  for (const e of entries) out.timeline.push(Math.round(e.startTime - t0) + '-' + Math.round(e.responseEnd - t0) + ' fetch ' + new URL(e.name).pathname.split('/').slice(3).join('/') + ' ' + e.encodedBodySize + ' B');
  out.timeline.push(Math.round(t1 - t0) + ' first frame');
  out.timeline.sort((a, b) => parseInt(a) - parseInt(b));
  hls.destroy();
  return out;
};
</script></body></html>`;

const roots: Record<string, string> = Object.fromEntries(contenders.map((c) => [c, packages[c].dir]));
function startServer(): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const noStore = { 'cache-control': 'no-store' };
      let file: string;
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': types['.html']!, ...noStore }).end(PAGE);
        return;
      }
      if (url.pathname === '/hls.js') file = HLS_JS;
      else {
        // /pkg/<contender>/<path>
        const [, pkg, name, ...rest] = url.pathname.split('/');
        const base = name ? roots[name] : undefined;
        if (pkg !== 'pkg' || !base) {
          res.writeHead(404).end();
          return;
        }
        file = normalize(join(base, decodeURIComponent(rest.join('/'))));
        if (!file.startsWith(base + sep)) {
          res.writeHead(403).end();
          return;
        }
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, ...noStore }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

// ----------------------------------------------------------------------------------------------- runs
interface RunResult {
  timeline: string[];
  seconds: number;
  requests: number;
  bytes: number;
  files: string[];
  firstLevel: string | null;
  errors: string[];
}

async function timeOnce(browser: Browser, base: string, c: Contender, mbit: number): Promise<RunResult> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const bytesPerSecond = (mbit * 1e6) / 8;
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: LATENCY_MS, downloadThroughput: bytesPerSecond, uploadThroughput: bytesPerSecond });
    return await page.evaluate((src) => (globalThis as unknown as { timeFirstFrame(s: string): Promise<RunResult> }).timeFirstFrame(src), `${base}/pkg/${c}/master.m3u8`);
  } finally {
    await context.close();
  }
}

interface ConditionResult {
  mbit: number;
  contender: Contender;
  seconds: Summary;
  requests: Summary;
  kib: Summary;
  levels: string[];
  files: string[];
  /** the run at the median time (the lower of the two middle runs): what happened when, ms after loadSource() */
  timeline: string[];
  errors: string[];
}

const server = await startServer();
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
const browserVersion = browser.version();
const results: ConditionResult[] = [];
try {
  for (const mbit of conditions) {
    const per: Record<string, RunResult[]> = Object.fromEntries(contenders.map((c) => [c, []]));
    for (let i = 0; i < runs; i++) {
      // alternated: the order is swapped every run, so background load drifts over both alike
      const order = i % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        const r = await timeOnce(browser, base, c, mbit);
        per[c]!.push(r);
        log(`bench:start: ${mbit} Mbit/s ${c} run ${i + 1}: ${r.seconds.toFixed(3)} s, ${r.requests} requests, ${(r.bytes / 1024).toFixed(0)} KiB, started at ${r.firstLevel}`);
      }
    }
    for (const c of contenders) {
      const rs = per[c]!;
      results.push({
        mbit,
        contender: c,
        seconds: summary(rs.map((r) => r.seconds)),
        requests: summary(rs.map((r) => r.requests)),
        kib: summary(rs.map((r) => r.bytes / 1024)),
        levels: [...new Set(rs.map((r) => r.firstLevel ?? '?'))],
        files: rs[0]!.files,
        timeline: [...rs].sort((a, b) => a.seconds - b.seconds)[Math.floor((rs.length - 1) / 2)]!.timeline,
        errors: [...new Set(rs.flatMap((r) => r.errors))],
      });
    }
  }
} finally {
  await browser.close();
  server.close();
}

// ----------------------------------------------------------------------------------------------- report
const commit = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'presets'], { encoding: 'utf8' }).stdout.trim() !== '';
const label = value('--label') ?? `commit ${commit}${dirty ? ' + uncommitted changes' : ''}`;
const range = (s: Summary, d = 2): string => `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})`;
const names: Record<Contender, string> = { streamkit: `streamkit (${label})`, ffmpeg: "ffmpeg's HLS muxer" };
const md = [
  `## Fast start (\`npm run bench:start\`), ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared with other work; Chromium ${browserVersion}, hls.js ${JSON.parse(readFileSync(join(root, 'node_modules', 'hls.js', 'package.json'), 'utf8')).version} (default config). Command: \`npm run bench:start -- ${argv.join(' ')}\`.`,
  `Input: Sintel trailer (1280x720, 24 fps, 52 s). Latency ${LATENCY_MS} ms, cache disabled, ${runs} runs per contender and condition, alternated; time from \`loadSource()\` to the first \`requestVideoFrameCallback\`, median (min–max).`,
  '',
  '| contender | first listed variant | first segments (s) |',
  '|---|---|---|',
  ...contenders.map((c) => `| ${names[c]} | ${firstListed(packages[c].dir)} | ${firstSegments(packages[c].dir)} |`),
  '',
  '| link | contender | first frame (s) | requests before it | KiB before it | started at | errors |',
  '|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.mbit} Mbit/s | ${names[r.contender]} | ${range(r.seconds)} | ${fmt(r.requests.median, 0)} | ${fmt(r.kib.median, 0)} | ${r.levels.join(', ')} | ${r.errors.join(', ') || 'none'} |`,
  ),
  '',
  'Fetched before the first frame (first run at each link):',
  '',
  ...results.map((r) => `- ${r.mbit} Mbit/s, ${r.contender}: ${r.files.join(' ')}`),
  '',
  `ffmpeg command: \`${shellQuote(packages.ffmpeg?.command ?? ffmpegCommand()).replace(input, 'IN')}\``,
].join('\n');
writeFileSync(join(work, 'results.json'), `${JSON.stringify({ label, runs, conditions, results }, null, 2)}\n`);
console.log(md);
if (!flag('--no-write')) {
  if (writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'fast-start', md)) log('bench:start: bench/RESULTS.md updated');
  else log('bench:start: bench/RESULTS.md has no fast-start markers; not updated');
}
