import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCandidateEncodeArgs, buildSceneArgs, candidateExtension, displaySize, type CandidateEncode } from '../args/per-title.js';
import { checkedHardware } from '../encoder/preset-check.js';
import { encoderProfiles, type EncoderName } from '../encoder/profiles.js';
import { StreamkitError } from '../errors.js';
import type { TranscodeEvent } from '../events.js';
import { runFfmpeg } from '../ffmpeg/run.js';
import { toNumber } from '../media/rational.js';
import { canonicalJson, fingerprintInput, presetHash, sha256 } from '../package/manifest.js';
import { cacheDir, readCached, writeCached } from '../per-title/cache.js';
import { buildCurves, convexHull, type Candidate } from '../per-title/curves.js';
import { placeRungs, type Ceiling, type PlacedRung } from '../per-title/place.js';
import { pickSamples, sampledSeconds, WHOLE_TITLE_MAX_SECONDS, type Sample } from '../per-title/samples.js';
import type { TranscodePlan } from '../plan.js';
import { parsePresetObject, type ResolvedPreset } from '../preset/load.js';
import { asksForPerTitle, perTitleSchema, presetDocument, videoLadders, type PerTitleSpec, type Preset } from '../preset/schema.js';
import { chooseMetric, describeMetric, type Metric } from '../quality/metric.js';
import { scoreAgainstSource } from '../quality/score.js';
import { buildPlan } from './plan.js';
import type { Source } from './probe.js';

/**
 * Stage 2b, per-title ladders (docs/per-title.md): between probing and planning. Samples of the title
 * are encoded at every candidate resolution (the preset's rungs that fit the source) and quality
 * setting with the preset's own encoder, scored against the source at its display size, and the
 * rungs are placed on the rate-quality hull (per-title/place.ts). The result is a preset: the same
 * one with the per-title rungs (capped CRF), so every later stage runs as for any preset. The
 * analysis is cached by input fingerprint, preset and options (per-title/cache.ts).
 */

/** Bumped when the analysis changes what it would choose: older cache entries are then misses. */
const ANALYSIS_VERSION = 4;

/**
 * Candidate quality settings per encoder, on the encoder's own scale (crf, or NVENC's cq): three at
 * the top resolution, moved up by CRF_SHIFT per resolution below it. A rung low in the ladder is only
 * ever chosen for a low quality, where a lower resolution beats a higher one; a low crf there (the
 * most expensive encode of its resolution) would never make the hull. `perTitle.crf` replaces the
 * list, at every resolution alike.
 */
const DEFAULT_CRFS: Record<EncoderName, { crfs: number[]; shift: number }> = {
  libx264: { crfs: [20, 26, 32], shift: 2 },
  libx265: { crfs: [20, 26, 32], shift: 2 },
  h264_nvenc: { crfs: [20, 26, 32], shift: 2 },
  hevc_nvenc: { crfs: [20, 26, 32], shift: 2 },
  av1_nvenc: { crfs: [24, 32, 40], shift: 2 },
  libsvtav1: { crfs: [26, 36, 46], shift: 3 },
};

/** The candidate quality settings at the `index`-th resolution from the top. */
export function candidateCrfs(encoder: EncoderName, index: number, given: readonly number[] | undefined): number[] {
  const { crfs, shift } = DEFAULT_CRFS[encoder];
  const [lo, hi] = encoderProfiles[encoder].crfRange;
  const list = given ?? crfs.map((c) => c + index * shift);
  // on the encoder's scale, in its steps, each once
  const step = crfStep(encoder);
  return [...new Set(list.map((c) => Math.round(Math.round(Math.min(hi, Math.max(lo, c)) / step) * step * 10) / 10))].sort((a, b) => a - b);
}

/** SVT-AV1 takes whole numbers; the others a tenth. */
function crfStep(encoder: EncoderName): number {
  return encoder === 'libsvtav1' ? 1 : 0.1;
}

export interface PerTitleRequest {
  /** --per-title (true), --no-per-title (false), or the preset decides (undefined) */
  perTitle?: boolean | undefined;
  /** --vmaf PATH: libvmaf's `vmaf` tool */
  vmaf?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface PerTitleRung extends PlacedRung {
  /** the fixed ladder's bitrate at this resolution (the ceiling) */
  fixedBitrate: number;
  /** quality measured on the samples after the encode (pipeline/per-title-check.ts); null until then */
  measured: number | null;
  /** bits/s of the rung's segments over the whole title, after the encode; null until then (or without HLS) */
  measuredBitrate: number | null;
}

/** What the analysis found and chose: streamkit.json's `perTitle`, the `per-title` event, --dry-run. */
export interface PerTitleReport {
  metric: Metric;
  /** in words, with the model */
  metricName: string;
  spec: PerTitleSpec;
  samples: Sample[];
  sceneCuts: number;
  candidates: Candidate[];
  /** the upper convex hull of the candidates (log bitrate, quality) */
  hull: Candidate[];
  rungs: PerTitleRung[];
  /** the fixed ladder, for comparison */
  fixed: { name: string; width: number; height: number; bitrate: number }[];
  notes: string[];
  /** true when the analysis came from the cache */
  cached: boolean;
  cacheKey: string;
  /** wall seconds of the analysis when it ran (the cached run's, when cached) */
  analysisSeconds: number;
  /** CPU seconds (user + system) of the analysis' processes, when it ran */
  analysisCpuSeconds: number | null;
}

/** The per-title options in force for this job, or null for the fixed ladder. */
export function perTitleSpecFor(preset: Preset, request: Pick<PerTitleRequest, 'perTitle'>): PerTitleSpec | null {
  if (request.perTitle === false || (request.perTitle !== true && !asksForPerTitle(preset))) return null;
  const key = preset.video.perTitle;
  return typeof key === 'object' ? key : perTitleSchema.parse({});
}

function refuse(message: string, hint: string): StreamkitError {
  return new StreamkitError('FEATURE_UNAVAILABLE', message, { hint });
}

/** Emits `analysis` progress events, 0..100 over the phases. */
function progress(emit: (e: TranscodeEvent) => void, weights: { scenes: number; candidates: number; scores: number }) {
  const total = weights.scenes + weights.candidates + weights.scores;
  let lastSent = -1;
  return (phase: 'scenes' | 'candidates' | 'scores', fraction: number): void => {
    const before = phase === 'scenes' ? 0 : phase === 'candidates' ? weights.scenes : weights.scenes + weights.candidates;
    const percent = Math.min(100, (100 * (before + weights[phase] * Math.min(1, Math.max(0, fraction)))) / total);
    if (Math.floor(percent) === lastSent && fraction < 1) return;
    lastSent = Math.floor(percent);
    emit({ type: 'analysis', phase, percent: Math.round(percent * 10) / 10 });
  };
}

/**
 * CPU seconds (user + system) of this process' finished children so far: /proc/self/stat's cutime
 * and cstime (Linux; clock ticks, 100 a second). Null elsewhere.
 */
async function childCpuSeconds(): Promise<number | null> {
  try {
    const stat = await readFile('/proc/self/stat', 'utf8');
    // fields after the command name (which may hold spaces) start at field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/**
 * Scene cut times from scdet's metadata print file: seconds from the input's start (ffmpeg moves the
 * input's first timestamp to zero before the filters), as the samples' `-ss` counts them.
 */
export function parseSceneCuts(text: string): number[] {
  return [...text.matchAll(/pts_time:([0-9.]+)/g)].map((m) => Number(m[1])).filter((t) => Number.isFinite(t) && t > 0.5);
}

export interface Analysed {
  /** the source with the per-title preset in place of the preset */
  source: Source;
  report: PerTitleReport;
}

/**
 * Run (or read from the cache) the analysis for this source; null when the job uses the fixed ladder.
 * Refused clearly where it cannot work: several video ladders, a live preset, video.hdr both, an
 * unknown duration.
 */
export async function analysePerTitle(source: Source, request: PerTitleRequest, emit: (e: TranscodeEvent) => void): Promise<Analysed | null> {
  const preset = source.preset.preset;
  const spec = perTitleSpecFor(preset, request);
  if (!spec) return null;
  if (videoLadders(preset).length > 1) {
    throw refuse('Per-title ladders need a preset with one video ladder; this one has several.', 'Run one single-codec preset per codec with --per-title, or drop --per-title.');
  }
  if (preset.live) throw refuse('Per-title ladders are for files, not live presets.', 'Drop --per-title, or use a VOD preset.');
  if (preset.video.hdr === 'both') throw refuse('Per-title ladders do not support video.hdr: both yet.', 'Use hdr: keep or hdr: sdr with --per-title.');
  const duration = source.media.duration;
  if (duration === null || !(duration > 0)) {
    throw refuse(
      `Per-title analysis needs the title's duration; ffprobe found none in ${source.media.input}.`,
      'Remux the input into a container (e.g. `ffmpeg -i in.h264 -c copy in.mp4`) first.',
    );
  }
  const started = performance.now();
  const fixedPlan = buildPlan({ preset: source.preset, media: source.media, caps: source.toolchain.caps, hardware: source.hardware, cpus: availableParallelism() });
  // one ceiling per resolution (two fixed rungs of one height: the richer one), with how the fixed ladder encodes it
  const mode = preset.video.rateControl.mode;
  const ceilings: Ceiling[] = [];
  for (const r of [...fixedPlan.ladder.rungs].sort((a, b) => b.bitrate - a.bitrate)) {
    if (ceilings.some((c) => c.height === r.height)) continue;
    ceilings.push({ width: r.width, height: r.height, bitrate: r.bitrate, maxrate: r.maxrate, bufsize: r.bufsize, mode: r.mode ?? mode, crf: r.crf ?? null });
  }
  ceilings.sort((a, b) => b.height - a.height);
  const fixed = fixedPlan.ladder.rungs.map((r) => ({ name: r.name, width: r.width, height: r.height, bitrate: r.bitrate }));
  const encoder = source.hardware.encoder;
  const crfs = spec.crf ? [...spec.crf].sort((a, b) => a - b) : null;
  const metricChoice = await chooseMetric(source.toolchain.caps, displaySize(fixedPlan), { vmaf: request.vmaf, signal: request.signal });
  const fingerprint = await fingerprintInput(source.media.input);
  const cacheKey = sha256(
    canonicalJson({
      v: ANALYSIS_VERSION,
      input: fingerprint,
      preset: presetHash(presetDocument(preset)),
      spec,
      crfs: ceilings.map((_, i) => candidateCrfs(encoder, i, spec.crf)),
      metric: { via: metricChoice.metric.via, model: 'model' in metricChoice.metric ? metricChoice.metric.model : null },
      encoder,
      ffmpeg: source.toolchain.caps.version.raw,
      frameRate: source.media.video.frameRate,
    }),
  );
  const dir = cacheDir();
  const cached = await readCached<PerTitleReport>(dir, cacheKey, ANALYSIS_VERSION);
  let report: PerTitleReport;
  if (cached) {
    // the analysis is reused; the tool that scores the check after the encode is this run's (a vmaf tool may have moved)
    report = { ...cached, cached: true, metric: metricChoice.metric, metricName: describeMetric(metricChoice.metric) };
    emit({ type: 'analysis', phase: 'scores', percent: 100 });
  } else {
    report = await runAnalysis(source, fixedPlan, { spec, crfs, ceilings, fixed, metricChoice, encoder, cacheKey, duration, started, emit, signal: request.signal });
    await writeCached(dir, cacheKey, ANALYSIS_VERSION, report);
  }
  const derived = perTitlePreset(source.preset, report.rungs, ceilings);
  const hardware = checkedHardware(derived, source.hardware);
  return { source: { ...source, preset: derived, hardware }, report };
}

async function runAnalysis(
  source: Source,
  plan: TranscodePlan,
  o: {
    spec: PerTitleSpec;
    crfs: number[] | null;
    ceilings: Ceiling[];
    fixed: PerTitleReport['fixed'];
    metricChoice: Awaited<ReturnType<typeof chooseMetric>>;
    encoder: EncoderName;
    cacheKey: string;
    duration: number;
    started: number;
    emit: (e: TranscodeEvent) => void;
    signal: AbortSignal | undefined;
  },
): Promise<PerTitleReport> {
  const ffmpeg = source.toolchain.ffmpeg.path;
  const work = await mkdtemp(join(tmpdir(), 'streamkit-per-title-'));
  const cpuBefore = await childCpuSeconds();
  const needScenes = o.duration > WHOLE_TITLE_MAX_SECONDS;
  const tell = progress(o.emit, { scenes: needScenes ? 1 : 0, candidates: 4, scores: 3 });
  try {
    let cuts: number[] = [];
    if (needScenes) {
      tell('scenes', 0);
      await runFfmpeg(ffmpeg, buildSceneArgs(plan, 'scenes.txt'), {
        cwd: work,
        what: 'finding scene cuts for the per-title samples',
        ...(o.signal ? { signal: o.signal } : {}),
        onProgress: (p) => {
          if (p.outTimeSeconds !== null) tell('scenes', p.outTimeSeconds / o.duration);
        },
      });
      // cuts in input time; samples count from the video's first frame (args/per-title.ts sampleInputs)
      const videoStart = plan.timeline.videoStart;
      cuts = parseSceneCuts(await readFile(join(work, 'scenes.txt'), 'utf8').catch(() => ''))
        .map((t) => t - videoStart)
        .filter((t) => t > 0);
      tell('scenes', 1);
    }
    // from the video's first frame to the end (samples count from there)
    // on the ladder's frame grid: a sample starts on a frame, in the source and in every rendition
    const fps = toNumber(plan.ladder.frameRate);
    const samples = pickSamples(Math.max(0.04, o.duration - plan.timeline.videoStart), plan.ladder.keyframeInterval, cuts).map((s) => ({
      start: Math.round(Math.round(s.start * fps) * (1e6 / fps)) / 1e6,
      duration: s.duration,
    }));
    const seconds = sampledSeconds(samples);
    const ext = candidateExtension(encoderProfiles[o.encoder].codec);
    const encodes: CandidateEncode[] = o.ceilings.flatMap((c, i) =>
      candidateCrfs(o.encoder, i, o.crfs ?? undefined).map((crf) => ({
        width: c.width,
        height: c.height,
        crf,
        maxrate: c.maxrate,
        bufsize: c.bufsize,
        file: `cand-${i}-${crf}.${ext}`,
      })),
    );
    tell('candidates', 0);
    await runFfmpeg(ffmpeg, buildCandidateEncodeArgs(plan, samples, encodes), {
      cwd: work,
      what: `encoding ${encodes.length} per-title candidates`,
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (p) => {
        if (p.outTimeSeconds !== null) tell('candidates', p.outTimeSeconds / seconds);
      },
    });
    const sizes: number[] = [];
    for (const e of encodes) {
      const size = await stat(join(work, e.file)).then(
        (s) => s.size,
        () => 0,
      );
      if (size === 0) {
        throw new StreamkitError('FFMPEG_FAILED', `The per-title candidate ${e.file} is missing or empty, although ffmpeg exited normally.`, {
          hint: 'This looks like a bug in streamkit; run again with --verbose and report it.',
        });
      }
      sizes.push(size);
    }
    const qualities = await scoreAgainstSource(
      {
        ffmpeg,
        workDir: work,
        signal: o.signal,
        threads: availableParallelism(),
        subsample: vmafSubsample(plan),
        onProgress: (f) => tell('scores', f),
      },
      o.metricChoice.metric,
      plan,
      samples,
      encodes.map((e) => ({ raw: join(work, e.file) })),
    );
    const candidates: Candidate[] = encodes.map((e, i) => ({
      width: e.width,
      height: e.height,
      crf: e.crf,
      bitrate: Math.round((sizes[i]! * 8) / seconds),
      quality: Math.round(qualities[i]! * 100) / 100,
    }));
    const curves = buildCurves(candidates);
    const profile = encoderProfiles[o.encoder];
    const rc = plan.preset.video.rateControl;
    const placement = placeRungs({ curves, ceilings: o.ceilings, spec: o.spec, crfStep: crfStep(o.encoder), crfRange: profile.crfRange, bufsizeRatio: rc.bufsizeRatio });
    if (placement.rungs.length === 0)
      throw new StreamkitError('VERIFY_FAILED', 'The per-title analysis placed no rung: no candidate could be measured.', { hint: 'Run with --verbose and report it.' });
    const hdr = plan.colour && plan.colour.range !== 'SDR' ? plan.colour.range : null;
    const notes = [
      ...(o.metricChoice.note ? [o.metricChoice.note] : []),
      // VMAF's models are trained on SDR: an HDR ladder's scores are of its PQ/HLG signal read as SDR
      ...(hdr
        ? [
            `the rungs stay ${hdr}; their scores are taken on the ${hdr} signal as 8-bit SDR pictures (VMAF has no HDR model), so the qualities are relative, not what an HDR display shows`,
          ]
        : []),
      ...placement.notes,
    ];
    const rungs = placement.rungs.map((r) => ({ ...r, fixedBitrate: o.ceilings.find((c) => c.height === r.height)!.bitrate, measured: null, measuredBitrate: null }));
    return {
      metric: o.metricChoice.metric,
      metricName: describeMetric(o.metricChoice.metric),
      spec: o.spec,
      samples,
      sceneCuts: cuts.length,
      candidates,
      hull: convexHull(curves),
      rungs,
      fixed: o.fixed,
      notes,
      cached: false,
      cacheKey: o.cacheKey,
      analysisSeconds: Math.round((performance.now() - o.started) / 100) / 10,
      analysisCpuSeconds: await childCpuSeconds().then((after) => (after === null || cpuBefore === null ? null : Math.round((after - cpuBefore) * 10) / 10)),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** How a rung held at its ceiling is encoded: the fixed ladder's mode for that resolution (and its crf). */
function heldAs(c: Ceiling | undefined): Record<string, unknown> {
  const mode = c?.mode ?? 'vbr';
  return { mode, ...(mode === 'crf' && c?.crf !== null && c?.crf !== undefined ? { crf: c.crf } : {}) };
}

/** Score about 3 frames a second (every 8th at 24-25 fps): measured here, every 8th frame moved the pooled mean by under 0.1 against every frame, at a third of the cost. */
export function vmafSubsample(plan: Pick<TranscodePlan, 'ladder'>): number {
  const fps = toNumber(plan.ladder.frameRate);
  return Math.max(1, Math.round(fps / 3));
}

/**
 * The preset with the per-title rungs: capped CRF, each rung's crf, bitrate (predicted), maxrate and
 * bufsize; a rung held at its ceiling as the fixed ladder encodes that resolution (its mode, and its
 * crf in a crf ladder).
 */
export function perTitlePreset(resolved: ResolvedPreset, rungs: readonly PlacedRung[], ceilings: readonly Ceiling[]): ResolvedPreset {
  const doc = presetDocument(resolved.preset) as Record<string, unknown> & { video: Record<string, unknown> };
  const video = doc.video;
  const rc = video['rateControl'] as Record<string, unknown>;
  const { perTitle: _, ...rest } = video;
  const derived = {
    ...doc,
    video: {
      ...rest,
      rateControl: { mode: 'crf', maxrateRatio: rc['maxrateRatio'], bufsizeRatio: rc['bufsizeRatio'] },
      // a rung held at its ceiling: the fixed rung's VBR settings (place.ts)
      rungs: rungs.map((r) => ({
        name: r.name,
        height: Math.min(r.width, r.height),
        bitrate: r.bitrate,
        maxrate: r.maxrate,
        bufsize: r.bufsize,
        ...(r.crf !== null ? { crf: r.crf } : heldAs(ceilings.find((c) => c.height === r.height))),
      })),
    },
  };
  return { ...resolved, preset: parsePresetObject(derived, `${resolved.file} (per-title)`) };
}
