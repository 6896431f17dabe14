import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { encoderProfiles, encoderTunes, isEncoderName, type EncoderName } from './encoder/profiles.js';
import { chooseNvencPipeline, retrialNvenc } from './encoder/nvenc-pipeline.js';
import { nvencUnavailable, selectHardware, type HardwareChoice, type HardwareRequest } from './encoder/select.js';
import { FfmpegError, PresetError, StreamkitError } from './errors.js';
import type { EventSink, TranscodeEvent } from './events.js';
import { fpsModeOption, probeCapabilities, type Capabilities } from './ffmpeg/capabilities.js';
import { buildTranscodeArgs, scaleThreadsFor } from './ffmpeg/command.js';
import { locateFfmpeg, locateFfprobe, type LocatedBinary } from './ffmpeg/locate.js';
import { progressEta, progressPercent } from './ffmpeg/progress.js';
import { ffmpegCommandPrefix, runFfmpeg } from './ffmpeg/run.js';
import { languageName, languageTag } from './media/language.js';
import { buildLadder } from './media/ladder.js';
import { probeMedia, type MediaInfo } from './media/probe.js';
import { formatRational, toNumber } from './media/rational.js';
import { checkDestination, createStaging } from './package/atomic.js';
import { hlsRenditions, packageHls, type HlsPackage } from './package/hls.js';
import type { SegmentFactsCache } from './package/segment-facts.js';
import { watchSegments, type SegmentWatcher } from './package/segment-watcher.js';
import { requireFileMuxers, requireFlvSupport, selectFileTargets, verifyFiles, type WrittenFile } from './package/progressive.js';
import { checkNotTruncated, decodeCheck } from './package/verify.js';
import { fingerprintInput, jobKey, presetHash, writeManifest } from './package/manifest.js';
import { streamkitVersion } from './version.js';
import { rungDir, timelineFor, type AudioRendition, type TranscodePlan } from './plan.js';
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
  if (choice.tune !== undefined && !encoderTunes[encoder].includes(choice.tune)) {
    issues.push({ file, path: `${base}.tune`, message: `expected one of ${encoderTunes[encoder].join(', ')} for ${encoder}, got ${JSON.stringify(choice.tune)}` });
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

/**
 * Every encoder-dependent check for every encoder the preset names (cpu and nvenc), without ffmpeg:
 * what `presets validate` runs. Unknown encoder names are reported too.
 */
export function checkPresetEncoders(preset: Preset, file: string): void {
  const issues: { file: string; path: string; message: string }[] = [];
  for (const hardware of ['cpu', 'nvenc'] as const) {
    const choice = preset.video.encoder[hardware];
    if (!choice) continue;
    if (!isEncoderName(choice.name)) {
      issues.push({ file, path: `video.encoder.${hardware}.name`, message: `expected one of the encoders streamkit knows: ${Object.keys(encoderProfiles).join(', ')}; got ${choice.name}` });
      continue;
    }
    if (encoderProfiles[choice.name].hardware !== hardware) {
      issues.push({ file, path: `video.encoder.${hardware}.name`, message: `expected a ${hardware} encoder, got ${choice.name} (${encoderProfiles[choice.name].hardware})` });
      continue;
    }
    try {
      checkPresetForEncoder(preset, file, hardware, choice.name);
    } catch (error) {
      if (error instanceof PresetError) issues.push(...error.issues);
      else throw error;
    }
  }
  if (issues.length > 0) throw new PresetError(issues, { hint: 'Fix the preset file; `streamkit presets validate FILE` checks one without encoding.' });
}

function audioRenditions(media: MediaInfo, preset: Preset): AudioRendition[] {
  if (preset.audio === false) return [];
  const spec = preset.audio;
  const streams = spec.streams === 'first' ? media.audio.slice(0, 1) : media.audio;
  const names = new Map<string, number>();
  return streams.map((a, i) => {
    const language = languageTag(a.language);
    let name = a.title ?? (language ? languageName(language) : streams.length > 1 ? `Audio ${i + 1}` : 'Main');
    const seen = names.get(name) ?? 0;
    names.set(name, seen + 1);
    if (seen > 0) name = `${name} ${seen + 1}`;
    return {
      sourceOrder: media.audio.indexOf(a),
      dir: `audio-${i + 1}`,
      name,
      language,
      channels: Math.min(a.channels, spec.channels),
      default: i === 0,
    };
  });
}

function encoderFields(p: Preset, hardware: HardwareChoice & { encoder: EncoderName }): Pick<TranscodePlan, 'hardware' | 'encoder' | 'speed' | 'tune' | 'encoderOptions'> {
  const choice = p.video.encoder[hardware.hardware]!;
  return {
    hardware: hardware.hardware,
    encoder: hardware.encoder,
    speed: choice.preset,
    tune: choice.tune,
    encoderOptions: Object.fromEntries(Object.entries(choice.options ?? {}).map(([k, v]) => [k.replace(/^-/, ''), v])),
  };
}

function knownEncoder(preset: ResolvedPreset, hardware: HardwareChoice): HardwareChoice & { encoder: EncoderName } {
  if (!isEncoderName(hardware.encoder)) {
    throw new PresetError([{ file: preset.file, path: `video.encoder.${hardware.hardware}.name`, message: `expected one of the encoders streamkit knows: ${Object.keys(encoderProfiles).join(', ')}; got ${hardware.encoder}` }]);
  }
  return hardware as HardwareChoice & { encoder: EncoderName };
}

/** `--hw auto` after NVENC turned out unusable for this job: the same plan on the CPU encoder. */
async function cpuInstead(caps: Capabilities, preset: ResolvedPreset, plan: TranscodePlan, why: string): Promise<{ plan: TranscodePlan; hardware: HardwareChoice }> {
  if (!preset.preset.video.encoder.cpu) {
    throw new StreamkitError('FEATURE_UNAVAILABLE', `No usable encoder: NVENC does not work here (${why}), and the preset names no CPU encoder.`, { hint: 'Add video.encoder.cpu to the preset.' });
  }
  const cpu = knownEncoder(preset, await selectHardware(caps, preset.preset, 'cpu'));
  checkPresetForEncoder(preset.preset, preset.file, 'cpu', cpu.encoder);
  const { nvenc: _dropped, ...rest } = plan;
  const hardware = { ...cpu, reason: `auto: CPU (${why})` };
  return { plan: { ...rest, ...encoderFields(preset.preset, hardware) }, hardware };
}

/** Everything short of running ffmpeg: find tools, load and check the preset, probe, ladder, argv. */
export async function planTranscode(options: PlanOptions, workDir?: string): Promise<PlannedTranscode> {
  const preset = typeof options.preset === 'string' ? await loadPreset(options.preset) : options.preset;
  const toolchain = options.toolchain ?? (await resolveToolchain(options));
  const request = options.hw ?? 'auto';
  // ffprobe runs while the encoder is chosen (an NVENC trial encode is another process start); the
  // errors keep their order: preset and encoder problems are reported before input problems
  const probing = probeMedia(options.input, { ffprobe: toolchain.ffprobe.path, frameRate: options.frameRate, ...(options.signal ? { signal: options.signal } : {}) });
  probing.catch(() => undefined);
  let hardware: HardwareChoice = knownEncoder(preset, await selectHardware(toolchain.caps, preset.preset, request));
  checkPresetForEncoder(preset.preset, preset.file, hardware.hardware, hardware.encoder as EncoderName);
  const media = await probing;
  const ladder = buildLadder(preset.preset, media);
  const p = preset.preset;
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
  const renditions = audioRenditions(media, p);
  const { files, notes: fileNotes } = selectFileTargets(p, ladder, p.audio === false ? [] : renditions);
  if (files.some((f) => f.kind === 'flv')) requireFlvSupport(toolchain.caps, p.video.codec, 'FLV files');
  requireFileMuxers(toolchain.caps, files);
  ladder.notes.push(...fileNotes);
  let plan: TranscodePlan = {
    media,
    preset: p,
    presetName: preset.name,
    ...encoderFields(p, knownEncoder(preset, hardware)),
    ladder,
    audio: p.audio === false ? null : p.audio,
    audioRenditions: renditions,
    hls,
    timeline: timelineFor(fps, renditions.length > 0 && p.audio !== false, media),
    fpsModeOption: fpsModeOption(toolchain.caps),
    files,
    workDir: workDir ?? output,
    scaleThreads: scaleThreadsFor(toolchain.caps, availableParallelism()),
  };
  if (plan.hardware === 'nvenc') {
    // NVENC works (one-frame trial): now the preset's settings and this input, for real, all rungs at once
    const chosen = await chooseNvencPipeline(toolchain.caps, plan, { signal: options.signal });
    if (chosen.ok) {
      plan = { ...plan, nvenc: chosen.pipeline };
      hardware = { ...hardware, reason: `${hardware.reason}; ${chosen.pipeline.reason}` };
    } else if (request === 'nvenc') {
      throw nvencUnavailable(plan.encoder, chosen.summary, chosen.failure, { tried: chosen.tried });
    } else {
      ({ plan, hardware } = await cpuInstead(toolchain.caps, preset, plan, chosen.summary));
    }
  }
  return { plan, argv: buildTranscodeArgs(plan), toolchain, preset, hardware, output };
}

/** The options that change what a job produces (part of the manifest's job key). */
export function jobOptions(options: Pick<PlanOptions, 'frameRate' | 'hw'>): Record<string, unknown> {
  return { frameRate: options.frameRate ?? null, hw: options.hw ?? 'auto' };
}

/**
 * A failed encode is retried on the CPU only under `--hw auto`, only when NVENC was encoding, only
 * when ffmpeg failed before a single frame was encoded (sessions taken by another process between
 * the trial and the encode, say), never after an interruption. The caller then asks a fresh trial:
 * if NVENC works again, the failure was something else and is reported as it is.
 */
export function mayRetryOnCpu(x: { request: HardwareRequest; hardware: 'cpu' | 'nvenc'; error: unknown; framesEncoded: number | null; aborted: boolean }): boolean {
  return x.request === 'auto' && x.hardware === 'nvenc' && x.error instanceof FfmpegError && (x.framesEncoded ?? 0) === 0 && !x.aborted;
}

const MAX_FFMPEG_WARNINGS = 5;

export interface TranscodeOptions extends PlanOptions {
  force?: boolean | undefined;
  onEvent?: EventSink | undefined;
}

export interface TranscodeResult {
  output: string;
  /** master playlist; null when the preset has no HLS target */
  master: string | null;
  package: HlsPackage | null;
  /** progressive MP4/FLV files, paths relative to `output` */
  files: WrittenFile[];
  elapsedSeconds: number;
}

/** Transcode one input into a package at `output` (HLS, MP4, FLV: whatever the preset's packaging asks for), atomically. */
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
    let plan: TranscodePlan = { ...planned.plan, workDir: staging.dir };
    const { toolchain } = planned;
    const argv = buildTranscodeArgs(plan);
    // ffmpeg's HLS, MP4 and FLV muxers do not create folders
    const outputDirs: string[] = [...new Set(plan.files.map((f) => f.kind))];
    if (plan.hls) outputDirs.push(...plan.ladder.rungs.map((r) => rungDir(r.name)), ...plan.audioRenditions.map((a) => a.dir));
    for (const dir of outputDirs) await mkdir(join(plan.workDir, dir), { recursive: true });
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
      ...(plan.nvenc ? { gpuPipeline: { mode: plan.nvenc.mode, scaler: plan.nvenc.scaler, bFrameRefs: plan.nvenc.bFrameRefs, reason: plan.nvenc.reason } } : {}),
      targets: { hls: plan.hls !== null, files: plan.files.map((f) => f.path) },
      command: [toolchain.ffmpeg.path, ...ffmpegCommandPrefix, ...argv],
    });
    for (const note of plan.ladder.notes) emit({ type: 'warning', message: note });
    emit({ type: 'stage', stage: 'encode', status: 'start' });
    const encodeStart = performance.now();
    const duration = plan.media.duration;
    // ffmpeg's own warnings (damaged input, encoder complaints) are shown, not interpreted; a few
    // are enough to see what is going on
    let warnings = 0;
    let framesEncoded: number | null = null;
    const encode = (args: string[]): ReturnType<typeof runFfmpeg> => {
      framesEncoded = null;
      return runFfmpeg(toolchain.ffmpeg.path, args, {
        what: 'encoding the ladder',
        // the argv's output paths are relative to the staging folder (see ffmpeg/command.ts hlsMuxer)
        cwd: plan.workDir,
        ...(signal ? { signal } : {}),
        onStderrLine: (line) => {
          warnings++;
          if (warnings <= MAX_FFMPEG_WARNINGS) emit({ type: 'warning', source: 'ffmpeg', message: line.trim() });
        },
        onProgress: (s) => {
          framesEncoded = s.frame ?? framesEncoded;
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
          });
        },
      });
    };
    // finished segments are measured and hashed while ffmpeg encodes the rest (segment-watcher.ts)
    const facts: SegmentFactsCache = new Map();
    const watch = (): SegmentWatcher | null => (plan.hls ? watchSegments(plan.workDir, hlsRenditions(plan), facts) : null);
    let watcher = watch();
    let encoded: Awaited<ReturnType<typeof runFfmpeg>>;
    try {
      try {
        encoded = await encode(argv);
      } catch (error) {
        if (!mayRetryOnCpu({ request: options.hw ?? 'auto', hardware: plan.hardware, error, framesEncoded, aborted: signal?.aborted ?? false })) throw error;
        const again = await retrialNvenc(toolchain.caps, plan, signal);
        if (again.ok) throw error;
        const why = `NVENC failed at the start of the encode, and a new trial failed too: ${again.summary}`;
        const cpu = await cpuInstead(toolchain.caps, planned.preset, plan, why);
        plan = cpu.plan;
        emit({ type: 'warning', message: `${why}; encoding on the CPU instead.` });
        emit({ type: 'fallback', from: 'nvenc', hardware: 'cpu', encoder: cpu.hardware.encoder, hardwareReason: cpu.hardware.reason });
        await watcher?.stop();
        facts.clear();
        for (const dir of outputDirs) {
          await rm(join(plan.workDir, dir), { recursive: true, force: true });
          await mkdir(join(plan.workDir, dir), { recursive: true });
        }
        watcher = watch();
        encoded = await encode(buildTranscodeArgs(plan));
      }
    } finally {
      await watcher?.stop();
    }
    if (warnings > MAX_FFMPEG_WARNINGS) emit({ type: 'warning', source: 'ffmpeg', message: `(${warnings - MAX_FFMPEG_WARNINGS} more warning lines not shown)` });
    // the container's duration covers every stream: compare only when every stream that could make
    // it longer was encoded too (video, and all audio)
    const allAudio = plan.audioRenditions.length === plan.media.audio.length;
    checkNotTruncated(options.input, allAudio ? duration : null, encoded.last?.outTimeSeconds ?? null, 'encoded');
    const encodeSeconds = (performance.now() - encodeStart) / 1000;
    emit({ type: 'stage', stage: 'encode', status: 'done' });
    const postStart = performance.now();
    emit({ type: 'stage', stage: 'package', status: 'start' });
    const pkg = plan.hls ? await packageHls(plan, facts) : null;
    if (pkg) checkNotTruncated(options.input, plan.media.video.duration, pkg.duration, 'packaged');
    emit({ type: 'stage', stage: 'package', status: 'done' });
    emit({ type: 'stage', stage: 'verify', status: 'start' });
    if (pkg) await decodeCheck(toolchain.ffmpeg.path, plan.workDir, pkg.decodePieces, signal);
    const files = await verifyFiles({ ffmpeg: toolchain.ffmpeg.path, ffprobe: toolchain.ffprobe.path }, plan.workDir, plan.files, {
      codec: plan.preset.video.codec,
      sizes: new Map(plan.ladder.rungs.map((r) => [r.name, { width: r.width, height: r.height }])),
      durationSeconds: plan.media.duration,
    }, signal);
    emit({ type: 'stage', stage: 'verify', status: 'done' });
    for (const f of files) emit({ type: 'file', ...f });
    for (const r of pkg?.rungs ?? []) emit({ type: 'rung', name: r.name, width: r.width, height: r.height, codecs: r.codecs, bandwidth: r.bandwidth, averageBandwidth: r.averageBandwidth, sizeBytes: r.sizeBytes, segments: r.segments });
    if (signal?.aborted) throw new StreamkitError('INTERRUPTED', 'Interrupted; nothing was written to the destination.');
    const presetHashValue = presetHash(plan.preset);
    const fingerprint = await fingerprintInput(options.input);
    await writeManifest(plan.workDir, {
      streamkitVersion: streamkitVersion(),
      jobKey: jobKey(fingerprint, presetHashValue, jobOptions(options)),
      input: fingerprint,
      preset: { name: planned.preset.name, hash: presetHashValue, resolved: plan.preset },
      options: jobOptions(options),
      ffmpeg: { path: toolchain.ffmpeg.path, version: toolchain.caps.version.raw },
      hardware: plan.hardware,
      encoder: plan.encoder,
      ...(pkg ? { avSync: pkg.sync } : {}),
    }, facts);
    emit({ type: 'stage', stage: 'commit', status: 'start' });
    await staging.commit({ replace: options.force ?? false });
    emit({ type: 'stage', stage: 'commit', status: 'done' });
    const postEncodeSeconds = (performance.now() - postStart) / 1000;
    const elapsedSeconds = (performance.now() - started) / 1000;
    const master = pkg ? resolve(dest, 'master.m3u8') : null;
    const sizeBytes = (pkg?.rungs ?? []).reduce((a, r) => a + r.sizeBytes, 0) + (pkg?.audio ?? []).reduce((a, r) => a + r.sizeBytes, 0) + files.reduce((a, f) => a + f.sizeBytes, 0);
    emit({ type: 'done', output: dest, master, rungs: pkg?.rungs ?? [], audio: pkg?.audio ?? [], files, avSync: pkg?.sync ?? null, sizeBytes, elapsedSeconds, encodeSeconds, postEncodeSeconds });
    return { output: dest, master, package: pkg && master ? { ...pkg, master } : null, files, elapsedSeconds };
  } catch (error) {
    await staging.discard();
    throw error;
  }
}
