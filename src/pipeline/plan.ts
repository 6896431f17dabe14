import type { CheckedHardware } from '../encoder/preset-check.js';
import { fpsModeOption, type Capabilities } from '../ffmpeg/capabilities.js';
import { scaleThreadsFor } from '../args/command.js';
import { colourCodecOf, planColour } from '../media/colour.js';
import { deinterlacedRate, planDeinterlace } from '../media/interlace.js';
import { buildLadders, type Ladder } from '../media/ladder.js';
import { languageName, languageTag } from '../media/language.js';
import type { MediaInfo } from '../media/probe.js';
import { planSubtitles, type SidecarSubtitle } from '../media/subtitles.js';
import { toNumber } from '../media/rational.js';
import { requireFileMuxers, requireFlvSupport, selectFileTargets } from '../package/progressive.js';
import { planThumbnails } from '../package/thumbnails.js';
import { timelineFor, type AudioRendition, type NvencPipeline, type TranscodePlan, type VideoEncoding } from '../plan.js';
import type { ResolvedPreset } from '../preset/load.js';
import { videoLadders, type Preset } from '../preset/schema.js';
import type { EncoderName } from '../encoder/profiles.js';

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

/** Sources with at least this many channels get a surround rendition: 5.1 and above (5.1(side), 6.1, 7.1). */
const SURROUND_MIN_CHANNELS = 6;
/** The surround rendition's channels: 5.1 (what AC-3 and E-AC-3 carry; 7.1 sources are downmixed to it). */
const SURROUND_CHANNELS = 6;

const surroundCodecName = { eac3: 'E-AC-3', ac3: 'AC-3', aac: 'AAC' } as const;

function kbps(bitrate: number): string {
  return `${Math.round(bitrate / 1000)} kb/s`;
}

/**
 * One stereo (AAC) rendition per source audio stream the preset takes, named from its title or
 * language; then, where the preset asks for surround and packages HLS, one 5.1 rendition per
 * multichannel stream among them, in its own group (plan.ts groupOf). One note per decision.
 */
export function audioRenditions(media: MediaInfo, preset: Preset): { renditions: AudioRendition[]; notes: string[] } {
  if (preset.audio === false) return { renditions: [], notes: [] };
  const spec = preset.audio;
  const streams = spec.streams === 'first' ? media.audio.slice(0, 1) : media.audio;
  const names = new Map<string, number>();
  const stereo = streams.map((a, i) => {
    const language = languageTag(a.language);
    let name = a.title ?? (language ? languageName(language) : streams.length > 1 ? `Audio ${i + 1}` : 'Main');
    const seen = names.get(name) ?? 0;
    names.set(name, seen + 1);
    if (seen > 0) name = `${name} ${seen + 1}`;
    return { sourceOrder: media.audio.indexOf(a), dir: `audio-${i + 1}`, name, language, channels: Math.min(a.channels, spec.channels), default: i === 0 };
  });
  const notes: string[] = [];
  const surround: AudioRendition[] = [];
  streams.forEach((a, i) => {
    if (a.channels <= 2) return;
    const layout = a.channelLayout ?? `${a.channels}-channel`;
    const which = streams.length > 1 ? `audio stream ${i + 1} (${stereo[i]!.name}): ` : '';
    const down = `AAC ${stereo[i]!.channels === 1 ? 'mono' : stereo[i]!.channels === 2 ? 'stereo' : `${stereo[i]!.channels}-channel`} downmix`;
    if (spec.surround === false) {
      notes.push(`${which}${layout} source: ${down} only (the preset's audio.surround is false).`);
      return;
    }
    if (!preset.packaging.hls) {
      notes.push(`${which}${layout} source: ${down} only (a surround rendition is written for HLS packages, and this preset packages none).`);
      return;
    }
    if (a.channels < SURROUND_MIN_CHANNELS) {
      notes.push(`${which}${layout} source: ${down} only (a surround rendition is written for 5.1 sources and above).`);
      return;
    }
    const { codec, bitrate } = spec.surround;
    const downmixed = a.channels > SURROUND_CHANNELS ? `, downmixed from ${layout} to 5.1` : '';
    notes.push(
      `${which}${layout} source: ${surroundCodecName[codec]} 5.1 rendition at ${kbps(bitrate)}${downmixed}, in its own group beside the ${down} (the default; players that cannot decode ${surroundCodecName[codec]} keep to it).`,
    );
    surround.push({
      sourceOrder: stereo[i]!.sourceOrder,
      dir: `${stereo[i]!.dir}-51`,
      name: stereo[i]!.name,
      language: stereo[i]!.language,
      channels: SURROUND_CHANNELS,
      default: surround.length === 0,
      surround: { codec, bitrate },
    });
  });
  return { renditions: [...stereo, ...surround], notes };
}

/** The options of an encoder choice without leading dashes. */
function encoderOptionsOf(options: Record<string, string | number | boolean> | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(options ?? {}).map(([k, v]) => [k.replace(/^-/, ''), v]));
}

/**
 * A preset with several video ladders: how each ladder's rungs are encoded, and a note on what the
 * package holds. Null for a single-ladder preset.
 */
function multiCodecPlan(p: Preset, ladder: Ladder, hardware: PlanInput['hardware']): { encodings: VideoEncoding[]; notes: string[] } | null {
  const specs = videoLadders(p);
  if (specs.length < 2) return null;
  const encodings = specs.map((l, k): VideoEncoding => {
    const choice = l.encoder[hardware.hardware]!;
    // the first ladder's encoder is the checked hardware choice; the others were checked with it (encoder/preset-check.ts)
    const encoder = (k === 0 ? hardware.encoder : choice.name) as EncoderName;
    return { codec: l.codec, encoder, speed: choice.preset, tune: choice.tune, encoderOptions: encoderOptionsOf(choice.options), mode: l.rateControl.mode };
  });
  const counts = specs.map((_, k) => ladder.rungs.filter((r) => r.ladder === k).length);
  const notes = [
    `multi-codec package: ${specs.map((l, k) => `${l.codec} (${encodings[k]!.encoder}, ${counts[k]} rung${counts[k] === 1 ? '' : 's'})`).join(', ')} from one decode, one scaler per distinct size and one encode per audio rendition; every rendition fMP4; the master playlist lists every variant with its CODECS and starts on ${specs.some((l) => l.codec === 'h264') ? 'an H.264 variant' : 'the variant its rules choose'}.`,
  ];
  return { encodings, notes };
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
  const fitTo = deint.plan?.rate === 'field' ? { ...media, video: { ...media.video, frameRate: deinterlacedRate(media.video.frameRate, deint.plan) } } : media;
  let ladder = buildLadders(p, fitTo);
  const multi = multiCodecPlan(p, ladder, hardware);
  // one colour pipeline feeds every encoder: with an H.264 ladder in the list, every rung is SDR; HEVC + AV1 ladders alone keep HDR
  const colour = planColour(media.video, colourCodecOf(p), p.video.hdr);
  if (multi && colour.toneMap && p.video.hdr !== 'sdr')
    colour.notes.push(
      `multi-codec package with an H.264 ladder: the ${multi.encodings
        .filter((e) => e.codec !== 'h264')
        .map((e) => e.codec)
        .join(' and ')} rungs are SDR too (one tone mapping before the split feeds every encoder); a preset of HEVC/AV1 ladders only keeps HDR.`,
    );
  // video.hdr: both: an SDR copy of every rung, after the HDR ones (their folders NAME-sdr)
  if (colour.sdrCopies) ladder = { ...ladder, rungs: [...ladder.rungs, ...ladder.rungs.map((r) => ({ ...r, name: `${r.name}-sdr`, sdr: true }))] };
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
      // HLS allows HEVC and AV1 in fMP4 only, a multi-codec package keeps one container for all, and DASH and the single-file layout address fMP4
      container: p.packaging.hls.container ?? (p.video.codec === 'h264' && !multi && !p.packaging.dash && p.packaging.hls.layout !== 'single-file' ? 'ts' : 'fmp4'),
      hlsTime: floorUs(seconds(gopsPerSegment)),
      segmentSeconds: seconds(gopsPerSegment),
      firstSegmentSeconds: seconds(gopsFirst),
      pieces,
      layout: p.packaging.hls.layout ?? 'segments',
    };
  }
  const { renditions, notes: audioNotes } = audioRenditions(media, p);
  // MP4 and FLV files carry the stereo renditions only (the surround ones come after them, so indexes hold)
  const { files, notes: fileNotes } = selectFileTargets(
    p,
    ladder,
    renditions.filter((a) => !a.surround),
  );
  for (const f of files) if (f.kind === 'flv') requireFlvSupport(caps, multi?.encodings[ladder.rungs[f.rungIndex]?.ladder ?? 0]?.codec ?? p.video.codec, 'FLV files');
  requireFileMuxers(caps, files);
  const choice = p.video.encoder[hardware.hardware]!;
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
    encoderOptions: encoderOptionsOf(choice.options),
    ladder,
    ...(multi ? { encodings: multi.encodings } : {}),
    notes: [...(multi?.notes ?? []), ...ladder.notes, ...deint.notes, ...colour.notes, ...audioNotes, ...fileNotes, ...thumbs.notes, ...subs.notes],
    colour,
    deinterlace: deint.plan,
    audio: p.audio === false ? null : p.audio,
    audioRenditions: renditions,
    subtitles: subs.renditions,
    hls,
    dash: hls && p.packaging.dash ? { minBufferTime: p.packaging.dash.minBufferTime === 'auto' ? null : p.packaging.dash.minBufferTime } : null,
    timeline: timelineFor(fps, renditions.length > 0, media),
    fpsModeOption: fpsModeOption(caps),
    files,
    scaleThreads: scaleThreadsFor(caps, input.cpus),
    ...(nvenc ? { nvenc } : {}),
    thumbnails: thumbs.thumbnails,
  };
}
