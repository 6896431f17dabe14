import { checkedHardware, type CheckedHardware } from '../encoder/preset-check.js';
import { selectHardware, type HardwareRequest } from '../encoder/select.js';
import { probeHdrMetadata, probeInterlace, probeMedia, type MediaInfo } from '../media/probe.js';
import { checkSidecar, type SidecarSubtitle } from '../media/subtitles.js';
import { prepareFfmpegRuns } from '../ffmpeg/run.js';
import { loadPreset, type ResolvedPreset } from '../preset/load.js';
import { resolveToolchain, type Toolchain } from './toolchain.js';

/** What a job starts from: the options that decide what it produces. */
export interface SourceOptions {
  input: string;
  /** built-in name, file path, or an already resolved preset */
  preset: string | ResolvedPreset;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  /** frame rate of raw elementary-stream inputs */
  frameRate?: string | undefined;
  hw?: HardwareRequest | undefined;
  /** sidecar subtitle files, `FILE[:LANG]` (--subtitles) */
  subtitles?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
  toolchain?: Toolchain | undefined;
  /**
   * ffprobe's look at this input, already started with the toolchain's ffprobe (the CLI starts it
   * while it loads the preset and works out the job: cli/transcode.ts); its failure is reported here,
   * after the preset's and the encoder's, as if it had been started here
   */
  probed?: Promise<MediaInfo> | undefined;
}

/** Stages 1 and 2 done: the tools, the preset, the probed source and the encoder chosen for it. */
export interface Source {
  preset: ResolvedPreset;
  toolchain: Toolchain;
  media: MediaInfo;
  request: HardwareRequest;
  /** the first choice of encoder (NVENC may still fall back to the CPU once tried on this input) */
  hardware: CheckedHardware;
  /** sidecar subtitle files, checked */
  sidecars: SidecarSubtitle[];
}

/**
 * Stage 2: load the preset, find the tools, probe the input and choose the encoder. The preset is read
 * while the tools are found, and ffprobe runs while the encoder is chosen (an NVENC trial encode is
 * another process); the errors keep their order: preset and encoder problems are reported before
 * input problems.
 */
export async function probeSource(options: SourceOptions): Promise<Source> {
  prepareFfmpegRuns();
  // read side by side; a preset problem is still reported before a toolchain one
  const loading = typeof options.preset === 'string' ? loadPreset(options.preset) : Promise.resolve(options.preset);
  const locating = options.toolchain ? Promise.resolve(options.toolchain) : resolveToolchain(options);
  locating.catch(() => undefined);
  const preset = await loading;
  const toolchain = await locating;
  const request = options.hw ?? 'auto';
  const probing =
    options.probed ?? probeMedia(options.input, { ffprobe: toolchain.ffprobe.path, frameRate: options.frameRate, ...(options.signal ? { signal: options.signal } : {}) });
  probing.catch(() => undefined);
  const hardware = checkedHardware(preset, await selectHardware(toolchain.caps, preset.preset, request));
  const probed = await probing;
  const sidecars: SidecarSubtitle[] = [];
  for (const s of options.subtitles ?? []) sidecars.push(await checkSidecar(s));
  // PQ/HLG sources only: their HDR10 metadata may be in the first frame, not the container
  const hdr = await probeHdrMetadata(probed, { ffprobe: toolchain.ffprobe.path, ...(options.signal ? { signal: options.signal } : {}) });
  const withHdr = hdr === (probed.video.hdr ?? null) ? probed : { ...probed, video: { ...probed.video, hdr } };
  // a source flagged interlaced (or not flagged at all): confirmed by idet on a sample
  const media = await probeInterlace(withHdr, { ffmpeg: toolchain.ffmpeg.path, ...(options.signal ? { signal: options.signal } : {}) });
  return { preset, toolchain, media, request, hardware, sidecars };
}
