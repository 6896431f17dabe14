/**
 * Fast start (issue 22), the pure parts: the plan's short first segment (ffmpeg cuts pieces that
 * packaging joins), the argv that asks for them, how pieces group into segments, and the rule that
 * picks the variant listed first in master.m3u8.
 */
import { describe, expect, it } from 'vitest';
import { buildTranscodeArgs } from '../../src/args/command.js';
import type { CheckedHardware } from '../../src/encoder/preset-check.js';
import type { Capabilities } from '../../src/ffmpeg/capabilities.js';
import type { MediaInfo } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import { masterOrder, START_LINK_BITRATE, START_TRANSFER_SECONDS } from '../../src/package/hls.js';
import { pieceGroups } from '../../src/package/join.js';
import { buildPlan } from '../../src/pipeline/plan.js';
import type { TranscodePlan } from '../../src/plan.js';
import { presetSchema, type PresetInput } from '../../src/preset/schema.js';
import { fakeMedia } from '../helpers/index.js';

const media = fakeMedia();

const caps = { path: 'ffmpeg', version: { raw: '5.1.9', major: 5, minor: 1, configuration: [] }, encoders: [], muxers: ['hls'], filters: [], hwaccels: [] } as Capabilities;
const hardware = { hardware: 'cpu', encoder: 'libx264', reason: 'test' } as CheckedHardware;

function planWith(hls: Record<string, unknown>, keyframeInterval = 2): TranscodePlan {
  const preset = presetSchema.parse({
    video: {
      codec: 'h264',
      encoder: { cpu: { name: 'libx264' } },
      rateControl: { mode: 'vbr' },
      keyframeInterval,
      rungs: [
        { name: '720p', height: 720, bitrate: '4500k' },
        { name: '360p', height: 360, bitrate: '365k' },
      ],
    },
    packaging: { hls },
  } as PresetInput);
  return buildPlan({ preset: { name: 'test', file: 'test.yaml', chain: ['test.yaml'], preset }, media, caps, hardware, cpus: 2 });
}

describe('the first segment: one GOP by default, ffmpeg cuts pieces that packaging joins', () => {
  it('default: a 2 s first segment, later 6 s; ffmpeg cuts 2 s pieces, joined 1 then 3 at a time', () => {
    const hls = planWith({ segmentDuration: 6 }).hls!;
    expect(hls.segmentSeconds).toBe(6);
    expect(hls.firstSegmentSeconds).toBe(2);
    expect(hls.pieces).toEqual({ hlsTime: 2, seconds: 2, first: 1, rest: 3 });
  });

  it('a first segment as long as the others: ffmpeg cuts the segments itself, nothing to join', () => {
    const hls = planWith({ segmentDuration: 6, firstSegmentDuration: 6 }).hls!;
    expect(hls.firstSegmentSeconds).toBe(6);
    expect(hls.pieces).toBeNull();
    expect(hls.hlsTime).toBe(6);
  });

  it('pieces are the largest whole number of GOPs that divides both durations', () => {
    expect(planWith({ segmentDuration: 8, firstSegmentDuration: 4 }).hls!.pieces).toEqual({ hlsTime: 4, seconds: 4, first: 1, rest: 2 });
    expect(planWith({ segmentDuration: 6, firstSegmentDuration: 4 }).hls!.pieces).toEqual({ hlsTime: 2, seconds: 2, first: 2, rest: 3 });
    // one-second GOPs: the default first segment is one GOP, 1 s
    expect(planWith({ segmentDuration: 4 }, 1).hls!.pieces).toEqual({ hlsTime: 1, seconds: 1, first: 1, rest: 4 });
  });

  it('a segment of a single GOP has no shorter first segment', () => {
    const hls = planWith({ segmentDuration: 2 }).hls!;
    expect(hls.firstSegmentSeconds).toBe(2);
    expect(hls.pieces).toBeNull();
  });

  it('the preset key must be whole GOPs and at most the segment duration', () => {
    const parse = (firstSegmentDuration: number) =>
      presetSchema.safeParse({
        video: { codec: 'h264', encoder: { cpu: { name: 'libx264' } }, rateControl: { mode: 'vbr' }, keyframeInterval: 2, rungs: [{ height: 360, bitrate: '365k' }] },
        packaging: { hls: { segmentDuration: 6, firstSegmentDuration } },
      });
    expect(parse(4).success).toBe(true);
    expect(parse(3).error?.issues[0]?.message).toMatch(/whole multiple of the keyframe interval \(2 s\)/);
    expect(parse(1).error?.issues[0]?.message).toMatch(/whole multiple of the keyframe interval/);
    expect(parse(8).error?.issues[0]?.message).toMatch(/at most the segment duration \(6 s\)/);
  });

  it("argv: every HLS muxer cuts at the piece length (not ffmpeg's hls_init_time, which a VOD playlist applies to every segment)", () => {
    const argv = buildTranscodeArgs(planWith({ segmentDuration: 6 }));
    const times = argv.flatMap((a, i) => (a === '-hls_time' ? [argv[i + 1]] : []));
    expect(times).toEqual(['2.000000', '2.000000', '2.000000']); // two rungs and the audio rendition
    expect(argv).not.toContain('-hls_init_time');
    const whole = buildTranscodeArgs(planWith({ segmentDuration: 6, firstSegmentDuration: 6 }));
    expect(whole.flatMap((a, i) => (a === '-hls_time' ? [whole[i + 1]] : []))).toEqual(['6.000000', '6.000000', '6.000000']);
  });

  it('at 25 fps and 23.976 fps the piece is a whole GOP, floored to microseconds', () => {
    const at = (num: number, den: number): TranscodePlan['hls'] => {
      const m = { ...media, video: { ...media.video, frameRate: rational(num, den) } } as MediaInfo;
      const preset = presetSchema.parse({
        video: { codec: 'h264', encoder: { cpu: { name: 'libx264' } }, rateControl: { mode: 'vbr' }, rungs: [{ height: 360, bitrate: '365k' }] },
      });
      return buildPlan({ preset: { name: 't', file: 't.yaml', chain: ['t.yaml'], preset }, media: m, caps, hardware, cpus: 2 }).hls;
    };
    expect(at(25, 1)!.pieces).toEqual({ hlsTime: 2, seconds: 2, first: 1, rest: 3 });
    const ntsc = at(24000, 1001)!;
    // 48 frames at 23.976 fps: 2.002 s
    expect(ntsc.pieces!.seconds).toBeCloseTo(2.002, 9);
    expect(ntsc.pieces!.hlsTime).toBe(2.001999); // 48 x 1001 / 24000 is 2.0019999... in floating point: the cut still lands on each keyframe
    expect(ntsc.segmentSeconds).toBeCloseTo(6.006, 9);
  });
});

describe('pieceGroups', () => {
  it('the first segment takes `first` pieces, every later one `rest`, the last what is left', () => {
    expect(pieceGroups(8, 1, 3)).toEqual([[0], [1, 2, 3], [4, 5, 6], [7]]);
    expect(pieceGroups(7, 1, 3)).toEqual([[0], [1, 2, 3], [4, 5, 6]]);
    expect(pieceGroups(1, 1, 3)).toEqual([[0]]);
    expect(pieceGroups(5, 2, 3)).toEqual([
      [0, 1],
      [2, 3, 4],
    ]);
    expect(pieceGroups(0, 1, 3)).toEqual([]);
  });

  it('every piece lands in exactly one segment, in order, and segment j never comes after its first piece', () => {
    for (const [count, first, rest] of [
      [27, 1, 3],
      [10, 2, 3],
      [3, 2, 2],
    ] as const) {
      const groups = pieceGroups(count, first, rest);
      expect(groups.flat()).toEqual([...Array(count).keys()]);
      groups.forEach((g, j) => {
        expect(g[0]).toBeGreaterThanOrEqual(j);
      });
    }
  });
});

describe('masterOrder: the start variant first, then lowest BANDWIDTH first', () => {
  const budget = (START_LINK_BITRATE / 8) * START_TRANSFER_SECONDS; // 93,750 bytes
  // given in ladder order (tallest first), as packageHls has them
  const ladder = [
    { name: '720p', bandwidth: 6_100_000, firstSegmentBytes: 900_000 },
    { name: '540p', bandwidth: 2_800_000, firstSegmentBytes: 400_000 },
    { name: '432p', bandwidth: 1_660_000, firstSegmentBytes: 60_000 },
    { name: '360p', bandwidth: 680_000, firstSegmentBytes: 120_000 },
    { name: '234p', bandwidth: 375_000, firstSegmentBytes: 80_000 },
  ];
  const names = (v: typeof ladder): string[] => masterOrder(v).map((i) => v[i]!.name);

  it('the highest variant whose BANDWIDTH fits 1.5 Mbit/s and whose first segment (with the audio) fetches in 0.5 s there', () => {
    expect(budget).toBe(93_750);
    // 360p fits the link but its first segment is too big; 432p has a small first segment but does not fit the link
    expect(names(ladder)).toEqual(['234p', '360p', '432p', '540p', '720p']);
    const small360 = ladder.map((v) => (v.name === '360p' ? { ...v, firstSegmentBytes: budget } : v));
    expect(names(small360)).toEqual(['360p', '234p', '432p', '540p', '720p']);
  });

  it('the lowest when none fits, and a single variant alone', () => {
    const heavy = ladder.map((v) => ({ ...v, firstSegmentBytes: budget + 1 }));
    expect(names(heavy)).toEqual(['234p', '360p', '432p', '540p', '720p']);
    expect(masterOrder([{ bandwidth: 9_000_000, firstSegmentBytes: 5_000_000 }])).toEqual([0]);
    expect(masterOrder([])).toEqual([]);
  });

  it('a BANDWIDTH of exactly 1.5 Mbit/s still fits', () => {
    const v = [
      { bandwidth: 1_500_000, firstSegmentBytes: 10_000 },
      { bandwidth: 300_000, firstSegmentBytes: 10_000 },
    ];
    expect(masterOrder(v)).toEqual([0, 1]);
  });
});
