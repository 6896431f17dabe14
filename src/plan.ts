import type { DeinterlacePlan } from './media/interlace.js';
import type { ColourPlan } from './media/colour.js';
import type { EncoderName, RateControlMode } from './encoder/profiles.js';
import type { Ladder, LadderRung } from './media/ladder.js';
import type { MediaInfo } from './media/probe.js';
import type { AudioSpec, Codec, HardwareKind, Preset } from './preset/schema.js';

/** One audio rendition: one source audio stream encoded once. */
export interface AudioRendition {
  /** index among the source's audio streams (the N in 0:a:N) */
  sourceOrder: number;
  /** folder name in the package */
  dir: string;
  /** NAME attribute */
  name: string;
  /** LANGUAGE attribute (BCP 47 / ISO 639), when the source says */
  language: string | null;
  channels: number;
  /** DEFAULT=YES within its group: the first rendition of each group */
  default: boolean;
  /**
   * set on a multichannel rendition (preset audio.surround), written beside the same source stream's
   * stereo AAC rendition, in its own group (groupOf); absent: an AAC rendition at plan.audio's bitrate
   */
  surround?: { codec: AudioCodec; bitrate: number };
}

export type AudioCodec = 'aac' | 'ac3' | 'eac3';

/** The audio group of the stereo renditions: the one every player can decode, listed first. */
export const AUDIO_GROUP = 'audio';

/** GROUP-ID of a rendition: AUDIO_GROUP for the stereo renditions, one group per codec for the multichannel ones (Apple's model). */
export function groupOf(a: Pick<AudioRendition, 'surround'>): string {
  if (!a.surround) return AUDIO_GROUP;
  return a.surround.codec === 'aac' ? 'audio-aac-51' : `audio-${a.surround.codec}`;
}

/**
 * Samples of encoder delay before the first source sample, which ffmpeg's encoders put in front and
 * stamp with a negative PTS (their initial_padding): AAC 1024, AC-3 and E-AC-3 256 (one block).
 */
export function audioPrimingSamples(a: Pick<AudioRendition, 'surround'>): number {
  return (a.surround?.codec ?? 'aac') === 'aac' ? AAC_PRIMING_SAMPLES : AC3_PRIMING_SAMPLES;
}

/** Where a subtitle rendition's text comes from: a text subtitle stream of the source, or a sidecar file. */
export type SubtitleSource =
  | { kind: 'stream' /** the N in 0:s:N */; order: number /** ffprobe's stream index */; index: number; codec: string }
  | { kind: 'file' /** absolute path */; path: string /** the demuxer that reads it (pinned, never guessed) */; format: SidecarFormat };

export type SidecarFormat = 'srt' | 'webvtt' | 'ass';

/** One WebVTT subtitle rendition (EXT-X-MEDIA TYPE=SUBTITLES), cut on the video's segment boundaries. */
export interface SubtitleRendition {
  /** folder name in the package: subs-1, subs-2... */
  dir: string;
  /** NAME attribute */
  name: string;
  /** LANGUAGE attribute (BCP 47), when known */
  language: string | null;
  default: boolean;
  forced: boolean;
  autoselect: boolean;
  /** ISO 639-2 code for the MP4 files' mov_text track (the MP4 muxer takes three letters only): the source's tag, or a three-letter --subtitles code; null: und */
  iso639: string | null;
  source: SubtitleSource;
}

/**
 * How frames travel when NVENC encodes (decided by trial runs in pipeline/nvenc-trial.ts):
 * - gpu: NVDEC decodes (-hwaccel cuda, frames stay in GPU memory), every rung is scaled on the GPU
 * - upload: the CPU decodes, frames are uploaded once (hwupload_cuda), every rung is scaled on the GPU
 * - cpu: the CPU decodes and scales exactly as on the CPU path; NVENC reads frames from system memory
 */
export interface NvencPipeline {
  mode: 'gpu' | 'upload' | 'cpu';
  /** the GPU scaler (modes gpu and upload) */
  scaler: 'scale_cuda' | 'scale_npp' | null;
  /** -b_ref_mode middle: only where a trial encode showed this GPU supports B-frames as references */
  bFrameRefs: boolean;
  /** why this mode, in words */
  reason: string;
}

/** How the rungs of one video ladder are encoded: its codec, encoder and the encoder's settings. */
export interface VideoEncoding {
  codec: Codec;
  encoder: EncoderName;
  speed: string | number | undefined;
  tune: string | undefined;
  encoderOptions: Record<string, string | number | boolean>;
  mode: RateControlMode;
}

/** Everything needed to run one transcode: pure data, turned into argv by args/command.ts. */
export interface TranscodePlan {
  media: MediaInfo;
  preset: Preset;
  presetName: string;
  hardware: HardwareKind;
  encoder: EncoderName;
  speed: string | number | undefined;
  tune: string | undefined;
  encoderOptions: Record<string, string | number | boolean>;
  ladder: Ladder;
  /**
   * a multi-codec plan (a preset with a list of video ladders): how each ladder's rungs are encoded,
   * indexed by LadderRung.ladder; the top-level encoder, speed, tune and encoderOptions are the first
   * ladder's. Absent: one ladder, encoded as the top-level fields say.
   */
  encodings?: VideoEncoding[];
  /** what the plan changed or left out, in words: the ladder's fitting to the source, file targets dropped */
  notes: string[];
  /** the colour of every rung: range (VIDEO-RANGE), bit depth, tone mapping, tags, HDR10 metadata (media/colour.ts); absent in hand-made plans: SDR, 8-bit, untagged */
  colour?: ColourPlan;
  /** bwdif before the frame rate is fixed (media/interlace.ts); absent or null: the source is taken as progressive */
  deinterlace?: DeinterlacePlan | null;
  audio: AudioSpec | null;
  audioRenditions: AudioRendition[];
  /** WebVTT subtitle renditions of the HLS package (package/subtitles.ts); absent or empty: none */
  subtitles?: SubtitleRendition[];
  hls: {
    container: 'ts' | 'fmp4';
    /**
     * segmentSeconds floored to whole microseconds, so that ffmpeg's cumulative cut lands on each
     * segment's first keyframe: the value given to -hls_time when ffmpeg cuts the segments itself
     * (`pieces` null)
     */
    hlsTime: number;
    /** the nominal segment duration: a whole number of GOPs */
    segmentSeconds: number;
    /** the first segment's nominal duration: a whole number of GOPs, at most segmentSeconds (fast start) */
    firstSegmentSeconds: number;
    /** set when the first segment is shorter than the others: how ffmpeg cuts and packaging joins (HlsPieces) */
    pieces: HlsPieces | null;
    /** single-file: each rendition becomes one byte-range-addressed file after the checks (package/single-file.ts); absent: segments */
    layout?: 'segments' | 'single-file';
  } | null;
  /** an MPEG-DASH manifest over the HLS package's fMP4 segments (package/dash.ts); absent or null: none */
  dash?: DashPlan | null;
  /** the one timeline every segmented rendition shares (see package/av-sync.ts) */
  timeline: Timeline;
  /** how this ffmpeg spells the per-output frame timing option (capabilities.ts fpsModeOption) */
  fpsModeOption: '-fps_mode' | '-vsync';
  /** progressive files (MP4, FLV) written from the same encodes as the HLS renditions */
  files: FileTarget[];
  /** slice threads for each CPU scaler (libswscale's `threads`, ffmpeg >= 5.0); absent or 1: unthreaded */
  scaleThreads?: number;
  /** set when hardware is nvenc: where decoding and scaling happen */
  nvenc?: NvencPipeline;
  /** poster and thumbnail sprites; null: none (preset says false, a live preset, or an unknown duration) */
  thumbnails: ThumbnailPlan | null;
}

/** The DASH manifest: DIR/manifest.mpd, addressing the same init and media segments as the HLS playlists. */
export interface DashPlan {
  /** MPD@minBufferTime in seconds; null: the longest segment of the package */
  minBufferTime: number | null;
}

/** The DASH manifest's file name in the package. */
export const MPD_NAME = 'manifest.mpd';

/** How `rung` is encoded: its ladder's encoding in a multi-codec plan, else the plan's own encoder and settings. */
export function encodingOf(plan: Pick<TranscodePlan, 'encodings' | 'encoder' | 'speed' | 'tune' | 'encoderOptions' | 'preset'>, rung: Pick<LadderRung, 'ladder'>): VideoEncoding {
  const own = plan.encodings?.[rung.ladder ?? 0];
  if (own) return own;
  return {
    codec: plan.preset.video.codec,
    encoder: plan.encoder,
    speed: plan.speed,
    tune: plan.tune,
    encoderOptions: plan.encoderOptions,
    mode: plan.preset.video.rateControl.mode,
  };
}

/**
 * Poster and thumbnail sprites. Thumbnail k shows the frame at k x interval (from the title's start,
 * 0) and is cue k of thumbnails.vtt, [k x interval, (k+1) x interval) with the last cue ending at
 * `duration`; `count` = ceil(duration / interval). Tiles fill each sprite sheet row by row.
 */
export interface ThumbnailPlan {
  /** milliseconds between thumbnails (whole milliseconds, so the VTT's times are exact) */
  intervalMs: number;
  /** the title's duration the cues cover, milliseconds */
  durationMs: number;
  /** thumbnails (cues) in all */
  count: number;
  /** one thumbnail's size */
  width: number;
  height: number;
  /** thumbnails per sheet; every sheet has this layout (the last one may be partly filled) */
  columns: number;
  rows: number;
  /** the poster: its size, and the window of the title it is chosen from (seconds) */
  poster: { width: number; height: number; start: number; end: number };
  /**
   * encode: branches of the ladder's own filter graph (the same decode); separate: a CPU pass of its
   * own after the encode (NVENC with frames in GPU memory, pipeline/thumbnails.ts)
   */
  pass: 'encode' | 'separate';
}

export const POSTER_NAME = 'poster.jpg';
export const THUMBNAILS_VTT = 'thumbnails.vtt';
export const THUMBNAILS_DIR = 'thumbnails';
/** The image2 muxer's sprite file name pattern: sprite-0001.jpg, sprite-0002.jpg... */
export const SPRITE_PATTERN = `${THUMBNAILS_DIR}/sprite-%04d.jpg`;

/** Sprite sheet `n` (from 1), relative to the package folder. */
export function spriteFile(n: number): string {
  return `${THUMBNAILS_DIR}/sprite-${String(n).padStart(4, '0')}.jpg`;
}

/**
 * A first segment shorter than the others. ffmpeg 5.1's `hls_init_time` cannot make one in a VOD
 * playlist: with an unbounded list it applies to every segment, and with a bounded one to the first
 * hls_list_size + 1 segments, which also leaves only the last segments in ffmpeg's playlist. So ffmpeg
 * cuts every rendition into pieces of `seconds` (a whole number of GOPs that divides both the first
 * and the later segments' durations, each piece starting with a keyframe in every rung), and
 * packaging joins `first` pieces into the first segment and `rest` pieces into each later one
 * (package/hls.ts joinPieces), before it measures them.
 */
export interface HlsPieces {
  /** the piece duration, floored to whole microseconds: the value given to -hls_time */
  hlsTime: number;
  /** the nominal piece duration: a whole number of GOPs */
  seconds: number;
  /** pieces in the first segment */
  first: number;
  /** pieces in every later segment (the last may have fewer) */
  rest: number;
}

/**
 * Every HLS rendition is written by its own muxer, and each muxer would shift its own timestamps to
 * start at zero: the video muxer by the encoder's B-frame delay (its first DTS is negative), the audio
 * muxer by the AAC encoder's priming. The renditions would then disagree about when a source instant
 * is shown (62 ms on H.264 with two B-frames at 24 fps). Instead every segmented output gets the same
 * offset, larger than any such delay, so no muxer shifts anything and one source instant has one PTS
 * in every rendition. The absolute value is the muxer's: fMP4 starts at `offset`, but ffmpeg 5.1's
 * MPEG-TS muxer adds its own 1.4 s on top, so a TS package starts at offset + 1.4 s. Whatever needs
 * the absolute time (a subtitle's X-TIMESTAMP-MAP) takes it from the measured first PTS, not from here.
 */
export interface Timeline {
  /** seconds added to every timestamp of every HLS rendition (ffmpeg's output_ts_offset) */
  offset: number;
  /** the input's first timestamp, seconds (ffprobe's format start_time): ffmpeg moves it to zero */
  inputStart: number;
  /**
   * seconds from the input's start (which ffmpeg moves to zero) to its video stream's start: the
   * constant-frame-rate grid starts there, so a video that starts after its audio keeps its place
   */
  videoStart: number;
  /** samples of encoder delay at the start of every AAC rendition (1024), before its first source sample; other codecs: audioPrimingSamples */
  audioPrimingSamples: number;
}

export type FileKind = 'mp4' | 'flv';

/** One progressive file: one rung's video with audio, muxed from the encode that feeds HLS too. */
export interface FileTarget {
  kind: FileKind;
  /** the rung's name (its folder); rungIndex below is its index in plan.ladder.rungs */
  rung: string;
  rungIndex: number;
  /** indexes into plan.audioRenditions carried by this file (MP4: all, FLV: the first; FLV has one audio track) */
  audio: number[];
  /** path relative to the package folder: mp4/<rung>.mp4, flv/<rung>.flv */
  path: string;
}

/**
 * The folders inside the package that ffmpeg writes into and does not create itself (its HLS, MP4
 * and FLV muxers do not): one per rung and audio rendition for HLS, one per progressive file kind.
 */
export function outputFolders(plan: Pick<TranscodePlan, 'hls' | 'ladder' | 'audioRenditions' | 'files' | 'thumbnails'>): string[] {
  return [...hlsFolders(plan), ...new Set(plan.files.map((f) => f.kind)), ...(plan.thumbnails ? [THUMBNAILS_DIR] : [])];
}

/** The HLS rendition folders: the video rungs', then the audio renditions' (none without HLS). */
export function hlsFolders(plan: Pick<TranscodePlan, 'hls' | 'ladder' | 'audioRenditions'>): string[] {
  return plan.hls ? [...plan.ladder.rungs.map((r) => rungDir(r.name)), ...plan.audioRenditions.map((a) => a.dir)] : [];
}

export function filePath(kind: FileKind, rung: string): string {
  return `${kind}/${rung}.${kind}`;
}

export function rungDir(name: string): string {
  return name;
}

export function segmentExtension(container: 'ts' | 'fmp4'): string {
  return container === 'ts' ? 'ts' : 'm4s';
}

const SEGMENT_PREFIX = 'seg_';

/** The HLS muxer's segment file name pattern (ffmpeg's `%05d`: at least five digits). */
export const SEGMENT_PATTERN = `${SEGMENT_PREFIX}%05d`;

/** The file name ffmpeg gives segment `index` (from 0) of a rendition: SEGMENT_PATTERN expanded. */
export function segmentFileName(container: 'ts' | 'fmp4', index: number): string {
  return `${SEGMENT_PREFIX}${String(index).padStart(5, '0')}.${segmentExtension(container)}`;
}

/** The fMP4 init segment of every rendition (hls_fmp4_init_filename). */
export const FMP4_INIT_NAME = 'init.mp4';

/** The most frames any supported encoder reorders before its first frame (H.264 and HEVC allow 16 B-frames). */
const MAX_REORDER_FRAMES = 16;
/** ffmpeg's native AAC encoder: 1024 samples of priming (its initial_padding) before the first source sample. */
const AAC_PRIMING_SAMPLES = 1024;
/** ffmpeg's AC-3 and E-AC-3 encoders: one 256-sample block (measured on ffmpeg 5.1: first PTS -256/48000 s, a click 256 samples late when decoded). */
const AC3_PRIMING_SAMPLES = 256;

/**
 * The shared timeline of a package at `fps`: an offset that covers the longest reordering delay any
 * encoder may give (and the AAC priming, far shorter), in whole seconds, at least 1 s.
 */
export function timelineFor(fps: number, audio: boolean, media: Pick<MediaInfo, 'startTime' | 'video'>): Timeline {
  const inputStart = media.startTime ?? media.video.startTime ?? 0;
  const videoStart = Math.max(0, Math.round(((media.video.startTime ?? inputStart) - inputStart) * 1e6) / 1e6);
  return { offset: Math.max(1, Math.ceil((MAX_REORDER_FRAMES + 1) / fps)), inputStart, videoStart, audioPrimingSamples: audio ? AAC_PRIMING_SAMPLES : 0 };
}
