// The hand-written contenders and the floor runs. What they share with streamkit are the FACTS of
// streamkit's plan (planTranscode() in the build): the source's video stream, the output frame rate,
// the rung names and sizes, each rung's rate control, the GOP, the audio settings, the HLS segment
// duration and container. The encoder flags come from streamkit's encoder profile for the plan's
// encoder (encoderProfiles[plan.encoder].args), so every contender runs the same encoders with the
// same settings on the same frames. Everything around the encoders (input options, filter graph,
// process layout, where the audio is encoded, muxer options) is written here as a person would
// write it: nothing is taken from, or edited out of, streamkit's own ffmpeg argv. Pure functions
// over plain values; run.ts runs the argv arrays (never through a shell).
import { resolve } from 'node:path';

/** One rung of streamkit's ladder (LadderRung), as much as the benchmark reads. Bitrates in bit/s. */
export interface RungFacts {
  name: string;
  width: number;
  height: number;
  bitrate: number;
  maxrate: number;
  bufsize: number;
  crf: number | undefined;
}

/**
 * The part of streamkit's plan (PlannedTranscode['plan'] from planTranscode()) the benchmark reads.
 * Structural, so a real plan fits it (run.ts passes one, and the typecheck fails if streamkit's plan
 * changes under it) and the tests can write one by hand.
 */
export interface PlanFacts {
  hardware: string;
  media: { video: { index: number; pixelFormat: string } };
  preset: { video: { rateControl: { mode: 'crf' | 'vbr' | 'cbr' } } };
  ladder: { frameRate: { num: number; den: number }; gopFrames: number; rungs: readonly RungFacts[] };
  speed: string | number | undefined;
  tune: string | undefined;
  encoderOptions: Readonly<Record<string, string | number | boolean>>;
  /** bitrate in bit/s */
  audio: { bitrate: number; sampleRate: number } | null;
  audioRenditions: readonly { sourceOrder: number; channels: number; dir: string }[];
  hls: { container: 'ts' | 'fmp4'; hlsTime: number } | null;
  files: readonly unknown[];
}

/** What an encoder profile turns into flags for one rung (streamkit's RungEncodeSettings, CPU encoders). */
export interface RungSettings {
  mode: 'crf' | 'vbr' | 'cbr';
  bitrate: number;
  maxrate: number;
  bufsize: number;
  crf: number | undefined;
  gopFrames: number;
  speed: string | number | undefined;
  tune: string | undefined;
  options: Record<string, string | number | boolean>;
}

/** streamkit's encoder profile (encoderProfiles[plan.encoder]), as much as the benchmark uses. */
export interface EncoderFlags {
  /** the ffmpeg encoder (-c:v) */
  name: string;
  /** the pixel format the encoder is fed */
  pixelFormat: string;
  /** the encoder's flags for one rung, without -c:v */
  args: (s: RungSettings) => string[];
}

/** A rung as the contenders encode it. */
export interface BenchRung {
  name: string;
  width: number;
  height: number;
  bitrate: number;
  /** -c:v and every encoder flag of this rung */
  video: string[];
}

/** One audio rendition: the source stream and its encoder flags. */
export interface BenchAudio {
  /** `0:a:N` */
  map: string;
  /** -c:a and every encoder flag */
  codec: string[];
  /** folder of the separate rendition (expert, audio once) */
  dir: string;
}

/** Everything the contenders are written from. */
export interface BenchLadder {
  ffmpeg: string;
  /** absolute path of the input file: the contenders run in their own output folders */
  input: string;
  /** the source's video stream, `0:N` */
  source: string;
  /** the output frame rate, as ffmpeg's fps filter takes it */
  fps: string;
  /** pixel format conversion each rung needs (the source's format is not the encoder's), else null */
  format: string | null;
  rungs: BenchRung[];
  /** every audio rendition; the per-rung layouts mux the first into each rung */
  audio: BenchAudio[];
  hls: { time: string; container: 'ts' | 'fmp4' };
}

/** 30000/1001 -> "30000/1001", 24/1 -> "24" */
function rate(r: { num: number; den: number }): string {
  return r.den === 1 ? String(r.num) : `${r.num}/${r.den}`;
}

/** 128000 -> "128k" */
function bitrate(bps: number): string {
  return bps % 1000 === 0 ? `${bps / 1000}k` : String(Math.round(bps));
}

/** The rate control, GOP and speed of one rung, from the plan. */
export function rungSettings(plan: PlanFacts, rung: RungFacts): RungSettings {
  return {
    mode: plan.preset.video.rateControl.mode,
    bitrate: rung.bitrate,
    maxrate: rung.maxrate,
    bufsize: rung.bufsize,
    crf: rung.crf,
    gopFrames: plan.ladder.gopFrames,
    speed: plan.speed,
    tune: plan.tune,
    options: { ...plan.encoderOptions },
  };
}

/**
 * The facts of a plan, ready for the contenders. `encoder` is streamkit's profile for plan.encoder;
 * `ffmpeg` the binary streamkit uses (the same for every contender), `input` the input's absolute path.
 * Refuses plans the hand-written commands do not cover: an NVENC encode (GPU graph), no HLS, MP4/FLV targets.
 */
export function benchLadder(plan: PlanFacts, encoder: EncoderFlags, where: { ffmpeg: string; input: string }): BenchLadder {
  if (plan.hardware !== 'cpu') throw new Error(`streamkit chose ${plan.hardware} here; the benchmark's contenders are CPU encodes (run it where NVENC is absent or unusable)`);
  if (!plan.hls) throw new Error('the preset writes no HLS; the benchmark compares HLS ladders');
  if (plan.files.length > 0) throw new Error('the preset writes MP4/FLV files too; the benchmark compares HLS ladders only');
  if (plan.audioRenditions.length > 0 && !plan.audio) throw new Error('audio renditions without audio settings');
  const audio = plan.audio;
  return {
    ffmpeg: where.ffmpeg,
    input: where.input,
    source: `0:${plan.media.video.index}`,
    fps: rate(plan.ladder.frameRate),
    format: plan.media.video.pixelFormat === encoder.pixelFormat ? null : encoder.pixelFormat,
    rungs: plan.ladder.rungs.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      bitrate: r.bitrate,
      video: ['-c:v', encoder.name, ...encoder.args(rungSettings(plan, r))],
    })),
    audio: audio
      ? plan.audioRenditions.map((a) => ({
          map: `0:a:${a.sourceOrder}`,
          codec: ['-c:a', 'aac', '-b:a', bitrate(audio.bitrate), '-ac', String(a.channels), '-ar', String(audio.sampleRate)],
          dir: a.dir,
        }))
      : [],
    hls: { time: plan.hls.hlsTime.toFixed(6), container: plan.hls.container },
  };
}

/**
 * Rungs whose encoder flags (BenchRung.video, in order) do not appear in streamkit's ffmpeg argv: a
 * check that streamkit really encodes with the flags the contenders use, so that the comparison is
 * like for like. Empty when all are there. Nothing is taken from the argv.
 */
export function missingEncoderFlags(streamkitArgv: readonly string[], ladder: BenchLadder): string[] {
  const contains = (needle: readonly string[]): boolean => {
    for (let i = 0; i + needle.length <= streamkitArgv.length; i++) if (needle.every((x, j) => streamkitArgv[i + j] === x)) return true;
    return false;
  };
  return ladder.rungs.filter((r) => !contains(r.video)).map((r) => r.name);
}

/** ffmpeg, quiet, and the one input (the contenders run in their output folders: an absolute path). */
function head(l: BenchLadder): string[] {
  return [l.ffmpeg, '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning', '-y', '-i', l.input];
}

/** A rung's scaler, with the pixel format conversion where the encoder needs one. */
function scaler(l: BenchLadder, r: BenchRung): string {
  return `scale=${r.width}:${r.height}${l.format ? `,format=${l.format}` : ''},setsar=1`;
}

/**
 * The expert's graph: fps once, split into N copies of the SOURCE, each scaled straight to its rung
 * (the usual hand-written ladder), with a format filter per branch where the encoder needs one.
 */
export function expertGraph(l: BenchLadder): string {
  const n = l.rungs.length;
  const splits = l.rungs.map((_, i) => `[s${i}]`).join('');
  return [`[${l.source}]fps=${l.fps},split=${n}${splits}`, ...l.rungs.map((r, i) => `[s${i}]${scaler(l, r)}[v${i}]`)].join(';');
}

/**
 * The HLS muxer for one rendition folder `dir` (relative: the contenders run in their output
 * folder), the segment duration and container of the plan, segments `seg_%05d.ts|m4s`.
 */
function hlsOutput(l: BenchLadder, dir: string): string[] {
  const fmp4 = l.hls.container === 'fmp4';
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  return [
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-f', 'hls',
    '-hls_time', l.hls.time,
    '-hls_playlist_type', 'vod',
    '-hls_list_size', '0',
    '-hls_segment_type', fmp4 ? 'fmp4' : 'mpegts',
    ...(fmp4 ? ['-hls_fmp4_init_filename', 'init.mp4'] : []),
    '-hls_flags', 'independent_segments',
    '-hls_segment_filename', `${dir}/seg_%05d.${fmp4 ? 'm4s' : 'ts'}`,
    `${dir}/index.m3u8`,
  ];
}

/** The first audio rendition, mapped and encoded (what the per-rung layouts mux into each rung). */
function firstAudio(l: BenchLadder): string[] {
  const a = l.audio[0];
  return a ? ['-map', a.map, ...a.codec] : [];
}

export interface ExpertOptions {
  /**
   * 'per-rung' muxes the (same) AAC encode into every rung's output, as the common
   * `-var_stream_map "v:0,a:0 v:1,a:1 ..."` ladder commands do; 'once' writes each audio rendition
   * once, into its own folder, as streamkit does.
   */
  audio?: 'per-rung' | 'once';
}

/**
 * One ffmpeg process, decode once, split from the source, the rungs' encoder flags. Run it in
 * `toDir`; `dirs` are the folders the HLS muxer needs to exist.
 */
/** The output folders of a ladder in `toDir`: one per rung, and with `audio` one per audio rendition (the HLS muxer needs them to exist). */
export function ladderFolders(l: BenchLadder, toDir: string, audio: readonly BenchAudio[] = l.audio): string[] {
  return [...l.rungs.map((r) => r.name), ...audio.map((a) => a.dir)].map((d) => resolve(toDir, d));
}

export function expertCommand(l: BenchLadder, toDir: string, { audio = 'per-rung' }: ExpertOptions = {}): { argv: string[]; dirs: string[] } {
  const argv = [...head(l), '-filter_complex', expertGraph(l)];
  l.rungs.forEach((r, i) => {
    argv.push('-map', `[v${i}]`, ...r.video, ...(audio === 'per-rung' ? firstAudio(l) : []), ...hlsOutput(l, r.name));
  });
  const audioOutputs = audio === 'once' ? l.audio : [];
  for (const a of audioOutputs) argv.push('-map', a.map, ...a.codec, ...hlsOutput(l, a.dir));
  return { argv, dirs: ladderFolders(l, toDir, audioOutputs) };
}

/**
 * What most scripts do: one ffmpeg per rung, run one after the other, each decoding the source again,
 * scaling it with -vf, encoding the rung with the same flags and the audio into the same output.
 * Run each in `toDir`.
 */
export function naiveCommands(l: BenchLadder, toDir: string): { argv: string[]; dir: string }[] {
  return l.rungs.map((r) => ({
    argv: [...head(l), '-map', l.source, '-vf', `fps=${l.fps},${scaler(l, r)}`, ...r.video, ...firstAudio(l), ...hlsOutput(l, r.name)],
    dir: resolve(toDir, r.name),
  }));
}

export interface FloorCommands {
  decode: string[];
  graph: string[];
  audio: string[] | null;
  audioCopy: string[] | null;
}

/**
 * The parts of the expert command that any command feeding these encoders the same frames could
 * leave out, measured on their own so the benchmark can say how low streamkit ÷ expert can go at all.
 * Each writes to ffmpeg's null muxer (frames are handed over, not copied or encoded):
 * - decode: the source video decoded once, nothing else: every contender has to do this;
 * - graph: decode plus the expert's whole graph (fps, split, one scaler per rung);
 * - audio: the first audio rendition encoded once (the expert's per-rung outputs encode it N times);
 * - audioCopy: the same audio stream read and copied, not encoded: its CPU taken from audio's is
 *   the encode alone, without ffmpeg's start-up and the demuxing every process has anyway.
 * The input and codec options are the expert's own, so the sums line up with its CPU time.
 */
export function floorCommands(l: BenchLadder): FloorCommands {
  const nul = ['-f', 'null', '-'];
  const a = l.audio[0];
  return {
    decode: [...head(l), '-map', l.source, ...nul],
    graph: [...head(l), '-filter_complex', expertGraph(l), ...l.rungs.flatMap((_, i) => ['-map', `[v${i}]`, ...nul])],
    audio: a ? [...head(l), '-map', a.map, ...a.codec, ...nul] : null,
    audioCopy: a ? [...head(l), '-map', a.map, '-c:a', 'copy', ...nul] : null,
  };
}

export interface FloorMeasurements {
  expertCpu: number;
  decodeCpu: number;
  graphCpu: number;
  audioCpu: number | null;
  audioCopyCpu: number | null;
  expertAudioEncodes: number;
}

/**
 * The lowest CPU any single command with these encoders and frames could take, from the expert's
 * measured CPU: everything but one decode and one audio encode of the graph and audio parts is
 * counted as avoidable (generously: the scalers cannot really be left out, the rungs need them).
 * expertAudioEncodes is how many times the expert encodes the audio (N per rung); audioCpu and
 * audioCopyCpu are the two audio runs of floorCommands (null without audio). Returns seconds: the
 * floor, the avoidable part, and one audio encode as counted (never below 0).
 */
export function cpuFloor({ expertCpu, decodeCpu, graphCpu, audioCpu, audioCopyCpu, expertAudioEncodes }: FloorMeasurements): {
  seconds: number;
  avoidable: number;
  audioEncode: number;
} {
  const audioEncode = Math.max(0, (audioCpu ?? 0) - (audioCopyCpu ?? 0));
  const avoidable = Math.max(0, graphCpu - decodeCpu) + Math.max(0, expertAudioEncodes - 1) * audioEncode;
  return { seconds: expertCpu - avoidable, avoidable, audioEncode };
}
