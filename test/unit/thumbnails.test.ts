import { describe, expect, it } from 'vitest';
import { buildTranscodeArgs } from '../../src/args/command.js';
import { gpuVideoFilterGraph } from '../../src/args/gpu-graph.js';
import { buildPosterScanArgs, buildThumbnailPassArgs, posterChain, spriteChain, withThumbnailBranches } from '../../src/args/thumbnails.js';
import { buildLadder } from '../../src/media/ladder.js';
import type { MediaInfo, VideoInfo } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import { autoInterval, jpegSize, planThumbnails, spriteCount, thumbnailCues, thumbnailsVtt, vttTime } from '../../src/package/thumbnails.js';
import type { NvencPipeline, ThumbnailPlan, TranscodePlan } from '../../src/plan.js';
import { parsePresetObject } from '../../src/preset/load.js';
import { parseThumbnailVtt } from '../helpers/thumbnails-check.js';

function video(over: Partial<VideoInfo> = {}): VideoInfo {
  return {
    index: 0,
    codec: 'h264',
    width: 1920,
    height: 1080,
    sar: rational(1, 1),
    rotation: 0,
    displayWidth: 1920,
    displayHeight: 1080,
    frameRate: rational(25, 1),
    variableFrameRate: false,
    pixelFormat: 'yuv420p',
    bitDepth: 8,
    ...over,
  };
}

function preset(packaging: Record<string, unknown> = { hls: {} }, live = false) {
  return parsePresetObject({
    live,
    video: {
      codec: 'h264',
      encoder: { cpu: { name: 'libx264', preset: 'veryfast' }, nvenc: { name: 'h264_nvenc', preset: 'p5' } },
      rateControl: { mode: 'vbr' },
      rungs: [
        { height: 1080, bitrate: '6000k' },
        { height: 360, bitrate: '800k' },
      ],
    },
    packaging,
  });
}

function media(duration: number | null, over: Partial<VideoInfo> = {}): MediaInfo {
  return {
    input: 'in.mp4',
    url: 'file:/src/in.mp4',
    remote: false,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration,
    sizeBytes: 1000,
    video: video(over),
    audio: [],
    inputOptions: ['-f', 'mov'],
  };
}

function plan(o: { duration?: number; packaging?: Record<string, unknown>; nvenc?: NvencPipeline; files?: boolean; videoStart?: number } = {}): TranscodePlan {
  const p = preset({ hls: {}, ...(o.files ? { mp4: { rungs: 'top' } } : {}), ...o.packaging });
  const m = media(o.duration ?? 10);
  const ladder = buildLadder(p, m);
  return {
    media: m,
    preset: p,
    presetName: 'test',
    hardware: o.nvenc ? 'nvenc' : 'cpu',
    encoder: o.nvenc ? 'h264_nvenc' : 'libx264',
    speed: 'veryfast',
    tune: undefined,
    encoderOptions: {},
    ladder,
    notes: [],
    audio: null,
    audioRenditions: [],
    hls: { container: 'ts', hlsTime: 5.999999, segmentSeconds: 6, firstSegmentSeconds: 6, pieces: null },
    timeline: { offset: 1, inputStart: 0, videoStart: o.videoStart ?? 0, audioPrimingSamples: 0 },
    fpsModeOption: '-fps_mode',
    files: o.files ? [{ kind: 'mp4', rung: ladder.rungs[0]!.name, rungIndex: 0, audio: [], path: `mp4/${ladder.rungs[0]!.name}.mp4` }] : [],
    ...(o.nvenc ? { nvenc: o.nvenc } : {}),
    thumbnails: planThumbnails(p, m, ladder, o.nvenc).thumbnails,
  };
}

const geometry = (over: Partial<ThumbnailPlan> = {}): ThumbnailPlan => ({
  intervalMs: 2000,
  durationMs: 12_345,
  count: 7,
  width: 160,
  height: 90,
  columns: 3,
  rows: 2,
  poster: { width: 1280, height: 720, start: 1.235, end: 12.345 },
  pass: 'encode',
  ...over,
});

describe('thumbnail plan', () => {
  it('auto interval: 2 s up to 10 minutes, longer titles up to 10 s', () => {
    expect(autoInterval(12)).toBe(2);
    expect(autoInterval(600)).toBe(2);
    expect(autoInterval(601)).toBe(3);
    expect(autoInterval(1500)).toBe(5);
    expect(autoInterval(7200)).toBe(10);
  });

  it('on by default for VOD presets, off for live ones, off with false, none without a duration (said in a note)', () => {
    const ladder = buildLadder(preset(), media(10));
    expect(planThumbnails(preset(), media(10), ladder).thumbnails).not.toBeNull();
    expect(planThumbnails(preset({ flv: {} }, true), media(10), ladder).thumbnails).toBeNull();
    expect(planThumbnails(preset({ flv: {}, thumbnails: {} }, true), media(10), ladder).thumbnails).not.toBeNull();
    expect(planThumbnails(preset({ hls: {}, thumbnails: false }), media(10), ladder)).toEqual({ thumbnails: null, notes: [] });
    const unknown = planThumbnails(preset(), media(null), ladder);
    expect(unknown.thumbnails).toBeNull();
    expect(unknown.notes).toEqual([expect.stringMatching(/^thumbnails: none made/)]);
  });

  it('geometry: tiles keep the picture shape, sheets shrink to what a short title fills, poster at most 720p', () => {
    const p = plan({ duration: 12.3456 }).thumbnails!;
    expect(p).toEqual({
      intervalMs: 2000,
      durationMs: 12_346,
      count: 7,
      width: 160,
      height: 90,
      columns: 7,
      rows: 1,
      poster: { width: 1280, height: 720, start: 1.235, end: 12.346 },
      pass: 'encode',
    });
    const long = plan({ duration: 3600, packaging: { thumbnails: { interval: 4, width: 200, columns: 5, rows: 4 } } }).thumbnails!;
    expect(long).toMatchObject({ intervalMs: 4000, count: 900, width: 200, height: 112, columns: 5, rows: 4, poster: { start: 360, end: 380 } });
    expect(spriteCount(long)).toBe(45);
  });

  it('NVENC with frames in GPU memory: a separate pass; NVENC reading system memory: the encode', () => {
    const gpu: NvencPipeline = { mode: 'gpu', scaler: 'scale_cuda', bFrameRefs: false, reason: '' };
    expect(plan({ nvenc: gpu }).thumbnails!.pass).toBe('separate');
    expect(plan({ nvenc: { ...gpu, mode: 'upload' } }).thumbnails!.pass).toBe('separate');
    expect(plan({ nvenc: { ...gpu, mode: 'cpu', scaler: null } }).thumbnails!.pass).toBe('encode');
  });
});

describe('thumbnails.vtt', () => {
  it('cues contiguous from 0, the last ending at the duration, tiles row by row over the sheets', () => {
    const g = geometry();
    const cues = thumbnailCues(g);
    expect(cues.map((c) => [c.startMs, c.endMs])).toEqual([
      [0, 2000],
      [2000, 4000],
      [4000, 6000],
      [6000, 8000],
      [8000, 10_000],
      [10_000, 12_000],
      [12_000, 12_345],
    ]);
    expect(cues.map((c) => `${c.file}#${c.x},${c.y}`)).toEqual([
      'thumbnails/sprite-0001.jpg#0,0',
      'thumbnails/sprite-0001.jpg#160,0',
      'thumbnails/sprite-0001.jpg#320,0',
      'thumbnails/sprite-0001.jpg#0,90',
      'thumbnails/sprite-0001.jpg#160,90',
      'thumbnails/sprite-0001.jpg#320,90',
      'thumbnails/sprite-0002.jpg#0,0',
    ]);
  });

  it('is WebVTT a thumbnail reader parses back to the same cues', () => {
    const text = thumbnailsVtt(geometry());
    expect(text.startsWith('WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nthumbnails/sprite-0001.jpg#xywh=0,0,160,90\n\n')).toBe(true);
    const parsed = parseThumbnailVtt(text);
    expect(parsed).toHaveLength(7);
    expect(parsed.at(-1)).toEqual({ start: 12, end: 12.345, file: 'thumbnails/sprite-0002.jpg', x: 0, y: 0, w: 160, h: 90 });
    for (const [i, c] of parsed.entries()) {
      expect(c.x + c.w).toBeLessThanOrEqual(480);
      expect(c.y + c.h).toBeLessThanOrEqual(180);
      if (i > 0) expect(c.start).toBe(parsed[i - 1]!.end);
    }
  });

  it('times past an hour', () => {
    expect(vttTime(3_723_004)).toBe('01:02:03.004');
    expect(vttTime(0)).toBe('00:00:00.000');
  });
});

describe('jpegSize', () => {
  const sof = (marker: number, w: number, h: number): number[] => [0xff, marker, 0x00, 0x11, 0x08, h >> 8, h & 0xff, w >> 8, w & 0xff, 3];
  it('reads the frame header after other segments', () => {
    const app0 = [0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46];
    expect(jpegSize(Uint8Array.from([0xff, 0xd8, ...app0, ...sof(0xc0, 1600, 900)]))).toEqual({ width: 1600, height: 900 });
    expect(jpegSize(Uint8Array.from([0xff, 0xd8, ...sof(0xc2, 320, 180)]))).toEqual({ width: 320, height: 180 });
  });
  it('null for what is not a JPEG or has no frame header', () => {
    expect(jpegSize(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]))).toBeNull();
    expect(jpegSize(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]))).toBeNull();
    expect(jpegSize(Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0x00]))).toBeNull();
  });
});

describe('thumbnail argv', () => {
  it('sprite branch: the frame at each k x interval, exactly count of them, full-range JPEG tiles', () => {
    expect(spriteChain(geometry({ intervalMs: 2500 }))).toBe(
      'tpad=stop_mode=clone:stop_duration=14.845,fps=2/5:start_time=0:round=up,trim=end_frame=7,scale=160:90:out_range=full,format=yuv420p,tile=3x2',
    );
  });

  it('poster branch: one candidate a second over the window, dark frames dropped, the thumbnail filter picks', () => {
    expect(posterChain(geometry())).toBe(
      'trim=start=1.235:end=12.345,fps=1,scale=1280:720:out_range=full,format=yuv420p,signalstats,metadata=select:key=lavfi.signalstats.YMAX:value=32:function=greater,thumbnail=n=14',
    );
  });

  it('the encode: the top rung split once more, two image outputs after all others (HLS and tee layouts)', () => {
    for (const files of [false, true]) {
      const p = plan({ files });
      const argv = buildTranscodeArgs(p);
      const graph = argv[argv.indexOf('-filter_complex') + 1]!;
      expect(graph).toContain(`;[v0]split=3[v0t][ts][tp];[ts]${spriteChain(p.thumbnails!)}[thumbs];[tp]${posterChain(p.thumbnails!)}[poster]`);
      expect(argv).toContain('[v0t]');
      expect(argv.slice(argv.lastIndexOf('-map'))).toEqual([
        '-map',
        '[poster]',
        '-c:v',
        'mjpeg',
        '-q:v',
        '3',
        '-strict',
        'unofficial',
        '-color_range',
        'pc',
        '-fps_mode',
        'passthrough',
        '-frames:v',
        '1',
        '-update',
        '1',
        '-f',
        'image2',
        'poster.jpg',
      ]);
      expect(argv.join(' ')).toContain(
        '-map [thumbs] -c:v mjpeg -q:v 5 -strict unofficial -color_range pc -fps_mode passthrough -f image2 thumbnails/sprite-%04d.jpg -map [poster]',
      );
    }
  });

  it('no thumbnails, or a separate pass: the encode is untouched', () => {
    const none = plan({ packaging: { thumbnails: false } });
    expect(buildTranscodeArgs(none).join(' ')).not.toMatch(/mjpeg|split=3|\[v0t\]/);
    const g = { graph: 'G', outputs: ['v0', 'v1'] };
    expect(withThumbnailBranches(none, g)).toBe(g);
    const gpu = plan({ nvenc: { mode: 'gpu', scaler: 'scale_cuda', bFrameRefs: false, reason: '' } });
    const argv = buildTranscodeArgs(gpu);
    expect(argv.join(' ')).not.toMatch(/mjpeg|hwdownload/);
    expect(argv[argv.indexOf('-filter_complex') + 1]).toBe(gpuVideoFilterGraph(gpu, gpu.nvenc!).graph);
  });

  it('NVENC (GPU frames): the separate pass decodes on the CPU, times and sizes frames as the top rung, same branches', () => {
    const p = plan({ nvenc: { mode: 'gpu', scaler: 'scale_cuda', bFrameRefs: false, reason: '' }, videoStart: 0.52 });
    const t = p.thumbnails!;
    const argv = buildThumbnailPassArgs(p);
    expect(argv.slice(0, argv.indexOf('-map'))).toEqual([
      '-loglevel',
      'warning',
      '-y',
      '-protocol_whitelist',
      'file',
      '-f',
      'mov',
      '-i',
      'file:/src/in.mp4',
      '-filter_complex',
      `[0:0]setpts=PTS-0.52/TB,fps=25:start_time=0,settb=1/90000,setpts=PTS+0.52/TB,scale=1920:1080,setsar=1,split=2[ts][tp];[ts]${spriteChain(t)}[thumbs];[tp]${posterChain(t)}[poster]`,
    ]);
    expect(argv).not.toContain('-hwaccel');
    expect(argv.filter((a) => a === '-map')).toHaveLength(2);
    expect(argv.at(-1)).toBe('poster.jpg');
  });

  it('poster scan over the whole title: dark frames dropped, or (all dark) the first candidate', () => {
    const p = plan({ duration: 60 });
    const scan = buildPosterScanArgs(p, true);
    expect(scan[scan.indexOf('-filter_complex') + 1]).toBe(
      '[0:0]fps=30000/60000:start_time=0,scale=1280:720:out_range=full,format=yuv420p,setsar=1,signalstats,metadata=select:key=lavfi.signalstats.YMAX:value=32:function=greater,thumbnail=n=32[poster]',
    );
    const first = buildPosterScanArgs(p, false);
    expect(first[first.indexOf('-filter_complex') + 1]).toBe('[0:0]fps=30000/60000:start_time=0,scale=1280:720:out_range=full,format=yuv420p,setsar=1[poster]');
  });
});
