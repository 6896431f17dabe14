import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchLadder, cpuFloor, expertCommand, expertGraph, floorCommands, missingEncoderFlags, naiveCommands, rungSettings, type PlanFacts } from '../../bench/lib/commands.js';
import { encoderProfiles, type EncoderName, type RungEncodeSettings } from '../../src/encoder/profiles.js';
import { buildTranscodeArgs } from '../../src/args/command.js';
import { buildLadder } from '../../src/media/ladder.js';
import { inputUrl, type MediaInfo } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import type { TranscodePlan } from '../../src/plan.js';
import { loadPreset } from '../../src/preset/load.js';

// A plan as planTranscode() makes it for a 1080p24 source and a three-rung x264 ladder with one
// audio rendition, written by hand: only the fields the benchmark reads.
const rungs = [
  { name: '1080p', width: 1920, height: 1080, bitrate: 7_800_000, maxrate: 11_700_000, bufsize: 23_400_000, crf: undefined },
  { name: '720p', width: 1280, height: 720, bitrate: 4_500_000, maxrate: 6_750_000, bufsize: 13_500_000, crf: undefined },
  { name: '360p', width: 640, height: 360, bitrate: 365_000, maxrate: 547_500, bufsize: 1_095_000, crf: undefined },
];
const plan: PlanFacts = {
  hardware: 'cpu',
  media: { video: { index: 0, pixelFormat: 'yuv420p' } },
  preset: { video: { rateControl: { mode: 'vbr' } } },
  ladder: { frameRate: { num: 24, den: 1 }, gopFrames: 48, rungs },
  speed: 'medium',
  tune: undefined,
  encoderOptions: {},
  audio: { bitrate: 128_000, sampleRate: 48000 },
  audioRenditions: [{ sourceOrder: 0, channels: 2, dir: 'audio-1' }],
  hls: { container: 'ts', hlsTime: 5.979167 },
  files: [],
};
const where = { ffmpeg: '/usr/bin/ffmpeg', input: '/w/in.mp4' };
const x264 = encoderProfiles.libx264;
const ladder = benchLadder(plan, x264, where);
/** streamkit's x264 flags for a rung of `plan`, from its encoder profile. */
const x264Flags = (i: number): string[] => ['-c:v', 'libx264', ...x264.args(rungSettings(plan, rungs[i]!))];
const count = (argv: readonly string[], x: string): number => argv.filter((a) => a === x).length;
const argAfter = (argv: readonly string[], flag: string): string | undefined => argv[argv.indexOf(flag) + 1];

describe("benchmark contenders, written from the facts of streamkit's plan", () => {
  it('reads the source stream, frame rate, rungs, rate control, GOP and audio from the plan', () => {
    expect(ladder.ffmpeg).toBe('/usr/bin/ffmpeg');
    expect(ladder.input).toBe('/w/in.mp4');
    expect(ladder.source).toBe('0:0');
    expect(ladder.fps).toBe('24');
    expect(ladder.format).toBeNull();
    expect(ladder.rungs.map((r) => [r.name, r.width, r.height, r.bitrate])).toEqual([
      ['1080p', 1920, 1080, 7_800_000],
      ['720p', 1280, 720, 4_500_000],
      ['360p', 640, 360, 365_000],
    ]);
    expect(ladder.rungs.map((r) => r.video)).toEqual([x264Flags(0), x264Flags(1), x264Flags(2)]);
    // the plan's settings reach the encoder: speed, bitrate, cap, GOP
    const v = ladder.rungs[1]!.video;
    expect([argAfter(v, '-preset'), argAfter(v, '-b:v'), argAfter(v, '-maxrate'), argAfter(v, '-bufsize'), argAfter(v, '-g')]).toEqual([
      'medium',
      '4500k',
      '6750k',
      '13500k',
      '48',
    ]);
    expect(ladder.audio).toEqual([{ map: '0:a:0', codec: ['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000'], dir: 'audio-1' }]);
    expect(ladder.hls).toEqual({ time: '5.979167', container: 'ts' });
  });

  it("the settings handed to the encoder profile are all of streamkit's RungEncodeSettings", () => {
    const s: RungEncodeSettings = rungSettings(
      { ...plan, preset: { video: { rateControl: { mode: 'crf' } } }, speed: 'veryfast', tune: 'film', encoderOptions: { refs: 2 } },
      { ...rungs[0]!, crf: 23 },
    );
    expect(s).toEqual({ mode: 'crf', bitrate: 7_800_000, maxrate: 11_700_000, bufsize: 23_400_000, crf: 23, gopFrames: 48, speed: 'veryfast', tune: 'film', options: { refs: 2 } });
  });

  it('fractional frame rates stay exact; a source in another pixel format gets a conversion per rung', () => {
    const l = benchLadder({ ...plan, media: { video: { index: 2, pixelFormat: 'yuv420p10le' } }, ladder: { ...plan.ladder, frameRate: { num: 30000, den: 1001 } } }, x264, where);
    expect(l.fps).toBe('30000/1001');
    expect(l.source).toBe('0:2');
    expect(expertGraph(l)).toBe(
      '[0:2]fps=30000/1001,split=3[s0][s1][s2];[s0]scale=1920:1080,format=yuv420p,setsar=1[v0];[s1]scale=1280:720,format=yuv420p,setsar=1[v1];[s2]scale=640:360,format=yuv420p,setsar=1[v2]',
    );
    expect(argAfter(naiveCommands(l, '/w/naive')[1]!.argv, '-vf')).toBe('fps=30000/1001,scale=1280:720,format=yuv420p,setsar=1');
  });

  it("expert: one process, split from the source, the rungs' encoder flags, audio in every rung, paths relative to its folder", () => {
    const { argv, dirs } = expertCommand(ladder, '/w/expert');
    expect(argv.slice(0, 9)).toEqual(['/usr/bin/ffmpeg', '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning', '-y', '-i', '/w/in.mp4']);
    expect(count(argv, '-i')).toBe(1);
    expect(argAfter(argv, '-filter_complex')).toBe(
      '[0:0]fps=24,split=3[s0][s1][s2];[s0]scale=1920:1080,setsar=1[v0];[s1]scale=1280:720,setsar=1[v1];[s2]scale=640:360,setsar=1[v2]',
    );
    expect(count(argv, 'libx264')).toBe(3);
    expect(count(argv, 'aac')).toBe(3);
    expect(argv).toContain('720p/index.m3u8');
    expect(argv).toContain('720p/seg_%05d.ts');
    expect(argv).not.toContain('audio-1/index.m3u8');
    expect(dirs).toEqual(['/w/expert/1080p', '/w/expert/720p', '/w/expert/360p']);
    // every encoder flag of the first rung, in order, right after its map; then the audio, then the muxer
    const i = argv.indexOf('[v0]');
    expect(argv.slice(i + 1, i + 1 + x264Flags(0).length)).toEqual(x264Flags(0));
    const rest = argv.slice(i + 1 + x264Flags(0).length);
    expect(rest.slice(0, 10)).toEqual(['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000']);
    expect(rest.slice(10, rest.indexOf('1080p/index.m3u8') + 1)).toEqual([
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-f',
      'hls',
      '-hls_time',
      '5.979167',
      '-hls_playlist_type',
      'vod',
      '-hls_list_size',
      '0',
      '-hls_segment_type',
      'mpegts',
      '-hls_flags',
      'independent_segments',
      '-hls_segment_filename',
      '1080p/seg_%05d.ts',
      '1080p/index.m3u8',
    ]);
    expect(argv.at(-1)).toBe('360p/index.m3u8');
  });

  it('expert, audio once: each audio rendition encoded once into its own folder, as streamkit lays it out', () => {
    const { argv, dirs } = expertCommand(ladder, '/w/e1', { audio: 'once' });
    expect(count(argv, 'aac')).toBe(1);
    expect(count(argv, 'libx264')).toBe(3);
    expect(argv.slice(argv.indexOf('0:a:0') - 1, argv.indexOf('0:a:0') + 9)).toEqual(['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000']);
    expect(argv.at(-1)).toBe('audio-1/index.m3u8');
    expect(dirs).toEqual(['/w/e1/1080p', '/w/e1/720p', '/w/e1/360p', '/w/e1/audio-1']);
  });

  it('naive: one process per rung, each decoding and scaling the source', () => {
    const runs = naiveCommands(ladder, '/w/naive');
    expect(runs).toHaveLength(3);
    const second = runs[1]!.argv;
    expect(count(second, '-i')).toBe(1);
    expect(argAfter(second, '-vf')).toBe('fps=24,scale=1280:720,setsar=1');
    expect(argAfter(second, '-map')).toBe('0:0');
    expect(second).toContain('4500k');
    expect(second).not.toContain('-filter_complex');
    expect(count(second, 'aac')).toBe(1);
    const v = second.indexOf('-c:v');
    expect(second.slice(v, v + x264Flags(1).length)).toEqual(x264Flags(1));
    expect(second.at(-1)).toBe('720p/index.m3u8');
    expect(runs.map((r) => r.dir)).toEqual(['/w/naive/1080p', '/w/naive/720p', '/w/naive/360p']);
  });

  it("fMP4 ladders (HEVC, AV1): fMP4 segments with their init segment, the encoder's own flags", () => {
    const hevc = benchLadder({ ...plan, hls: { container: 'fmp4', hlsTime: 5.979167 } }, encoderProfiles.libx265, where);
    const { argv } = expertCommand(hevc, '/w/expert');
    expect(argAfter(argv, '-hls_segment_type')).toBe('fmp4');
    expect(argAfter(argv, '-hls_fmp4_init_filename')).toBe('init.mp4');
    expect(argv).toContain('720p/seg_%05d.m4s');
    expect(count(argv, 'libx265')).toBe(3);
    expect(count(argv, 'hvc1')).toBe(3);
  });

  it('without audio: no audio anywhere, no audio floor runs', () => {
    const silent = benchLadder({ ...plan, audio: null, audioRenditions: [] }, x264, where);
    expect(silent.audio).toEqual([]);
    for (const a of [expertCommand(silent, '/w/e').argv, expertCommand(silent, '/w/e', { audio: 'once' }).argv, ...naiveCommands(silent, '/w/n').map((r) => r.argv)]) {
      expect(a.some((x) => x === 'aac' || x.startsWith('0:a'))).toBe(false);
    }
    expect(expertCommand(silent, '/w/e', { audio: 'once' }).dirs).toHaveLength(3);
    expect(floorCommands(silent)).toMatchObject({ audio: null, audioCopy: null });
  });

  it('floor: decode alone, the expert graph into null outputs, the audio encoded once; nothing written', () => {
    const f = floorCommands(ladder);
    expect(f.decode.slice(-5)).toEqual(['-map', '0:0', '-f', 'null', '-']);
    expect(f.decode).not.toContain('-filter_complex');
    expect(argAfter(f.graph, '-filter_complex')).toBe(expertGraph(ladder));
    expect(count(f.graph, 'null')).toBe(3);
    expect(f.graph.filter((a) => /^\[v\d\]$/.test(a))).toEqual(['[v0]', '[v1]', '[v2]']);
    expect(f.audio).toEqual([...f.decode.slice(0, f.decode.indexOf('-map')), '-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000', '-f', 'null', '-']);
    expect(f.audioCopy!.slice(f.audioCopy!.indexOf('-map'))).toEqual(['-map', '0:a:0', '-c:a', 'copy', '-f', 'null', '-']);
    // the expert's own input part, so the floor parts' CPU lines up with the expert's
    const expertHead = expertCommand(ladder, '/w/expert').argv.slice(0, 9);
    for (const a of [f.decode, f.graph, f.audio!, f.audioCopy!]) {
      expect(a.slice(0, 9)).toEqual(expertHead);
      expect(a.some((x) => x.includes('libx264') || x.endsWith('.m3u8'))).toBe(false);
    }
  });

  it('floor: only the graph beyond one decode and the audio encodes beyond one count as avoidable', () => {
    // audio encode = 0.3 s with it, 0.1 s copying the same stream (start-up, demuxing)
    const f = cpuFloor({ expertCpu: 60, decodeCpu: 2, graphCpu: 3.5, audioCpu: 0.3, audioCopyCpu: 0.1, expertAudioEncodes: 4 });
    expect(f.avoidable).toBeCloseTo(1.5 + 3 * 0.2, 9);
    expect(f.seconds).toBeCloseTo(60 - 2.1, 9);
    expect(f.audioEncode).toBeCloseTo(0.2, 9);
    expect(cpuFloor({ expertCpu: 60, decodeCpu: 2, graphCpu: 3.5, audioCpu: null, audioCopyCpu: null, expertAudioEncodes: 0 }).avoidable).toBe(1.5);
    // parts measured cheaper than what they contain (noise) save nothing, they do not add
    expect(cpuFloor({ expertCpu: 60, decodeCpu: 2.1, graphCpu: 2, audioCpu: 0.1, audioCopyCpu: 0.12, expertAudioEncodes: 4 })).toEqual({
      seconds: 60,
      avoidable: 0,
      audioEncode: 0,
    });
  });

  it('refuses plans the hand-written commands do not cover', () => {
    expect(() => benchLadder({ ...plan, hardware: 'nvenc' }, x264, where)).toThrow(/nvenc/);
    expect(() => benchLadder({ ...plan, hls: null }, x264, where)).toThrow(/HLS/);
    expect(() => benchLadder({ ...plan, files: [{}] }, x264, where)).toThrow(/MP4\/FLV/);
  });
});

describe("benchmark contenders against a real plan of the benchmark's presets", () => {
  /** The plan planTranscode() makes for a 10 s 1080p24 H.264 + AAC stereo source (no ffmpeg needed). */
  async function realPlan(presetFile: string): Promise<TranscodePlan> {
    const { preset, name } = await loadPreset(resolve('bench/presets', presetFile));
    const media: MediaInfo = {
      input: '/w/in.mp4',
      url: inputUrl('/w/in.mp4'),
      remote: false,
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      duration: 10,
      sizeBytes: 25_000_000,
      video: {
        index: 0,
        codec: 'h264',
        width: 1920,
        height: 1080,
        sar: rational(1, 1),
        rotation: 0,
        displayWidth: 1920,
        displayHeight: 1080,
        frameRate: rational(24, 1),
        variableFrameRate: false,
        pixelFormat: 'yuv420p',
        bitDepth: 8,
      },
      audio: [{ index: 1, codec: 'aac', channels: 2, sampleRate: 48000, language: null, title: null }],
      inputOptions: ['-f', 'mov'],
    };
    const ladder = buildLadder(preset, media);
    const choice = preset.video.encoder.cpu!;
    const encoder = choice.name as EncoderName;
    const container = preset.packaging.hls?.container ?? (preset.video.codec === 'h264' ? 'ts' : 'fmp4');
    return {
      media,
      preset,
      presetName: name,
      hardware: 'cpu',
      encoder,
      speed: choice.preset,
      tune: choice.tune,
      encoderOptions: {},
      ladder,
      notes: [],
      audio: preset.audio === false ? null : preset.audio,
      audioRenditions: [{ sourceOrder: 0, dir: 'audio-1', name: 'Main', language: null, channels: 2, default: true }],
      hls: { container, hlsTime: 5.979167, segmentSeconds: 6, firstSegmentSeconds: 6, pieces: null },
      timeline: { offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 1024 },
      fpsModeOption: '-fps_mode',
      files: [],
      // the bench presets make no thumbnails (packaging.thumbnails: false): like for like with the hand-written commands
      thumbnails: null,
    };
  }

  for (const file of ['quick-h264-4rung.yaml', 'h264-4rung.yaml', 'quick-hevc.yaml', 'quick-av1.yaml']) {
    it(`${file}: streamkit's own command carries exactly the encoder flags the contenders use`, async () => {
      const p = await realPlan(file);
      const l = benchLadder(p, encoderProfiles[p.encoder], where);
      const streamkitArgv = buildTranscodeArgs(p);
      expect(missingEncoderFlags(streamkitArgv, l)).toEqual([]);
      // ...and the check does see a difference: the top rung with another cap (every rate control mode passes it)
      const other = buildTranscodeArgs({ ...p, ladder: { ...p.ladder, rungs: p.ladder.rungs.map((r, i) => (i === 0 ? { ...r, maxrate: r.maxrate + 1000 } : r)) } });
      expect(missingEncoderFlags(other, l)).toEqual([p.ladder.rungs[0]!.name]);
      // the hand-written parts are the bench's own: its input, its graph
      const expert = expertCommand(l, '/w/expert').argv;
      expect(argAfter(expert, '-i')).toBe('/w/in.mp4');
      expect(expert).not.toContain('-protocol_whitelist');
      expect(argAfter(expert, '-filter_complex')).toBe(expertGraph(l));
      expect(l.rungs).toHaveLength(p.ladder.rungs.length);
    });
  }

  it('quick-h264-4rung (the issue-18 case): 4 rungs from 1080p at x264 veryfast', async () => {
    const l = benchLadder(await realPlan('quick-h264-4rung.yaml'), encoderProfiles.libx264, where);
    expect(l.rungs.map((r) => `${r.width}x${r.height}`)).toEqual(['1920x1080', '1280x720', '960x540', '640x360']);
    expect(l.rungs.map((r) => argAfter(r.video, '-preset'))).toEqual(['veryfast', 'veryfast', 'veryfast', 'veryfast']);
  });
});
