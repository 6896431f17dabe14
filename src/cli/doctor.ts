import { StreamkitError } from '../errors.js';
import { encoderProfiles } from '../encoder/profiles.js';
import { missingNvencReason } from '../encoder/nvenc.js';
import { encodersForCodec, nvencHint, selectHardware, trialEncode } from '../encoder/select.js';
import { pickGpuScaler } from '../args/gpu-graph.js';
import { listBuiltinPresets, loadPreset } from '../preset/load.js';
import { parseVersion } from '../ffmpeg/capabilities-parse.js';
import { runCapture } from '../ffmpeg/run.js';
import { codecs } from '../preset/schema.js';
import { chooseMetric, describeMetric } from '../quality/metric.js';
import { resolveToolchain } from '../transcode.js';
import type { CommandContext } from './context.js';

interface NvencStatus {
  listed: boolean;
  works: boolean;
  /** what happened: the trial's result, or why the encoder is not in this build */
  message: string;
  /** for a failed trial: no-driver, no-device, sessions, codec-unsupported... */
  cause?: string;
  /** for a failed trial: ffmpeg's own line */
  ffmpegSaid?: string;
  hint?: string;
}

/** `streamkit doctor`: the truth about the toolchain, including a real NVENC trial encode. */
export async function runDoctor(ctx: CommandContext): Promise<void> {
  const tools = await resolveToolchain(ctx.opts);
  const { caps } = tools;
  const perCodec = Object.fromEntries(codecs.map((c) => [c, encodersForCodec(caps, c)]));
  const nvencNames = Object.values(encoderProfiles)
    .filter((p) => p.hardware === 'nvenc')
    .map((p) => p.name);
  const nvenc: Record<string, NvencStatus> = {};
  for (const name of nvencNames) {
    const listed = caps.encoders.some((e) => e.name === name);
    if (!listed) nvenc[name] = { listed, works: false, message: missingNvencReason(caps, name) };
    else {
      const t = await trialEncode(caps, name, { fresh: true });
      nvenc[name] = t.ok
        ? { listed, works: true, message: t.message }
        : { listed, works: false, message: t.message, cause: t.failure?.kind ?? 'other', ffmpegSaid: t.failure?.line ?? t.message, hint: nvencHint(name, t.failure) };
    }
  }
  const scaler = pickGpuScaler(caps);
  const gpu = {
    hwaccelCuda: caps.hwaccels.includes('cuda'),
    scale_cuda: caps.filters.includes('scale_cuda'),
    scale_npp: caps.filters.includes('scale_npp'),
    hwupload_cuda: caps.filters.includes('hwupload_cuda'),
    /** the scaler a GPU pipeline would use, and why */
    scaler: scaler.scaler,
    scalerReason: scaler.reason,
    /** what an NVENC transcode would do with frames, before the per-input trial */
    pipeline: !Object.values(nvenc).some((s) => s.works)
      ? 'none: no NVENC encoder works here'
      : scaler.scaler && caps.hwaccels.includes('cuda')
        ? `NVDEC decode (-hwaccel cuda) where the input allows, else CPU decode${caps.filters.includes('hwupload_cuda') ? ' + hwupload_cuda' : ''}; scaling with ${scaler.scaler}`
        : 'CPU decode and scaling, NVENC encodes',
  };
  // what `--hw auto` picks for each built-in preset, and why (trials are cached: no extra encodes)
  const auto: Record<string, { hardware: string; encoder: string; reason: string }> = {};
  for (const p of await listBuiltinPresets()) {
    try {
      const choice = await selectHardware(caps, (await loadPreset(p.file)).preset, 'auto');
      auto[p.name] = { hardware: choice.hardware, encoder: choice.encoder, reason: choice.reason };
    } catch (error) {
      auto[p.name] = { hardware: 'none', encoder: 'none', reason: (error as Error).message };
    }
  }
  // ffprobe is needed for every input: check that it runs and say which version it is
  const probeRun = await runCapture(tools.ffprobe.path, ['-hide_banner', '-version'], { timeoutMs: 30_000 }).catch((e: unknown) => ({
    exitCode: -1,
    stdout: '',
    stderr: (e as Error).message,
  }));
  const ffprobeVersion = probeRun.exitCode === 0 ? parseVersion(probeRun.stdout).raw : '';
  const ffprobeOk = probeRun.exitCode === 0 && ffprobeVersion !== '';
  const cpuOk = Object.values(encoderProfiles)
    .filter((p) => p.hardware === 'cpu')
    .some((p) => caps.encoders.some((e) => e.name === p.name));
  // what --per-title would score with (for a 1080p title)
  const metric = await chooseMetric(caps, { width: 1920, height: 1080 }).then(
    (m) => ({ metric: describeMetric(m.metric), approximate: m.note !== null }),
    (e: unknown) => ({ metric: `none: ${(e as Error).message}`, approximate: true }),
  );
  const report = {
    perTitle: metric,
    ffmpeg: { path: tools.ffmpeg.path, why: tools.ffmpeg.reason, version: caps.version.raw },
    ffprobe: { path: tools.ffprobe.path, why: tools.ffprobe.reason, version: ffprobeVersion, works: ffprobeOk },
    encoders: perCodec,
    nvenc,
    gpu,
    auto,
    hwaccels: caps.hwaccels,
    muxers: { hls: caps.muxers.includes('hls'), mp4: caps.muxers.includes('mp4'), flv: caps.muxers.includes('flv') },
    filters: { scale_cuda: gpu.scale_cuda, scale_npp: gpu.scale_npp, hwupload_cuda: gpu.hwupload_cuda },
    usable: cpuOk && caps.muxers.includes('hls') && ffprobeOk,
  };
  if (ctx.mode === 'json') ctx.reporter.event({ type: 'doctor', ...report });
  else {
    const w = (s: string): void => void ctx.io.out.write(`${s}\n`);
    const yn = (b: boolean): string => (b ? 'yes' : 'no');
    w(`ffmpeg:  ${report.ffmpeg.path} (${report.ffmpeg.why}), version ${report.ffmpeg.version}`);
    w(`ffprobe: ${report.ffprobe.path} (${report.ffprobe.why}), ${ffprobeOk ? `version ${ffprobeVersion}` : 'does NOT run as ffprobe'}`);
    for (const c of codecs) w(`${c.padEnd(5)} encoders: ${perCodec[c]!.join(', ') || 'none'}`);
    for (const [name, s] of Object.entries(nvenc)) {
      w(`${name.padEnd(11)} ${s.works ? 'works' : s.listed ? 'listed but unusable' : 'not available'}: ${s.message}`);
      if (s.hint) w(`${''.padEnd(11)} hint: ${s.hint}`);
    }
    w(`gpu: hwaccel cuda ${yn(gpu.hwaccelCuda)}, scale_cuda ${yn(gpu.scale_cuda)}, scale_npp ${yn(gpu.scale_npp)}, hwupload_cuda ${yn(gpu.hwupload_cuda)}`);
    w(`gpu pipeline: ${gpu.pipeline}`);
    for (const [name, a] of Object.entries(auto)) w(`--hw auto, ${name}: ${a.encoder} on ${a.hardware} (${a.reason})`);
    w(`hwaccels: ${caps.hwaccels.join(', ') || 'none'}`);
    w(`muxers: hls ${yn(report.muxers.hls)}, mp4 ${yn(report.muxers.mp4)}, flv ${yn(report.muxers.flv)}`);
    w(`per-title metric: ${metric.metric}`);
    w(report.usable ? 'status: usable' : 'status: NOT usable (no CPU ladder encoder, no HLS muxer, or no working ffprobe)');
  }
  if (!ffprobeOk) {
    throw new StreamkitError('FFMPEG_NOT_FOUND', `${tools.ffprobe.path} does not run as ffprobe (exit code ${probeRun.exitCode}).`, {
      hint: 'Install ffmpeg (it ships ffprobe), or point --ffprobe / STREAMKIT_FFPROBE at a working ffprobe.',
      details: { binary: tools.ffprobe.path },
    });
  }
  if (!report.usable) {
    throw new StreamkitError('ENCODER_UNAVAILABLE', `${tools.ffmpeg.path} cannot produce any built-in ladder (no libx264/libx265/libsvtav1 or no HLS muxer).`, {
      hint: 'Install a full ffmpeg build (Debian: apt-get install ffmpeg).',
    });
  }
}
