import { describe, expect, it } from 'vitest';
import { buildDecodeCheckArgs } from '../../src/ffmpeg/command.js';
import { decodeCheckPieces, type CheckedRendition } from '../../src/package/verify.js';

/** A 6 s segment starting at 0 s with a keyframe every 2 s at the given byte offsets. */
const seg = (uri: string, ...offsets: number[]): CheckedRendition['segments'][number] => ({ uri, duration: 6, firstPts: 0, keyframes: offsets.map((offset, i) => ({ offset, pts: 2 * i })) });
const ts = (segments: CheckedRendition['segments']): CheckedRendition => ({ kind: 'video', dir: '720p', mapUri: null, tsInitLength: 376, segments });

describe('decodeCheckPieces', () => {
  it('one TS segment with several GOPs: its first GOP and its last GOP', () => {
    expect(decodeCheckPieces([ts([seg('s0.ts', 376, 9000, 20000)])], 48, 2).map((p) => p.parts)).toEqual([
      [{ file: '720p/s0.ts', start: 0, end: 9000 }],
      [{ file: '720p/s0.ts', start: 0, end: 376 }, { file: '720p/s0.ts', start: 20000, end: null }],
    ]);
  });

  it('one TS segment of one GOP: decoded once, whole', () => {
    expect(decodeCheckPieces([ts([seg('s0.ts', 376)])], 48, 2).map((p) => p.parts)).toEqual([[{ file: '720p/s0.ts', start: 0, end: null }]]);
  });

  it('a last TS segment of one GOP is decoded whole', () => {
    const pieces = decodeCheckPieces([ts([seg('s0.ts', 376, 9000), seg('s1.ts', 376), seg('s2.ts', 376)])], 48, 2);
    expect(pieces.map((p) => p.parts)).toEqual([[{ file: '720p/s0.ts', start: 0, end: 9000 }], [{ file: '720p/s2.ts', start: 0, end: null }]]);
  });

  it('a last GOP of a frame or two (a source just past a GOP boundary) is decoded with the GOP before it', () => {
    const last = { uri: 's1.ts', duration: 4.04, firstPts: 6, keyframes: [{ offset: 376, pts: 6 }, { offset: 9000, pts: 8 }, { offset: 17000, pts: 10 }] };
    const pieces = decodeCheckPieces([ts([seg('s0.ts', 376, 9000, 20000), last])], 48, 2);
    expect(pieces[1]!.parts).toEqual([{ file: '720p/s1.ts', start: 0, end: 376 }, { file: '720p/s1.ts', start: 9000, end: null }]);
  });

  it('one TS segment of two GOPs, the second a single frame: the whole segment is decoded for its end', () => {
    const only = { uri: 's0.ts', duration: 2.04, firstPts: 0, keyframes: [{ offset: 376, pts: 0 }, { offset: 9000, pts: 2 }] };
    expect(decodeCheckPieces([ts([only])], 48, 2).map((p) => p.parts)).toEqual([
      [{ file: '720p/s0.ts', start: 0, end: 9000 }],
      [{ file: '720p/s0.ts', start: 0, end: null }],
    ]);
  });

  it('audio renditions: first and last segments, whole, no frame limit', () => {
    const audio: CheckedRendition = { kind: 'audio', dir: 'audio-1', mapUri: null, tsInitLength: 376, segments: [seg('a0.ts'), seg('a1.ts')] };
    expect(decodeCheckPieces([audio], 48, 2)).toEqual([
      { what: 'audio-1: a0.ts', parts: [{ file: 'audio-1/a0.ts', start: 0, end: null }], frames: null },
      { what: 'audio-1: a1.ts', parts: [{ file: 'audio-1/a1.ts', start: 0, end: null }], frames: null },
    ]);
  });
});

describe('buildDecodeCheckArgs with frame limits', () => {
  it('limits only the inputs that have one', () => {
    expect(buildDecodeCheckArgs([{ file: '/p/a.mp4', frames: 48 }, { file: '/p/b.ts', frames: null }]).slice(5)).toEqual([
      '-skip_loop_filter', 'all', '-i', 'file:/p/a.mp4', '-skip_loop_filter', 'all', '-i', 'file:/p/b.ts', '-map', '0', '-frames:v', '48', '-f', 'null', '-', '-map', '1', '-f', 'null', '-',
    ]);
  });
});
