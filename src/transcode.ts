import { mkdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { encoderProfiles, isEncoderName, type EncoderName } from './encoder/profiles.js';
import { selectHardware, type HardwareChoice, type HardwareRequest } from './encoder/select.js';
import { PresetError, StreamkitError } from './errors.js';
import type { EventSink, TranscodeEvent } from './events.js';
import { probeCapabilities, type Capabilities } from './ffmpeg/capabilities.js';
import { buildTranscodeArgs } from './ffmpeg/command.js';
import { locateFfmpeg, locateFfprobe, type LocatedBinary } from './ffmpeg/locate.js';
import { progressEta, progressPercent } from './ffmpeg/progress.js';
import { runFfmpeg } from './ffmpeg/run.js';
import { buildLadder } from './media/ladder.js';
import { probeMedia, type MediaInfo } from './media/probe.js';
import { formatRational, toNumber } from './media/rational.js';
import { checkDestination, createStaging } from './package/atomic.js';
import { decodeCheckTargets, packageHls, type HlsPackage } from './package/hls.js';
import { decodeCheck } from './package/verify.js';
import { rungDir, type AudioRendition, type TranscodePlan } from './plan.js';
import { loadPreset, type ResolvedPreset } from './preset/load.js';
import type { Preset } from './preset/schema.js';

export interface Toolchain {
  ffmpeg: LocatedBinary;
  ffprobe: LocatedBinary;
  caps: Capabilities;
}

export async function resolveToolchain(options: { ffmpeg?: string | undefined; ffprobe?: string | undefined } = {}): Promise<Toolchain> {
  const ffmpeg = await locateFfmpeg(options);
  const ffprobe = await locateFfprobe(ffmpeg, options);
  const caps = await probeCapabilities(ffmpeg.path);
  return { ffmpeg, ffprobe, caps };
}

export interface PlanOptions {
  input: string;
  /** built-in name, file path, or an already resolved preset */
  preset: string | ResolvedPreset;
  output?: string | undefined;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  /** frame rate of raw elementary-stream inputs */
  frameRate?: string | undefined;
  hw?: HardwareRequest | undefined;
  signal?: AbortSignal | undefined;
  toolchain?: Toolchain;
}

export interface PlannedTranscode {
  plan: TranscodePlan;
  argv: string[];
  toolchain: Toolchain;
  preset: ResolvedPreset;
  hardware: HardwareChoice;
  output: string;
}

/** `movie.mp4` + `h264-ladder` -> `./movie-h264-ladder` (in the current folder). */
export function defaultOutput(input: string, presetName: string): string {
  const stem = /^https?:\/\//i.test(input) ? basename(new URL(input).pathname, extname(new URL(input).pathname)) || 'stream' : basename(input, extname(input));
  return resolve(`${stem || 'output'}-${presetName}`);
}

/** Checks that need the real encoder: speed preset, rate control mode, extra options. */
export function checkPresetForEncoder(preset: Preset, file: string, hardware: 'cpu' | 'nvenc', encoder: EncoderName): void {
  const profile = encoderProfiles[encoder];
  const choice = preset.video.encoder[hardware]!;
  const base = `video.encoder.${hardware}`;
  const issues: { file: string; path: string; message: string }[] = [];
  if (profile.codec !== preset.video.codec) issues.push({ file, path: `${base}.name`, message: `expected a ${preset.video.codec} encoder, got ${encoder} (${profile.codec})` });
  if (choice.preset !== undefined && !profile.speedPresets.includes(String(choice.preset))) {
    issues.push({ file, path: `${base}.preset`, message: `expected one of ${profile.speedPresets.join(', ')} for ${encoder}, got ${JSON.stringify(choice.preset)}` });
  }
  const mode = preset.video.rateControl.mode;
  if (!profile.rateControlModes.includes(mode)) {
    issues.push({ file, path: 'video.rateControl.mode', message: `expected one of ${profile.rateControlModes.join(', ')} for ${encoder}, got ${mode}` });
  }
  const [lo, hi] = profile.crfRange;
  const crfs = [preset.video.rateControl.crf, ...preset.video.rungs.map((r) => r.crf)];
  crfs.forEach((c, i) => {
    if (c !== undefined && (c < lo || c > hi)) issues.push({ file, path: i === 0 ? 'video.rateControl.crf' : `video.rungs[${i - 1}].crf`, message: `expected ${lo}..${hi} for ${encoder}, got ${c}` });
  });
  for (const key of Object.keys(choice.options ?? {})) {
    const k = key.replace(/^-/, '');
    if (profile.ownedOptions.includes(k)) {
      issues.push({ file, path: `${base}.options.${key}`, message: `streamkit sets "${k}" itself (GOP from video.keyframeInterval, rate control from video.rateControl and rungs, maps and filters from the ladder); remove it` });
    } else if (!profile.allowedOptions.includes(k)) {
      issues.push({ file, path: `${base}.options.${key}`, message: `expected one of the options allowed for ${encoder}: ${profile.allowedOptions.join(', ')}` });
    }
  }
  if (issues.length > 0) throw new PresetError(issues);
}

function audioRenditions(media: MediaInfo, preset: Preset): AudioRendition[] {
  if (preset.audio === false) return [];
  const spec = preset.audio;
  const streams = spec.streams === 'first' ? media.audio.slice(0, 1) : media.audio;
  const names = new Map<string, number>();
  return streams.map((a, i) => {
    let name = a.title ?? (a.language ? a.language : streams.length > 1 ? `Audio ${i + 1}` : 'Main');
    const seen = names.get(name) ?? 0;
    names.set(name, seen + 1);
    if (seen > 0) name = `${name} ${seen + 1}`;
    return {
      sourceOrder: media.audio.indexOf(a),
      dir: `audio-${i + 1}`,
      name,
      language: a.language,
      channels: Math.min(a.channels, spec.channels),
      default: i === 0,
    };
  });
}

/** Everything short of running ffmpeg: find tools, load and check the preset, probe, ladder, argv. */
export async function planTranscode(options: PlanOptions, workDir?: string): Promise<PlannedTranscode> {
  const preset = typeof options.preset === 'string' ? await loadPreset(options.preset) : options.preset;
  const toolchain = options.toolchain ?? (await resolveToolchain(options));
  // ffprobe runs while the encoder is chosen (an NVENC trial encode is another process start); the
  // errors keep their order: preset and encoder problems are reported before input problems
  const probing = probeMedia(options.input, { ffprobe: toolchain.ffprobe.path, frameRate: options.frameRate, ...(options.signal ? { signal: options.signal } : {}) });
  probing.catch(() => undefined);
  const hardware = await selectHardware(toolchain.caps, preset.preset, options.hw ?? 'auto');
  if (!isEncoderName(hardware.encoder)) {
    throw new PresetError([{ file: preset.file, path: `video.encoder.${hardware.hardware}.name`, message: `expected one of the encoders streamkit knows: ${Object.keys(encoderProfiles).join(', ')}; got ${hardware.encoder}` }]);
  }
  checkPresetForEncoder(preset.preset, preset.file, hardware.hardware, hardware.encoder);
  const media = await probing;
  const ladder = buildLadder(preset.preset, media);
  const p = preset.preset;
  const choice = p.video.encoder[hardware.hardware]!;
  const output = resolve(options.output ?? defaultOutput(options.input, preset.name));
  const fps = toNumber(ladder.frameRate);
  const hlsSpec = p.packaging.hls;
  let hls: TranscodePlan['hls'] = null;
  if (hlsSpec) {
    const gopsPerSegment = Math.round(hlsSpec.segmentDuration / p.video.keyframeInterval);
    const segmentSeconds = (gopsPerSegment * ladder.gopFrames) / fps;
    // ffmpeg cuts at the first keyframe at or after n x hls_time (cumulative): flooring to whole
    // microseconds keeps every cut exactly on the n-th segment's first keyframe, however long the input
    hls = { container: hlsSpec.container ?? (p.video.codec === 'h264' ? 'ts' : 'fmp4'), hlsTime: Math.floor(segmentSeconds * 1e6) / 1e6, segmentSeconds };
  }
  const plan: TranscodePlan = {
    media,
    preset: p,
    presetName: preset.name,
    hardware: hardware.hardware,
    encoder: hardware.encoder,
    speed: choice.preset,
    tune: choice.tune,
    encoderOptions: Object.fromEntries(Object.entries(choice.options ?? {}).map(([k, v]) => [k.replace(/^-/, ''), v])),
    ladder,
    audio: p.audio === false ? null : p.audio,
    audioRenditions: audioRenditions(media, p),
    hls,
    workDir: workDir ?? output,
  };
  if (!plan.hls) {
    throw new StreamkitError('USAGE', `Preset ${preset.name} has no HLS packaging; transcode writes an HLS package.`, { hint: 'Add packaging.hls to the preset.' });
  }
  return { plan, argv: buildTranscodeArgs(plan), toolchain, preset, hardware, output };
}

export interface TranscodeOptions extends PlanOptions {
  force?: boolean | undefined;
  onEvent?: EventSink | undefined;
}

export interface TranscodeResult {
  output: string;
  master: string;
  package: HlsPackage;
  elapsedSeconds: number;
}

/** Transcode one input into an HLS package at `output`, atomically. */
export async function transcode(options: TranscodeOptions): Promise<TranscodeResult> {
  const started = performance.now();
  const emit = (e: TranscodeEvent): void => options.onEvent?.(e);
  const signal = options.signal;
  emit({ type: 'stage', stage: 'probe', status: 'start' });
  // every check (preset, ffmpeg, encoder, input) happens before anything is created on disk
  const planned = await planTranscode(options);
  const dest = await checkDestination(planned.output, options.force ?? false);
  const staging = await createStaging(dest);
  try {
    const plan: TranscodePlan = { ...planned.plan, workDir: staging.dir };
    const argv = buildTranscodeArgs(plan);
    const { toolchain } = planned;
    // ffmpeg's HLS muxer does not create folders
    for (const dir of [...plan.ladder.rungs.map((r) => rungDir(r.name)), ...plan.audioRenditions.map((a) => a.dir)]) await mkdir(join(plan.workDir, dir), { recursive: true });
    emit({ type: 'stage', stage: 'probe', status: 'done' });
    emit({
      type: 'start',
      input: options.input,
      output: dest,
      preset: planned.preset.name,
      hardware: planned.hardware.hardware,
      hardwareReason: planned.hardware.reason,
      encoder: planned.hardware.encoder,
      ladder: plan.ladder.rungs.map((r) => ({ name: r.name, width: r.width, height: r.height, bitrate: r.bitrate, maxrate: r.maxrate })),
      frameRate: formatRational(plan.ladder.frameRate),
      ffmpeg: { path: toolchain.ffmpeg.path, version: toolchain.caps.version.raw },
      notes: plan.ladder.notes,
    });
    for (const note of plan.ladder.notes) emit({ type: 'warning', message: note });
    emit({ type: 'stage', stage: 'encode', status: 'start' });
    const encodeStart = performance.now();
    const duration = plan.media.duration;
    await runFfmpeg(toolchain.ffmpeg.path, argv, {
      what: 'encoding the ladder',
      ...(signal ? { signal } : {}),
      onProgress: (s) =>
        emit({
          type: 'progress',
          percent: progressPercent(s, duration),
          outTimeSeconds: s.outTimeSeconds,
          durationSeconds: duration,
          fps: s.fps,
          speed: s.speed,
          etaSeconds: progressEta(s, duration),
          frame: s.frame,
          dupFrames: s.dupFrames,
          dropFrames: s.dropFrames,
        }),
    });
    const encodeSeconds = (performance.now() - encodeStart) / 1000;
    emit({ type: 'stage', stage: 'encode', status: 'done' });
    const postStart = performance.now();
    emit({ type: 'stage', stage: 'package', status: 'start' });
    const pkg = await packageHls(plan);
    emit({ type: 'stage', stage: 'package', status: 'done' });
    emit({ type: 'stage', stage: 'verify', status: 'start' });
    await decodeCheck(toolchain.ffmpeg.path, plan.workDir, await decodeCheckTargets(plan), signal);
    emit({ type: 'stage', stage: 'verify', status: 'done' });
    for (const r of pkg.rungs) emit({ type: 'rung', name: r.name, width: r.width, height: r.height, codecs: r.codecs, bandwidth: r.bandwidth, averageBandwidth: r.averageBandwidth, sizeBytes: r.sizeBytes, segments: r.segments });
    if (signal?.aborted) throw new StreamkitError('INTERRUPTED', 'Interrupted; nothing was written to the destination.');
    emit({ type: 'stage', stage: 'commit', status: 'start' });
    await staging.commit({ replace: options.force ?? false });
    emit({ type: 'stage', stage: 'commit', status: 'done' });
    const postEncodeSeconds = (performance.now() - postStart) / 1000;
    const elapsedSeconds = (performance.now() - started) / 1000;
    const master = resolve(dest, 'master.m3u8');
    const sizeBytes = pkg.rungs.reduce((a, r) => a + r.sizeBytes, 0) + pkg.audio.reduce((a, r) => a + r.sizeBytes, 0);
    emit({ type: 'done', output: dest, master, rungs: pkg.rungs, audio: pkg.audio, sizeBytes, elapsedSeconds, encodeSeconds, postEncodeSeconds });
    return { output: dest, master, package: { ...pkg, master }, elapsedSeconds };
  } catch (error) {
    await staging.discard();
    throw error;
  }
}
