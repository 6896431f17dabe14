import { StreamkitError } from '../errors.js';
import { encoderProfiles } from '../encoder/profiles.js';
import { encodersForCodec, trialEncode } from '../encoder/select.js';
import { parseVersion } from '../ffmpeg/capabilities-parse.js';
import { runCapture } from '../ffmpeg/run.js';
import { codecs } from '../preset/schema.js';
import { resolveToolchain } from '../transcode.js';
import type { CommandContext } from './context.js';

/** `streamkit doctor`: the truth about the toolchain, including a real NVENC trial encode. */
export async function runDoctor(ctx: CommandContext): Promise<void> {
  const tools = await resolveToolchain(ctx.opts);
  const { caps } = tools;
  const perCodec = Object.fromEntries(codecs.map((c) => [c, encodersForCodec(caps, c)]));
  const nvencNames = Object.values(encoderProfiles).filter((p) => p.hardware === 'nvenc').map((p) => p.name);
  const nvenc: Record<string, { listed: boolean; works: boolean; message: string }> = {};
  for (const name of nvencNames) {
    const listed = caps.encoders.some((e) => e.name === name);
    if (!listed) nvenc[name] = { listed, works: false, message: 'not in this ffmpeg build' };
    else {
      const t = await trialEncode(caps, name);
      nvenc[name] = { listed, works: t.ok, message: t.message };
    }
  }
  // ffprobe is needed for every input: check that it runs and say which version it is
  const probeRun = await runCapture(tools.ffprobe.path, ['-hide_banner', '-version'], { timeoutMs: 30_000 }).catch((e: unknown) => ({ exitCode: -1, stdout: '', stderr: (e as Error).message }));
  const ffprobeVersion = probeRun.exitCode === 0 ? parseVersion(probeRun.stdout).raw : '';
  const ffprobeOk = probeRun.exitCode === 0 && ffprobeVersion !== '';
  const cpuOk = Object.values(encoderProfiles).filter((p) => p.hardware === 'cpu').some((p) => caps.encoders.some((e) => e.name === p.name));
  const report = {
    ffmpeg: { path: tools.ffmpeg.path, why: tools.ffmpeg.reason, version: caps.version.raw },
    ffprobe: { path: tools.ffprobe.path, why: tools.ffprobe.reason, version: ffprobeVersion, works: ffprobeOk },
    encoders: perCodec,
    nvenc,
    hwaccels: caps.hwaccels,
    muxers: { hls: caps.muxers.includes('hls'), mp4: caps.muxers.includes('mp4'), flv: caps.muxers.includes('flv') },
    filters: { scale_cuda: caps.filters.includes('scale_cuda'), scale_npp: caps.filters.includes('scale_npp') },
    usable: cpuOk && caps.muxers.includes('hls') && ffprobeOk,
  };
  if (ctx.mode === 'json') ctx.reporter.event({ type: 'doctor', ...report });
  else {
    const w = (s: string): void => void ctx.io.out.write(`${s}\n`);
    w(`ffmpeg:  ${report.ffmpeg.path} (${report.ffmpeg.why}), version ${report.ffmpeg.version}`);
    w(`ffprobe: ${report.ffprobe.path} (${report.ffprobe.why}), ${ffprobeOk ? `version ${ffprobeVersion}` : 'does NOT run as ffprobe'}`);
    for (const c of codecs) w(`${c.padEnd(5)} encoders: ${perCodec[c]!.join(', ') || 'none'}`);
    for (const [name, s] of Object.entries(nvenc)) w(`${name.padEnd(11)} ${s.works ? 'works' : 'unusable'}: ${s.message}`);
    w(`hwaccels: ${caps.hwaccels.join(', ') || 'none'}`);
    w(`muxers: hls ${report.muxers.hls ? 'yes' : 'no'}, mp4 ${report.muxers.mp4 ? 'yes' : 'no'}, flv ${report.muxers.flv ? 'yes' : 'no'}`);
    w(report.usable ? 'status: usable' : 'status: NOT usable (no CPU ladder encoder, no HLS muxer, or no working ffprobe)');
  }
  if (!ffprobeOk) {
    throw new StreamkitError('FFMPEG_NOT_FOUND', `${tools.ffprobe.path} does not run as ffprobe (exit code ${probeRun.exitCode}).`, { hint: 'Install ffmpeg (it ships ffprobe), or point --ffprobe / STREAMKIT_FFPROBE at a working ffprobe.', details: { binary: tools.ffprobe.path } });
  }
  if (!report.usable) {
    throw new StreamkitError('ENCODER_UNAVAILABLE', `${tools.ffmpeg.path} cannot produce any built-in ladder (no libx264/libx265/libsvtav1 or no HLS muxer).`, { hint: 'Install a full ffmpeg build (Debian: apt-get install ffmpeg).' });
  }
}
