import { encoderProfiles } from '../encoder/profiles.js';
import type { LadderRung } from '../media/ladder.js';
import { protocolOptions } from '../media/probe.js';
import { formatRational, toNumber } from '../media/rational.js';
import type { TranscodePlan } from '../plan.js';
import type { Codec } from '../preset/schema.js';
import { pixelFormatFilters, rungEncodeSettings } from './command.js';
import { fpsFilter } from './fps-filter.js';

/**
 * Pure argument building for the per-title analysis (pipeline/per-title.ts): scene detection, the
 * candidate encodes of the samples, and the scoring of each candidate against the source at the
 * display size. Tested without ffmpeg.
 *
 * The samples are cut from the source with input seeking (`-ss` before `-i`, frame-accurate when
 * decoding), given the ladder's own frame pipeline (deinterlacing, frame rate, pixel format, tone
 * mapping) and joined into one sequence; every sample is a whole number of GOPs, so each joint falls
 * on a keyframe of the candidate encodes, as segment starts do in the real encode.
 */

export interface SampleWindow {
  start: number;
  duration: number;
}

export interface CandidateEncode {
  width: number;
  height: number;
  crf: number;
  /** the cap of the fixed ladder's rung at this resolution */
  maxrate: number;
  bufsize: number;
  /** output file, relative to the working folder */
  file: string;
}

/** Raw elementary streams: their size is the video's bits, nothing else. */
const RAW: Record<Codec, { format: string; ext: string; needsRate: boolean }> = {
  h264: { format: 'h264', ext: 'h264', needsRate: true },
  hevc: { format: 'hevc', ext: 'hevc', needsRate: true },
  av1: { format: 'ivf', ext: 'ivf', needsRate: false },
};

export function candidateExtension(codec: Codec): string {
  return RAW[codec].ext;
}

/** The size the scores are taken at: the source's display size (what a player upscales every rung to). */
export function displaySize(plan: Pick<TranscodePlan, 'media'>): { width: number; height: number } {
  const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);
  return { width: even(plan.media.video.displayWidth), height: even(plan.media.video.displayHeight) };
}

/** Frames of the ladder's rate in a sample: every side of a comparison is cut to exactly this many. */
export function sampleFrames(plan: Pick<TranscodePlan, 'ladder'>, s: SampleWindow): number {
  return Math.max(1, Math.round(s.duration * toNumber(plan.ladder.frameRate)));
}

/**
 * Where a sample starts in the input. Sample times count from the video's first frame (a capture whose
 * video starts after its audio: plan.timeline.videoStart later), as the encoded renditions do, and lie
 * on the ladder's frame grid (pipeline/per-title.ts). The seek lands a quarter frame before the
 * sample's first frame: input seeking drops every frame before the seek point, and a frame a rounding
 * error early would be lost; a quarter frame late, the fps filter would round it into its second slot
 * and repeat it in the first.
 */
function seekOf(plan: Pick<TranscodePlan, 'timeline' | 'ladder'>, s: SampleWindow): string {
  return Math.max(0, s.start + plan.timeline.videoStart - 0.25 / toNumber(plan.ladder.frameRate)).toFixed(4);
}

/** How long to read from the seek point: the sample and half a frame. */
function readFor(plan: Pick<TranscodePlan, 'ladder'>, s: SampleWindow): string {
  return (s.duration + 0.5 / toNumber(plan.ladder.frameRate)).toFixed(4);
}

/** The samples as inputs: one `-ss START -t DURATION -i URL` each. */
function sampleInputs(plan: TranscodePlan, samples: readonly SampleWindow[]): string[] {
  const { media } = plan;
  return samples.flatMap((s) => [...protocolOptions(media.remote), ...media.inputOptions, '-ss', seekOf(plan, s), '-t', readFor(plan, s), '-i', media.url]);
}

/**
 * The samples' frames as the ladder gets them, joined: `[0:V]fps..[s0];[1:V]fps..[s1];[s0][s1]concat..`
 * then the pixel format conversion. Returns the filter chain text without an output label.
 */
function samplesChain(plan: TranscodePlan, samples: readonly SampleWindow[]): string {
  // a sample starts at zero after input seeking: no start offset to keep
  const fps = fpsFilter({ ...plan, timeline: { ...plan.timeline, videoStart: 0 } });
  const idx = plan.media.video.index;
  const pix = pixelFormatFilters({ ...plan, scaleThreads: 1 });
  const head = (i: number): string => `[${i}:${idx}]${fps},trim=end_frame=${sampleFrames(plan, samples[i]!)}`;
  if (samples.length === 1) return [head(0), ...pix].join(',');
  const heads = samples.map((_, i) => `${head(i)}[s${i}]`);
  return `${heads.join(';')};${samples.map((_, i) => `[s${i}]`).join('')}concat=n=${samples.length}:v=1:a=0${pix.length ? `,${pix.join(',')}` : ''}`;
}

/**
 * One process: the samples decoded once, scaled once per candidate resolution, and encoded by every
 * candidate (the preset's encoder and speed, capped CRF at the fixed rung's maxrate) into raw streams.
 */
export function buildCandidateEncodeArgs(plan: TranscodePlan, samples: readonly SampleWindow[], candidates: readonly CandidateEncode[]): string[] {
  const sizes = [...new Set(candidates.map((c) => `${c.width}x${c.height}`))];
  const members = sizes.map((s) => candidates.flatMap((c, i) => (`${c.width}x${c.height}` === s ? [i] : [])));
  const parts: string[] = [];
  const chain = samplesChain(plan, samples);
  const sizePads = sizes.map((_, k) => `[r${k}]`);
  parts.push(sizes.length === 1 ? `${chain}${sizePads[0]}` : `${chain},split=${sizes.length}${sizePads.join('')}`);
  sizes.forEach((_, k) => {
    const m = members[k]!;
    const first = candidates[m[0]!]!;
    const out = m.map((i) => `[c${i}]`).join('');
    parts.push(`${sizePads[k]}scale=${first.width}:${first.height},setsar=1${m.length > 1 ? `,split=${m.length}` : ''}${out}`);
  });
  const profile = encoderProfiles[plan.encoder];
  const raw = RAW[profile.codec];
  const args = ['-loglevel', 'warning', '-y', ...sampleInputs(plan, samples), '-filter_complex', parts.join(';')];
  candidates.forEach((c, i) => {
    const rung: LadderRung = { name: `c${i}`, width: c.width, height: c.height, bitrate: c.maxrate, maxrate: c.maxrate, bufsize: c.bufsize, crf: c.crf, fromSource: false };
    const settings = { ...rungEncodeSettings(plan, rung), mode: 'crf' as const, crf: c.crf, maxrate: c.maxrate, bufsize: c.bufsize };
    args.push(
      '-map',
      `[c${i}]`,
      '-c:v',
      profile.name,
      ...profile.args(settings),
      plan.fpsModeOption,
      'passthrough',
      '-an',
      '-sn',
      '-dn',
      '-map_metadata',
      '-1',
      '-f',
      raw.format,
      c.file,
    );
  });
  return args;
}

/**
 * The reference for the scores: the samples as the ladder gets them, at the display size, 8-bit
 * 4:2:0, as y4m to each of `outs` (one decode for several scorers).
 */
export function buildReferenceArgs(plan: TranscodePlan, samples: readonly SampleWindow[], outs: readonly string[]): string[] {
  const { width, height } = displaySize(plan);
  const pads = outs.map((_, i) => `[ref${i}]`);
  const graph = `${samplesChain(plan, samples)},scale=${width}:${height}:flags=bicubic,setsar=1,format=yuv420p${outs.length > 1 ? `,split=${outs.length}` : ''}${pads.join('')}`;
  const args = ['-loglevel', 'error', '-y', ...sampleInputs(plan, samples), '-filter_complex', graph];
  outs.forEach((out, i) => {
    args.push('-map', pads[i]!, plan.fpsModeOption, 'passthrough', '-f', 'yuv4mpegpipe', `file:${out}`);
  });
  return args;
}

/** Demuxer options and input for one candidate's raw stream. */
function candidateInput(plan: TranscodePlan, file: string): string[] {
  const raw = RAW[encoderProfiles[plan.encoder].codec];
  return ['-f', raw.format, ...(raw.needsRate ? ['-framerate', formatRational(plan.ladder.frameRate)] : []), '-i', `file:${file}`];
}

/** A candidate (or rung) upscaled to the display size with bicubic (what players use), 8-bit 4:2:0 y4m to `out`. */
export function buildDistortedArgs(plan: TranscodePlan, file: string, out: string): string[] {
  const { width, height } = displaySize(plan);
  return [
    '-loglevel',
    'error',
    '-y',
    ...candidateInput(plan, file),
    '-vf',
    `scale=${width}:${height}:flags=bicubic,setsar=1,format=yuv420p`,
    plan.fpsModeOption,
    'passthrough',
    '-f',
    'yuv4mpegpipe',
    `file:${out}`,
  ];
}

/**
 * An encoded rendition's samples, cut at the same times as the source's and upscaled like a
 * candidate, as y4m to `out`: the check after the encode.
 */
export function buildRenditionSampleArgs(plan: TranscodePlan, rendition: Exclude<Distorted, { raw: string }>, samples: readonly SampleWindow[], out: string): string[] {
  const { width, height } = displaySize(plan);
  const { inputs, chain } = distortedInput(plan, samples, rendition, 0);
  const graph = `${chain}scale=${width}:${height}:flags=bicubic,setsar=1,format=yuv420p[d]`;
  return ['-loglevel', 'error', '-y', ...inputs, '-filter_complex', graph, '-map', '[d]', plan.fpsModeOption, 'passthrough', '-f', 'yuv4mpegpipe', `file:${out}`];
}

/** libvmaf 3 `vmaf` tool: reference and distorted y4m, JSON log with the pooled mean. */
export function buildVmafToolArgs(reference: string, distorted: string, log: string, o: { model: string; subsample: number; threads: number }): string[] {
  return ['-r', reference, '-d', distorted, '--model', `version=${o.model}`, '--threads', String(o.threads), '--subsample', String(o.subsample), '--json', '-o', log, '-q'];
}

/**
 * What is scored: a candidate's raw stream; a progressive file (MP4, FLV: cut with input seeking,
 * which their indexes make exact); or a rendition as one short playlist per sample listing the
 * segments that cover it, `skip` seconds from its first frame to the sample's (ffmpeg's HLS demuxer
 * cannot be trusted to seek: with a short first segment it skips that segment).
 */
export type Distorted = { raw: string } | { file: string } | { pieces: readonly { playlist: string; skip: number }[] };

/** The inputs of one distorted video and its chain from input `first` on, ending before the scaler. */
function distortedInput(plan: TranscodePlan, samples: readonly SampleWindow[], d: Distorted, first: number): { inputs: string[]; chain: string; count: number } {
  if ('raw' in d) return { inputs: candidateInput(plan, d.raw), chain: `[${first}:v:0]`, count: 1 };
  // by frame counts, never by times: exactly the frames the reference has
  const fps = toNumber(plan.ladder.frameRate);
  const cut = (i: number): string => {
    const n = sampleFrames(plan, samples[i]!);
    if ('file' in d) return `[${first + i}:v:0]setpts=PTS-STARTPTS,trim=end_frame=${n}`;
    const from = Math.round(d.pieces[i]!.skip * fps);
    return `[${first + i}:v:0]setpts=PTS-STARTPTS,trim=start_frame=${from}:end_frame=${from + n},setpts=PTS-STARTPTS`;
  };
  if ('pieces' in d && d.pieces.length !== samples.length) throw new Error(`expected one piece per sample, got ${d.pieces.length} for ${samples.length}`);
  const inputs = samples.flatMap((s, i) => ('file' in d ? ['-ss', seekOf(plan, s), '-t', readFor(plan, s), '-i', `file:${d.file}`] : ['-i', `file:${d.pieces[i]!.playlist}`]));
  if (samples.length === 1) return { inputs, chain: `${cut(0)},`, count: 1 };
  const pads = samples.map((_, i) => `${cut(i)}[e${first + i}]`);
  return { inputs, chain: `${pads.join(';')};${samples.map((_, i) => `[e${first + i}]`).join('')}concat=n=${samples.length}:v=1:a=0,`, count: samples.length };
}

/**
 * Several distorted videos against the samples in one ffmpeg process, with a filter that scores two
 * inputs: ffmpeg's `libvmaf` (distorted first, reference second) or its `ssim` (per-frame stats
 * file). The reference is decoded once and split. `logs[i]`: where video i's scores go (plain names:
 * the process runs in the working folder, and filter arguments are not paths ffmpeg confines).
 */
export function buildFilterScoreArgs(
  plan: TranscodePlan,
  samples: readonly SampleWindow[],
  distorted: readonly Distorted[],
  logs: readonly string[],
  metric: { filter: 'ssim' } | { filter: 'libvmaf'; model: string; subsample: number; threads: number },
): string[] {
  const { width, height } = displaySize(plan);
  const n = distorted.length;
  const refPads = distorted.map((_, i) => `[r${i}]`).join('');
  // two-input filters pair frames by timestamp: both sides are renumbered frame by frame in one time
  // base of one frame per tick (setpts=N/RATE/TB in a 90 kHz base truncates 10799.99 to 10799, and the
  // frame is paired with the one before it)
  const { num, den } = plan.ladder.frameRate;
  const renumber = `settb=${den}/${num},setpts=N`;
  const parts = [`${samplesChain(plan, samples)},${renumber},scale=${width}:${height}:flags=bicubic,setsar=1,format=yuv420p${n > 1 ? `,split=${n}` : ''}${refPads}`];
  const inputs: string[] = [];
  let next = samples.length;
  distorted.forEach((d, i) => {
    const { inputs: more, chain, count } = distortedInput(plan, samples, d, next);
    next += count;
    inputs.push(...more);
    parts.push(`${chain}${renumber},scale=${width}:${height}:flags=bicubic,setsar=1,format=yuv420p[d${i}]`);
    const log = logs[i]!;
    if (!/^[A-Za-z0-9_.-]+$/.test(log)) throw new Error(`score log names must be plain file names, got ${log}`);
    const filter =
      metric.filter === 'ssim'
        ? `ssim=stats_file=${log}`
        : `libvmaf=model=version=${metric.model}:log_fmt=json:log_path=${log}:n_threads=${metric.threads}:n_subsample=${metric.subsample}`;
    parts.push(`[d${i}][r${i}]${filter}[o${i}]`);
  });
  const args = ['-loglevel', 'error', '-y', ...sampleInputs(plan, samples), ...inputs, '-filter_complex', parts.join(';')];
  distorted.forEach((_, i) => {
    args.push('-map', `[o${i}]`, '-f', 'null', '-');
  });
  return args;
}

/**
 * Scene cuts over the whole title: decoded without the in-loop filter (cuts do not need it), scaled
 * down, `scdet` passing only the frames that start a scene, their times printed to `out` (a plain
 * file name in the working folder).
 */
export function buildSceneArgs(plan: Pick<TranscodePlan, 'media'>, out: string): string[] {
  const { media } = plan;
  if (!/^[A-Za-z0-9_.-]+$/.test(out)) throw new Error(`expected a plain file name, got ${out}`);
  return [
    '-loglevel',
    'error',
    '-y',
    ...protocolOptions(media.remote),
    ...media.inputOptions,
    '-skip_loop_filter',
    'all',
    '-i',
    media.url,
    '-filter_complex',
    `[0:${media.video.index}]scale=-2:180,scdet=threshold=10:sc_pass=1,metadata=mode=print:key=lavfi.scd.time:file=${out}[v]`,
    '-map',
    '[v]',
    '-an',
    '-sn',
    '-dn',
    '-f',
    'null',
    '-',
  ];
}
