// Whole-clip VMAF of one rendition against its source, measured by the benchmark itself (not taken
// from streamkit): libvmaf's `vmaf` tool reading two 8-bit 4:2:0 y4m streams through named pipes,
// each written by its own ffmpeg (no shell). The reference is the source at its display size; the
// rendition is decoded from the start of its playlist (ffmpeg's HLS demuxer seeks badly: no -ss)
// and upscaled with bicubic to that size, as a player would. Benchmark code only.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface VmafOptions {
  /** libvmaf's `vmaf` tool */
  tool: string;
  /** the source (progressive file) */
  source: string;
  /** the rendition: an HLS playlist, or any file ffmpeg reads from its start */
  distorted: string;
  /** the source's display size: both streams are scored at it */
  width: number;
  height: number;
  /** a folder for the pipes and the log */
  workDir: string;
  /** score every Nth frame (1: all) */
  subsample?: number;
  threads?: number;
  /** vmaf_v0.6.1 below 2000 lines, vmaf_4k_v0.6.1 from there */
  model?: string;
}

export interface VmafResult {
  /** pooled mean */
  mean: number;
  /** frames the tool scored (every subsample-th) */
  scored: number;
}

/** The y4m writer: one video stream, bicubic to the display size, square pixels, 8-bit 4:2:0, every frame as decoded. */
function y4mArgs(input: string, width: number, height: number, out: string): string[] {
  // biome-ignore format: ffmpeg flag/value pairs
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-i', input,
    '-map', '0:v:0',
    '-vf', `scale=${width}:${height}:flags=bicubic,setsar=1,format=yuv420p`,
    '-fps_mode', 'passthrough',
    '-f', 'yuv4mpegpipe',
    out,
  ];
}

function run(file: string, args: readonly string[]): { done: Promise<{ code: number | null; stderr: string }>; kill: () => void } {
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-8000);
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return {
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Whole-clip VMAF of `distorted` against `source` (see VmafOptions). Throws when a process fails or the log holds no score. */
export async function vmafAgainstSource(o: VmafOptions): Promise<VmafResult> {
  const dir = mkdtempSync(join(o.workDir, 'vmaf-'));
  const ref = join(dir, 'ref.y4m');
  const dist = join(dir, 'dist.y4m');
  const log = join(dir, 'vmaf.json');
  try {
    const made = spawnSync('mkfifo', ['-m', '600', ref, dist], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
    const model = o.model ?? (Math.min(o.width, o.height) >= 2000 ? 'vmaf_4k_v0.6.1' : 'vmaf_v0.6.1');
    // biome-ignore format: flag/value pairs
    const procs = [
      run(o.tool, ['-r', ref, '-d', dist, '--model', `version=${model}`, '--threads', String(o.threads ?? 2), '--subsample', String(o.subsample ?? 1), '--json', '-o', log, '-q']),
      run('ffmpeg', y4mArgs(`file:${o.source}`, o.width, o.height, ref)),
      run('ffmpeg', y4mArgs(o.distorted, o.width, o.height, dist)),
    ];
    // the first failure ends the others: nothing stays blocked on a pipe whose other end died
    const results = await Promise.all(
      procs.map(async (p) => {
        const r = await p.done;
        if (r.code !== 0) for (const q of procs) q.kill();
        return r;
      }),
    );
    const failed = results.findIndex((r) => r.code !== 0);
    if (failed >= 0)
      throw new Error(`VMAF of ${o.distorted}: ${['vmaf', 'reference ffmpeg', 'distorted ffmpeg'][failed]} exited ${results[failed]!.code}: ${results[failed]!.stderr}`);
    const parsed = JSON.parse(readFileSync(log, 'utf8')) as { pooled_metrics?: { vmaf?: { mean?: unknown } }; frames?: unknown[] };
    const mean = parsed.pooled_metrics?.vmaf?.mean;
    if (typeof mean !== 'number' || !Number.isFinite(mean)) throw new Error(`VMAF of ${o.distorted}: no pooled mean in ${log}`);
    return { mean, scored: Array.isArray(parsed.frames) ? parsed.frames.length : 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
