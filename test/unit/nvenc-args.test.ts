/**
 * NVENC argument building, pure: every NVENC encoder x rate-control mode, the GPU filter graph and
 * input options for each pipeline mode, the NVDEC decision, the GPU scaler choice, the trial-failure
 * classification, and the trial/fallback decisions. The CPU argv is pinned too: NVENC must not change it.
 */
import { describe, expect, it } from 'vitest';
import { canRememberNoDriver, driverFingerprint, noDriverFact } from '../../src/encoder/nvenc-memo.js';
import { chooseNvencPipeline, TRIAL_FRAMES, type TrialRunner } from '../../src/pipeline/nvenc-trial.js';
import { buildEncoderTrialArgs, classifyNvencFailure, isBFrameRefFailure, isDeviceLevelFailure, missingNvencReason, stripLogPrefix } from '../../src/encoder/nvenc.js';
import { encoderProfiles, type RungEncodeSettings } from '../../src/encoder/profiles.js';
import type { Capabilities } from '../../src/ffmpeg/capabilities.js';
import { buildNvencPipelineTrialArgs, buildTranscodeArgs } from '../../src/args/command.js';
import { gpuInputOptions, gpuVideoFilterGraph, nvdecDecision, pickGpuScaler, pipelineCandidates } from '../../src/args/gpu-graph.js';
import { buildLadder } from '../../src/media/ladder.js';
import type { MediaInfo, VideoInfo } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import type { NvencPipeline, TranscodePlan } from '../../src/plan.js';
import { parsePresetObject } from '../../src/preset/load.js';
import { mayRetryOnCpu } from '../../src/pipeline/encode.js';
import { FfmpegError, StreamkitError } from '../../src/errors.js';

const base: RungEncodeSettings = { mode: 'vbr', bitrate: 3_000_000, maxrate: 4_500_000, bufsize: 9_000_000, crf: 23, gopFrames: 60, speed: 'p5', tune: 'hq', options: {} };

describe('NVENC encoder arguments, every encoder x rate-control mode', () => {
  const rate = {
    crf: ['-rc', 'vbr', '-cq', '23', '-b:v', '0', '-maxrate', '4500k', '-bufsize', '9000k'],
    vbr: ['-rc', 'vbr', '-b:v', '3000k', '-maxrate', '4500k', '-bufsize', '9000k'],
    cbr: ['-rc', 'cbr', '-b:v', '3000k', '-maxrate', '3000k', '-bufsize', '9000k'],
  } as const;
  const gop = ['-g', '60', '-forced-idr', '1', '-no-scenecut', '1'];
  for (const mode of ['crf', 'vbr', 'cbr'] as const) {
    it(`h264_nvenc ${mode}`, () => {
      expect(encoderProfiles.h264_nvenc.args({ ...base, mode })).toEqual(['-preset', 'p5', '-tune', 'hq', '-profile:v', 'high', ...rate[mode], ...gop]);
    });
    it(`hevc_nvenc ${mode}`, () => {
      expect(encoderProfiles.hevc_nvenc.args({ ...base, mode })).toEqual(['-preset', 'p5', '-tune', 'hq', ...rate[mode], ...gop, '-tag:v', 'hvc1']);
    });
    it(`av1_nvenc ${mode}`, () => {
      expect(encoderProfiles.av1_nvenc.args({ ...base, mode })).toEqual(['-preset', 'p5', '-tune', 'hq', ...rate[mode], ...gop]);
    });
  }

  it('uses B-frames as references only when told the GPU supports them', () => {
    for (const name of ['h264_nvenc', 'hevc_nvenc', 'av1_nvenc'] as const) {
      const without = encoderProfiles[name].args(base);
      const withRefs = encoderProfiles[name].args({ ...base, bFrameRefs: true });
      expect(without).not.toContain('-b_ref_mode');
      const i = withRefs.indexOf('-b_ref_mode');
      expect(withRefs[i + 1]).toBe('middle');
      expect(withRefs.filter((a) => a !== '-b_ref_mode' && a !== 'middle')).toEqual(without);
    }
  });

  it('defaults: p5, no tune; a preset profile replaces -profile:v high; extra options come last', () => {
    expect(encoderProfiles.h264_nvenc.args({ ...base, speed: undefined, tune: undefined }).slice(0, 4)).toEqual(['-preset', 'p5', '-profile:v', 'high']);
    const args = encoderProfiles.h264_nvenc.args({ ...base, options: { profile: 'main', 'spatial-aq': true, 'rc-lookahead': 20 } });
    expect(args.filter((a) => a === '-profile:v')).toHaveLength(1);
    expect(args.slice(-6)).toEqual(['-profile:v', 'main', '-spatial-aq:v', '1', '-rc-lookahead:v', '20']);
  });

  it('quality scale 1..51 (cq 0 means "automatic"), NV12 input, p1..p7, strict_gop left to presets', () => {
    for (const name of ['h264_nvenc', 'hevc_nvenc', 'av1_nvenc'] as const) {
      const p = encoderProfiles[name];
      expect(p.crfRange).toEqual([1, 51]);
      expect(p.pixelFormat).toBe('nv12');
      expect(p.speedPresets).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
      expect(p.args(base)).not.toContain('-strict_gop');
      expect(p.allowedOptions).toContain('strict_gop');
      expect(p.ownedOptions).toEqual(expect.arrayContaining(['rc', 'cq', 'g', 'forced-idr', 'no-scenecut', 'b_ref_mode']));
    }
    expect(encoderProfiles.av1_nvenc.allowedOptions).not.toContain('profile');
    expect(encoderProfiles.hevc_nvenc.allowedOptions).toContain('tier');
  });
});

// ---- plans ------------------------------------------------------------------------------------

const caps51: Capabilities = {
  path: '/usr/bin/ffmpeg',
  version: { raw: '5.1.9-0+deb12u1', major: 5, minor: 1, configuration: [] },
  encoders: [],
  muxers: ['hls'],
  filters: ['scale', 'fps', 'split', 'scale_cuda', 'hwupload_cuda'],
  hwaccels: ['vdpau', 'cuda', 'vaapi'],
};

function video(over: Partial<VideoInfo> = {}): VideoInfo {
  return {
    index: 0,
    codec: 'h264',
    width: 1280,
    height: 720,
    sar: rational(1, 1),
    rotation: 0,
    displayWidth: 1280,
    displayHeight: 720,
    frameRate: rational(30, 1),
    variableFrameRate: false,
    pixelFormat: 'yuv420p',
    bitDepth: 8,
    ...over,
  };
}

function makePlan(over: { video?: Partial<VideoInfo>; hardware?: 'cpu' | 'nvenc'; nvenc?: NvencPipeline; audio?: boolean } = {}): TranscodePlan {
  const preset = parsePresetObject({
    video: {
      codec: 'h264',
      encoder: { cpu: { name: 'libx264', preset: 'veryfast' }, nvenc: { name: 'h264_nvenc', preset: 'p5', tune: 'hq' } },
      rateControl: { mode: 'vbr', maxrateRatio: 1.5, bufsizeRatio: 2 },
      keyframeInterval: 2,
      rungs: [
        { height: 720, bitrate: '3000k' },
        { height: 480, bitrate: '1500k' },
        { height: 360, bitrate: '800k' },
      ],
    },
    packaging: { hls: { segmentDuration: 4 } },
  });
  const media: MediaInfo = {
    input: 'in.mp4',
    url: 'file:/src/in.mp4',
    remote: false,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration: 10,
    sizeBytes: 1000,
    video: video(over.video),
    audio: over.audio ? [{ index: 1, codec: 'aac', channels: 2, sampleRate: 48000, language: null, title: null }] : [],
    inputOptions: [],
  };
  const hardware = over.hardware ?? 'cpu';
  return {
    media,
    preset,
    presetName: 'test',
    hardware,
    encoder: hardware === 'cpu' ? 'libx264' : 'h264_nvenc',
    speed: hardware === 'cpu' ? 'veryfast' : 'p5',
    tune: hardware === 'cpu' ? undefined : 'hq',
    encoderOptions: {},
    ladder: buildLadder(preset, media),
    notes: [],
    audio: over.audio && preset.audio !== false ? preset.audio : null,
    audioRenditions: over.audio ? [{ sourceOrder: 0, dir: 'audio-1', name: 'Main', language: null, channels: 2, default: true }] : [],
    hls: { container: 'ts', hlsTime: 3.999999, segmentSeconds: 4, firstSegmentSeconds: 4, pieces: null },
    timeline: { offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 1024 },
    fpsModeOption: '-fps_mode',
    files: [],
    thumbnails: null,
    ...(over.nvenc ? { nvenc: over.nvenc } : {}),
  };
}

const hls = (dir: string): string[] => [
  '-f',
  'hls',
  '-hls_time',
  '3.999999',
  '-hls_playlist_type',
  'vod',
  '-hls_list_size',
  '0',
  '-hls_segment_type',
  'mpegts',
  '-hls_flags',
  'independent_segments+temp_file',
  '-hls_segment_filename',
  `${dir}/seg_%05d.ts`,
  '-output_ts_offset',
  '1',
  `${dir}/index.m3u8`,
]; // relative: ffmpeg runs in the staging folder;
const meta = ['-map_metadata', '-1', '-map_chapters', '-1'];
const vmeta = ['-fps_mode', 'passthrough', ...meta]; // video outputs keep the fps filter's timing
const nv = (b: string, m: string, s: string): string[] => [
  '-c:v',
  'h264_nvenc',
  '-preset',
  'p5',
  '-tune',
  'hq',
  '-profile:v',
  'high',
  '-rc',
  'vbr',
  '-b:v',
  b,
  '-maxrate',
  m,
  '-bufsize',
  s,
  '-g',
  '60',
  '-forced-idr',
  '1',
  '-no-scenecut',
  '1',
];

describe('transcode argv', () => {
  it('CPU path: unchanged by NVENC (no hwaccel, software graph, x264 arguments)', () => {
    expect(buildTranscodeArgs(makePlan())).toEqual([
      '-loglevel',
      'warning',
      '-y',
      '-protocol_whitelist',
      'file',
      '-i',
      'file:/src/in.mp4',
      '-filter_complex',
      '[0:0]fps=30:start_time=0,split=3[s0][s1][s2];[s0]setsar=1[v0];[s1]scale=854:480,setsar=1[v1];[s2]scale=640:360,setsar=1[v2]',
      '-map',
      '[v0]',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      '3000k',
      '-maxrate',
      '4500k',
      '-bufsize',
      '9000k',
      '-g',
      '60',
      '-keyint_min',
      '60',
      '-sc_threshold',
      '0',
      '-x264-params',
      'open-gop=0',
      ...vmeta,
      ...hls('720p'),
      '-map',
      '[v1]',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      '1500k',
      '-maxrate',
      '2250k',
      '-bufsize',
      '4500k',
      '-g',
      '60',
      '-keyint_min',
      '60',
      '-sc_threshold',
      '0',
      '-x264-params',
      'open-gop=0',
      ...vmeta,
      ...hls('480p'),
      '-map',
      '[v2]',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      '800k',
      '-maxrate',
      '1200k',
      '-bufsize',
      '2400k',
      '-g',
      '60',
      '-keyint_min',
      '60',
      '-sc_threshold',
      '0',
      '-x264-params',
      'open-gop=0',
      ...vmeta,
      ...hls('360p'),
    ]);
  });

  it('NVENC gpu mode: NVDEC decode before -i, scale_cuda cascade, B-frame references, same outputs', () => {
    const plan = makePlan({ hardware: 'nvenc', nvenc: { mode: 'gpu', scaler: 'scale_cuda', bFrameRefs: true, reason: 'x' } });
    expect(buildTranscodeArgs(plan)).toEqual([
      '-loglevel',
      'warning',
      '-y',
      '-protocol_whitelist',
      'file',
      '-threads',
      '1',
      '-hwaccel',
      'cuda',
      '-hwaccel_output_format',
      'cuda',
      '-extra_hw_frames',
      '8',
      '-i',
      'file:/src/in.mp4',
      '-filter_complex',
      '[0:0]fps=30:start_time=0,scale_cuda=w=1280:h=720:interp_algo=bicubic:format=nv12:passthrough=0,setsar=1,split=2[v0][c0];' +
        '[c0]scale_cuda=w=854:h=480:interp_algo=bicubic,setsar=1,split=2[v1][c1];' +
        '[c1]scale_cuda=w=640:h=360:interp_algo=bicubic,setsar=1[v2]',
      '-map',
      '[v0]',
      ...nv('3000k', '4500k', '9000k'),
      '-b_ref_mode',
      'middle',
      ...vmeta,
      ...hls('720p'),
      '-map',
      '[v1]',
      ...nv('1500k', '2250k', '4500k'),
      '-b_ref_mode',
      'middle',
      ...vmeta,
      ...hls('480p'),
      '-map',
      '[v2]',
      ...nv('800k', '1200k', '2400k'),
      '-b_ref_mode',
      'middle',
      ...vmeta,
      ...hls('360p'),
    ]);
  });

  it('NVENC upload mode: CPU decode, CPU format only when hwupload_cuda cannot take the source, scale_npp', () => {
    const yuv420 = gpuVideoFilterGraph(makePlan(), { mode: 'upload', scaler: 'scale_npp' });
    expect(yuv420.graph).toBe(
      '[0:0]fps=30:start_time=0,hwupload_cuda,scale_npp=w=1280:h=720:format=nv12,setsar=1,split=2[v0][c0];[c0]scale_npp=w=854:h=480,setsar=1,split=2[v1][c1];[c1]scale_npp=w=640:h=360,setsar=1[v2]',
    );
    expect(yuv420.outputs).toEqual(['v0', 'v1', 'v2']);
    const tenBit = gpuVideoFilterGraph(makePlan({ video: { pixelFormat: 'yuv420p10le', bitDepth: 10 } }), { mode: 'upload', scaler: 'scale_cuda' });
    expect(
      tenBit.graph.startsWith('[0:0]fps=30:start_time=0,format=nv12,hwupload_cuda,scale_cuda=w=1280:h=720:interp_algo=bicubic:format=nv12:passthrough=0,setsar=1,split=2[v0][c0];'),
    ).toBe(true);
    const plan = makePlan({ hardware: 'nvenc', nvenc: { mode: 'upload', scaler: 'scale_npp', bFrameRefs: false, reason: 'x' } });
    const argv = buildTranscodeArgs(plan);
    expect(argv.slice(0, 7)).toEqual(['-loglevel', 'warning', '-y', '-protocol_whitelist', 'file', '-i', 'file:/src/in.mp4']);
    expect(argv).not.toContain('-hwaccel');
    expect(argv).not.toContain('-b_ref_mode');
  });

  it('NVENC cpu mode: the CPU graph with NV12 for NVENC, NVENC arguments, no hwaccel', () => {
    const argv = buildTranscodeArgs(makePlan({ hardware: 'nvenc', nvenc: { mode: 'cpu', scaler: null, bFrameRefs: false, reason: 'x' } }));
    expect(argv.slice(0, 9)).toEqual([
      '-loglevel',
      'warning',
      '-y',
      '-protocol_whitelist',
      'file',
      '-i',
      'file:/src/in.mp4',
      '-filter_complex',
      '[0:0]fps=30:start_time=0,format=nv12,split=3[s0][s1][s2];[s0]setsar=1[v0];[s1]scale=854:480,setsar=1[v1];[s2]scale=640:360,setsar=1[v2]',
    ]);
    expect(argv.slice(9, 9 + 2 + nv('', '', '').length)).toEqual(['-map', '[v0]', ...nv('3000k', '4500k', '9000k')]);
  });

  it('the GPU graph scales the top rung from a non-square-pixel source and sets square pixels', () => {
    const plan = makePlan({ video: { width: 1440, height: 1080, sar: rational(4, 3), displayWidth: 1920, displayHeight: 1080 } });
    const { graph } = gpuVideoFilterGraph(plan, { mode: 'gpu', scaler: 'scale_cuda' });
    expect(graph.split(';')[0]).toBe('[0:0]fps=30:start_time=0,scale_cuda=w=1280:h=720:interp_algo=bicubic:format=nv12:passthrough=0,setsar=1,split=2[v0][c0]');
  });

  it('a one-rung ladder has no split', () => {
    const plan = makePlan({ video: { width: 640, height: 360, displayWidth: 640, displayHeight: 360 } });
    expect(plan.ladder.rungs).toHaveLength(1);
    expect(gpuVideoFilterGraph(plan, { mode: 'gpu', scaler: 'scale_npp' }).graph).toBe('[0:0]fps=30:start_time=0,scale_npp=w=640:h=360:format=nv12,setsar=1[v0]');
  });

  it('mode cpu has no GPU graph', () => {
    expect(() => gpuVideoFilterGraph(makePlan(), { mode: 'cpu', scaler: null })).toThrow();
    expect(gpuInputOptions('cpu')).toEqual([]);
    expect(gpuInputOptions('upload')).toEqual([]);
  });

  it('pipeline trial: the same input, graph and encoders, TRIAL_FRAMES frames per rung into null outputs, no audio', () => {
    const plan = makePlan({ hardware: 'nvenc', audio: true, nvenc: { mode: 'gpu', scaler: 'scale_cuda', bFrameRefs: false, reason: 'x' } });
    const trial = buildNvencPipelineTrialArgs(plan, TRIAL_FRAMES);
    const real = buildTranscodeArgs(plan);
    expect(trial.slice(0, 4)).toEqual(['-hide_banner', '-nostdin', '-loglevel', 'warning']);
    const input = (a: string[]): string[] => a.slice(a.indexOf('-protocol_whitelist'), a.indexOf('-filter_complex') + 2);
    expect(input(trial)).toEqual(input(real));
    expect(trial.filter((a) => a === '-map')).toHaveLength(3);
    expect(trial.filter((a) => a === 'null')).toHaveLength(3);
    expect(trial).not.toContain('-c:a');
    expect(trial).not.toContain('hls');
    const firstOut = trial.slice(trial.indexOf('-map'), trial.indexOf('-map', trial.indexOf('-map') + 1));
    expect(firstOut).toEqual(['-map', '[v0]', ...nv('3000k', '4500k', '9000k'), '-fps_mode', 'passthrough', '-frames:v', String(TRIAL_FRAMES), '-f', 'null', '-']);
  });

  it('the one-frame encoder trial carries the given encoder arguments at warning level', () => {
    expect(buildEncoderTrialArgs('hevc_nvenc', ['-preset', 'p5'])).toEqual([
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'warning',
      '-f',
      'lavfi',
      '-i',
      'color=black:size=256x144:rate=30',
      '-frames:v',
      '1',
      '-an',
      '-c:v',
      'hevc_nvenc',
      '-preset',
      'p5',
      '-f',
      'null',
      '-',
    ]);
  });
});

describe('NVDEC decision (conservative)', () => {
  const cuda = { hwaccels: ['cuda'] };
  it.each([
    ['h264', 'yuv420p', 1920, 1080],
    ['hevc', 'yuv420p', 3840, 2160],
    ['mpeg2video', 'yuv420p', 720, 576],
    ['vp9', 'yuv420p', 1280, 720],
    ['av1', 'yuv420p', 1920, 1080],
    ['h264', 'nv12', 1280, 720],
  ])('decodes %s %s %ix%i on the GPU', (codec, pixelFormat, width, height) => {
    expect(nvdecDecision({ codec, pixelFormat, width, height, rotation: 0 }, cuda).ok).toBe(true);
  });
  it.each([
    [{ codec: 'h264', pixelFormat: 'yuv422p' }, /8-bit 4:2:0/],
    [{ codec: 'h264', pixelFormat: 'yuv444p' }, /8-bit 4:2:0/],
    [{ codec: 'h264', pixelFormat: 'yuv420p10le' }, /8-bit 4:2:0/],
    [{ codec: 'hevc', pixelFormat: 'yuv420p10le' }, /8-bit 4:2:0/],
    [{ codec: 'h264', pixelFormat: 'yuvj420p' }, /full-range/],
    [{ codec: 'prores', pixelFormat: 'yuv422p10le' }, /does not decode prores/],
    [{ codec: 'mjpeg', pixelFormat: 'yuvj420p' }, /does not decode mjpeg/],
    [{ width: 7680, height: 4320 }, /above 4096x4096/],
    [{ codec: 'hevc', width: 128, height: 96 }, /below NVDEC's smallest HEVC size/],
    [{ rotation: 90 as const }, /rotated by 90 degrees/],
  ])('decodes %o on the CPU', (over, why) => {
    const d = nvdecDecision({ codec: 'h264', pixelFormat: 'yuv420p', width: 1920, height: 1080, rotation: 0, ...over }, cuda);
    expect(d.ok).toBe(false);
    expect(d.reason).toMatch(why);
  });
  it('needs the cuda hwaccel in the binary', () => {
    expect(nvdecDecision(video(), { hwaccels: ['vaapi'] })).toEqual({ ok: false, reason: 'this ffmpeg has no cuda hwaccel' });
  });
});

describe('GPU scaler and pipeline candidates', () => {
  const v = (raw: string, major: number | null, minor: number | null) => ({ raw, major, minor, configuration: [] });
  it('prefers scale_cuda (5.0+), else scale_npp, else none', () => {
    expect(pickGpuScaler({ filters: ['scale_cuda', 'scale_npp'], version: v('5.1.9', 5, 1) }).scaler).toBe('scale_cuda');
    expect(pickGpuScaler({ filters: ['scale_cuda'], version: v('N-110000-gabc', null, null) }).scaler).toBe('scale_cuda');
    expect(pickGpuScaler({ filters: ['scale_cuda', 'scale_npp'], version: v('4.4.2', 4, 4) }).scaler).toBe('scale_npp');
    const old = pickGpuScaler({ filters: ['scale_cuda'], version: v('4.4.2', 4, 4) });
    expect(old.scaler).toBeNull();
    expect(old.reason).toMatch(/predates 5\.0/);
    expect(pickGpuScaler({ filters: ['scale'], version: v('6.1', 6, 1) })).toEqual({ scaler: null, reason: 'this ffmpeg has neither scale_cuda nor scale_npp' });
  });
  it('orders gpu, upload, cpu and says why a mode is impossible', () => {
    expect(pipelineCandidates(video(), caps51).map((c) => [c.mode, c.possible, c.scaler])).toEqual([
      ['gpu', true, 'scale_cuda'],
      ['upload', true, 'scale_cuda'],
      ['cpu', true, null],
    ]);
    const tenBit = pipelineCandidates(video({ pixelFormat: 'yuv420p10le' }), caps51);
    expect(tenBit[0]!.possible).toBe(false);
    expect(tenBit[0]!.reason).toMatch(/^no GPU decode: yuv420p10le/);
    expect(tenBit[1]!.reason).toMatch(/^decode on the CPU \(yuv420p10le/);
    const noUpload = pipelineCandidates(video(), { ...caps51, filters: ['scale_cuda'] });
    expect(noUpload[1]).toMatchObject({ mode: 'upload', possible: false, reason: 'no GPU scaling: this ffmpeg has no hwupload_cuda' });
    const noScaler = pipelineCandidates(video(), { ...caps51, filters: ['hwupload_cuda'] });
    expect(noScaler.filter((c) => c.possible).map((c) => c.mode)).toEqual(['cpu']);
  });
});

describe('NVENC trial failures', () => {
  // log lines in the exact form ffmpeg prints them (libavcodec/nvenc.c, nv-codec-headers' loader)
  const err = 'Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height';
  it.each([
    ['[h264_nvenc @ 0x55c93938a240] Cannot load libcuda.so.1', 'no-driver', 'Cannot load libcuda.so.1'],
    [
      '[AVHWDeviceContext @ 0x5637d2e89700] Cannot load libcuda.so.1\n[AVHWDeviceContext @ 0x5637d2e89700] Could not dynamically load CUDA\nDevice creation failed: -1.',
      'no-driver',
      'Cannot load libcuda.so.1',
    ],
    [
      '[h264_nvenc @ 0x1] Cannot load libnvidia-encode.so.1\n[h264_nvenc @ 0x1] The minimum required Nvidia driver for nvenc is 520.56.06 or newer',
      'no-nvenc-library',
      'Cannot load libnvidia-encode.so.1',
    ],
    [
      '[hevc_nvenc @ 0x1] Driver does not support the required nvenc API version. Required: 12.0 Found: 11.1\n[hevc_nvenc @ 0x1] The minimum required Nvidia driver for nvenc is 520.56.06 or newer',
      'driver-too-old',
      'Driver does not support the required nvenc API version. Required: 12.0 Found: 11.1',
    ],
    ['[h264_nvenc @ 0x1] No CUDA capable devices found', 'no-device', 'No CUDA capable devices found'],
    [
      '[h264_nvenc @ 0x1] cuInit(0) failed -> CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected',
      'no-device',
      'cuInit(0) failed -> CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected',
    ],
    [
      '[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: out of memory (10): (no details)\n[h264_nvenc @ 0x1] No capable devices found',
      'sessions',
      'OpenEncodeSessionEx failed: out of memory (10): (no details)',
    ],
    [
      '[hevc_nvenc @ 0x1] OpenEncodeSessionEx failed: incompatible client key (21): (no details)\n[hevc_nvenc @ 0x1] No capable devices found',
      'sessions',
      'OpenEncodeSessionEx failed: incompatible client key (21): (no details)',
    ],
    ['[av1_nvenc @ 0x1] Codec not supported\n[av1_nvenc @ 0x1] No capable devices found', 'codec-unsupported', 'Codec not supported'],
    ['[hevc_nvenc @ 0x1] B frames as references are not supported\n[hevc_nvenc @ 0x1] No capable devices found', 'feature-unsupported', 'B frames as references are not supported'],
    ['[h264_nvenc @ 0x1] Max B-frames 4 exceed 0\n[h264_nvenc @ 0x1] No capable devices found', 'feature-unsupported', 'Max B-frames 4 exceed 0'],
    ['[h264_nvenc @ 0x1] No capable devices found', 'no-capable-device', 'No capable devices found'],
  ])('%s -> %s', (stderr, kind, line) => {
    const f = classifyNvencFailure(`${stderr}\n${err}\n`, 1);
    expect(f.kind).toBe(kind);
    expect(f.line).toBe(line);
  });
  it('anything else keeps the most telling line', () => {
    expect(
      classifyNvencFailure("Impossible to convert between the formats supported by the filter 'Parsed_fps_0' and the filter 'auto_scale_0'\nError reinitializing filters!\n", 1),
    ).toMatchObject({ kind: 'other', line: "Impossible to convert between the formats supported by the filter 'Parsed_fps_0' and the filter 'auto_scale_0'" });
    expect(classifyNvencFailure('', 1)).toMatchObject({ kind: 'other', line: 'exit code 1' });
  });
  it('device-level failures stop the pipeline search; B-frame reference refusals are recognised', () => {
    expect(isDeviceLevelFailure(classifyNvencFailure('OpenEncodeSessionEx failed: out of memory (10)'))).toBe(true);
    expect(isDeviceLevelFailure(classifyNvencFailure('Hardware is lacking required capabilities'))).toBe(false);
    expect(isBFrameRefFailure('[h264_nvenc @ 0x1] B frames as references are not supported')).toBe(true);
    expect(isBFrameRefFailure('[hevc_nvenc @ 0x1] Each B frame as reference is not supported')).toBe(true);
    expect(isBFrameRefFailure('[h264_nvenc @ 0x1] Temporal AQ not supported')).toBe(false);
  });
  it('strips every log prefix', () => {
    expect(stripLogPrefix('[h264 @ 0x5600abc] [Eval @ 0x7ffd] Undefined constant')).toBe('Undefined constant');
    expect(stripLogPrefix('Device creation failed: -1.')).toBe('Device creation failed: -1.');
  });
  it('says why av1_nvenc is missing: ffmpeg 6.0+', () => {
    expect(missingNvencReason(caps51, 'av1_nvenc')).toBe(
      'av1_nvenc is not in this ffmpeg build: it needs ffmpeg 6.0 or newer (built with NVENC SDK 12), this is ffmpeg 5.1.9-0+deb12u1',
    );
    expect(missingNvencReason({ ...caps51, version: { raw: '6.1.1', major: 6, minor: 1, configuration: [] } }, 'av1_nvenc')).toMatch(/built without NVENC/);
  });
});

describe('choosing the pipeline by trial runs (ffmpeg replaced by scripted answers)', () => {
  const ok = { exitCode: 0, stderr: '' };
  const failing = (stderr: string) => ({ exitCode: 1, stderr });
  function script(answers: ((args: string[]) => { exitCode: number; stderr: string } | undefined)[]): { run: TrialRunner; calls: string[][] } {
    const calls: string[][] = [];
    return {
      calls,
      run: async (args) => {
        calls.push(args);
        for (const a of answers) {
          const r = a(args);
          if (r) return r;
        }
        return ok;
      },
    };
  }
  const isEncoderTrial = (a: string[]): boolean => a.includes('lavfi');
  const isGpu = (a: string[]): boolean => a.includes('-hwaccel');
  const isUpload = (a: string[]): boolean => a.some((x) => x.includes('hwupload_cuda'));

  it('takes the full-GPU pipeline when it works, with B-frame references', async () => {
    const { run, calls } = script([]);
    const r = await chooseNvencPipeline(caps51, makePlan({ hardware: 'nvenc' }), { run, fresh: true });
    expect(r.ok && r.pipeline).toMatchObject({ mode: 'gpu', scaler: 'scale_cuda', bFrameRefs: true });
    expect(calls).toHaveLength(2);
    expect(calls[0]).toContain('-b_ref_mode');
    expect(isGpu(calls[1]!)).toBe(true);
  });

  it('drops B-frame references when the GPU refuses them, then goes on', async () => {
    const { run, calls } = script([
      (a) =>
        isEncoderTrial(a) && a.includes('-b_ref_mode')
          ? failing('[h264_nvenc @ 0x1] B frames as references are not supported\n[h264_nvenc @ 0x1] No capable devices found')
          : undefined,
    ]);
    const r = await chooseNvencPipeline(caps51, makePlan({ hardware: 'nvenc' }), { run, fresh: true });
    expect(r.ok && r.pipeline).toMatchObject({ mode: 'gpu', bFrameRefs: false });
    expect(r.ok && r.pipeline.reason).toMatch(/B-frames not used as references/);
    expect(calls[2]).not.toContain('-b_ref_mode');
  });

  it('falls back from NVDEC to upload to CPU frames as each fails for pipeline reasons', async () => {
    const { run, calls } = script([
      (a) =>
        isGpu(a) ? failing('[h264 @ 0x1] Hardware is lacking required capabilities\n[h264 @ 0x1] Failed setup for format cuda: hwaccel initialisation returned error') : undefined,
      (a) => (isUpload(a) ? failing("[Parsed_scale_cuda_2 @ 0x1] Option 'interp_algo' not found") : undefined),
    ]);
    const r = await chooseNvencPipeline(caps51, makePlan({ hardware: 'nvenc' }), { run, fresh: true });
    expect(r.ok && r.pipeline.mode).toBe('cpu');
    expect(calls).toHaveLength(4);
    expect(r.tried.join('\n')).toMatch(/gpu: failed \(Hardware is lacking required capabilities\)\nupload: failed/);
  });

  it('stops at once when no session is left, and says so', async () => {
    const { run, calls } = script([
      (a) =>
        !isEncoderTrial(a) ? failing('[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: out of memory (10): (no details)\n[h264_nvenc @ 0x1] No capable devices found') : undefined,
    ]);
    const r = await chooseNvencPipeline(caps51, makePlan({ hardware: 'nvenc' }), { run, fresh: true });
    expect(r.ok).toBe(false);
    expect(calls).toHaveLength(2);
    expect(!r.ok && r.failure.kind).toBe('sessions');
    expect(!r.ok && r.summary).toMatch(/^the 3-rung ladder failed on this input \(gpu pipeline\): no NVENC encode session is left/);
  });

  it('fails when the preset asks for something the GPU lacks', async () => {
    const { run, calls } = script([(a) => (isEncoderTrial(a) ? failing('[h264_nvenc @ 0x1] Temporal AQ not supported\n[h264_nvenc @ 0x1] No capable devices found') : undefined)]);
    const r = await chooseNvencPipeline(caps51, makePlan({ hardware: 'nvenc' }), { run, fresh: true });
    expect(calls).toHaveLength(1);
    expect(!r.ok && r.failure).toMatchObject({ kind: 'feature-unsupported', line: 'Temporal AQ not supported' });
    expect(!r.ok && r.summary).toMatch(/^h264_nvenc refuses the preset's settings/);
  });
});

describe('retrying on the CPU after NVENC failed at the start', () => {
  const ffErr = new FfmpegError('ffmpeg exited with code 1 while encoding the ladder.', { command: ['ffmpeg'], exitCode: 1, stderrTail: [] });
  const x = { request: 'auto' as const, hardware: 'nvenc' as const, error: ffErr, framesEncoded: null, aborted: false };
  it('only under --hw auto, only for NVENC, only before the first frame, never after an interruption', () => {
    expect(mayRetryOnCpu(x)).toBe(true);
    expect(mayRetryOnCpu({ ...x, framesEncoded: 0 })).toBe(true);
    expect(mayRetryOnCpu({ ...x, request: 'nvenc' })).toBe(false);
    expect(mayRetryOnCpu({ ...x, hardware: 'cpu' })).toBe(false);
    expect(mayRetryOnCpu({ ...x, framesEncoded: 25 })).toBe(false);
    expect(mayRetryOnCpu({ ...x, aborted: true })).toBe(false);
    expect(mayRetryOnCpu({ ...x, error: new StreamkitError('INTERRUPTED', 'x') })).toBe(false);
  });
});

describe('remembering an NVENC trial that failed for want of a driver', () => {
  it('only on Linux, where the fingerprinted paths decide whether libcuda.so.1 loads', () => {
    expect(canRememberNoDriver('linux')).toBe(true);
    expect(canRememberNoDriver('win32')).toBe(false);
    expect(canRememberNoDriver('darwin')).toBe(false);
  });

  it('the fingerprint is stable, and changes with the dynamic linker search path', () => {
    const env = { LD_LIBRARY_PATH: '' };
    expect(driverFingerprint(env)).toBe(driverFingerprint(env));
    expect(driverFingerprint(env)).toMatch(/^[0-9a-f]{16}$/);
    expect(driverFingerprint({ LD_LIBRARY_PATH: '/opt/nvidia/lib' })).not.toBe(driverFingerprint(env));
    // one kept entry per encoder, whatever the fingerprint
    expect(noDriverFact('h264_nvenc')).toBe('nvenc-no-driver|h264_nvenc');
  });
});
