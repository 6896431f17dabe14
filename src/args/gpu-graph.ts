import { fpsFilter } from './fps-filter.js';
import { videoRangeOf } from '../media/colour.js';
import { planDeinterlace } from '../media/interlace.js';
import type { VideoInfo } from '../media/probe.js';
import type { NvencPipeline, TranscodePlan } from '../plan.js';
import { versionAtLeast, type Capabilities } from '../ffmpeg/capabilities.js';

/**
 * Pure pieces of the NVENC pipeline: may this input be decoded by NVDEC, which GPU scaler, and the
 * filter graph that keeps frames in GPU memory. The CPU path (command.ts videoFilterGraph) is not
 * touched; command.ts asks this module only when plan.nvenc says gpu or upload.
 *
 * The graph keeps the CPU graph's shape exactly: one decode, `fps` once (constant frame rate), the top
 * rung scaled from the source, each further rung scaled from the rung above (split=2 per level),
 * `setsar=1` on every rung. `fps`, `split` and `setsar` never touch pixels, so they work on CUDA frames
 * as they are; the scalers are the GPU ones (scale_cuda or scale_npp) and also convert to NV12.
 */

export type GpuScaler = 'scale_cuda' | 'scale_npp';

export interface Decision {
  ok: boolean;
  /** why, in words */
  reason: string;
}

/**
 * What NVDEC decodes on every GPU generation that has NVENC (NVIDIA's NVDEC application note, "NVDEC
 * Hardware Capabilities"), limited on purpose: 8-bit 4:2:0 only (H.264 High10/4:2:2 are Blackwell-only,
 * HEVC 4:4:4 is Turing+), at most 4096x4096 (8192 for HEVC/VP9 exists on select GPUs only), and not
 * below the smallest sizes NVDEC accepts. VP8, VP9, HEVC and AV1 need newer GPUs than H.264; the
 * trial run on the real input settles those (an unsupported codec fails it, and the CPU decodes).
 */
const nvdecCodecs: Readonly<Record<string, { label: string; minWidth: number; minHeight: number }>> = {
  h264: { label: 'H.264', minWidth: 48, minHeight: 16 },
  hevc: { label: 'HEVC', minWidth: 144, minHeight: 144 },
  mpeg1video: { label: 'MPEG-1', minWidth: 48, minHeight: 16 },
  mpeg2video: { label: 'MPEG-2', minWidth: 48, minHeight: 16 },
  mpeg4: { label: 'MPEG-4 Part 2', minWidth: 48, minHeight: 16 },
  vc1: { label: 'VC-1', minWidth: 48, minHeight: 16 },
  vp8: { label: 'VP8', minWidth: 48, minHeight: 16 },
  vp9: { label: 'VP9', minWidth: 128, minHeight: 128 },
  av1: { label: 'AV1', minWidth: 128, minHeight: 128 },
};
const NVDEC_MAX = 4096;

/** 8-bit 4:2:0, limited range: what NVDEC outputs as NV12 without any conversion the CPU path would do. */
const eightBit420 = new Set(['yuv420p', 'nv12']);

/** May NVDEC decode this input? Conservative: anything doubtful is decoded by the CPU. */
export function nvdecDecision(video: Pick<VideoInfo, 'codec' | 'pixelFormat' | 'width' | 'height' | 'rotation'>, caps: Pick<Capabilities, 'hwaccels'>): Decision {
  if (!caps.hwaccels.includes('cuda')) return { ok: false, reason: 'this ffmpeg has no cuda hwaccel' };
  const codec = nvdecCodecs[video.codec];
  if (!codec) return { ok: false, reason: `NVDEC does not decode ${video.codec}` };
  if (!eightBit420.has(video.pixelFormat)) {
    return {
      ok: false,
      reason: `${video.pixelFormat} ${codec.label}: streamkit decodes only 8-bit 4:2:0 (yuv420p) on the GPU (NVDEC has no 4:2:2 H.264, and full-range or high-bit-depth sources need the CPU's conversion)`,
    };
  }
  if (video.width > NVDEC_MAX || video.height > NVDEC_MAX)
    return { ok: false, reason: `${video.width}x${video.height} is above ${NVDEC_MAX}x${NVDEC_MAX}, which not every GPU decodes` };
  if (video.width < codec.minWidth || video.height < codec.minHeight)
    return { ok: false, reason: `${video.width}x${video.height} is below NVDEC's smallest ${codec.label} size (${codec.minWidth}x${codec.minHeight})` };
  if (video.rotation !== 0) return { ok: false, reason: `the source is rotated by ${video.rotation} degrees, and ffmpeg rotates on the CPU` };
  return { ok: true, reason: `NVDEC decodes ${codec.label} ${video.pixelFormat}` };
}

/**
 * scale_cuda when the binary has it (ffmpeg 5.0+ scale_cuda converts pixel formats and has
 * interp_algo and passthrough; older ones do not), else scale_npp (a nonfree build with libnpp).
 */
export function pickGpuScaler(caps: Pick<Capabilities, 'filters' | 'version'>): { scaler: GpuScaler | null; reason: string } {
  const hasCuda = caps.filters.includes('scale_cuda');
  if (hasCuda && versionAtLeast(caps, 5, 0)) return { scaler: 'scale_cuda', reason: 'scale_cuda' };
  if (caps.filters.includes('scale_npp')) return { scaler: 'scale_npp', reason: 'scale_npp' };
  if (hasCuda) return { scaler: null, reason: `this ffmpeg's scale_cuda (${caps.version.raw}) predates 5.0 (no format conversion) and it has no scale_npp` };
  return { scaler: null, reason: 'this ffmpeg has neither scale_cuda nor scale_npp' };
}

/**
 * The NVDEC decoder may hand out no more surfaces than it was created with: frames held downstream
 * (the fps filter, encoders) need extra ones. 8 extra keeps the total under NVDEC's 32-surface limit
 * even for H.264's 16-reference worst case, with one decoder thread (each frame thread adds surfaces).
 */
const EXTRA_HW_FRAMES = 8;

/** Options before -i for a pipeline mode. */
export function gpuInputOptions(mode: NvencPipeline['mode']): string[] {
  return mode === 'gpu' ? ['-threads', '1', '-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-extra_hw_frames', String(EXTRA_HW_FRAMES)] : [];
}

/**
 * One GPU scale step. The first one converts to NV12 and, for scale_cuda, never passes frames through
 * (passthrough=0): the rung gets its own copy, so the decoder's surfaces are released at once even
 * when the top rung has the source's size. interp_algo=bicubic matches swscale's default on the CPU
 * path (scale_npp's default is already cubic).
 */
function gpuScaleFilter(scaler: GpuScaler, width: number, height: number, first: boolean): string {
  if (scaler === 'scale_cuda') return `scale_cuda=w=${width}:h=${height}:interp_algo=bicubic${first ? ':format=nv12:passthrough=0' : ''}`;
  return `scale_npp=w=${width}:h=${height}${first ? ':format=nv12' : ''}`;
}

/** The filter graph for modes gpu and upload (mode cpu uses command.ts videoFilterGraph unchanged). */
export function gpuVideoFilterGraph(
  plan: Pick<TranscodePlan, 'ladder' | 'media' | 'timeline'>,
  pipeline: Pick<NvencPipeline, 'mode' | 'scaler'>,
): { graph: string; outputs: string[] } {
  const { ladder, media } = plan;
  const scaler = pipeline.scaler;
  if (pipeline.mode === 'cpu' || !scaler) throw new Error(`gpuVideoFilterGraph: mode ${pipeline.mode} with scaler ${String(scaler)} has no GPU graph`);
  const rungs = ladder.rungs;
  const outputs = rungs.map((_, i) => `v${i}`);
  const v = media.video;
  const head: string[] = [fpsFilter(plan)];
  if (pipeline.mode === 'upload') {
    // hwupload_cuda takes yuv420p and nv12 as they are; anything else is made 8-bit 4:2:0 on the CPU first
    if (!eightBit420.has(v.pixelFormat)) head.push('format=nv12');
    head.push('hwupload_cuda');
  }
  const parts: string[] = [];
  let source = `[0:${v.index}]`;
  rungs.forEach((rung, i) => {
    const filters = i === 0 ? [...head, gpuScaleFilter(scaler, rung.width, rung.height, true), 'setsar=1'] : [gpuScaleFilter(scaler, rung.width, rung.height, false), 'setsar=1'];
    if (i === rungs.length - 1) {
      parts.push(`${source}${filters.join(',')}[${outputs[i]}]`);
    } else {
      parts.push(`${source}${filters.join(',')},split=2[${outputs[i]}][c${i}]`);
      source = `[c${i}]`;
    }
  });
  return { graph: parts.join(';'), outputs };
}

/** The modes to try, best first, each with why it is (not) possible here. */
export function pipelineCandidates(
  video: Pick<VideoInfo, 'codec' | 'pixelFormat' | 'width' | 'height' | 'rotation' | 'colour' | 'interlace'>,
  caps: Pick<Capabilities, 'hwaccels' | 'filters' | 'version'>,
): { mode: NvencPipeline['mode']; scaler: GpuScaler | null; possible: boolean; reason: string }[] {
  const cpuOnly = { mode: 'cpu' as const, scaler: null, possible: true, reason: 'decode and scale on the CPU, NVENC reads frames from system memory' };
  // HDR: 10-bit frames, and tone mapping (zscale, tonemap) for SDR ladders, are CPU filters
  const range = videoRangeOf(video.colour?.transfer);
  // interlaced: bwdif is a CPU filter, and it must see the frames before anything else does
  const interlaced = planDeinterlace(video.interlace).plan !== null;
  if (range !== 'SDR' || interlaced) {
    const why = interlaced ? 'interlaced source: deinterlacing (bwdif) runs on the CPU' : `${range} source: its tone mapping or 10-bit conversion runs on the CPU`;
    return [{ mode: 'gpu', scaler: null, possible: false, reason: why }, { mode: 'upload', scaler: null, possible: false, reason: why }, cpuOnly];
  }
  const { scaler, reason: scalerReason } = pickGpuScaler(caps);
  const decode = nvdecDecision(video, caps);
  const upload = caps.filters.includes('hwupload_cuda');
  return [
    scaler && decode.ok
      ? { mode: 'gpu', scaler, possible: true, reason: `decode on the GPU (${decode.reason}), scale with ${scaler}` }
      : { mode: 'gpu', scaler, possible: false, reason: `no GPU decode: ${decode.ok ? scalerReason : decode.reason}` },
    scaler && upload
      ? { mode: 'upload', scaler, possible: true, reason: `decode on the CPU${decode.ok ? '' : ` (${decode.reason})`}, upload once, scale with ${scaler}` }
      : { mode: 'upload', scaler, possible: false, reason: `no GPU scaling: ${scaler ? 'this ffmpeg has no hwupload_cuda' : scalerReason}` },
    cpuOnly,
  ];
}
