/**
 * A multi-codec package (issue 20) made by the real ffmpeg from a tiny generated clip: three small
 * ladders (H.264, HEVC, AV1 at their fastest speeds) in one preset, one run. Asserted on what came
 * out: the master lists every variant with the CODECS its bitstream says (avc1 / hvc1 / av01), every
 * rung's segments probe as its codec and decode, keyframes (IDRs) sit at the same times in every
 * codec, one audio rendition serves all variants, and streamkit.json names every rung's codec.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscodeEvent } from '../../src/events.js';
import { resolveToolchain, transcode } from '../../src/transcode.js';
import { checkDash, checkPackage, FFMPEG, FFPROBE, makeSource, need, tempDir, unmet, type CheckedPackage } from '../helpers/index.js';

const PRESET = `
name: multi-test
video:
  - codec: h264
    encoder: { cpu: { name: libx264, preset: ultrafast } }
    rateControl: { mode: vbr }
    keyframeInterval: 1
    rungs:
      - { height: 180, bitrate: 300k }
      - { height: 120, bitrate: 150k }
  - codec: hevc
    encoder: { cpu: { name: libx265, preset: ultrafast } }
    rateControl: { mode: vbr }
    keyframeInterval: 1
    rungs:
      - { height: 180, bitrate: 250k }
  - codec: av1
    encoder: { cpu: { name: libsvtav1, preset: 12 } }
    rateControl: { mode: crf, crf: 40 }
    keyframeInterval: 1
    rungs:
      - { height: 180, bitrate: 200k }
      - { height: 120, bitrate: 100k }
audio: { bitrate: 64k }
packaging:
  hls: { segmentDuration: 2 }
  dash: {}
  thumbnails: false
`;

const sampleEntry: Record<string, string> = { h264: 'avc1', hevc: 'hvc1', av1: 'av01' };

describe.skipIf(unmet(need.ffmpeg))('a multi-codec package from one run (H.264 + HEVC + AV1, 320x180, 4 s)', () => {
  let dir = '';
  let output = '';
  let pkg: CheckedPackage;
  const events: TranscodeEvent[] = [];

  beforeAll(async () => {
    dir = await tempDir('streamkit-multi-');
    const source = await makeSource(join(dir, 'clip.mp4'), { size: '320x180', rate: '25', duration: 4, audio: ['eng'] });
    const preset = join(dir, 'multi.yaml');
    await writeFile(preset, PRESET);
    output = join(dir, 'out');
    const toolchain = await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE });
    await transcode({ input: source, preset, output, hw: 'cpu', toolchain, onEvent: (e) => events.push(e) });
    // every check of any package: CODECS against the init segments' decoder configuration, segment
    // alignment, measured BANDWIDTH, I-frame playlists, and the whole master decoding without an error
    pkg = await checkPackage(output, { fps: 25, duration: 4, audioRenditions: 1, targetDuration: 2 });
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the master lists every rung of every codec with the CODECS of its bitstream, and starts on H.264', () => {
    expect(pkg.rungs.map((r) => r.dir).sort()).toEqual(['av1-120p', 'av1-180p', 'h264-120p', 'h264-180p', 'hevc-180p']);
    for (const r of pkg.rungs) {
      const codec = r.dir.split('-')[0]!;
      expect(r.stream.codec_name, `${r.dir} bitstream`).toBe(codec);
      expect(r.videoCodec.split('.')[0], `${r.dir} CODECS ${r.videoCodec}`).toBe(sampleEntry[codec]);
      expect(r.playlist.mapUri, `${r.dir} is fMP4`).toBe('init.mp4');
    }
    expect(pkg.rungs[0]!.videoCodec).toMatch(/^avc1\./);
    expect(pkg.master.version).toBe(6);
  });

  it('the DASH side over the same segments: one video AdaptationSet per codec (H.264 first), every Representation checked (dash-check)', async () => {
    const dash = await checkDash(output);
    const video = dash.representations.filter((r) => r.contentType === 'video');
    const sets = [...new Set(video.map((r) => r.set))];
    expect(sets.map((set) => (set['Representation'] as Record<string, string>[]).map((r) => r['@id']).sort())).toEqual([
      ['h264-120p', 'h264-180p'],
      ['hevc-180p'],
      ['av1-120p', 'av1-180p'],
    ]);
    for (const r of video) expect(r.codecs, r.id).toBe(pkg.rungs.find((v) => v.dir === r.id)!.videoCodec);
    expect(dash.representations.filter((r) => r.contentType === 'audio').map((r) => r.id)).toEqual(['audio-1']);
  });

  it('keyframes at the same times in every codec (a player can switch codec and rung at any segment)', () => {
    const ref = pkg.rungs.find((r) => r.dir === 'h264-180p')!;
    expect(ref.keyframes).toHaveLength(4); // one IDR a second
    for (const r of pkg.rungs) {
      expect(r.keyframes.length, `${r.dir} keyframes`).toBe(ref.keyframes.length);
      r.keyframes.forEach((t, i) => {
        expect(Math.abs(t - ref.keyframes[i]!), `${r.dir} keyframe ${i} at ${t}, h264-180p at ${ref.keyframes[i]}`).toBeLessThan(0.02);
      });
    }
  });

  it('one audio rendition, encoded once and referenced by every variant', async () => {
    expect(pkg.audio).toHaveLength(1);
    expect(new Set(pkg.rungs.map((r) => r.attrs['AUDIO']))).toEqual(new Set([pkg.audio[0]!.attrs['GROUP-ID']]));
    expect((await readdir(output)).filter((f) => f.startsWith('audio-'))).toEqual(['audio-1']);
    const start = events.find((e) => e.type === 'start') as Extract<TranscodeEvent, { type: 'start' }>;
    const command = start.command ?? [];
    expect(command.filter((a) => a === '-i')).toHaveLength(1);
    expect(command.filter((a) => a === '-c:a')).toHaveLength(1);
    expect(command.filter((a) => a === '-c:v')).toHaveLength(5);
    expect(start.ladder.map((r) => `${r.name}:${r.codec}:${r.encoder}`)).toEqual([
      'h264-180p:h264:libx264',
      'h264-120p:h264:libx264',
      'hevc-180p:hevc:libx265',
      'av1-180p:av1:libsvtav1',
      'av1-120p:av1:libsvtav1',
    ]);
  });

  it('streamkit.json lists every rung with its codec, encoder and CODECS, and the preset as written', async () => {
    const manifest = JSON.parse(await readFile(join(output, 'streamkit.json'), 'utf8')) as {
      rungs: { name: string; codec: string; encoder: string; codecs: string[]; bandwidth: number }[];
      preset: { resolved: { video: unknown } };
      notes: string[];
    };
    expect(manifest.rungs.map((r) => [r.name, r.codec, r.encoder])).toEqual([
      ['h264-180p', 'h264', 'libx264'],
      ['h264-120p', 'h264', 'libx264'],
      ['hevc-180p', 'hevc', 'libx265'],
      ['av1-180p', 'av1', 'libsvtav1'],
      ['av1-120p', 'av1', 'libsvtav1'],
    ]);
    for (const r of manifest.rungs) {
      const variant = pkg.rungs.find((v) => v.dir === r.name)!;
      expect(r.codecs).toEqual([variant.videoCodec]);
      expect(r.bandwidth).toBe(Number(variant.attrs['BANDWIDTH']));
    }
    expect(Array.isArray(manifest.preset.resolved.video)).toBe(true);
    expect(manifest.notes[0]).toMatch(/^multi-codec package: h264 \(libx264, 2 rungs\), hevc \(libx265, 1 rung\), av1 \(libsvtav1, 2 rungs\)/);
  });
});
