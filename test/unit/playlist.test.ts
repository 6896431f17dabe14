import { describe, expect, it } from 'vitest';
import { foldsTail } from '../../src/package/hls.js';
import {
  parseAttributes,
  parseMasterPlaylist,
  parseMediaPlaylist,
  targetDuration,
  writeIFramePlaylist,
  writeMasterPlaylist,
  writeMediaPlaylist,
  type VariantStream,
} from '../../src/package/playlist.js';

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
const tagValue = (text: string, tag: string): string | undefined =>
  lines(text)
    .find((l) => l.startsWith(`${tag}:`))
    ?.slice(tag.length + 1);

describe('targetDuration (RFC 8216 4.3.3.1: every EXTINF rounded to the nearest integer <= target)', () => {
  it('rounds each duration to the nearest integer and takes the largest', () => {
    expect(targetDuration([2.002, 2.002, 1.001])).toBe(2);
    expect(targetDuration([6.006, 6.006, 0.5])).toBe(6);
    expect(targetDuration([5.9, 6.4])).toBe(6);
    expect(targetDuration([2.5])).toBe(3);
    expect(targetDuration([2.499999])).toBe(2);
    expect(targetDuration([0.04])).toBe(1);
    expect(targetDuration([])).toBe(1);
  });

  it('holds the RFC rule for any durations', () => {
    const durations = [0.3, 1.49, 1.5, 2.002, 4.004, 5.5, 6.006];
    const t = targetDuration(durations);
    for (const d of durations) expect(Math.round(d)).toBeLessThanOrEqual(t);
  });
});

describe('writeMediaPlaylist', () => {
  const segments = [
    { uri: 'seg_00000.ts', duration: 2.002 },
    { uri: 'seg_00001.ts', duration: 2.002 },
    { uri: 'seg_00002.ts', duration: 0.934 },
  ];

  it('MPEG-TS: version 3, VOD, ENDLIST, decimal EXTINF', () => {
    const text = writeMediaPlaylist({ segments, mapUri: null });
    const l = lines(text);
    expect(l[0]).toBe('#EXTM3U');
    expect(tagValue(text, '#EXT-X-VERSION')).toBe('3');
    expect(tagValue(text, '#EXT-X-TARGETDURATION')).toBe('2');
    expect(tagValue(text, '#EXT-X-PLAYLIST-TYPE')).toBe('VOD');
    expect(tagValue(text, '#EXT-X-MEDIA-SEQUENCE')).toBe('0');
    expect(l).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
    expect(l[l.length - 1]).toBe('#EXT-X-ENDLIST');
    expect(l.filter((x) => x.startsWith('#EXTINF:'))).toEqual(['#EXTINF:2.002000,', '#EXTINF:2.002000,', '#EXTINF:0.934000,']);
    expect(l).not.toContain(expect.stringMatching(/^#EXT-X-MAP/));
  });

  it('fMP4: version 6 and EXT-X-MAP before the first segment', () => {
    const text = writeMediaPlaylist({ segments: segments.map((s) => ({ ...s, uri: s.uri.replace('.ts', '.m4s') })), mapUri: 'init.mp4' });
    const l = lines(text);
    expect(tagValue(text, '#EXT-X-VERSION')).toBe('6');
    const map = l.indexOf('#EXT-X-MAP:URI="init.mp4"');
    expect(map).toBeGreaterThan(0);
    expect(map).toBeLessThan(l.findIndex((x) => x.startsWith('#EXTINF')));
  });

  it('round-trips through parseMediaPlaylist', () => {
    const parsed = parseMediaPlaylist(writeMediaPlaylist({ segments, mapUri: 'init.mp4' }));
    expect(parsed).toEqual({ segments, mapUri: 'init.mp4', endList: true });
  });

  it('the target duration follows the longest segment', () => {
    const text = writeMediaPlaylist({
      segments: [
        { uri: 'a.ts', duration: 6.006 },
        { uri: 'b.ts', duration: 6.5 },
      ],
      mapUri: null,
    });
    expect(tagValue(text, '#EXT-X-TARGETDURATION')).toBe('7');
  });
});

describe('parseMediaPlaylist', () => {
  it('reads what ffmpeg writes, CRLF included', () => {
    const p = parseMediaPlaylist(
      '#EXTM3U\r\n#EXT-X-VERSION:7\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-MAP:URI="init.mp4"\r\n#EXTINF:2.000000,\r\nseg_00000.m4s\r\n#EXTINF:1.5,\r\nseg_00001.m4s\r\n',
    );
    expect(p).toEqual({
      segments: [
        { uri: 'seg_00000.m4s', duration: 2 },
        { uri: 'seg_00001.m4s', duration: 1.5 },
      ],
      mapUri: 'init.mp4',
      endList: false,
    });
  });

  it('rejects what is not a playlist', () => {
    expect(() => parseMediaPlaylist('hello')).toThrow(/not an HLS playlist/);
    expect(() => parseMediaPlaylist('#EXTM3U\nseg.ts\n')).toThrow(/no EXTINF/);
  });
});

describe('writeIFramePlaylist', () => {
  const frames = [
    { uri: 'seg_00000.ts', offset: 564, length: 6204, duration: 2.002 },
    { uri: 'seg_00001.ts', offset: 564, length: 5076, duration: 2.002 },
  ];

  it('TS: I-FRAMES-ONLY, version 5 with the PAT/PMT as a byte-range map, one BYTERANGE per I-frame', () => {
    const text = writeIFramePlaylist({ frames, map: { uri: 'seg_00000.ts', byteRange: { offset: 0, length: 564 } } });
    const l = lines(text);
    expect(tagValue(text, '#EXT-X-VERSION')).toBe('5');
    expect(l).toContain('#EXT-X-I-FRAMES-ONLY');
    expect(tagValue(text, '#EXT-X-PLAYLIST-TYPE')).toBe('VOD');
    expect(l).toContain('#EXT-X-MAP:URI="seg_00000.ts",BYTERANGE="564@0"');
    expect(tagValue(text, '#EXT-X-TARGETDURATION')).toBe('2');
    expect(l.slice(l.indexOf('#EXT-X-MAP:URI="seg_00000.ts",BYTERANGE="564@0"') + 1)).toEqual([
      '#EXTINF:2.002000,',
      '#EXT-X-BYTERANGE:6204@564',
      'seg_00000.ts',
      '#EXTINF:2.002000,',
      '#EXT-X-BYTERANGE:5076@564',
      'seg_00001.ts',
      '#EXT-X-ENDLIST',
    ]);
  });

  it('fMP4: the init segment as map', () => {
    const text = writeIFramePlaylist({ frames, map: { uri: 'init.mp4' } });
    expect(lines(text)).toContain('#EXT-X-MAP:URI="init.mp4"');
  });

  it('no map: version 4 (EXT-X-BYTERANGE)', () => {
    expect(tagValue(writeIFramePlaylist({ frames, map: null }), '#EXT-X-VERSION')).toBe('4');
  });
});

describe('writeMasterPlaylist', () => {
  const variant = (over: Partial<VariantStream>): VariantStream => ({
    uri: '360p/index.m3u8',
    bandwidth: 500_000.2,
    averageBandwidth: 400_000.7,
    codecs: ['avc1.64001e', 'mp4a.40.2'],
    resolution: { width: 640, height: 360 },
    frameRate: 30000 / 1001,
    audioGroup: 'audio',
    ...over,
  });

  it('writes every attribute Apple and RFC 8216 ask for, and parses back', () => {
    const text = writeMasterPlaylist({
      version: 6,
      variants: [
        variant({}),
        variant({ uri: '720p/index.m3u8', bandwidth: 3_000_000, averageBandwidth: 2_500_000, resolution: { width: 1280, height: 720 }, codecs: ['avc1.64001f', 'mp4a.40.2'] }),
      ],
      iframes: [{ uri: '360p/iframes.m3u8', bandwidth: 80_000.1, averageBandwidth: 40_000, codecs: ['avc1.64001e'], resolution: { width: 640, height: 360 } }],
      audio: [
        { groupId: 'audio', name: 'English', language: 'en', default: true, channels: 2, uri: 'audio-1/index.m3u8' },
        { groupId: 'audio', name: 'Fran"çais', language: null, default: false, channels: 6, uri: 'audio-2/index.m3u8' },
      ],
    });
    const l = lines(text);
    expect(l.slice(0, 3)).toEqual(['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS']);
    const m = parseMasterPlaylist(text);
    expect(m.version).toBe(6);
    expect(m.independentSegments).toBe(true);
    expect(m.variants).toHaveLength(2);
    expect(m.variants[0]).toEqual({
      uri: '360p/index.m3u8',
      attrs: {
        BANDWIDTH: '500001',
        'AVERAGE-BANDWIDTH': '400001',
        CODECS: 'avc1.64001e,mp4a.40.2',
        RESOLUTION: '640x360',
        'FRAME-RATE': '29.970',
        AUDIO: 'audio',
      },
    });
    expect(m.media).toEqual([
      { TYPE: 'AUDIO', 'GROUP-ID': 'audio', NAME: 'English', LANGUAGE: 'en', DEFAULT: 'YES', AUTOSELECT: 'YES', CHANNELS: '2', URI: 'audio-1/index.m3u8' },
      // quoted strings cannot hold a double quote; an unknown language is "und"
      { TYPE: 'AUDIO', 'GROUP-ID': 'audio', NAME: "Fran'çais", LANGUAGE: 'und', DEFAULT: 'NO', AUTOSELECT: 'YES', CHANNELS: '6', URI: 'audio-2/index.m3u8' },
    ]);
    expect(m.iframes).toEqual([{ BANDWIDTH: '80001', 'AVERAGE-BANDWIDTH': '40000', CODECS: 'avc1.64001e', RESOLUTION: '640x360', URI: '360p/iframes.m3u8' }]);
    // EXT-X-MEDIA precedes the variants that reference its group
    expect(l.findIndex((x) => x.startsWith('#EXT-X-MEDIA:'))).toBeLessThan(l.findIndex((x) => x.startsWith('#EXT-X-STREAM-INF:')));
    // every STREAM-INF is followed by its URI line
    l.forEach((x, i) => {
      if (x.startsWith('#EXT-X-STREAM-INF:')) expect(l[i + 1]).toMatch(/^[^#].*\.m3u8$/);
    });
  });

  it('no audio group: no AUDIO attribute and no EXT-X-MEDIA', () => {
    const text = writeMasterPlaylist({ version: 5, variants: [variant({ audioGroup: null, codecs: ['avc1.64001e'] })], iframes: [], audio: [] });
    expect(text).not.toContain('AUDIO=');
    expect(text).not.toContain('#EXT-X-MEDIA');
    expect(parseMasterPlaylist(text).variants[0]!.attrs['CODECS']).toBe('avc1.64001e');
  });
});

describe('parseAttributes', () => {
  it('handles quoted commas, enumerated and decimal values', () => {
    expect(parseAttributes('BANDWIDTH=1,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1x2,FRAME-RATE=29.970')).toEqual({
      BANDWIDTH: '1',
      CODECS: 'avc1.4d401f,mp4a.40.2',
      RESOLUTION: '1x2',
      'FRAME-RATE': '29.970',
    });
  });
});

describe('foldsTail: a too-short last segment is folded into the one before', () => {
  it('folds a one-frame video tail and an AAC-frame audio tail', () => {
    expect(foldsTail([2, 2, 0.04], 2)).toBe(true);
    expect(foldsTail([2.005333, 2.005333, 0.021333], 2)).toBe(true);
    expect(foldsTail([6.006, 6.006, 0.4], 6)).toBe(true);
  });

  it('keeps a tail that would make the merged segment round above the target', () => {
    expect(foldsTail([2.002, 2.002, 1.001], 2)).toBe(false);
    expect(foldsTail([2, 2, 0.5], 2)).toBe(false);
    expect(foldsTail([2, 0.6], 2)).toBe(false);
  });

  it('never folds a lone segment', () => {
    expect(foldsTail([0.5], 2)).toBe(false);
    expect(foldsTail([], 2)).toBe(false);
  });
});
