/**
 * Surround renditions without ffmpeg: which source streams get one and what each decision says
 * (pipeline/plan.ts audioRenditions), the encoder argv of each rendition (args/command.ts), the
 * codec's priming in the A/V sync check (package/av-sync.ts).
 */
import { describe, expect, it } from 'vitest';
import { buildTranscodeArgs } from '../../src/args/command.js';
import type { AudioInfo, MediaInfo } from '../../src/media/probe.js';
import { inputUrl } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import { checkAvSync } from '../../src/package/av-sync.js';
import { parseAc3Frame } from '../../src/package/bitstream/ac3.js';
import { audioRenditions } from '../../src/pipeline/plan.js';
import { audioPrimingSamples, groupOf, type TranscodePlan } from '../../src/plan.js';
import { presetSchema, type PresetInput } from '../../src/preset/schema.js';

function stream(index: number, channels: number, channelLayout: string | null, extra: Partial<AudioInfo> = {}): AudioInfo {
  return { index, codec: 'aac', channels, channelLayout, sampleRate: 48000, language: null, title: null, ...extra };
}

function media(audio: AudioInfo[]): MediaInfo {
  return {
    input: 'in.mp4',
    url: inputUrl('in.mp4'),
    remote: false,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration: 10,
    sizeBytes: 1000,
    video: {
      index: 0,
      codec: 'h264',
      width: 640,
      height: 360,
      sar: rational(1, 1),
      rotation: 0,
      displayWidth: 640,
      displayHeight: 360,
      frameRate: rational(25, 1),
      variableFrameRate: false,
      pixelFormat: 'yuv420p',
      bitDepth: 8,
    },
    audio,
    inputOptions: [],
  };
}

function preset(audio: PresetInput['audio'] = {}, hls = true): ReturnType<typeof presetSchema.parse> {
  return presetSchema.parse({
    video: { codec: 'h264', encoder: { cpu: { name: 'libx264' } }, rateControl: { mode: 'vbr' }, rungs: [{ height: 360, bitrate: '800k' }] },
    audio,
    packaging: hls ? { hls: { segmentDuration: 4 } } : { mp4: { rungs: 'top' } },
  });
}

describe('audioRenditions: one surround rendition per multichannel stream, one note per decision', () => {
  it('5.1: E-AC-3 at 384 kb/s by default, in its own group, after the stereo renditions', () => {
    const { renditions, notes } = audioRenditions(media([stream(1, 6, '5.1')]), preset());
    expect(renditions).toEqual([
      { sourceOrder: 0, dir: 'audio-1', name: 'Main', language: null, channels: 2, default: true },
      { sourceOrder: 0, dir: 'audio-1-51', name: 'Main', language: null, channels: 6, default: true, surround: { codec: 'eac3', bitrate: 384000 } },
    ]);
    expect(renditions.map((a) => groupOf(a))).toEqual(['audio', 'audio-eac3']);
    expect(notes).toEqual([
      '5.1 source: E-AC-3 5.1 rendition at 384 kb/s, in its own group beside the AAC stereo downmix (the default; players that cannot decode E-AC-3 keep to it).',
    ]);
  });

  it('two streams: the stereo renditions keep their order, the 7.1 one gets a downmixed 5.1 rendition, the stereo one none', () => {
    const m = media([stream(1, 2, 'stereo', { language: 'eng' }), stream(2, 8, '7.1', { language: 'fra' })]);
    const { renditions, notes } = audioRenditions(m, preset({ surround: { codec: 'ac3', bitrate: '448k' } }));
    expect(renditions.map((a) => [a.dir, a.sourceOrder, a.channels, a.default, groupOf(a)])).toEqual([
      ['audio-1', 0, 2, true, 'audio'],
      ['audio-2', 1, 2, false, 'audio'],
      ['audio-2-51', 1, 6, true, 'audio-ac3'],
    ]);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^audio stream 2 \(Français\): 7\.1 source: AC-3 5\.1 rendition at 448 kb\/s, downmixed from 7\.1 to 5\.1/);
  });

  it('stereo and mono sources: no surround rendition and nothing to say', () => {
    const { renditions, notes } = audioRenditions(media([stream(1, 2, 'stereo'), stream(2, 1, 'mono')]), preset());
    expect(renditions.map((a) => [a.dir, a.channels, a.surround])).toEqual([
      ['audio-1', 2, undefined],
      ['audio-2', 1, undefined],
    ]);
    expect(notes).toEqual([]);
  });

  it('says why a multichannel source keeps only its stereo downmix: 4.0, surround off, no HLS', () => {
    expect(audioRenditions(media([stream(1, 4, '4.0')]), preset()).notes).toEqual([
      '4.0 source: AAC stereo downmix only (a surround rendition is written for 5.1 sources and above).',
    ]);
    expect(audioRenditions(media([stream(1, 6, '5.1')]), preset({ surround: false })).notes).toEqual([
      "5.1 source: AAC stereo downmix only (the preset's audio.surround is false).",
    ]);
    const noHls = audioRenditions(media([stream(1, 6, null)]), preset({}, false));
    expect(noHls.renditions).toHaveLength(1);
    expect(noHls.notes[0]).toMatch(/^6-channel source: AAC stereo downmix only \(a surround rendition is written for HLS packages/);
  });

  it('AAC 5.1 where the preset says so', () => {
    const { renditions } = audioRenditions(media([stream(1, 6, '5.1(side)')]), preset({ surround: { codec: 'aac' } }));
    expect(groupOf(renditions[1]!)).toBe('audio-aac-51');
    expect(audioPrimingSamples(renditions[1]!)).toBe(1024);
  });
});

describe('argv: the surround rendition is one more audio output of the same process', () => {
  function plan(audio: AudioInfo[], files = false): TranscodePlan {
    const m = media(audio);
    const p = preset();
    const { renditions } = audioRenditions(m, p);
    return {
      media: m,
      preset: p,
      presetName: 'test',
      hardware: 'cpu',
      encoder: 'libx264',
      speed: 'ultrafast',
      tune: undefined,
      encoderOptions: {},
      ladder: {
        rungs: [{ name: '360p', width: 640, height: 360, bitrate: 800_000, maxrate: 1_200_000, bufsize: 2_400_000, crf: undefined, fromSource: true }],
        frameRate: rational(25, 1),
        gopFrames: 50,
        keyframeInterval: 2,
        notes: [],
      },
      notes: [],
      audio: p.audio === false ? null : p.audio,
      audioRenditions: renditions,
      hls: { container: 'ts', hlsTime: 3.999999, segmentSeconds: 4, firstSegmentSeconds: 4, pieces: null },
      timeline: { offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 1024 },
      fpsModeOption: '-fps_mode',
      files: files ? [{ kind: 'mp4', rung: '360p', rungIndex: 0, audio: [0], path: 'mp4/360p.mp4' }] : [],
      thumbnails: null,
    };
  }
  /** the argv of the output writing `playlist` */
  function outputOf(argv: string[], playlist: string): string[] {
    const end = argv.indexOf(playlist);
    const start = argv.lastIndexOf('-map', end);
    return argv.slice(start, end + 1);
  }

  it('a 5.1 source keeps its layout (no -ac), E-AC-3 at 384k, the same HLS muxer options and offset as the stereo rendition', () => {
    const argv = buildTranscodeArgs(plan([stream(1, 6, '5.1')]));
    const stereo = outputOf(argv, 'audio-1/index.m3u8');
    const surround = outputOf(argv, 'audio-1-51/index.m3u8');
    expect(stereo.slice(0, 10)).toEqual(['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000']);
    expect(surround.slice(0, 8)).toEqual(['-map', '0:a:0', '-c:a', 'eac3', '-b:a', '384k', '-ar', '48000']);
    const muxer = (o: string[]): string[] => o.slice(o.indexOf('-f')).map((x) => x.replace('audio-1-51', 'audio-1'));
    expect(muxer(surround)).toEqual(muxer(stereo));
    expect(surround[surround.indexOf('-output_ts_offset') + 1]).toBe('1');
  });

  it('a 7.1 source is remixed to 6 channels', () => {
    const surround = outputOf(buildTranscodeArgs(plan([stream(1, 8, '7.1')])), 'audio-1-51/index.m3u8');
    expect(surround.slice(0, 10)).toEqual(['-map', '0:a:0', '-c:a', 'eac3', '-b:a', '384k', '-ac', '6', '-ar', '48000']);
  });

  it('tee: audio stream 1 is the surround one, its own HLS slave; the MP4 file selects the stereo stream only', () => {
    const argv = buildTranscodeArgs(plan([stream(1, 6, '5.1(side)')], true));
    expect(argv.slice(argv.indexOf('-c:a:1') - 2, argv.indexOf('-c:a:1') + 6)).toEqual(['-map', '0:a:0', '-c:a:1', 'eac3', '-b:a:1', '384k', '-ar:a:1', '48000']);
    // the tee muxer's escaping aside
    const slaves = argv[argv.length - 1]!.replaceAll('\\', '').split('|');
    expect(slaves.find((x) => x.endsWith('audio-1-51/index.m3u8'))).toContain('select=a:1:');
    expect(slaves.find((x) => x.endsWith('mp4/360p.mp4'))).toContain('select=v:0,a:0:');
  });
});

describe('A/V sync: each rendition with its own encoder delay', () => {
  const timeline = { offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 1024 };
  const videos = [{ dir: '360p', firstPts: 1 }];
  const aac = { dir: 'audio-1', firstPts: 1 - 1024 / 48000, sampleRate: 48000, sourceStart: 0 };

  it('E-AC-3 starts 256 samples early, as ffmpeg stamps it', () => {
    const report = checkAvSync({ timeline, videos, audios: [aac, { dir: 'audio-1-51', firstPts: 1 - 256 / 48000, sampleRate: 48000, sourceStart: 0, primingSamples: 256 }] });
    expect(report.renditions.map((r) => r.errorMs)).toEqual([0, 0, 0]);
  });

  it('taken for AAC (1024 samples), the same rendition is 16 ms early: the check fails', () => {
    expect(() => checkAvSync({ timeline, videos, audios: [aac, { dir: 'audio-1-51', firstPts: 1 - 256 / 48000, sampleRate: 48000, sourceStart: 0 }] })).toThrow(
      /audio-1-51 \(audio\)/,
    );
  });
});

describe('parseAc3Frame: channels from acmod + lfeon', () => {
  it('AC-3 3/2 + LFE (5.1), AC-3 2/0 (stereo), E-AC-3 3/2 + LFE', () => {
    // sync word, crc1, fscod/frmsizecod, bsid 8 / bsmod 0, then acmod 7, cmixlev, surmixlev, lfeon 1
    expect(parseAc3Frame(Buffer.from('0b770000004' + '0e100', 'hex'))).toEqual({ codec: 'ac-3', acmod: 7, lfeon: true, channels: 6 });
    // acmod 2, dsurmod, lfeon 0
    expect(parseAc3Frame(Buffer.from('0b7700000040' + '4000', 'hex'))).toMatchObject({ codec: 'ac-3', acmod: 2, lfeon: false, channels: 2 });
    // strmtyp 0, substreamid 0, frmsiz 47, fscod 0, numblkscod 3, acmod 7, lfeon 1, bsid 16
    expect(parseAc3Frame(Buffer.from('0b77002f3f800000', 'hex'))).toEqual({ codec: 'ec-3', acmod: 7, lfeon: true, channels: 6 });
  });

  it('refuses what is not a sync frame', () => {
    expect(() => parseAc3Frame(Buffer.from('fff15080', 'hex'))).toThrow(/sync word/);
    expect(() => parseAc3Frame(Buffer.from('0b770000009' + '0e100', 'hex'))).toThrow(/bsid 18/);
  });
});
