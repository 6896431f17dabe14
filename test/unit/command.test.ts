import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EncoderName } from '../../src/encoder/profiles.js';
import { buildDecodeCheckArgs, buildTranscodeArgs, scaleThreadsFor, videoFilterGraph } from '../../src/args/command.js';
import type { Ladder, LadderRung } from '../../src/media/ladder.js';
import { inputUrl, type MediaInfo } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import type { AudioRendition, TranscodePlan } from '../../src/plan.js';
import { presetSchema } from '../../src/preset/schema.js';

function rung(name: string, width: number, height: number, bitrate: number): LadderRung {
  return { name, width, height, bitrate, maxrate: bitrate * 1.5, bufsize: bitrate * 3, crf: undefined, fromSource: false };
}

interface PlanOptions {
  encoder?: EncoderName;
  codec?: 'h264' | 'hevc' | 'av1';
  container?: 'ts' | 'fmp4';
  rungs?: LadderRung[];
  audio?: number;
  pixelFormat?: string;
  sar?: [number, number];
  width?: number;
  height?: number;
  mode?: 'vbr' | 'crf' | 'cbr';
  input?: string;
}

/** A hand-made plan: a 1920x1080 25 fps source, a three-rung ladder, two audio streams. */
function plan(o: PlanOptions = {}): TranscodePlan {
  const encoder = o.encoder ?? 'libx264';
  const codec = o.codec ?? (encoder === 'libx265' ? 'hevc' : encoder === 'libsvtav1' ? 'av1' : 'h264');
  const input = o.input ?? 'media/in put.mp4';
  const width = o.width ?? 1920;
  const height = o.height ?? 1080;
  const sar = rational(...(o.sar ?? [1, 1]));
  const media: MediaInfo = {
    input,
    url: inputUrl(input),
    remote: false,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration: 10,
    sizeBytes: 1000,
    video: {
      index: 0,
      codec: 'h264',
      width,
      height,
      sar,
      rotation: 0,
      displayWidth: Math.round((width * sar.num) / sar.den),
      displayHeight: height,
      frameRate: rational(50, 1),
      variableFrameRate: false,
      pixelFormat: o.pixelFormat ?? 'yuv420p',
      bitDepth: 8,
    },
    audio: [
      { index: 1, codec: 'aac', channels: 6, sampleRate: 48000, language: 'eng', title: null },
      { index: 2, codec: 'ac3', channels: 2, sampleRate: 48000, language: 'fra', title: null },
    ],
    inputOptions: [],
  };
  const mode = o.mode ?? 'vbr';
  const preset = presetSchema.parse({
    video: {
      codec,
      encoder: { cpu: { name: encoder } },
      rateControl: mode === 'crf' ? { mode, crf: 30 } : { mode },
      rungs: [{ height: 1080, bitrate: '6000k' }],
    },
    audio: { bitrate: '128k', channels: 2 },
  });
  // buildLadder gives every rung the preset's crf when the rung has none
  const rungs = (o.rungs ?? [rung('1080p', 1920, 1080, 6_000_000), rung('720p', 1280, 720, 3_000_000), rung('360p', 640, 360, 800_000)]).map((r) => ({
    ...r,
    crf: mode === 'crf' ? 30 : undefined,
  }));
  const ladder: Ladder = { rungs, frameRate: rational(25, 1), gopFrames: 50, keyframeInterval: 2, notes: [] };
  const audioRenditions: AudioRendition[] = Array.from({ length: o.audio ?? 2 }, (_, i) => ({
    sourceOrder: i,
    dir: `audio-${i + 1}`,
    name: i === 0 ? 'English' : 'Français',
    language: i === 0 ? 'en' : 'fr',
    channels: 2,
    default: i === 0,
  }));
  return {
    media,
    preset,
    presetName: 'test',
    hardware: 'cpu',
    encoder,
    speed: encoder === 'libsvtav1' ? 12 : 'ultrafast',
    tune: undefined,
    encoderOptions: {},
    ladder,
    notes: [],
    audio: preset.audio === false ? null : preset.audio,
    audioRenditions,
    hls: { container: o.container ?? (codec === 'h264' ? 'ts' : 'fmp4'), hlsTime: 5.999999, segmentSeconds: 6, firstSegmentSeconds: 6, pieces: null },
    timeline: { offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 1024 },
    fpsModeOption: '-fps_mode',
    files: [],
    thumbnails: null,
  };
}

/** The argv split into [global+input part, one part per output] (an output ends at its playlist path). */
function outputs(argv: string[]): string[][] {
  const parts: string[][] = [];
  let current: string[] = [];
  const start = argv.indexOf('-filter_complex') + 2;
  for (const a of argv.slice(start)) {
    current.push(a);
    if (a.endsWith('index.m3u8')) {
      parts.push(current);
      current = [];
    }
  }
  expect(current, 'nothing after the last output').toEqual([]);
  return parts;
}

const argValue = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
};
const count = (args: string[], value: string): number => args.filter((a) => a === value).length;

describe('buildTranscodeArgs: one process, one decode', () => {
  it('has exactly one input, a file: URL of the absolute path, whitelisted to the file protocol', () => {
    const argv = buildTranscodeArgs(plan());
    expect(count(argv, '-i')).toBe(1);
    const url = argValue(argv, '-i')!;
    expect(url).toBe(`file:${resolve('media/in put.mp4')}`);
    expect(url.startsWith('file:/')).toBe(true);
    const wl = argv.indexOf('-protocol_whitelist');
    expect(wl).toBeGreaterThanOrEqual(0);
    expect(argv[wl + 1]).toBe('file');
    expect(wl).toBeLessThan(argv.indexOf('-i'));
  });

  it('a name that looks like an option or a protocol is still a file', () => {
    for (const name of ['-y', 'concat:a.ts|b.ts', 'http:evil', 'pipe:0']) {
      const url = argValue(buildTranscodeArgs(plan({ input: name })), '-i')!;
      expect(url).toBe(`file:${resolve(name)}`);
    }
  });

  it('demuxer options of raw streams come before -i', () => {
    const p = plan();
    p.media.inputOptions = ['-framerate', '30000/1001'];
    const argv = buildTranscodeArgs(p);
    expect(argv.indexOf('-framerate')).toBeLessThan(argv.indexOf('-i'));
    expect(argValue(argv, '-framerate')).toBe('30000/1001');
  });

  it('never writes to stdout; outputs are relative to the work folder (ffmpeg runs in it)', () => {
    const argv = buildTranscodeArgs(plan());
    expect(argv).not.toContain('-');
    expect(argv).not.toContain('pipe:1');
    expect(outputs(argv).map((o) => o[o.length - 1])).toEqual(['1080p/index.m3u8', '720p/index.m3u8', '360p/index.m3u8', 'audio-1/index.m3u8', 'audio-2/index.m3u8']);
  });
});

describe('videoFilterGraph', () => {
  it('fixes the frame rate once, converts the pixel format once, then scales every rung from the source frame', () => {
    const { graph, outputs: outs } = videoFilterGraph(plan({ pixelFormat: 'yuv422p10le' }));
    expect(outs).toEqual(['v0', 'v1', 'v2']);
    expect(graph.match(/fps=/g)).toHaveLength(1);
    expect(graph.match(/format=/g)).toHaveLength(1);
    const chains = graph.split(';');
    expect(chains).toEqual([
      '[0:0]fps=25:start_time=0,format=yuv420p,split=3[s0][s1][s2]',
      // the top rung has the source's size: no scaler at all
      '[s0]setsar=1[v0]',
      // every other rung is scaled once, from the source, not from the rung above (bench/RESULTS.md)
      '[s1]scale=1280:720,setsar=1[v1]',
      '[s2]scale=640:360,setsar=1[v2]',
    ]);
  });

  it("converts nothing when the source already has the encoder's pixel format", () => {
    expect(videoFilterGraph(plan()).graph.split(';')[0]).toBe('[0:0]fps=25:start_time=0,split=3[s0][s1][s2]');
  });

  it('the first rung is scaled only when its size differs from the source', () => {
    const { graph } = videoFilterGraph(plan({ rungs: [rung('720p', 1280, 720, 3_000_000)] }));
    expect(graph).toBe('[0:0]fps=25:start_time=0,scale=1280:720,setsar=1[v0]');
  });

  it('a non-square-pixel source is scaled to square pixels even at the same height', () => {
    const p = plan({ width: 720, height: 576, sar: [64, 45], rungs: [rung('576p', 1024, 576, 2_000_000), rung('360p', 640, 360, 800_000)] });
    const { graph } = videoFilterGraph(p);
    expect(graph.split(';').slice(0, 2)).toEqual(['[0:0]fps=25:start_time=0,split=2[s0][s1]', '[s0]scale=1024:576,setsar=1[v0]']);
  });

  it('threads every scaler, the pixel format conversion included, when the plan says so', () => {
    const threaded = { ...plan({ pixelFormat: 'yuv422p10le' }), scaleThreads: 2 };
    expect(videoFilterGraph(threaded).graph.split(';')).toEqual([
      // an explicit scaler for the conversion: the one ffmpeg would insert is unthreaded
      '[0:0]fps=25:start_time=0,scale=threads=2,format=yuv420p,split=3[s0][s1][s2]',
      '[s0]setsar=1[v0]',
      '[s1]scale=1280:720:threads=2,setsar=1[v1]',
      '[s2]scale=640:360:threads=2,setsar=1[v2]',
    ]);
    expect(videoFilterGraph({ ...plan(), scaleThreads: 1 }).graph).toBe(videoFilterGraph(plan()).graph);
  });

  it('scaleThreadsFor: unthreaded on small machines and before ffmpeg 5.0; one thread per core up to 8 from 8 cores', () => {
    const v = (major: number | null, minor: number | null = 0) => ({ version: { raw: 'x', major, minor, configuration: [] } });
    expect(scaleThreadsFor(v(5, 1), 2)).toBe(1);
    expect(scaleThreadsFor(v(5, 1), 7)).toBe(1);
    expect(scaleThreadsFor(v(5, 1), 8)).toBe(8);
    expect(scaleThreadsFor(v(7, 1), 64)).toBe(8);
    expect(scaleThreadsFor(v(4, 4), 16)).toBe(1);
    expect(scaleThreadsFor(v(null, null), 12)).toBe(8);
  });

  it('maps each rung output exactly once', () => {
    const argv = buildTranscodeArgs(plan());
    for (const v of ['[v0]', '[v1]', '[v2]']) expect(count(argv, v)).toBe(1);
  });
});

describe('outputs: one HLS output per rung and per audio rendition', () => {
  it('audio is encoded once per rendition, not once per rung, and every video output has no audio', () => {
    const argv = buildTranscodeArgs(plan());
    const outs = outputs(argv);
    expect(outs).toHaveLength(3 + 2);
    const video = outs.slice(0, 3);
    const audio = outs.slice(3);
    for (const o of video) {
      expect(o).not.toContain('-c:a');
      expect(o.filter((a) => a.startsWith('0:a'))).toEqual([]);
    }
    expect(count(argv, '-c:a')).toBe(2);
    expect(audio.map((o) => argValue(o, '-map'))).toEqual(['0:a:0', '0:a:1']);
    for (const o of audio) {
      expect(argValue(o, '-c:a')).toBe('aac');
      expect(argValue(o, '-b:a')).toBe('128k');
      expect(argValue(o, '-ac')).toBe('2');
      expect(argValue(o, '-ar')).toBe('48000');
      expect(o).not.toContain('-c:v');
    }
    expect(audio.map((o) => o[o.length - 1])).toEqual(['audio-1/index.m3u8', 'audio-2/index.m3u8']);
  });

  it('no audio renditions: no audio output', () => {
    const argv = buildTranscodeArgs(plan({ audio: 0 }));
    expect(outputs(argv)).toHaveLength(3);
    expect(argv).not.toContain('-c:a');
  });

  it('HLS options: VOD, whole-GOP hls_time, independent segments, TS for h264', () => {
    for (const o of outputs(buildTranscodeArgs(plan()))) {
      expect(argValue(o, '-f')).toBe('hls');
      expect(argValue(o, '-hls_time')).toBe('5.999999');
      expect(argValue(o, '-hls_playlist_type')).toBe('vod');
      expect(argValue(o, '-hls_segment_type')).toBe('mpegts');
      expect(argValue(o, '-hls_flags')).toBe('independent_segments+temp_file');
      expect(argValue(o, '-hls_segment_filename')).toMatch(/\/seg_%05d\.ts$/);
      expect(o).not.toContain('-hls_fmp4_init_filename');
    }
  });

  it('fMP4 for HEVC: .m4s segments, an init.mp4, the hvc1 tag', () => {
    const outs = outputs(buildTranscodeArgs(plan({ encoder: 'libx265' })));
    for (const o of outs) {
      expect(argValue(o, '-hls_segment_type')).toBe('fmp4');
      expect(argValue(o, '-hls_fmp4_init_filename')).toBe('init.mp4');
      expect(argValue(o, '-hls_segment_filename')).toMatch(/\/seg_%05d\.m4s$/);
    }
    for (const o of outs.slice(0, 3)) expect(argValue(o, '-tag:v')).toBe('hvc1');
  });

  it('a % in the output folder never reaches the segment pattern (hlsenc would substitute %d and keep %% as is)', () => {
    // the plan has no output folder at all: ffmpeg runs inside it (pipeline/encode.ts), so the argv names only rung folders
    const argv = buildTranscodeArgs(plan());
    expect(argv.join(' ')).not.toContain('/tmp/100%');
    const outs = outputs(argv);
    expect(argValue(outs[0]!, '-hls_segment_filename')).toBe('1080p/seg_%05d.ts');
    expect(argValue(outs[3]!, '-hls_segment_filename')).toBe('audio-1/seg_%05d.ts');
    // the only pattern is the segment number
    for (const o of outs) expect(argValue(o, '-hls_segment_filename')!.match(/%/g)).toHaveLength(1);
  });

  it('one timeline: every rendition gets the same output_ts_offset; fMP4 keeps it in tfdt, not in an edit list', () => {
    for (const o of outputs(buildTranscodeArgs(plan()))) {
      expect(argValue(o, '-output_ts_offset')).toBe('1');
      expect(o).not.toContain('-hls_segment_options');
    }
    for (const o of outputs(buildTranscodeArgs(plan({ encoder: 'libx265' })))) {
      expect(argValue(o, '-output_ts_offset')).toBe('1');
      expect(argValue(o, '-hls_segment_options')).toBe('avoid_negative_ts=disabled:movflags=+frag_discont:use_editlist=0:brand=cmfc');
    }
  });

  it('with progressive files (tee): every HLS slave gets the offset, the MP4/FLV files keep their own timeline', () => {
    const p = plan();
    const argv = buildTranscodeArgs({ ...p, files: [{ kind: 'mp4', rung: '1080p', rungIndex: 0, audio: [0], path: 'mp4/1080p.mp4' }] });
    const slaves = argv[argv.length - 1]!.split('|');
    const hls = slaves.filter((x) => x.includes('f=hls'));
    expect(hls).toHaveLength(p.ladder.rungs.length + p.audioRenditions.length);
    for (const x of hls) expect(x).toContain('output_ts_offset=1');
    expect(slaves.filter((x) => x.includes('f=mp4'))).toHaveLength(1);
    for (const x of slaves.filter((y) => y.includes('f=mp4'))) expect(x).not.toContain('output_ts_offset');
  });

  it('metadata and chapters are not copied', () => {
    for (const o of outputs(buildTranscodeArgs(plan()))) {
      expect(argValue(o, '-map_metadata')).toBe('-1');
      expect(argValue(o, '-map_chapters')).toBe('-1');
    }
  });
});

describe('encoder arguments keep keyframes aligned (fixed GOP, no scene cuts, closed GOP)', () => {
  it('libx264', () => {
    const outs = outputs(buildTranscodeArgs(plan({ encoder: 'libx264' })));
    for (const o of outs.slice(0, 3)) {
      expect(argValue(o, '-c:v')).toBe('libx264');
      expect(argValue(o, '-g')).toBe('50');
      expect(argValue(o, '-keyint_min')).toBe('50');
      expect(argValue(o, '-sc_threshold')).toBe('0');
      expect(argValue(o, '-x264-params')).toMatch(/(^|:)open-gop=0(:|$)/);
      expect(argValue(o, '-preset')).toBe('ultrafast');
    }
    // per-rung rate control
    expect(outs.slice(0, 3).map((o) => [argValue(o, '-b:v'), argValue(o, '-maxrate'), argValue(o, '-bufsize')])).toEqual([
      ['6000k', '9000k', '18000k'],
      ['3000k', '4500k', '9000k'],
      ['800k', '1200k', '2400k'],
    ]);
  });

  it('extra options from the preset are scoped to the video stream', () => {
    const p = plan();
    p.encoderOptions = { level: '3.1', profile: 'high' };
    const o = outputs(buildTranscodeArgs(p))[0]!;
    expect(argValue(o, '-level:v')).toBe('3.1');
    expect(argValue(o, '-profile:v')).toBe('high');
    expect(o).not.toContain('-profile');
  });

  it('libx265', () => {
    for (const o of outputs(buildTranscodeArgs(plan({ encoder: 'libx265' }))).slice(0, 3)) {
      expect(argValue(o, '-c:v')).toBe('libx265');
      const params = argValue(o, '-x265-params')!.split(':');
      expect(params).toEqual(expect.arrayContaining(['keyint=50', 'min-keyint=50', 'scenecut=0', 'open-gop=0']));
    }
  });

  it('libsvtav1 (capped CRF)', () => {
    for (const o of outputs(buildTranscodeArgs(plan({ encoder: 'libsvtav1', mode: 'crf' }))).slice(0, 3)) {
      expect(argValue(o, '-c:v')).toBe('libsvtav1');
      expect(argValue(o, '-g')).toBe('50');
      expect(argValue(o, '-svtav1-params')!.split(':')).toContain('scd=0');
      expect(argValue(o, '-crf')).toBe('30');
      expect(argValue(o, '-maxrate')).toBeDefined();
      expect(argValue(o, '-preset')).toBe('12');
    }
  });
});

describe('buildDecodeCheckArgs', () => {
  it('decodes every file as a file: URL into the null muxer, errors fatal', () => {
    const argv = buildDecodeCheckArgs([
      { file: '/a/1.ts', frames: null },
      { file: '/a/2.ts', frames: null },
    ]);
    expect(argv).toContain('-xerror');
    expect(argValue(argv, '-protocol_whitelist')).toBe('file');
    expect(argv.filter((_, i) => argv[i - 1] === '-i')).toEqual(['file:/a/1.ts', 'file:/a/2.ts']);
    expect(count(argv, 'null')).toBe(2);
    // one decoder thread per input (the check runs one process per core instead)
    expect(argv.filter((a, i) => a === '1' && argv[i - 1] === '-threads')).toHaveLength(2);
    expect(argv.indexOf('-threads')).toBeLessThan(argv.indexOf('-i'));
  });
});
