#!/usr/bin/env node
// Load on `streamkit serve` against nginx serving the same files on the same machine: rounds of N
// parallel segment requests (default 400) over keep-alive connections, alternating the two servers
// round by round so that both see the same machine load. Reports requests per second, MB/s, errors
// (any status but 200, any body whose length differs from the file), latency percentiles, and the
// serve process's RSS after the warm-up round and after the last round (is memory flat?).
//
//   npm run bench:serve                       10 rounds of 400 (after one warm-up round each)
//   npm run bench:serve -- --rounds 20 --parallel 400 --no-write
//
// Both servers log nothing (streamkit --quiet, nginx access_log off) and run one process each
// (nginx: master_process off, one worker). The load generator is this Node process, on the same
// cores. TypeScript, compiled with the rest of bench/ into dist-bench/ by `npm run bench:serve`.
// Results: bench/work/results-serve.json; the serve section of bench/RESULTS.md is replaced.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResultsSection } from './lib/results.js';
import { fmt } from './lib/stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'bench', 'work', 'serve');
const argv = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const rounds = Number(value('--rounds') ?? 10);
const parallel = Number(value('--parallel') ?? 400);
if (!(rounds > 0) || !(parallel > 0)) {
  console.error('bench:serve: --rounds and --parallel take positive numbers');
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.error('bench:serve: dist/ is missing; run `npm run build` first.');
  process.exit(2);
}
const nginxBin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (!nginxBin) {
  console.error('bench:serve: nginx is not installed (Debian: apt-get install nginx).');
  process.exit(2);
}
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

// ---- the package: made by streamkit from a generated 12 s 640x360 clip (2 rungs, 2 s segments)
const pkgs = join(work, 'pkgs');
const movie = join(pkgs, 'movie');
if (!existsSync(join(movie, 'master.m3u8'))) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const clip = join(work, 'clip.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '12',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    clip,
  ]);
  const preset = join(work, 'serve-load.yaml');
  writeFileSync(
    preset,
    [
      'extends: h264-ladder',
      'name: serve-load',
      'video:',
      '  encoder:',
      '    cpu: { name: libx264, preset: ultrafast }',
      '  rungs:',
      '    - { name: 360p, height: 360, bitrate: 1200k }',
      '    - { name: 240p, height: 240, bitrate: 600k }',
      'packaging:',
      '  hls: { segmentDuration: 2, container: ts }',
      '',
    ].join('\n'),
  );
  log('bench:serve: making the package with streamkit ...');
  execFileSync(process.execPath, [join(root, 'bin', 'streamkit.js'), '--quiet', 'transcode', clip, '--preset', preset, '--output', movie], { stdio: 'inherit' });
}
const listFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
const segments = listFiles(movie)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ path: `/${relative(pkgs, f)}`, size: statSync(f).size }));
const meanSegment = segments.reduce((s, x) => s + x.size, 0) / segments.length;
log(`bench:serve: ${segments.length} segments, ${fmt(meanSegment / 1024, 0)} KiB on average`);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function waitForHttp(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before it answered`);
    const ok = await new Promise<boolean>((res) => {
      get({ host: '127.0.0.1', port, path: segments[0]!.path, agent: false }, (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode === 200));
      }).on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer on port ${port}`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/** VmRSS and VmHWM of a process, MiB. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

interface Round {
  seconds: number;
  bytes: number;
  errors: number;
  latenciesMs: number[];
}

/** `parallel` GETs at once, each a segment (round-robin), each body counted and checked. */
async function round(port: number, agent: Agent): Promise<Round> {
  let bytes = 0;
  let errors = 0;
  const latenciesMs: number[] = [];
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from(
      { length: parallel },
      (_, i) =>
        new Promise<void>((res) => {
          const seg = segments[i % segments.length]!;
          const started = process.hrtime.bigint();
          get({ host: '127.0.0.1', port, path: seg.path, agent }, (r) => {
            let n = 0;
            r.on('data', (c: Buffer) => {
              n += c.length;
            });
            r.on('end', () => {
              if (r.statusCode !== 200 || n !== seg.size) errors++;
              bytes += n;
              latenciesMs.push(Number(process.hrtime.bigint() - started) / 1e6);
              res();
            });
            r.on('error', () => {
              errors++;
              res();
            });
          }).on('error', () => {
            errors++;
            res();
          });
        }),
    ),
  );
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes, errors, latenciesMs };
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

// ---- the servers
const servePort = await freePort();
const serve = spawn(process.execPath, [join(root, 'bin', 'streamkit.js'), '--quiet', 'serve', pkgs, '--port', String(servePort)], { stdio: ['ignore', 'ignore', 'inherit'] });
const nginxDir = join(work, 'nginx');
mkdirSync(nginxDir, { recursive: true });
const nginxPort = await freePort();
const conf = join(nginxDir, 'nginx.conf');
writeFileSync(
  conf,
  `daemon off;
master_process off;
worker_processes 1;
pid ${join(nginxDir, 'nginx.pid')};
error_log ${join(nginxDir, 'error.log')} warn;
events { worker_connections 2048; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { video/mp2t ts; application/vnd.apple.mpegurl m3u8; }
  client_body_temp_path ${nginxDir}/client_body;
  proxy_temp_path ${nginxDir}/proxy;
  fastcgi_temp_path ${nginxDir}/fastcgi;
  uwsgi_temp_path ${nginxDir}/uwsgi;
  scgi_temp_path ${nginxDir}/scgi;
  server {
    listen 127.0.0.1:${nginxPort};
    root ${pkgs};
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; add_header Access-Control-Allow-Origin *; }
  }
}
`,
);
const nginx = spawn(nginxBin, ['-c', conf, '-p', `${nginxDir}/`, '-e', join(nginxDir, 'error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
// `nginx -v` answers on stderr
const nginxVersion = spawnSync(nginxBin, ['-v'], { encoding: 'utf8' })
  .stderr.trim()
  .replace(/^nginx version: /, '');
try {
  await waitForHttp(servePort, serve, 'streamkit serve');
  await waitForHttp(nginxPort, nginx, 'nginx');
  const contenders = [
    { name: 'streamkit serve', port: servePort, agent: new Agent({ keepAlive: true, maxSockets: parallel }), rounds: [] as Round[] },
    { name: `nginx (1 worker)`, port: nginxPort, agent: new Agent({ keepAlive: true, maxSockets: parallel }), rounds: [] as Round[] },
  ];
  log(`bench:serve: warm-up round on each (${parallel} parallel requests) ...`);
  for (const c of contenders) await round(c.port, c.agent);
  const before = memory(serve.pid!);
  const load = loadavg()[0]!;
  const rssByRound: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // alternate which goes first
    for (const c of i % 2 === 0 ? contenders : [...contenders].reverse()) c.rounds.push(await round(c.port, c.agent));
    rssByRound.push(memory(serve.pid!).rss);
    log(`bench:serve: round ${i + 1}/${rounds}: ${contenders.map((c) => `${c.name} ${fmt(parallel / c.rounds.at(-1)!.seconds, 0)} req/s`).join(', ')}`);
  }
  const after = memory(serve.pid!);
  const rows = contenders.map((c) => {
    const seconds = c.rounds.reduce((s, r) => s + r.seconds, 0);
    const bytes = c.rounds.reduce((s, r) => s + r.bytes, 0);
    const lat = c.rounds.flatMap((r) => r.latenciesMs);
    const perRound = c.rounds.map((r) => parallel / r.seconds).sort((a, b) => a - b);
    return {
      name: c.name,
      requests: c.rounds.length * parallel,
      errors: c.rounds.reduce((s, r) => s + r.errors, 0),
      reqPerSecond: (c.rounds.length * parallel) / seconds,
      reqPerSecondRange: [perRound[0]!, perRound.at(-1)!],
      mbPerSecond: bytes / 1e6 / seconds,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
    };
  });
  for (const c of contenders) c.agent.destroy();
  const [s, n] = rows;
  const md = [
    `## streamkit serve under load (\`npm run bench:serve\`), ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${rounds} rounds of ${parallel} parallel GETs of HLS segments (${segments.length} MPEG-TS segments of a 12 s 640x360 2-rung package, ${fmt(meanSegment / 1024, 0)} KiB on average, round-robin), over ${parallel} keep-alive connections from one Node client on the same machine, after one warm-up round each; the two servers alternate round by round. Every body is checked (status 200, length = file size). streamkit serve runs with --quiet; nginx (${nginxVersion}) with one process (master_process off, worker_processes 1), sendfile on, access_log off. Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; load average (1 min) at the start ${fmt(load, 1)}.`,
    '',
    '| server | requests | errors | req/s (per-round min–max) | MB/s | latency p50 ms | latency p99 ms |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.requests} | ${r.errors} | **${fmt(r.reqPerSecond, 0)}** (${fmt(r.reqPerSecondRange[0], 0)}–${fmt(r.reqPerSecondRange[1], 0)}) | ${fmt(r.mbPerSecond, 0)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} |`,
    ),
    '',
    `streamkit serve ÷ nginx: **${fmt(s!.reqPerSecond / n!.reqPerSecond, 2)}** in requests per second. streamkit serve's memory: RSS ${fmt(before.rss, 0)} MiB after the warm-up round, then after each round ${rssByRound.map((r) => fmt(r, 0)).join(', ')} MiB; peak (VmHWM) ${fmt(after.hwm, 0)} MiB.`,
    '',
  ].join('\n');
  writeFileSync(
    join(root, 'bench', 'work', 'results-serve.json'),
    JSON.stringify({ rounds, parallel, segments: segments.length, meanSegmentBytes: meanSegment, rows, serveMemoryMiB: { before, after, rssByRound } }, null, 2),
  );
  process.stdout.write(`${md}\n`);
  if (!argv.includes('--no-write')) {
    log(
      writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'serve', md)
        ? 'bench:serve: updated the serve section of bench/RESULTS.md'
        : 'bench:serve: bench/RESULTS.md has no serve section markers; not updated',
    );
  }
} finally {
  await stop(serve);
  await stop(nginx);
}
