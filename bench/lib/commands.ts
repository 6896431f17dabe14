// The hand-written contenders, derived from streamkit's own `transcode --dry-run --json` command so
// that every encoder, rate-control, GOP and HLS flag is byte-for-byte the same. Only the filter graph
// and the process layout (and where audio is encoded) differ. Pure functions over argv arrays.
import { dirname, resolve } from 'node:path';

export interface OutputSpec {
  opts: string[];
  path: string;
}
export interface ParsedCommand {
  ffmpeg: string;
  inputPart: string[];
  graph: string;
  source: string;
  fps: string;
  format: string | null;
  videoOutputs: (OutputSpec & { label: string })[];
  audioOutputs: (OutputSpec & { map: string })[];
}
export interface RungSize {
  width: number;
  height: number;
}

/**
 * Split streamkit's ffmpeg argv into its parts.
 * command = [ffmpeg, ...inputPart, '-filter_complex', graph, ...outputs]; every output is a list of
 * option/value pairs closed by its path (all options used by streamkit's outputs take one value).
 */
export function parseCommand(command: readonly string[]): ParsedCommand {
  const fc = command.indexOf('-filter_complex');
  if (fc < 0) throw new Error('streamkit command has no -filter_complex');
  const ffmpeg = command[0]!;
  const inputPart = command.slice(1, fc);
  const graph = command[fc + 1] ?? '';
  const outputs: OutputSpec[] = [];
  let opts: string[] = [];
  const rest = command.slice(fc + 2);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a.startsWith('-') && i + 1 < rest.length) {
      opts.push(a, rest[i + 1]!);
      i++;
    } else {
      outputs.push({ opts, path: a });
      opts = [];
    }
  }
  if (opts.length > 0) throw new Error(`trailing options without an output: ${opts.join(' ')}`);
  const videoOutputs: ParsedCommand['videoOutputs'] = [];
  const audioOutputs: ParsedCommand['audioOutputs'] = [];
  for (const o of outputs) {
    const map = o.opts[o.opts.indexOf('-map') + 1] ?? '';
    if (/^\[v\d+\]$/.test(map)) videoOutputs.push({ ...o, label: map });
    else if (/^\d+:a(:\d+)?$/.test(map)) audioOutputs.push({ ...o, map });
    else throw new Error(`unexpected output mapping ${map}`);
  }
  const source = /^\[([^\]]+)\]/.exec(graph)?.[1];
  if (!source) throw new Error(`cannot find the source pad in ${graph}`);
  const head = graph.split(';')[0] ?? '';
  const fps = /fps=([^,;[]+)/.exec(head)?.[1];
  if (!fps) throw new Error(`streamkit graph has no fps filter: ${graph}`);
  const format = /format=([a-z0-9]+)/.exec(head)?.[1] ?? null;
  return { ffmpeg, inputPart, graph, source, fps, format, videoOutputs, audioOutputs };
}

/** Options of one output up to (not including) `-map_metadata`: map, codec and codec settings. */
function codecOptions(opts: string[]): string[] {
  const end = opts.indexOf('-map_metadata');
  return end < 0 ? opts : opts.slice(0, end);
}

function containerOptions(opts: string[]): string[] {
  const end = opts.indexOf('-map_metadata');
  return end < 0 ? [] : opts.slice(end);
}

function withoutMap(opts: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < opts.length; i += 2) if (opts[i] !== '-map') out.push(opts[i]!, opts[i + 1]!);
  return out;
}

/**
 * Re-root every path-like argument from streamkit's output folder to `to`. streamkit's HLS outputs
 * are relative to its output folder (its ffmpeg runs there), so the contenders run with `to` as their
 * working folder too (bench/run.js); absolute paths under `from` (MP4/FLV files) are moved here.
 */
function reroot(args: string[], from: string, to: string): string[] {
  return args.map((a) => (a.startsWith(`${from}/`) ? `${to}/${a.slice(from.length + 1)}` : a));
}

/** The absolute folder an output path (relative to `to`, or absolute) writes into. */
function outputDir(path: string, from: string, to: string): string {
  return resolve(to, dirname(reroot([path], from, to)[0]!));
}

/**
 * The expert's graph: fps once, split into N copies of the SOURCE, each scaled straight to its rung
 * (the usual hand-written ladder); a format filter per branch only where streamkit needed one.
 */
export function expertGraph(parsed: ParsedCommand, rungs: readonly RungSize[]): string {
  const n = rungs.length;
  const splits = rungs.map((_, i) => `[s${i}]`).join('');
  const head = `[${parsed.source}]fps=${parsed.fps},split=${n}${splits}`;
  const branches = rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.height}${parsed.format ? `,format=${parsed.format}` : ''},setsar=1[v${i}]`);
  return [head, ...branches].join(';');
}

/** The first audio rendition's encoder options (map, codec, bitrate, channels, rate). */
function audioCodecOptions(parsed: ParsedCommand): string[] {
  const a = parsed.audioOutputs[0];
  return a ? codecOptions(a.opts) : [];
}

/**
 * One ffmpeg process, decode once, split from the source, same encoder flags per rung.
 * audio: 'per-rung' muxes the (same) AAC encode into every rung's output, as the common
 * `-var_stream_map "v:0,a:0 v:1,a:1 ..."` ladder commands do; 'once' keeps streamkit's separate audio output.
 * Returns { argv, dirs } (dirs: folders the HLS muxer needs to exist).
 */
export function expertCommand(parsed: ParsedCommand, rungs: readonly RungSize[], fromDir: string, toDir: string, { audio = 'per-rung' }: { audio?: 'per-rung' | 'once' } = {}): { argv: string[]; dirs: string[] } {
  if (parsed.videoOutputs.length !== rungs.length) throw new Error('rung count mismatch');
  const args = [...parsed.inputPart, '-filter_complex', expertGraph(parsed, rungs)];
  const audioOpts = audioCodecOptions(parsed);
  parsed.videoOutputs.forEach((o) => {
    args.push(...codecOptions(o.opts));
    if (audio === 'per-rung') args.push(...audioOpts);
    args.push(...containerOptions(o.opts), o.path);
  });
  if (audio === 'once') for (const a of parsed.audioOutputs) args.push(...a.opts, a.path);
  const argv = [parsed.ffmpeg, '-nostats', ...reroot(args, fromDir, toDir)];
  const outs = audio === 'once' ? [...parsed.videoOutputs, ...parsed.audioOutputs] : parsed.videoOutputs;
  return { argv, dirs: outs.map((o) => outputDir(o.path, fromDir, toDir)) };
}

/**
 * What most scripts do: one ffmpeg per rung, run one after the other, each decoding the source again,
 * scaling it with -vf, encoding the rung with the same flags and the audio into the same output.
 * Returns [{ argv, dir }].
 */
export function naiveCommands(parsed: ParsedCommand, rungs: readonly RungSize[], fromDir: string, toDir: string): { argv: string[]; dir: string }[] {
  const audioOpts = audioCodecOptions(parsed);
  return parsed.videoOutputs.map((o, i) => {
    const r = rungs[i]!;
    const vf = `fps=${parsed.fps},scale=${r.width}:${r.height}${parsed.format ? `,format=${parsed.format}` : ''},setsar=1`;
    const args = [...parsed.inputPart, '-map', parsed.source, '-vf', vf, ...withoutMap(codecOptions(o.opts)), ...audioOpts, ...containerOptions(o.opts), o.path];
    return { argv: [parsed.ffmpeg, '-nostats', ...reroot(args, fromDir, toDir)], dir: outputDir(o.path, fromDir, toDir) };
  });
}

/**
 * The parts of the expert command that any command feeding these encoders the same frames could
 * leave out, measured on their own so the benchmark can say how low streamkit ÷ expert can go at all.
 * Each writes to ffmpeg's null muxer (frames are handed over, not copied or encoded):
 * - decode: the source video decoded once, nothing else: every contender has to do this;
 * - graph: decode plus the expert's whole graph (fps, split, one scaler per rung);
 * - audio: the audio rendition encoded once (the expert's per-rung outputs encode it N times);
 * - audioCopy: the same audio stream read and copied, not encoded: its CPU taken from audio's is
 *   the encode alone, without ffmpeg's start-up and the demuxing every process has anyway.
 * The inputs and codec options are the expert's own, so the sums line up with its CPU time.
 */
export interface FloorCommands {
  decode: string[];
  graph: string[];
  audio: string[] | null;
  audioCopy: string[] | null;
}

export function floorCommands(parsed: ParsedCommand, rungs: readonly RungSize[]): FloorCommands {
  const head = [parsed.ffmpeg, '-nostats', ...parsed.inputPart];
  const graph = [...head, '-filter_complex', expertGraph(parsed, rungs)];
  rungs.forEach((_, i) => graph.push('-map', `[v${i}]`, '-f', 'null', '-'));
  const audioOpts = audioCodecOptions(parsed);
  return {
    decode: [...head, '-map', parsed.source, '-f', 'null', '-'],
    graph,
    audio: audioOpts.length > 0 ? [...head, ...audioOpts, '-f', 'null', '-'] : null,
    audioCopy: audioOpts.length > 0 ? [...head, '-map', parsed.audioOutputs[0]!.map, '-c:a', 'copy', '-f', 'null', '-'] : null,
  };
}

/**
 * The lowest CPU any single command with these encoders and frames could take, from the expert's
 * measured CPU: everything but one decode and one audio encode of the graph and audio parts is
 * counted as avoidable (generously: the scalers cannot really be left out, the rungs need them).
 * expertAudioEncodes is how many times the expert encodes the audio (N per rung); audioCpu and
 * audioCopyCpu are the two audio runs of floorCommands (null without audio). Returns seconds: the
 * floor, the avoidable part, and one audio encode as counted (never below 0).
 */
export interface FloorMeasurements {
  expertCpu: number;
  decodeCpu: number;
  graphCpu: number;
  audioCpu: number | null;
  audioCopyCpu: number | null;
  expertAudioEncodes: number;
}

export function cpuFloor({ expertCpu, decodeCpu, graphCpu, audioCpu, audioCopyCpu, expertAudioEncodes }: FloorMeasurements): { seconds: number; avoidable: number; audioEncode: number } {
  const audioEncode = Math.max(0, (audioCpu ?? 0) - (audioCopyCpu ?? 0));
  const avoidable = Math.max(0, graphCpu - decodeCpu) + Math.max(0, expertAudioEncodes - 1) * audioEncode;
  return { seconds: expertCpu - avoidable, avoidable, audioEncode };
}
