// Objective quality of each rung against the source (ffmpeg's psnr and ssim filters; this ffmpeg
// build has no libvmaf). The reference for a rung is the SOURCE downscaled to the rung's size with a
// high-quality scaler (lanczos, accurate rounding, full chroma interpolation), a reference that neither
// contender produces itself, so it favours neither streamkit's cascade nor the expert's bicubic
// scaling straight from the source.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const REF_FLAGS = 'lanczos+accurate_rnd+full_chroma_int';

export interface QualityRung {
  width: number;
  height: number;
  /** the rung's HLS playlist */
  playlist: string;
}

export interface Quality {
  /** dB, average of Y, U and V */
  psnr: number;
  psnrY: number;
  /** all planes */
  ssim: number;
  ssimY: number;
}

/**
 * Each rung against the source, in the same order. One ffmpeg process decodes the source once and
 * every rung's HLS playlist. fps: the frame rate the rungs were made at (an ffmpeg rate, "24" or "30000/1001").
 */
export function measureQuality(source: string, fps: string, rungs: readonly QualityRung[]): Quality[] {
  const args: string[] = ['-hide_banner', '-nostdin', '-loglevel', 'info', '-nostats', '-i', source];
  for (const r of rungs) args.push('-i', r.playlist);
  const n = rungs.length;
  const parts = [`[0:v:0]fps=${fps},setpts=PTS-STARTPTS,split=${n}${rungs.map((_, i) => `[src${i}]`).join('')}`];
  rungs.forEach((r, i) => {
    parts.push(`[src${i}]scale=${r.width}:${r.height}:flags=${REF_FLAGS},format=yuv420p,setsar=1,split[ra${i}][rb${i}]`);
    parts.push(`[${i + 1}:v:0]setpts=PTS-STARTPTS,format=yuv420p,setsar=1,split[da${i}][db${i}]`);
    parts.push(`[da${i}][ra${i}]psnr=shortest=1[p${i}]`);
    parts.push(`[db${i}][rb${i}]ssim=shortest=1[q${i}]`);
  });
  args.push('-filter_complex', parts.join(';'));
  rungs.forEach((_, i) => {
    args.push('-map', `[p${i}]`, '-map', `[q${i}]`);
  });
  args.push('-f', 'null', '-');
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`quality measurement failed: ${r.stderr.slice(-3000)}`);
  // filter instances are numbered in graph order: Parsed_psnr_K / Parsed_ssim_K
  const psnr = [...r.stderr.matchAll(/Parsed_psnr_(\d+) @ [^\]]+\] PSNR y:([\d.]+|inf) u:[\d.inf]+ v:[\d.inf]+ average:([\d.]+|inf)/g)].map((m) => ({
    k: Number(m[1]),
    y: Number(m[2]),
    avg: Number(m[3]),
  }));
  const ssim = [...r.stderr.matchAll(/Parsed_ssim_(\d+) @ [^\]]+\] SSIM Y:([\d.]+) .*All:([\d.]+)/g)].map((m) => ({ k: Number(m[1]), y: Number(m[2]), all: Number(m[3]) }));
  psnr.sort((a, b) => a.k - b.k);
  ssim.sort((a, b) => a.k - b.k);
  if (psnr.length !== n || ssim.length !== n) throw new Error(`quality: expected ${n} psnr/ssim results, got ${psnr.length}/${ssim.length}: ${r.stderr.slice(-2000)}`);
  return rungs.map((_, i) => ({ psnr: psnr[i]!.avg, psnrY: psnr[i]!.y, ssim: ssim[i]!.all, ssimY: ssim[i]!.y }));
}

/** Video frames and video bytes (packet payload, no container or audio) of a playlist, by ffprobe (no decoding). */
export function videoStats(playlist: string): { frames: number; bytes: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', playlist], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`ffprobe failed on ${playlist}: ${r.stderr}`);
  const sizes = r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(',')[0]));
  return { frames: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}

/** A finished HLS playlist: exists and ends with EXT-X-ENDLIST. */
export function playlistComplete(playlist: string): boolean {
  try {
    return readFileSync(playlist, 'utf8').includes('#EXT-X-ENDLIST');
  } catch {
    return false;
  }
}
