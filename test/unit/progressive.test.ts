import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamkitError } from '../../src/errors.js';
import type { Capabilities } from '../../src/ffmpeg/capabilities.js';
import { isFaststart, parseFlvHeader, readTopLevelBoxes, requireFileMuxers, requireFlvSupport, selectFileTargets } from '../../src/package/progressive.js';
import type { FileTarget } from '../../src/plan.js';
import { parsePresetObject } from '../../src/preset/load.js';

function box(type: string, payload = 0): Buffer {
  const b = Buffer.alloc(8 + payload);
  b.writeUInt32BE(8 + payload, 0);
  b.write(type, 4, 'latin1');
  return b;
}

function largeBox(type: string, payload: number): Buffer {
  const b = Buffer.alloc(16 + payload);
  b.writeUInt32BE(1, 0);
  b.write(type, 4, 'latin1');
  b.writeBigUInt64BE(BigInt(16 + payload), 8);
  return b;
}

function caps(version: string, major: number | null, minor: number | null, muxers = ['mp4', 'flv', 'hls', 'tee']): Capabilities {
  return { path: '/usr/bin/ffmpeg', version: { raw: version, major, minor, configuration: [] }, encoders: [], muxers, filters: [], hwaccels: [] };
}

describe('MP4 top-level boxes', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-boxes-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, parts: Buffer[]): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, Buffer.concat(parts));
    return p;
  };

  it('reads box headers, including 64-bit sizes and a last box that runs to the end', async () => {
    const tail = Buffer.alloc(20);
    tail.writeUInt32BE(0, 0);
    tail.write('free', 4, 'latin1');
    const boxes = await readTopLevelBoxes(await file('a.mp4', [box('ftyp', 12), box('moov', 100), largeBox('mdat', 40), tail]));
    expect(boxes).toEqual([
      { type: 'ftyp', offset: 0, size: 20 },
      { type: 'moov', offset: 20, size: 108 },
      { type: 'mdat', offset: 128, size: 56 },
      { type: 'free', offset: 184, size: 20 },
    ]);
    expect(isFaststart(boxes)).toBe(true);
  });

  it('sees a moov after the media data as not faststart', async () => {
    const boxes = await readTopLevelBoxes(await file('b.mp4', [box('ftyp', 12), box('mdat', 100), box('moov', 30)]));
    expect(boxes.map((b) => b.type)).toEqual(['ftyp', 'mdat', 'moov']);
    expect(isFaststart(boxes)).toBe(false);
    expect(
      isFaststart([
        { type: 'ftyp', offset: 0, size: 8 },
        { type: 'mdat', offset: 8, size: 8 },
      ]),
    ).toBe(false);
  });

  it('rejects truncated and impossible boxes', async () => {
    await expect(readTopLevelBoxes(await file('c.mp4', [box('ftyp', 12), box('moov', 100).subarray(0, 50)]))).rejects.toThrow(/impossible size/);
    await expect(readTopLevelBoxes(await file('d.mp4', [box('ftyp', 12), Buffer.from([0, 0, 0])]))).rejects.toThrow(/truncated/);
    const tiny = box('moov');
    tiny.writeUInt32BE(4, 0);
    await expect(readTopLevelBoxes(await file('e.mp4', [tiny]))).rejects.toThrow(/impossible size/);
  });
});

describe('FLV header', () => {
  it('reads the audio/video flags', () => {
    expect(parseFlvHeader(Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9]))).toEqual({ version: 1, hasAudio: true, hasVideo: true });
    expect(parseFlvHeader(Buffer.from([0x46, 0x4c, 0x56, 1, 1, 0, 0, 0, 9]))).toEqual({ version: 1, hasAudio: false, hasVideo: true });
    expect(() => parseFlvHeader(Buffer.from('RIFF0000000'))).toThrow(/not an FLV/);
  });
});

const base = {
  video: {
    codec: 'h264',
    encoder: { cpu: { name: 'libx264' } },
    rateControl: { mode: 'vbr' },
    rungs: [
      { name: '1080p', height: 1080, bitrate: '6M' },
      { name: '720p', height: 720, bitrate: '3M' },
      { name: '360p', height: 360, bitrate: '800k' },
    ],
  },
};
const ladder = { rungs: [{ name: '720p' }, { name: '360p' }] } as never;
const audio = [{ dir: 'audio-1' }, { dir: 'audio-2' }] as never;

describe('file targets', () => {
  it('picks the top rung, all rungs or named rungs of the fitted ladder', () => {
    const p = parsePresetObject({ ...base, packaging: { mp4: { rungs: 'all' }, flv: {} } });
    const { files, notes } = selectFileTargets(p, ladder, audio);
    expect(files).toEqual([
      { kind: 'mp4', rung: '720p', rungIndex: 0, audio: [0, 1], path: 'mp4/720p.mp4' },
      { kind: 'mp4', rung: '360p', rungIndex: 1, audio: [0, 1], path: 'mp4/360p.mp4' },
      { kind: 'flv', rung: '720p', rungIndex: 0, audio: [0], path: 'flv/720p.flv' },
    ]);
    expect(notes).toEqual([]);
  });

  it('skips named rungs the source is too small for, falling back to the top rung when none is left', () => {
    const p = parsePresetObject({ ...base, packaging: { hls: {}, mp4: { rungs: ['1080p', '360p'] }, flv: { rungs: ['1080p'] } } });
    const { files, notes } = selectFileTargets(p, ladder, []);
    expect(files.map((f) => f.path)).toEqual(['mp4/360p.mp4', 'flv/720p.flv']);
    expect(files.every((f) => f.audio.length === 0)).toBe(true);
    expect(notes).toHaveLength(3);
  });

  it('rejects unknown and repeated rung names in the preset, naming the key', () => {
    expect(() => parsePresetObject({ ...base, packaging: { mp4: { rungs: ['4k'] } } }, 'p.yaml')).toThrow(/packaging\.mp4\.rungs(\[0\]|\.0).*expected one of the rung names/);
    expect(() => parsePresetObject({ ...base, packaging: { flv: { rungs: ['720p', '720p'] } } }, 'p.yaml')).toThrow(/listed twice/);
    expect(() => parsePresetObject({ ...base, packaging: { mp4: { rungs: [] } } }, 'p.yaml')).toThrow(/packaging\.mp4\.rungs/);
  });

  it('allows a preset with MP4 only', () => {
    const p = parsePresetObject({ ...base, packaging: { mp4: {} } });
    expect(p.packaging.hls).toBeUndefined();
    expect(p.packaging.mp4).toEqual({ rungs: 'top' });
  });
});

describe('FLV codec support', () => {
  const code = (fn: () => void): string | null => {
    try {
      fn();
      return null;
    } catch (error) {
      expect(error).toBeInstanceOf(StreamkitError);
      return `${(error as StreamkitError).code}/${(error as StreamkitError).exitCode}`;
    }
  };

  it('takes H.264 with any ffmpeg', () => {
    expect(code(() => requireFlvSupport(caps('5.1.9-0+deb12u1', 5, 1), 'h264', 'FLV files'))).toBeNull();
  });

  it('needs ffmpeg 6.1 (enhanced FLV) for HEVC and AV1, and says so', () => {
    expect(code(() => requireFlvSupport(caps('5.1.9-0+deb12u1', 5, 1), 'hevc', 'FLV files'))).toBe('FEATURE_UNAVAILABLE/4');
    expect(code(() => requireFlvSupport(caps('6.0', 6, 0), 'av1', 'RTMP publishing'))).toBe('FEATURE_UNAVAILABLE/4');
    try {
      requireFlvSupport(caps('5.1.9-0+deb12u1', 5, 1), 'hevc', 'FLV files');
    } catch (error) {
      expect((error as Error).message).toMatch(/HEVC.*enhanced FLV.*6\.1.*5\.1\.9/);
      expect((error as StreamkitError).hint).toMatch(/--ffmpeg/);
    }
    expect(code(() => requireFlvSupport(caps('6.1.1', 6, 1), 'hevc', 'FLV files'))).toBeNull();
    expect(code(() => requireFlvSupport(caps('7.1', 7, 1), 'av1', 'RTMP publishing'))).toBeNull();
    expect(code(() => requireFlvSupport(caps('N-112233-gdeadbeef', null, null), 'av1', 'FLV files'))).toBeNull();
  });

  it('needs the muxers themselves', () => {
    expect(code(() => requireFlvSupport(caps('7.1', 7, 1, ['mp4']), 'h264', 'FLV files'))).toBe('FEATURE_UNAVAILABLE/4');
    const mp4: FileTarget[] = [{ kind: 'mp4', rung: 'a', rungIndex: 0, audio: [], path: 'mp4/a.mp4' }];
    expect(code(() => requireFileMuxers(caps('7.1', 7, 1, ['mp4', 'hls']), mp4))).toBe('FEATURE_UNAVAILABLE/4');
    expect(code(() => requireFileMuxers(caps('7.1', 7, 1, ['mp4', 'tee']), mp4))).toBeNull();
  });
});
