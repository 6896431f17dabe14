import type { CheckedHardware } from '../encoder/preset-check.js';
import { fpsModeOption, type Capabilities } from '../ffmpeg/capabilities.js';
import { scaleThreadsFor } from '../args/command.js';
import { planColour } from '../media/colour.js';
import { deinterlacedRate, planDeinterlace } from '../media/interlace.js';
import { buildLadder } from '../media/ladder.js';
import { languageName, languageTag } from '../media/language.js';
import type { MediaInfo } from '../media/probe.js';
import { planSubtitles, type SidecarSubtitle } from '../media/subtitles.js';
import { toNumber } from '../media/rational.js';
import { requireFileMuxers, requireFlvSupport, selectFileTargets } from '../package/progressive.js';
import { planThumbnails } from '../package/thumbnails.js';
import { timelineFor, type AudioRendition, type NvencPipeline, type TranscodePlan } from '../plan.js';
import type { ResolvedPreset } from '../preset/load.js';
import type { Preset } from '../preset/schema.js';

/** What a plan is made of: nothing else, and nothing is read or run while making it. */
export interface PlanInput {
  preset: ResolvedPreset;
  media: MediaInfo;
  caps: Capabilities;
  hardware: CheckedHardware;
  /** where decoding and scaling happen when hardware is nvenc (pipeline/nvenc-trial.ts) */
  nvenc?: NvencPipeline | undefined;
  /** cores on this machine (scaler threads) */
  cpus: number;
  /** sidecar subtitle files (--subtitles), checked */
  sidecars?: readonly SidecarSubtitle[] | undefined;
}

/** One audio rendition per source audio stream the preset takes, named from its title or language. */
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
    return { sourceOrder: media.audio.indexOf(a), dir: `audio-${i + 1}`, name, language, channels: Math.min(a.channels, spec.channels), default: i === 0 };
  });
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Stage 3: the plan, a pure value built once from the preset, the probed source, the ffmpeg's
 * capabilities and the hardware choice. Everything later (argv, packaging, checks) reads it; nothing
 * changes it. Throws when the preset asks for an output this ffmpeg cannot write.
 */
export function buildPlan(input: PlanInput): TranscodePlan {
  const { preset: resolved, media, caps, hardware } = input;
  const p = resolved.preset;
  const deint = planDeinterlace(media.video.interlace, p.video.deinterlace);
  // one frame per field doubles the rate the ladder is fitted to (the cap still applies)
  const ladder = buildLadder(p, deint.plan?.rate === 'field' ? { ...media, video: { ...media.video, frameRate: deinterlacedRate(media.video.frameRate, deint.plan) } } : media);
  const fps = toNumber(ladder.frameRate);
  let hls: TranscodePlan['hls'] = null;
  if (p.packaging.hls) {
    const gopsPerSegment = Math.round(p.packaging.hls.segmentDuration / p.video.keyframeInterval);
    const gopsFirst = Math.min(gopsPerSegment, Math.round((p.packaging.hls.firstSegmentDuration ?? p.video.keyframeInterval) / p.video.keyframeInterval));
    const seconds = (gops: number): number => (gops * ladder.gopFrames) / fps;
    // ffmpeg cuts at the first keyframe at or after n x hls_time (cumulative): flooring to whole
    // microseconds keeps every cut exactly on the n-th segment's first keyframe, however long the input
    const floorUs = (s: number): number => Math.floor(s * 1e6) / 1e6;
    const gopsPerPiece = gcd(gopsFirst, gopsPerSegment);
    const pieces =
      gopsFirst < gopsPerSegment
        ? { hlsTime: floorUs(seconds(gopsPerPiece)), seconds: seconds(gopsPerPiece), first: gopsFirst / gopsPerPiece, rest: gopsPerSegment / gopsPerPiece }
        : null;
    hls = {
      container: p.packaging.hls.container ?? (p.video.codec === 'h264' ? 'ts' : 'fmp4'),
      hlsTime: floorUs(seconds(gopsPerSegment)),
      segmentSeconds: seconds(gopsPerSegment),
      firstSegmentSeconds: seconds(gopsFirst),
      pieces,
    };
  }
  const renditions = audioRenditions(media, p);
  const { files, notes: fileNotes } = selectFileTargets(p, ladder, renditions);
  if (files.some((f) => f.kind === 'flv')) requireFlvSupport(caps, p.video.codec, 'FLV files');
  requireFileMuxers(caps, files);
  const choice = p.video.encoder[hardware.hardware]!;
  const colour = planColour(media.video, p.video.codec, p.video.hdr);
  const nvenc = hardware.hardware === 'nvenc' ? input.nvenc : undefined;
  const thumbs = planThumbnails(p, media, ladder, nvenc);
  const subs = planSubtitles(media, input.sidecars ?? [], {
    enabled: p.packaging.subtitles !== false,
    hls: hls !== null,
    mp4: files.some((f) => f.kind === 'mp4'),
    flv: files.some((f) => f.kind === 'flv'),
  });
  return {
    media,
    preset: p,
    presetName: resolved.name,
    hardware: hardware.hardware,
    encoder: hardware.encoder,
    speed: choice.preset,
    tune: choice.tune,
    encoderOptions: Object.fromEntries(Object.entries(choice.options ?? {}).map(([k, v]) => [k.replace(/^-/, ''), v])),
    ladder,
    notes: [...ladder.notes, ...deint.notes, ...colour.notes, ...fileNotes, ...thumbs.notes, ...subs.notes],
    colour,
    deinterlace: deint.plan,
    audio: p.audio === false ? null : p.audio,
    audioRenditions: renditions,
    subtitles: subs.renditions,
    hls,
    timeline: timelineFor(fps, renditions.length > 0, media),
    fpsModeOption: fpsModeOption(caps),
    files,
    scaleThreads: scaleThreadsFor(caps, input.cpus),
    ...(nvenc ? { nvenc } : {}),
    thumbnails: thumbs.thumbnails,
  };
}
