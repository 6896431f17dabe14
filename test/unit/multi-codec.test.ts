/**
 * Multi-codec presets (issue 20), the pure parts: the preset format with a list of video ladders and
 * its errors (with key paths), the plan (one ladder of every codec's rungs, each with its own
 * encoder settings), the argv (one input, one decode, one split, one scaler per distinct size
 * shared across codecs, per-rung encoders, one encode per audio rendition), the start variant, and
 * the hardware choice (--hw nvenc refused).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTranscodeArgs, videoFilterGraph } from '../../src/args/command.js';
import { checkPresetEncoders, type CheckedHardware } from '../../src/encoder/preset-check.js';
import { selectHardware } from '../../src/encoder/select.js';
import { PresetError, StreamkitError } from '../../src/errors.js';
import type { Capabilities } from '../../src/ffmpeg/capabilities.js';
import type { MediaInfo } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import { masterOrder } from '../../src/package/hls.js';
import { buildPlan } from '../../src/pipeline/plan.js';
import { encodingOf, type TranscodePlan } from '../../src/plan.js';
import { loadPreset, parsePresetObject } from '../../src/preset/load.js';
import { presetDocument, presetSchema, videoLadders, type Preset, type PresetInput } from '../../src/preset/schema.js';
import { fakeMedia } from '../helpers/index.js';

const ladder = (codec: string, encoder: string, speed: string | number, rungs: number[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  codec,
  encoder: { cpu: { name: encoder, preset: speed } },
  rateControl: codec === 'av1' ? { mode: 'crf', crf: 32 } : { mode: 'vbr' },
  keyframeInterval: 2,
  rungs: rungs.map((h) => ({ height: h, bitrate: `${h * 4}k` })),
  ...extra,
});

/** H.264 720p/540p/360p, HEVC 720p/540p, AV1 720p/360p: sizes 720p (x3), 540p (x2), 360p (x2). */
const threeLadders = (): Record<string, unknown>[] => [
  ladder('h264', 'libx264', 'medium', [720, 540, 360]),
  ladder('hevc', 'libx265', 'fast', [720, 540]),
  ladder('av1', 'libsvtav1', 10, [720, 360]),
];

function parse(doc: Record<string, unknown>): Preset {
  return presetSchema.parse({ packaging: { hls: { segmentDuration: 6 } }, ...doc } as PresetInput);
}

const media = (o: { width?: number; height?: number; hdr?: boolean } = {}): MediaInfo =>
  fakeMedia({
    video: {
      ...(o.width ? { width: o.width } : {}),
      ...(o.height ? { height: o.height } : {}),
      frameRate: rational(25, 1),
      ...(o.hdr ? { pixelFormat: 'yuv420p10le', bitDepth: 10, colour: { primaries: 'bt2020', transfer: 'smpte2084', matrix: 'bt2020nc', range: 'tv' } } : {}),
    },
  });

const caps = (encoders: string[] = ['libx264', 'libx265', 'libsvtav1', 'h264_nvenc']): Capabilities =>
  ({
    path: 'ffmpeg',
    version: { raw: '5.1.9', major: 5, minor: 1, configuration: [] },
    encoders: encoders.map((name) => ({ name, type: 'video', description: name })),
    muxers: ['hls', 'mp4', 'tee'],
    filters: [],
    hwaccels: [],
  }) as unknown as Capabilities;

function planOf(preset: Preset, m: MediaInfo = media()): TranscodePlan {
  const hardware = { hardware: 'cpu', encoder: preset.video.encoder.cpu!.name, reason: 'test' } as CheckedHardware;
  return buildPlan({ preset: { name: 'multi', file: 'multi.yaml', chain: ['multi.yaml'], preset }, media: m, caps: caps(), hardware, cpus: 2 });
}

describe('the preset format: video takes one ladder or a list of them', () => {
  it('a list keeps the first ladder as `video` and every ladder in order; rungs without a name are CODEC-HEIGHTp', () => {
    const p = parse({ video: threeLadders() });
    const ladders = videoLadders(p);
    expect(ladders.map((l) => l.codec)).toEqual(['h264', 'hevc', 'av1']);
    expect(p.video).toBe(ladders[0]);
    expect(planOf(p).ladder.rungs.map((r) => r.name)).toEqual(['h264-720p', 'h264-540p', 'h264-360p', 'hevc-720p', 'hevc-540p', 'av1-720p', 'av1-360p']);
  });

  it('a single ladder parses exactly as before: no `ladders` key, HEIGHTp names', () => {
    const p = parse({ video: ladder('h264', 'libx264', 'medium', [720]) });
    expect('ladders' in p).toBe(false);
    expect(videoLadders(p)).toEqual([p.video]);
    expect(planOf(p).ladder.rungs.map((r) => r.name)).toEqual(['720p']);
    expect(planOf(p).encodings).toBeUndefined();
  });

  it('a parsed multi-codec preset reads back as itself (queue jobs and streamkit.json carry it)', () => {
    const p = parse({ video: threeLadders() });
    expect(parsePresetObject(JSON.parse(JSON.stringify(p)))).toEqual(p);
    const doc = presetDocument(p);
    expect(Array.isArray(doc['video'])).toBe(true);
    expect('ladders' in doc).toBe(false);
    expect(parsePresetObject(doc)).toEqual(p);
  });
});

describe('preset errors name the key path', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-multi-preset-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function issues(doc: Record<string, unknown>): Promise<{ path: string; message: string }[]> {
    const file = join(dir, `p-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify({ packaging: { hls: { segmentDuration: 6 } }, ...doc }));
    try {
      await loadPreset(file);
    } catch (error) {
      expect(error).toBeInstanceOf(PresetError);
      return (error as PresetError).issues.map((i) => ({ path: i.path, message: i.message }));
    }
    throw new Error('expected the preset to be refused');
  }

  it('keyframeInterval and maxFrameRate must be equal in every ladder', async () => {
    const [a, b, c] = threeLadders();
    const found = await issues({ video: [a, { ...b, keyframeInterval: 4 }, { ...c, maxFrameRate: 30 }] });
    expect(found).toEqual([
      { path: 'video[1].keyframeInterval', message: expect.stringMatching(/expected the same keyframeInterval as video\[0\] \(2\).*got 4/) },
      { path: 'video[2].maxFrameRate', message: expect.stringMatching(/expected the same maxFrameRate as video\[0\] \(60\).*got 30/) },
    ]);
  });

  it('rung names are unique across the whole package', async () => {
    const [a, b] = threeLadders();
    const named = (l: Record<string, unknown>): Record<string, unknown> => ({ ...l, rungs: [{ name: 'top', height: 720, bitrate: '3M' }] });
    const found = await issues({ video: [named(a!), named(b!)] });
    expect(found).toEqual([{ path: 'video[1].rungs[0].name', message: expect.stringContaining('"top" is used twice') }]);
  });

  it('a typo inside one ladder of the list is reported at its place', async () => {
    const [a, b] = threeLadders();
    const found = await issues({ video: [a, { ...b, rungs: [{ heigth: 720, bitrate: '3M' }] }] });
    expect(found.map((i) => i.path)).toContain('video[1].rungs[0].heigth');
    expect(found.find((i) => i.path === 'video[1].rungs[0].heigth')!.message).toMatch(/unknown key "heigth"/);
  });

  it('TS segments are refused for a list of ladders; so is a live preset with several', async () => {
    expect(await issues({ video: threeLadders(), packaging: { hls: { segmentDuration: 6, container: 'ts' } } })).toEqual([
      { path: 'packaging.hls.container', message: expect.stringMatching(/expected fmp4 for hevc/) },
    ]);
    const h264s = [ladder('h264', 'libx264', 'fast', [720]), ladder('h264', 'libx264', 'slow', [540])];
    expect(await issues({ video: h264s, packaging: { hls: { segmentDuration: 6, container: 'ts' } } })).toEqual([
      { path: 'packaging.hls.container', message: 'expected fmp4 for a preset with several video ladders, got ts' },
    ]);
    expect(await issues({ live: true, video: threeLadders() })).toContainEqual({ path: 'video', message: expect.stringMatching(/one video ladder for a live preset/) });
  });

  it('encoder checks run per ladder, at video[k]', () => {
    const [a, b, c] = threeLadders();
    const wrong = parse({ video: [a, { ...b, encoder: { cpu: { name: 'libsvtav1', preset: 8 } } }, { ...c, encoder: { cpu: { name: 'libsvtav1', preset: 'fast' } } }] });
    try {
      checkPresetEncoders(wrong, 'multi.yaml');
      expect.unreachable();
    } catch (error) {
      expect((error as PresetError).issues.map((i) => [i.path, i.message])).toEqual([
        ['video[1].encoder.cpu.name', 'expected a hevc encoder, got libsvtav1 (av1)'],
        ['video[2].encoder.cpu.preset', expect.stringMatching(/^expected one of 0, 1, .* for libsvtav1, got "fast"$/)],
      ]);
    }
  });

  it('the built-in multi-codec-ladder is valid for every encoder it names', async () => {
    const p = await loadPreset('multi-codec-ladder');
    expect(videoLadders(p.preset).map((l) => `${l.codec}:${l.encoder.cpu?.name}`)).toEqual(['h264:libx264', 'hevc:libx265', 'av1:libsvtav1']);
    expect(() => checkPresetEncoders(p.preset, p.file)).not.toThrow();
    expect(p.preset.packaging.hls?.container).toBe('fmp4');
  });
});

describe('the plan and argv: one decode, one scaler set, one audio encode', () => {
  const preset = parse({ video: threeLadders() });
  const plan = planOf(preset);
  const argv = buildTranscodeArgs(plan);

  it('every rung has its ladder; encodings carry each ladder encoder and speed; fMP4 for every rendition', () => {
    expect(plan.ladder.rungs.map((r) => r.ladder)).toEqual([0, 0, 0, 1, 1, 2, 2]);
    expect(plan.encodings!.map((e) => [e.codec, e.encoder, e.speed, e.mode])).toEqual([
      ['h264', 'libx264', 'medium', 'vbr'],
      ['hevc', 'libx265', 'fast', 'vbr'],
      ['av1', 'libsvtav1', 10, 'crf'],
    ]);
    expect(plan.hls!.container).toBe('fmp4');
    expect(plan.notes[0]).toMatch(/^multi-codec package: h264 \(libx264, 3 rungs\), hevc \(libx265, 2 rungs\), av1 \(libsvtav1, 2 rungs\) from one decode/);
  });

  it('one input, one split after fps/format, one scaler per distinct size, split again to each codec', () => {
    expect(argv.filter((a) => a === '-i')).toHaveLength(1);
    const { graph, outputs } = videoFilterGraph(plan);
    expect(outputs).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
    // the source is 720p: no scaler for 720p, one for 540p and one for 360p, each shared
    expect(graph).toBe(
      '[0:0]fps=25:start_time=0,split=3[s0][s1][s2];[s0]setsar=1,split=3[v0][v3][v5];[s1]scale=960:540,setsar=1,split=2[v1][v4];[s2]scale=640:360,setsar=1,split=2[v2][v6]',
    );
    expect(graph.match(/scale=/g)).toHaveLength(2);
    expect(graph.match(/fps=/g)).toHaveLength(1);
  });

  it('each rung gets its own ladder encoder settings and the same GOP in frames', () => {
    // the rungs' encoders (the poster and sprites come after them, mjpeg)
    const encoders = argv.flatMap((a, i) => (a === '-c:v' && argv[i + 1] !== 'mjpeg' ? [argv[i + 1]] : []));
    expect(encoders).toEqual(['libx264', 'libx264', 'libx264', 'libx265', 'libx265', 'libsvtav1', 'libsvtav1']);
    const text = argv.join(' ');
    // the argv of each rung runs from its -map to its playlist
    const part = (name: string): string => text.slice(text.lastIndexOf('-map [', text.indexOf(`${name}/index.m3u8`)), text.indexOf(`${name}/index.m3u8`));
    expect(part('h264-540p')).toMatch(/-c:v libx264 -preset medium -b:v 2160k .*-g 50 -keyint_min 50 -sc_threshold 0/);
    expect(part('hevc-540p')).toMatch(/-c:v libx265 -preset fast -b:v 2160k .*keyint=50:min-keyint=50:scenecut=0.*-tag:v hvc1/);
    expect(part('av1-360p')).toMatch(/-c:v libsvtav1 -preset 10 -crf 32 .*-g 50/);
    for (const name of ['h264-720p', 'hevc-720p', 'av1-720p']) expect(part(name)).toContain('-hls_segment_type fmp4');
  });

  it('one encode per audio rendition, shared by every variant', () => {
    expect(argv.filter((a) => a === '-c:a')).toHaveLength(1);
    expect(argv.filter((a) => a.startsWith('audio-1/'))).toHaveLength(2); // its segment pattern and playlist
  });

  it('with an MP4 file target (tee output) each rung still has its own encoder', () => {
    const withFiles = planOf(parse({ video: threeLadders(), packaging: { hls: { segmentDuration: 6 }, mp4: { rungs: ['hevc-720p'] } } }));
    expect(withFiles.files.map((f) => f.path)).toEqual(['mp4/hevc-720p.mp4']);
    const tee = buildTranscodeArgs(withFiles);
    expect(tee.filter((a) => a === '-i')).toHaveLength(1);
    expect(tee.flatMap((a, i) => (/^-c:v:\d+$/.test(a) ? [`${a}=${tee[i + 1]}`] : []))).toEqual([
      '-c:v:0=libx264',
      '-c:v:1=libx264',
      '-c:v:2=libx264',
      '-c:v:3=libx265',
      '-c:v:4=libx265',
      '-c:v:5=libsvtav1',
      '-c:v:6=libsvtav1',
    ]);
    expect(tee.join(' ')).toContain(String.raw`[f=mp4:movflags=+faststart:select=v\\:3,a\\:0:onfail=abort]mp4/hevc-720p.mp4`);
  });

  it('a ladder taller than the source is fitted per codec', () => {
    const small = planOf(preset, media({ width: 640, height: 360 }));
    expect(small.ladder.rungs.map((r) => `${r.name}:${encodingOf(small, r).encoder}`)).toEqual(['h264-360p:libx264', 'hevc-360p:libx265', 'av1-360p:libsvtav1']);
    expect(videoFilterGraph(small).graph).toBe('[0:0]fps=25:start_time=0,setsar=1,split=3[v0][v1][v2]');
  });
});

describe('HDR sources with several ladders', () => {
  it('an H.264 ladder in the list: every rung SDR, tone-mapped once before the split, and said so', () => {
    const plan = planOf(parse({ video: threeLadders() }), media({ hdr: true }));
    expect(plan.colour!.range).toBe('SDR');
    expect(plan.colour!.toneMap).not.toBeNull();
    expect(plan.notes.join('\n')).toMatch(/the hevc and av1 rungs are SDR too/);
    expect(videoFilterGraph(plan).graph.match(/tonemap=tonemap=/g)).toHaveLength(1);
    expect(videoFilterGraph(plan).graph).toMatch(/^\[0:0\]fps=25:start_time=0,[^;]*tonemap=tonemap=mobius[^;]*,format=yuv420p,split=3\[s0\]/);
  });

  it('HEVC and AV1 ladders only: HDR kept on every rung', () => {
    const [, b, c] = threeLadders();
    const plan = planOf(parse({ video: [b, c] }), media({ hdr: true }));
    expect(plan.colour!.range).toBe('PQ');
    expect(plan.colour!.bitDepth).toBe(10);
    expect(plan.colour!.toneMap).toBeNull();
  });
});

describe('the start variant of a multi-codec master is H.264', () => {
  it('an HEVC variant that fits the start rule better is passed over for the best H.264 one', () => {
    const v = (bandwidth: number, universal: boolean) => ({ bandwidth, firstSegmentBytes: bandwidth / 20, universal });
    // 0: H.264 1.2 Mb/s, 1: HEVC 1.4 Mb/s, 2: H.264 600 kb/s, 3: AV1 1.3 Mb/s
    expect(masterOrder([v(1_200_000, true), v(1_400_000, false), v(600_000, true), v(1_300_000, false)])).toEqual([0, 2, 3, 1]);
    // without any H.264 variant the usual rule holds
    expect(masterOrder([v(1_200_000, false), v(1_400_000, false)])[0]).toBe(1);
  });
});

describe('hardware: a multi-codec preset runs on the CPU', () => {
  const preset = parse({ video: threeLadders() });

  it('--hw nvenc is refused with a message naming the codecs', async () => {
    const error = await selectHardware(caps(), preset, 'nvenc').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamkitError);
    expect((error as StreamkitError).code).toBe('USAGE');
    expect((error as StreamkitError).message).toMatch(/--hw nvenc cannot encode a multi-codec preset \(h264 \+ hevc \+ av1\)/);
  });

  it('--hw auto chooses the CPU without trying NVENC, and says why', async () => {
    const choice = await selectHardware(caps(), preset, 'auto');
    expect(choice).toEqual({ hardware: 'cpu', encoder: 'libx264', reason: expect.stringMatching(/multi-codec preset, h264 \+ hevc \+ av1, runs on the CPU encoders/) });
  });

  it('a missing encoder of any ladder is named', async () => {
    const error = await selectHardware(caps(['libx264', 'libx265']), preset, 'cpu').catch((e: unknown) => e);
    expect((error as StreamkitError).code).toBe('ENCODER_UNAVAILABLE');
    expect((error as StreamkitError).message).toMatch(/has no libsvtav1 encoder, which the preset wants for av1/);
  });
});
