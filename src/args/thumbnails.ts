import { previewToneMap } from '../media/colour.js';
import { protocolOptions } from '../media/probe.js';
import { POSTER_NAME, SPRITE_PATTERN, type ThumbnailPlan, type TranscodePlan } from '../plan.js';
import { fpsFilter } from './fps-filter.js';

/**
 * Pure argv for the poster and thumbnail sprites (plan.thumbnails). Two branches of a video graph,
 * fed with the top rung's frames (constant frame rate, timed from the title's start as fps-filter.ts
 * times them, square pixels):
 *
 * - sprites: the frame at each k x interval (`fps=1/interval:round=up` takes, for output k, the last
 *   frame at or before k x interval), exactly `count` of them, scaled to the tile size, tiled
 *   columns x rows into JPEG sheets. `tpad` repeats the last frame after the video ends (for as long
 *   as the whole title plus an interval, at most: a video that stops before the audio, or short of
 *   the last cue's start, still gives every cue a tile, its last picture as a player keeps showing
 *   it), and `trim` stops the branch at `count`; that end travels back up the branch, so tpad stops
 *   repeating as soon as the last tile is made;
 * - poster: one candidate a second from a window a tenth into the title, frames without a single
 *   pixel brighter than 32 (of 255: black, a fade) dropped, then ffmpeg's `thumbnail` filter picks the
 *   most representative of the rest. Every candidate dark: no poster from this branch
 *   (pipeline/thumbnails.ts then looks over the whole title).
 *
 * Both branches end on their own (trim), so nothing waits on them or piles up behind them while the
 * ladder is still encoding. The JPEGs are full range (yuvj420p, as JPEG means): the scalers convert to
 * full range and `-strict unofficial` lets ffmpeg 5.1's MJPEG encoder take yuv420p marked full range
 * (-color_range pc) without its deprecated-yuvj conversion warnings.
 */

/** Output labels of the two branches. */
const SPRITES_PAD = 'thumbs';
const POSTER_PAD = 'poster';

/** A frame without one pixel above this luma (0-255, full range) counts as black. */
const DARK_LUMA_MAX = 32;

/** Sprite sheet JPEG quality (mjpeg -q:v, 2 best .. 31): small tiles, many of them. */
const SPRITE_QUALITY = 5;
const POSTER_QUALITY = 3;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const seconds = (ms: number): string => String(ms / 1000);

/** `hdr`: tone mapping for a ladder kept HDR (media/colour.ts previewToneMap), at the image size: JPEGs are SDR. */
function toJpeg(width: number, height: number, hdr: readonly string[] = []): string {
  if (hdr.length === 0) return `scale=${width}:${height}:out_range=full,format=yuv420p`;
  return [`scale=${width}:${height}`, ...hdr, 'scale=out_range=full', 'format=yuv420p'].join(',');
}

/** The sprite branch's filters (input: the top rung's frames). */
export function spriteChain(t: ThumbnailPlan, hdr: readonly string[] = []): string {
  const g = gcd(1000, t.intervalMs);
  return [
    `tpad=stop_mode=clone:stop_duration=${seconds(t.durationMs + t.intervalMs)}`,
    `fps=${1000 / g}/${t.intervalMs / g}:start_time=0:round=up`,
    `trim=end_frame=${t.count}`,
    toJpeg(t.width, t.height, hdr),
    `tile=${t.columns}x${t.rows}`,
  ].join(',');
}

/** Non-dark frames only: signalstats measures, metadata drops those whose brightest pixel is dark. */
const dropDark = ['signalstats', `metadata=select:key=lavfi.signalstats.YMAX:value=${DARK_LUMA_MAX}:function=greater`];

/** The poster branch's filters: one frame (or none when the whole window is dark). */
export function posterChain(t: ThumbnailPlan, hdr: readonly string[] = []): string {
  const { start, end, width, height } = t.poster;
  const candidates = Math.ceil(end - start) + 2;
  return [`trim=start=${start}:end=${end}`, 'fps=1', toJpeg(width, height, hdr), ...dropDark, `thumbnail=n=${candidates}`].join(',');
}

/** The tone mapping the images need: none unless the ladder is kept HDR. */
function imageToneMap(plan: Pick<TranscodePlan, 'colour' | 'media'>): string[] {
  return plan.colour ? previewToneMap(plan.colour, plan.media.video.colour) : [];
}

/**
 * Add the two branches to a ladder graph: the top rung's output is split once more. Returns the
 * graph and the outputs, the top rung's under a new label. Unchanged without thumbnails in the encode.
 */
export function withThumbnailBranches(plan: Pick<TranscodePlan, 'thumbnails' | 'colour' | 'media'>, g: { graph: string; outputs: string[] }): { graph: string; outputs: string[] } {
  const t = plan.thumbnails;
  if (t?.pass !== 'encode') return g;
  const [top, ...rest] = g.outputs;
  const tapped = `${top}t`;
  const hdr = imageToneMap(plan);
  const graph = `${g.graph};[${top}]split=3[${tapped}][ts][tp];[ts]${spriteChain(t, hdr)}[${SPRITES_PAD}];[tp]${posterChain(t, hdr)}[${POSTER_PAD}]`;
  return { graph, outputs: [tapped, ...rest] };
}

function jpegOutput(quality: number): string[] {
  return ['-c:v', 'mjpeg', '-q:v', String(quality), '-strict', 'unofficial', '-color_range', 'pc'];
}

/** The two image outputs (after every other output of the command), paths relative to the package folder. */
function imageOutputArgs(plan: Pick<TranscodePlan, 'fpsModeOption'>): string[] {
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  return [
    '-map', `[${SPRITES_PAD}]`, ...jpegOutput(SPRITE_QUALITY),
    plan.fpsModeOption, 'passthrough',
    '-f', 'image2', SPRITE_PATTERN,
    '-map', `[${POSTER_PAD}]`, ...jpegOutput(POSTER_QUALITY),
    plan.fpsModeOption, 'passthrough',
    '-frames:v', '1',
    '-update', '1',
    '-f', 'image2', POSTER_NAME,
  ];
}

/** The image outputs when the branches are in the encode's graph (withThumbnailBranches); else nothing. */
export function thumbnailOutputArgs(plan: Pick<TranscodePlan, 'thumbnails' | 'fpsModeOption'>): string[] {
  return plan.thumbnails?.pass === 'encode' ? imageOutputArgs(plan) : [];
}

/** The CPU path's top rung: the ladder graph's head, then the top rung's size, square pixels. */
function cpuTopRung(plan: TranscodePlan): string {
  const top = plan.ladder.rungs[0]!;
  return `[0:${plan.media.video.index}]${fpsFilter(plan)},scale=${top.width}:${top.height},setsar=1`;
}

/**
 * The separate CPU pass (plan.thumbnails.pass separate: NVENC keeps the ladder's frames in GPU memory):
 * the source decoded on the CPU, timed and sized as the CPU path's top rung, the same two branches.
 */
export function buildThumbnailPassArgs(plan: TranscodePlan): string[] {
  const t = plan.thumbnails;
  if (!t) throw new Error('buildThumbnailPassArgs: the plan has no thumbnails');
  const { media } = plan;
  const hdr = imageToneMap(plan);
  const graph = `${cpuTopRung(plan)},split=2[ts][tp];[ts]${spriteChain(t, hdr)}[${SPRITES_PAD}];[tp]${posterChain(t, hdr)}[${POSTER_PAD}]`;
  return ['-loglevel', 'warning', '-y', ...protocolOptions(media.remote), ...media.inputOptions, '-i', media.url, '-filter_complex', graph, ...imageOutputArgs(plan)];
}

/**
 * The poster when the window a tenth into the title was all dark: `candidates` frames spread over the
 * whole title, dark ones dropped (`skipDark`), the most representative one kept. Without skipDark
 * (every candidate was dark, the title is black throughout): the first candidate.
 */
export function buildPosterScanArgs(plan: TranscodePlan, skipDark: boolean, candidates = 30): string[] {
  const t = plan.thumbnails;
  if (!t) throw new Error('buildPosterScanArgs: the plan has no thumbnails');
  const { media } = plan;
  const rate = `${candidates * 1000}/${t.durationMs}`;
  const chain = [
    `fps=${rate}:start_time=0`,
    toJpeg(t.poster.width, t.poster.height, imageToneMap(plan)),
    'setsar=1',
    ...(skipDark ? [...dropDark, `thumbnail=n=${candidates + 2}`] : []),
  ];
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  return [
    '-loglevel', 'warning', '-y',
    ...protocolOptions(media.remote), ...media.inputOptions,
    '-i', media.url,
    '-filter_complex', `[0:${media.video.index}]${chain.join(',')}[${POSTER_PAD}]`,
    '-map', `[${POSTER_PAD}]`, ...jpegOutput(POSTER_QUALITY),
    plan.fpsModeOption, 'passthrough',
    '-frames:v', '1',
    '-update', '1',
    '-f', 'image2', POSTER_NAME,
  ];
}
