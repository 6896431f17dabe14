/**
 * Generates tiny real HLS output with the located ffmpeg and checks the inspection results
 * against ffprobe.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectFmp4Init, inspectFmp4Segment, inspectTsSegment } from '../../src/package/inspect.js';
import { FFMPEG, FFPROBE, need, unmet } from '../helpers/index.js';

const run = promisify(execFile);

const VIDEO_IN = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30'];
const AUDIO_IN = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0'];
const X265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'keyint=30:min-keyint=30:scenecut=0:open-gop=0:log-level=error'];
const SVTAV1 = ['-c:v', 'libsvtav1', '-g', '30', '-preset', '12'];
const AAC = ['-c:a', 'aac'];

function hls(dir: string, type: 'mpegts' | 'fmp4'): string[] {
  const ext = type === 'mpegts' ? 'ts' : 'm4s';
  return ['-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_type', type, '-hls_segment_filename', join(dir, `s%d.${ext}`), join(dir, 'index.m3u8')];
}

interface ProbeStream {
  codec_type: string;
  codec_name: string;
  codec_tag_string?: string;
  profile?: string;
  level?: number;
  pix_fmt?: string;
}

async function ffmpeg(args: string[]): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);
}

async function probeStreams(file: string): Promise<ProbeStream[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_streams', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: ProbeStream[] }).streams;
}

async function probeVideoPackets(file: string): Promise<{ pts: number; key: boolean }[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'json', file]);
  const packets = (JSON.parse(stdout) as { packets: { pts_time: string; flags: string }[] }).packets;
  return packets.map((p) => ({ pts: Number(p.pts_time), key: p.flags.startsWith('K') }));
}

async function probeVideoFrames(file: string): Promise<{ key_frame: number; pts_time: string; pict_type: string }[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'quiet', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pts_time,pict_type', '-of', 'json', file]);
  return (JSON.parse(stdout) as { frames: { key_frame: number; pts_time: string; pict_type: string }[] }).frames;
}

const H264_PROFILES: Record<string, number> = { Baseline: 66, 'Constrained Baseline': 66, Main: 77, High: 100 };
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

describe.skipIf(unmet(need.ffmpeg))('segment inspection on real ffmpeg output', () => {
  let root = '';
  const dir = (name: string): string => join(root, name);
  const read = (name: string, file: string): Promise<Buffer> => readFile(join(dir(name), file));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'streamkit-inspect-'));
    const jobs: [string, string[]][] = [
      ['ts-h264', [...VIDEO_IN, ...AUDIO_IN, '-t', '4', ...X264, ...AAC]],
      ['ts-hevc', [...VIDEO_IN, '-t', '2', ...X265]],
      ['fmp4-h264', [...VIDEO_IN, ...AUDIO_IN, '-t', '4', ...X264, ...AAC]],
      ['fmp4-hevc', [...VIDEO_IN, ...AUDIO_IN, '-t', '4', ...X265, '-tag:v', 'hvc1', ...AAC]],
      ['fmp4-av1', [...VIDEO_IN, ...AUDIO_IN, '-t', '4', ...SVTAV1, ...AAC]],
      ['fmp4-audio', [...AUDIO_IN, '-t', '4', ...AAC]],
    ];
    await Promise.all([
      ...jobs.map(async ([name, args]) => {
        await mkdir(dir(name));
        await ffmpeg([...args, ...hls(dir(name), name.startsWith('ts-') ? 'mpegts' : 'fmp4')]);
      }),
      // several fragments per file, B-frames (composition offsets), explicit base_data_offset in tfhd
      (async () => {
        await mkdir(dir('frag'));
        await ffmpeg([...VIDEO_IN, ...AUDIO_IN, '-t', '4', ...X264, '-bf', '2', ...AAC, '-movflags', '+empty_moov', '-frag_duration', '1500000', join(dir('frag'), 'a.mp4')]);
      })(),
      // 10-bit AV1 with a colour description -> long-form CODECS
      (async () => {
        await mkdir(dir('av1-hdr'));
        await ffmpeg([
          ...VIDEO_IN,
          '-t',
          '0.5',
          '-pix_fmt',
          'yuv420p10le',
          ...SVTAV1,
          '-color_primaries',
          'bt2020',
          '-color_trc',
          'smpte2084',
          '-colorspace',
          'bt2020nc',
          '-color_range',
          'pc',
          '-movflags',
          '+frag_keyframe+empty_moov',
          join(dir('av1-hdr'), 'a.mp4'),
        ]);
      })(),
    ]);
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  describe('MPEG-TS', () => {
    it('H.264 + AAC: codecs, keyframes, init range and a decodable one-frame TS', async () => {
      for (const [index, file] of ['s0.ts', 's1.ts'].entries()) {
        const path = join(dir('ts-h264'), file);
        const buf = await readFile(path);
        const r = inspectTsSegment(buf);

        const streams = await probeStreams(path);
        const v = streams.find((s) => s.codec_type === 'video');
        const a = streams.find((s) => s.codec_type === 'audio');
        const profileIdc = H264_PROFILES[v?.profile ?? ''];
        expect(profileIdc).toBeDefined();
        const [videoCodec, audioCodec] = r.codecs;
        expect(videoCodec).toMatch(new RegExp(`^avc1\\.${hex2(profileIdc ?? 0)}[0-9a-f]{2}${hex2(v?.level ?? 0)}$`));
        if (v?.profile === 'Constrained Baseline') expect(parseInt(videoCodec?.slice(7, 9) ?? '', 16) & 0x40).toBe(0x40);
        expect(a?.profile).toBe('LC');
        expect(audioCodec).toBe('mp4a.40.2');
        expect(r.codecs).toHaveLength(2);

        expect(r.startsWithKeyframe).toBe(true);
        expect(r.videoFrames).toBe(60);
        expect(r.keyframes).toHaveLength(2);
        expect(r.initLength % 188).toBe(0);
        expect(r.initLength).toBeGreaterThan(0);
        expect(r.initLength).toBeLessThanOrEqual(r.keyframes[0]?.offset ?? 0);
        for (const k of r.keyframes) {
          expect(buf[k.offset]).toBe(0x47);
          expect(k.offset % 188).toBe(0);
          expect(k.length % 188).toBe(0);
          expect(k.offset + k.length).toBeLessThanOrEqual(buf.length);
        }
        expect(r.firstPts).toBeCloseTo(r.keyframes[0]?.pts ?? NaN, 6);
        if (index === 1) expect(r.firstPts).toBeGreaterThan(2);

        const keyPts = (await probeVideoPackets(path)).filter((p) => p.key).map((p) => p.pts);
        expect(r.keyframes.map((k) => k.pts)).toEqual(keyPts.map((p) => expect.closeTo(p, 5)));

        // bytes [0, initLength) + one keyframe range must be a decodable one-frame TS
        const k = r.keyframes[1];
        if (!k) throw new Error('no second keyframe');
        const oneFrame = join(root, `ts-h264-${index}-iframe.ts`);
        await writeFile(oneFrame, Buffer.concat([buf.subarray(0, r.initLength), buf.subarray(k.offset, k.offset + k.length)]));
        const frames = await probeVideoFrames(oneFrame);
        expect(frames).toHaveLength(1);
        expect(frames[0]?.key_frame).toBe(1);
        expect(frames[0]?.pict_type).toBe('I');
        expect(Number(frames[0]?.pts_time)).toBeCloseTo(k.pts, 5);
      }
    });

    it('HEVC: codec string from the in-band SPS', async () => {
      const path = join(dir('ts-hevc'), 's0.ts');
      const r = inspectTsSegment(await readFile(path));
      const v = (await probeStreams(path))[0];
      expect(v?.profile).toBe('Main');
      expect(r.codecs).toHaveLength(1);
      expect(r.codecs[0]).toMatch(new RegExp(`^hev1\\.1\\.6\\.L${v?.level}(\\.[0-9A-F]{2})*$`));
      expect(r.startsWithKeyframe).toBe(true);
      expect(r.keyframes).toHaveLength(2);
      expect(r.videoFrames).toBe(60);
    });
  });

  describe('fMP4', () => {
    async function checkVideo(name: string, expectCodec: (v: ProbeStream) => string | RegExp): Promise<void> {
      const initBuf = await read(name, 'init.mp4');
      const init = inspectFmp4Init(initBuf);
      const joined = join(root, `${name}-0.mp4`);
      await writeFile(joined, Buffer.concat([initBuf, await read(name, 's0.m4s')]));
      const streams = await probeStreams(joined);
      const v = streams.find((s) => s.codec_type === 'video');
      if (!v) throw new Error('ffprobe found no video stream');
      const [videoTrack, audioTrack] = init.tracks;
      expect(videoTrack).toMatchObject({ trackId: 1, handler: 'vide', timescale: 15360, sampleEntry: v.codec_tag_string });
      expect(audioTrack).toMatchObject({ trackId: 2, handler: 'soun', timescale: 48000, sampleEntry: 'mp4a', codec: 'mp4a.40.2' });
      expect(streams.find((s) => s.codec_type === 'audio')?.profile).toBe('LC');
      const expected = expectCodec(v);
      if (typeof expected === 'string') expect(videoTrack?.codec).toBe(expected);
      else expect(videoTrack?.codec).toMatch(expected);
      expect(init.codecs).toEqual([videoTrack?.codec, 'mp4a.40.2']);

      for (const [index, file] of ['s0.m4s', 's1.m4s'].entries()) {
        const seg = await read(name, file);
        const r = inspectFmp4Segment(seg, init);
        expect(r.startsWithKeyframe).toBe(true);
        expect(r.videoFrames).toBe(60);
        // ffmpeg 5.1's HLS muxer writes one moof/mdat per segment, so only the segment's first IDR is usable
        expect(r.keyframes).toHaveLength(1);
        const k = r.keyframes[0];
        if (!k) throw new Error('no keyframe');
        expect(seg.toString('latin1', k.offset + 4, k.offset + 8)).toBe('moof');
        expect(k.offset + k.length).toBeLessThanOrEqual(seg.length);
        expect(k.pts).toBe(r.firstPts);
        expect(r.firstPts).toBeGreaterThanOrEqual(index * 2);
        expect(r.firstPts).toBeLessThan(index * 2 + 0.2);

        // init + [offset, offset+length) decodes to exactly one key frame
        const oneFrame = join(root, `${name}-${index}-iframe.mp4`);
        await writeFile(oneFrame, Buffer.concat([initBuf, seg.subarray(k.offset, k.offset + k.length)]));
        const frames = await probeVideoFrames(oneFrame);
        expect(frames).toHaveLength(1);
        expect(frames[0]?.key_frame).toBe(1);
      }
    }

    it('H.264: avcC codec string matches ffprobe profile/level', async () => {
      await checkVideo('fmp4-h264', (v) => {
        const idc = H264_PROFILES[v.profile ?? ''];
        if (idc === undefined) throw new Error(`unexpected profile ${v.profile}`);
        return new RegExp(`^avc1\\.${hex2(idc)}[0-9a-f]{2}${hex2(v.level ?? 0)}$`);
      });
    });

    it('HEVC (hvc1): hvcC codec string matches ffprobe profile/level', async () => {
      await checkVideo('fmp4-hevc', (v) => {
        expect(v.profile).toBe('Main');
        return new RegExp(`^hvc1\\.1\\.6\\.L${v.level}(\\.[0-9A-F]{2})*$`);
      });
    });

    it('AV1: av1C codec string matches ffprobe profile/level/bit depth', async () => {
      await checkVideo('fmp4-av1', (v) => {
        expect(v.profile).toBe('Main');
        expect(v.pix_fmt).toBe('yuv420p');
        return `av01.0.${String(v.level).padStart(2, '0')}M.08`;
      });
    });

    it('AV1 10-bit with BT.2020/PQ/full range: long-form codec string', async () => {
      const buf = await readFile(join(dir('av1-hdr'), 'a.mp4'));
      const v = (await probeStreams(join(dir('av1-hdr'), 'a.mp4')))[0];
      expect(inspectFmp4Init(buf).codecs).toEqual([`av01.0.${String(v?.level).padStart(2, '0')}M.10.0.110.09.16.09.1`]);
    });

    it('audio only', async () => {
      const init = inspectFmp4Init(await read('fmp4-audio', 'init.mp4'));
      expect(init.codecs).toEqual(['mp4a.40.2']);
      expect(init.tracks).toHaveLength(1);
      let previous = -1;
      for (const file of ['s0.m4s', 's1.m4s']) {
        const r = inspectFmp4Segment(await read('fmp4-audio', file), init);
        expect(r).toMatchObject({ keyframes: [], startsWithKeyframe: true, videoFrames: 0 });
        expect(r.firstPts).not.toBeNull();
        expect(r.firstPts ?? -1).toBeGreaterThan(previous);
        previous = r.firstPts ?? -1;
      }
    });

    it('several fragments per file with B-frames and explicit base_data_offset', async () => {
      const path = join(dir('frag'), 'a.mp4');
      const buf = await readFile(path);
      const init = inspectFmp4Init(buf);
      const r = inspectFmp4Segment(buf, init);
      expect(r.videoFrames).toBe(120);
      expect(r.startsWithKeyframe).toBe(true);
      // fragments of 1.5 s: IDRs at 0, 1, 2, 3 s; only those at 0 s and 3 s start a fragment
      const keyPts = (await probeVideoPackets(path)).filter((p) => p.key).map((p) => p.pts);
      expect(keyPts).toHaveLength(4);
      expect(r.keyframes.map((k) => k.pts)).toEqual([expect.closeTo(keyPts[0] ?? NaN, 5), expect.closeTo(keyPts[3] ?? NaN, 5)]);
      for (const k of r.keyframes) expect(buf.toString('latin1', k.offset + 4, k.offset + 8)).toBe('moof');
      expect(r.firstPts).toBeGreaterThan(0); // composition offset of the first frame (B-frames)
    });
  });
});
