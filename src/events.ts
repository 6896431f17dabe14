import type { HlsPackage } from './package/hls.js';
import type { WrittenFile } from './package/progressive.js';
import type { ThumbnailsReport } from './package/thumbnails.js';
import type { DashReport } from './package/dash.js';
import type { HardwareKind } from './preset/schema.js';
import type { PerTitleReport } from './pipeline/per-title.js';

/** The stages of a transcode, in order (pipeline/: probe covers toolchain, probe and plan). */
export type StageName = 'probe' | 'encode' | 'package' | 'verify' | 'commit';

/**
 * Events a transcode emits. The CLI renders them (listr2 in a terminal, plain lines in CI, NDJSON
 * with --json); library users get them through `onEvent`. Stable, documented in README.
 */
export type TranscodeEvent =
  | {
      type: 'start';
      input: string;
      output: string;
      preset: string;
      hardware: HardwareKind;
      hardwareReason: string;
      encoder: string;
      ladder: { width: number; height: number; name: string; bitrate: number; maxrate: number; codec: string; encoder: string }[];
      frameRate: string;
      ffmpeg: { path: string; version: string };
      notes: string[];
      /** with NVENC: where frames are decoded and scaled (gpu: NVDEC + GPU scaler, upload: CPU decode + GPU scaler, cpu: all on the CPU) */
      gpuPipeline?: { mode: 'gpu' | 'upload' | 'cpu'; scaler: 'scale_cuda' | 'scale_npp' | null; bFrameRefs: boolean; reason: string };
      /** what the one encode is written to: HLS renditions and/or progressive files (relative paths) */
      targets: { hls: boolean; files: string[]; thumbnails: boolean };
      /** the exact ffmpeg argv that runs (binary first) */
      command?: string[];
    }
  /** `--hw auto` only: NVENC failed at the start of the encode and a fresh trial failed too; the CPU encodes instead */
  | { type: 'fallback'; from: 'nvenc'; hardware: 'cpu'; encoder: string; hardwareReason: string }
  | { type: 'stage'; stage: StageName; status: 'start' | 'done' }
  | {
      type: 'progress';
      /** 0..100, null when the input's duration is unknown */
      percent: number | null;
      outTimeSeconds: number | null;
      durationSeconds: number | null;
      fps: number | null;
      speed: number | null;
      etaSeconds: number | null;
      frame: number | null;
      dupFrames: number | null;
      dropFrames: number | null;
    }
  /** the per-title analysis (pipeline/per-title.ts), 0..100 over its phases: scene cuts, candidate encodes, scores; then the check of the encoded rungs */
  | { type: 'analysis'; phase: 'scenes' | 'candidates' | 'scores' | 'check'; percent: number }
  /** the per-title ladder chosen (before the encode), and again with `measured` filled in (after it) */
  | ({ type: 'per-title'; when: 'chosen' | 'measured' } & PerTitleReport)
  | { type: 'rung'; name: string; width: number; height: number; codecs: string[]; bandwidth: number; averageBandwidth: number; sizeBytes: number; segments: number }
  | ({ type: 'file' } & WrittenFile)
  | {
      type: 'warning';
      message: string;
      /** 'ffmpeg': a line of ffmpeg's own log during the encode (shown with --verbose, always in JSON) */
      source?: 'ffmpeg';
    }
  | {
      type: 'done';
      output: string;
      /** null when the preset has no HLS target */
      master: string | null;
      rungs: HlsPackage['rungs'];
      audio: HlsPackage['audio'];
      /** progressive MP4/FLV files */
      files: WrittenFile[];
      /** A/V sync measured on the HLS renditions (package/av-sync.ts); null without HLS */
      avSync: HlsPackage['sync'] | null;
      /** poster, thumbnails.vtt and sprite sheets made (paths relative to `output`); null when the preset makes none */
      thumbnails: ThumbnailsReport | null;
      /** manifest.mpd (relative to `output`), minBufferTime and every Representation's bandwidth; null without packaging.dash */
      dash: DashReport | null;
      /** a per-title job: the chosen ladder with predicted and measured quality; null for the fixed ladder */
      perTitle: PerTitleReport | null;
      sizeBytes: number;
      elapsedSeconds: number;
      encodeSeconds: number;
      postEncodeSeconds: number;
    };

export type EventSink = (event: TranscodeEvent) => void;
