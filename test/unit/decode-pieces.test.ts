import { describe, expect, it } from 'vitest';
import { buildDecodeCheckArgs } from '../../src/args/command.js';
import { balanceGroups, decodeCheckPieces, decodeCheckProcesses, decodeCheckThreads, type CheckedRendition } from '../../src/package/verify.js';

/** A segment of 30,000 bytes with keyframes at the given byte offsets, each keyframe 1,000 bytes. */
const seg = (uri: string, ...offsets: number[]): CheckedRendition['segments'][number] => ({ uri, bytes: 30_000, keyframes: offsets.map((offset) => ({ offset, length: 1000 })) });
const ts = (segments: CheckedRendition['segments']): CheckedRendition => ({ kind: 'video', dir: '720p', mapUri: null, tsInitLength: 376, segments });

describe('decodeCheckPieces', () => {
  it('one TS segment with several GOPs: its first keyframe (with the PAT/PMT before it) and its last GOP', () => {
    expect(decodeCheckPieces([ts([seg('s0.ts', 376, 9000, 20000)])]).map((p) => p.parts)).toEqual([
      [{ file: '720p/s0.ts', start: 0, end: 1376 }],
      [
        { file: '720p/s0.ts', start: 0, end: 376 },
        { file: '720p/s0.ts', start: 20000, end: null },
      ],
    ]);
  });

  it('one TS segment of one GOP: its first keyframe, then all of it for its end', () => {
    expect(decodeCheckPieces([ts([seg('s0.ts', 376)])]).map((p) => p.parts)).toEqual([
      [{ file: '720p/s0.ts', start: 0, end: 1376 }],
      [{ file: '720p/s0.ts', start: 0, end: null }],
    ]);
  });

  it('a first segment that is one keyframe and nothing else is decoded whole', () => {
    const lone = { uri: 's0.ts', bytes: 1376, keyframes: [{ offset: 376, length: 1000 }] };
    expect(decodeCheckPieces([ts([lone])]).map((p) => p.parts)).toEqual([[{ file: '720p/s0.ts', start: 0, end: null }]]);
  });

  it('an fMP4 rendition of one segment is decoded whole, to its last frame', () => {
    const fmp4: CheckedRendition = { kind: 'video', dir: '720p', mapUri: 'init.mp4', tsInitLength: null, segments: [seg('s0.m4s', 0)] };
    expect(decodeCheckPieces([fmp4])).toEqual([
      {
        what: '720p: s0.m4s',
        parts: [
          { file: '720p/init.mp4', start: 0, end: null },
          { file: '720p/s0.m4s', start: 0, end: null },
        ],
        frames: null,
      },
    ]);
    const two = decodeCheckPieces([{ ...fmp4, segments: [seg('s0.m4s', 0), seg('s1.m4s', 0)] }]);
    expect(two.map((p) => p.frames)).toEqual([1, null]);
  });

  it('a last TS segment of one GOP is decoded whole', () => {
    const pieces = decodeCheckPieces([ts([seg('s0.ts', 376, 9000), seg('s1.ts', 376), seg('s2.ts', 376)])]);
    expect(pieces.map((p) => p.parts)).toEqual([[{ file: '720p/s0.ts', start: 0, end: 1376 }], [{ file: '720p/s2.ts', start: 0, end: null }]]);
  });

  it('a last GOP of a single frame (a source just past a GOP boundary) is that frame with the PAT/PMT', () => {
    const last = {
      uri: 's1.ts',
      bytes: 17_500,
      keyframes: [
        { offset: 376, length: 1000 },
        { offset: 9000, length: 1000 },
        { offset: 17000, length: 500 },
      ],
    };
    const pieces = decodeCheckPieces([ts([seg('s0.ts', 376, 9000, 20000), last])]);
    expect(pieces[1]!.parts).toEqual([
      { file: '720p/s1.ts', start: 0, end: 376 },
      { file: '720p/s1.ts', start: 17000, end: null },
    ]);
  });

  it('audio renditions: first and last segments, whole, no frame limit', () => {
    const audio: CheckedRendition = { kind: 'audio', dir: 'audio-1', mapUri: null, tsInitLength: 376, segments: [seg('a0.ts'), seg('a1.ts')] };
    expect(decodeCheckPieces([audio])).toEqual([
      { what: 'audio-1: a0.ts', parts: [{ file: 'audio-1/a0.ts', start: 0, end: null }], frames: null },
      { what: 'audio-1: a1.ts', parts: [{ file: 'audio-1/a1.ts', start: 0, end: null }], frames: null },
    ]);
  });
});

describe('buildDecodeCheckArgs with frame limits', () => {
  it("limits only the inputs that have one, and names each piece's demuxer", () => {
    expect(
      buildDecodeCheckArgs([
        { file: '/p/a.mp4', frames: 1 },
        { file: '/p/b.ts', frames: null },
        { file: '/p/c.flv', frames: null },
      ]).slice(5),
    ).toEqual([
      '-threads',
      '1',
      '-skip_loop_filter',
      'all',
      '-f',
      'mov',
      '-i',
      'file:/p/a.mp4',
      '-threads',
      '1',
      '-skip_loop_filter',
      'all',
      '-f',
      'mpegts',
      '-i',
      'file:/p/b.ts',
      '-threads',
      '1',
      '-skip_loop_filter',
      'all',
      '-i',
      'file:/p/c.flv',
      '-map',
      '0',
      '-frames:v',
      '1',
      '-f',
      'null',
      '-',
      '-map',
      '1',
      '-f',
      'null',
      '-',
      '-map',
      '2',
      '-f',
      'null',
      '-',
    ]);
  });
});

describe('sharing the decode check among processes', () => {
  it('one process per core, at least 1 and at most 4', () => {
    expect([0, 1, 2, 3, 4, 16].map(decodeCheckProcesses)).toEqual([1, 1, 2, 3, 4, 4]);
  });

  it('one decoder thread per process up to 4 cores, the cores each process has to itself beyond', () => {
    expect([1, 2, 3, 4, 6, 8, 16, 64].map((cpus) => decodeCheckThreads(cpus, decodeCheckProcesses(cpus)))).toEqual([1, 1, 1, 1, 1, 2, 4, 16]);
    expect(decodeCheckThreads(8, 0)).toBe(8);
    const argv = buildDecodeCheckArgs([{ file: '/a.ts', frames: null }], 4);
    expect(argv[argv.indexOf('-threads') + 1]).toBe('4');
  });

  it('heaviest first into the lightest group: a 4-rung package splits into two groups of about equal bytes', () => {
    // weights of the real 4-rung 1080p check: last GOPs 2.5 MB, 1.4 MB, 630 kB, 108 kB; first keyframes; audio ends
    const items = [243, 2517, 92, 1416, 38, 630, 9, 108, 106, 37].map((kb, i) => ({ name: `in${i}`, kb }));
    const groups = balanceGroups(items, (i) => i.kb, 2);
    expect(groups.map((g) => g.map((i) => i.name))).toEqual([
      ['in1', 'in4', 'in6', 'in9'],
      ['in0', 'in2', 'in3', 'in5', 'in7', 'in8'],
    ]);
    const loads = groups.map((g) => g.reduce((sum, i) => sum + i.kb, 0));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThan(10);
  });

  it('keeps every item once, in its order within each group, and leaves out empty groups', () => {
    const items = [5, 1, 4, 1, 3];
    const groups = balanceGroups(items, (w) => w, 8);
    expect(groups).toHaveLength(5);
    expect(groups.flat().sort()).toEqual([...items].sort());
    expect(balanceGroups(items, (w) => w, 1)).toEqual([items]);
    expect(balanceGroups([], (w: number) => w, 2)).toEqual([]);
    for (const g of balanceGroups(['a', 'bb', 'ccc', 'dddd', 'e'], (s) => s.length, 2)) {
      expect(g).toEqual([...g].sort());
    }
  });
});
