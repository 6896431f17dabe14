import { describe, expect, it } from 'vitest';
import { buildDecodeCheckArgs } from '../../src/ffmpeg/command.js';
import { decodeCheckPieces, type CheckedRendition } from '../../src/package/verify.js';

const seg = (uri: string, ...offsets: number[]): CheckedRendition['segments'][number] => ({ uri, keyframes: offsets.map((offset) => ({ offset })) });
const ts = (segments: CheckedRendition['segments']): CheckedRendition => ({ kind: 'video', dir: '720p', mapUri: null, tsInitLength: 376, segments });

describe('decodeCheckPieces', () => {
  it('one TS segment with several GOPs: its first GOP and its last GOP', () => {
    expect(decodeCheckPieces([ts([seg('s0.ts', 376, 9000, 20000)])], 48).map((p) => p.parts)).toEqual([
      [{ file: '720p/s0.ts', start: 0, end: 9000 }],
      [{ file: '720p/s0.ts', start: 0, end: 376 }, { file: '720p/s0.ts', start: 20000, end: null }],
    ]);
  });

  it('one TS segment of one GOP: decoded once, whole', () => {
    expect(decodeCheckPieces([ts([seg('s0.ts', 376)])], 48).map((p) => p.parts)).toEqual([[{ file: '720p/s0.ts', start: 0, end: null }]]);
  });

  it('a last TS segment of one GOP is decoded whole', () => {
    const pieces = decodeCheckPieces([ts([seg('s0.ts', 376, 9000), seg('s1.ts', 376), seg('s2.ts', 376)])], 48);
    expect(pieces.map((p) => p.parts)).toEqual([[{ file: '720p/s0.ts', start: 0, end: 9000 }], [{ file: '720p/s2.ts', start: 0, end: null }]]);
  });

  it('audio renditions: first and last segments, whole, no frame limit', () => {
    const audio: CheckedRendition = { kind: 'audio', dir: 'audio-1', mapUri: null, tsInitLength: 376, segments: [seg('a0.ts'), seg('a1.ts')] };
    expect(decodeCheckPieces([audio], 48)).toEqual([
      { what: 'audio-1: a0.ts', parts: [{ file: 'audio-1/a0.ts', start: 0, end: null }], frames: null },
      { what: 'audio-1: a1.ts', parts: [{ file: 'audio-1/a1.ts', start: 0, end: null }], frames: null },
    ]);
  });
});

describe('buildDecodeCheckArgs with frame limits', () => {
  it('limits only the inputs that have one', () => {
    expect(buildDecodeCheckArgs([{ file: '/p/a.mp4', frames: 48 }, { file: '/p/b.ts', frames: null }]).slice(5)).toEqual([
      '-i', 'file:/p/a.mp4', '-i', 'file:/p/b.ts', '-map', '0', '-frames:v', '48', '-f', 'null', '-', '-map', '1', '-f', 'null', '-',
    ]);
  });
});
