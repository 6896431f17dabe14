import { describe, expect, it } from 'vitest';
import { estimatePackageBytes } from '../../src/package/disk-space.js';

const rung = (maxrate: number) => ({ name: 'r', width: 2, height: 2, bitrate: maxrate / 1.5, maxrate, bufsize: maxrate, fromSource: false });
type Plan = Parameters<typeof estimatePackageBytes>[0];

describe('estimatePackageBytes: the ladder at its maxrates over the duration', () => {
  const plan = (over: Partial<Plan> = {}): Plan => ({
    media: { duration: 10 } as Plan['media'],
    ladder: { rungs: [rung(6_000_000), rung(2_000_000)] } as unknown as Plan['ladder'],
    hls: { container: 'ts', hlsTime: 6, segmentSeconds: 6, firstSegmentSeconds: 6, pieces: null },
    files: [],
    audio: { bitrate: 128_000 } as Plan['audio'],
    audioRenditions: [{ sourceOrder: 0, dir: 'audio-1', name: 'Main', language: null, channels: 2, default: true }],
    ...over,
  });

  it('HLS: every rung and every audio rendition', () => {
    expect(estimatePackageBytes(plan())).toBe(((8_000_000 + 128_000) * 10) / 8);
  });

  it('a progressive file counts its rung and its audio once more', () => {
    const files = [{ kind: 'mp4' as const, rung: 'r', rungIndex: 0, audio: [0], path: 'mp4/r.mp4' }];
    expect(estimatePackageBytes(plan({ files }))).toBe(((8_000_000 + 128_000 + 6_000_000 + 128_000) * 10) / 8);
  });

  it('unknown when the duration is (raw streams)', () => {
    expect(estimatePackageBytes(plan({ media: { duration: null } as Plan['media'] }))).toBeNull();
  });
});
