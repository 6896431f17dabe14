#!/usr/bin/env node
// Live latency (issue 23): how far behind the publisher a viewer plays `streamkit live` with hls.js
// defaults. A publisher (ffmpeg -re from testsrc2 + sine, x264 ultrafast/zerolatency, FLV over RTMP
// on loopback) feeds the built CLI (`streamkit --json live`, port 0) with a small two-rung preset
// (bench/presets/live-small.yaml: 360p + 180p, x264 veryfast, so that two cores keep real time);
// the package is served by a minimal static server (no caching) and played by hls.js (default
// config) in Debian's Chromium. Every 250 ms the page records:
//   - pdt: Date.now() - hls.playingDate (the wall-clock time of the frame on screen, from
//     EXT-X-PROGRAM-DATE-TIME): the viewer's delay behind the moment streamkit received that media;
//   - hls.latency: hls.js's own estimate (distance to the live edge, ignoring how old the edge is).
// Also recorded: how far the first segment's PROGRAM-DATE-TIME is from the publisher's start (the
// anchor's error; positive = PDT later than the publisher started, which would flatter the result).
// Per segment duration (2 s: the live-ladder default; 1 s: keyframeInterval and segmentDuration 1).
//
//   npm run bench:live                               2 runs per segment duration, 30 s sampled each
//   npm run bench:live -- --runs 1 --seconds 20 --segments 2 --no-write
//
// Results: bench/work/live/results.json; the live section of bench/RESULTS.md is replaced.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { writeResultsSection } from './lib/results.js';
import { fmt, shellQuote, summary, type Summary } from './lib/stats.js';
import { benchArgs } from './lib/args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench', 'work', 'live');
const cli = join(root, 'bin', 'streamkit.js');
const HLS_JS = join(root, 'node_modules', 'hls.js', 'dist', 'hls.min.js');
const CHROMIUM = '/usr/bin/chromium';

const { argv, flag, value } = benchArgs('bench:live', ['--runs', '--seconds', '--segments', '--no-write'], { script: import.meta.url, lines: 20 });
const runs = Number(value('--runs') ?? 2);
const seconds = Number(value('--seconds') ?? 30);
const segmentDurations = (value('--segments') ?? '2,1').split(',').map(Number);
const write = !flag('--no-write');

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline width="320"></video>
<script src="/hls.js"></script>
<script>
window.watch = (src) => {
  const video = document.getElementById('v');
  const s = { pdt: [], edge: [], errors: [], waiting: 0 };
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_, d) => s.errors.push(d.details + (d.fatal ? ' (fatal)' : '')));
  video.addEventListener('waiting', () => s.waiting++);
  hls.loadSource(src);
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
  setInterval(() => {
    if (video.paused || video.readyState < 3 || !hls.playingDate) return;
    s.pdt.push((Date.now() - hls.playingDate.getTime()) / 1000);
    s.edge.push(hls.latency);
  }, 250);
  window.state = () => s;
};
</script></body></html>`;

interface RunResult {
  segmentDuration: number;
  pdt: number[];
  hlsLatency: number[];
  anchorErrorSeconds: number | null;
  waiting: number;
  errors: string[];
  medianSpeed: number | null;
  /** median of the live events' behindSeconds: how far the encode ran behind the publisher */
  medianBehind: number | null;
}

function serve(dir: string): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      const file = url.pathname === '/hls.js' ? HLS_JS : normalize(join(dir, decodeURIComponent(url.pathname)));
      if (file !== HLS_JS && !file.startsWith(dir + sep)) {
        res.writeHead(403).end();
        return;
      }
      try {
        const body = await readFile(file);
        const type = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.js': 'text/javascript' }[extname(file)] ?? 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

/** Start the CLI; resolve with its events array (growing) once `live-start` arrived. */
function startLive(args: string[]): Promise<{ child: ChildProcess; events: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, [cli, '--json', 'live', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let pending = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      pending += c;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        const e = JSON.parse(l) as Record<string, unknown>;
        events.push(e);
        if (e['type'] === 'live-start') resolve({ child, events });
      }
    });
    child.on('close', (code) => reject(new Error(`streamkit live exited (${code}): ${stderr}`)));
  });
}

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!test()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function oneRun(segmentDuration: number, run: number): Promise<RunResult> {
  const dir = join(work, `seg${segmentDuration}-run${run}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const preset = join(dir, 'preset.yaml');
  writeFileSync(
    preset,
    `name: live-bench-${segmentDuration}s\nextends: ${join(root, 'bench', 'presets', 'live-small.yaml')}\nvideo: { keyframeInterval: ${segmentDuration} }\npackaging: { hls: { segmentDuration: ${segmentDuration}, container: ts } }\n`,
  );
  const out = join(dir, 'pkg');
  const { child, events } = await startLive(['--listen', 'rtmp://127.0.0.1:0/live/bench', '--preset', preset, '-o', out, '--window', '10']);
  const port = Number(events.find((e) => e['type'] === 'live-start')!['port']);
  const publisherStart = Date.now();
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  const publisher = spawn('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k',
    '-f', 'flv', `rtmp://127.0.0.1:${port}/live/bench`,
  ], { stdio: 'ignore' });
  const { server, base } = await serve(dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
  try {
    await until(() => events.some((e) => e['type'] === 'segment' && Number(e['seq']) >= Math.ceil(8 / segmentDuration)), 60_000, 'segments');
    const firstSegment = events.find((e) => e['type'] === 'segment')!;
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.evaluate((src) => (globalThis as unknown as { watch(s: string): void }).watch(src), `${base}/pkg/master.m3u8`);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const s = await page.evaluate(() => (globalThis as unknown as { state(): { pdt: number[]; edge: number[]; errors: string[]; waiting: number } }).state());
    const speeds = events
      .filter((e) => e['type'] === 'live' && typeof e['speed'] === 'number')
      .map((e) => Number(e['speed']))
      .sort((a, b) => a - b);
    const behind = events
      .filter((e) => e['type'] === 'live' && typeof e['behindSeconds'] === 'number')
      .map((e) => Number(e['behindSeconds']))
      .sort((a, b) => a - b);
    return {
      medianBehind: behind.length ? behind[Math.floor(behind.length / 2)]! : null,
      segmentDuration,
      pdt: s.pdt,
      hlsLatency: s.edge,
      anchorErrorSeconds: (Number(firstSegment['programDateTime']) - publisherStart) / 1000,
      waiting: s.waiting,
      errors: s.errors,
      medianSpeed: speeds.length ? speeds[Math.floor(speeds.length / 2)]! : null,
    };
  } finally {
    await browser.close();
    publisher.kill('SIGKILL');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    server.close();
  }
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing`);
  mkdirSync(work, { recursive: true });
  const results: RunResult[] = [];
  const loadBefore = loadavg()[0]!;
  for (let run = 1; run <= runs; run++) {
    for (const d of segmentDurations) {
      const r = await oneRun(d, run);
      const pdt = summary(r.pdt);
      console.log(
        `${d} s segments, run ${run}: latency from PDT median ${fmt(pdt.median)} s (min ${fmt(pdt.min)}, max ${fmt(pdt.max)}); hls.latency median ${fmt(summary(r.hlsLatency).median)} s; PDT - publisher start ${fmt(r.anchorErrorSeconds)} s; encode ${fmt(r.medianSpeed)}x, ${fmt(r.medianBehind)} s behind; ${r.waiting} waiting events; errors: ${r.errors.join(', ') || 'none'}`,
      );
      results.push(r);
    }
  }
  writeFileSync(join(work, 'results.json'), JSON.stringify(results, null, 2));
  const cpu = cpus();
  const lines = [
    `## Live latency (\`npm run bench:live\`), ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `Machine: ${cpu.length} x ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (other work shares the machine). Command: \`${shellQuote(['npm', 'run', 'bench:live', '--', ...argv])}\`.`,
    `Publisher: ffmpeg -re testsrc2 640x360 + sine over RTMP on loopback; streamkit live with bench/presets/live-small.yaml (360p + 180p); hls.js ${JSON.parse(readFileSync(join(root, 'node_modules', 'hls.js', 'package.json'), 'utf8')).version as string} defaults in Debian's Chromium; ${seconds} s sampled per run, every 250 ms.`,
    '',
    '| segments | runs | latency from PDT: median | per run | min | max | hls.latency median | first PDT - publisher start | encode speed (last 5 s) | encode behind the publisher | waiting events |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const d of segmentDurations) {
    const rs = results.filter((r) => r.segmentDuration === d);
    const all: Summary = summary(rs.flatMap((r) => r.pdt));
    lines.push(
      `| ${d} s | ${rs.length} | ${fmt(all.median)} s | ${rs.map((r) => fmt(summary(r.pdt).median)).join(', ')} s | ${fmt(all.min)} s | ${fmt(all.max)} s | ${fmt(summary(rs.flatMap((r) => r.hlsLatency)).median)} s | ${rs.map((r) => fmt(r.anchorErrorSeconds)).join(', ')} s | ${rs.map((r) => fmt(r.medianSpeed)).join(', ')}x | ${rs.map((r) => fmt(r.medianBehind)).join(', ')} s | ${rs.map((r) => r.waiting).join(', ')} |`,
    );
  }
  const md = lines.join('\n');
  console.log(`\n${md}`);
  if (write && !writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'live', md)) console.error('bench:live: bench/RESULTS.md has no live markers; not written');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
