import { describe, expect, it } from 'vitest';
import { checkAvSync, type SyncInput } from '../../src/package/av-sync.js';
import { isStreamkitError } from '../../src/errors.js';
import { timelineFor } from '../../src/plan.js';

const PRIMING = 1024 / 48000;

/** A package at 24 fps whose first rung and audio rendition start where given (PTS in seconds). */
function input(video: number, audio: number, over: Partial<SyncInput> = {}): SyncInput {
  return {
    timeline: { offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 1024 },
    videos: [
      { dir: '720p', firstPts: video },
      { dir: '360p', firstPts: video },
    ],
    audios: [{ dir: 'audio-1', firstPts: audio, sampleRate: 48000, sourceStart: 0 }],
    ...over,
  };
}

function failure(x: SyncInput): { message: string; details: unknown } {
  try {
    checkAvSync(x);
  } catch (error) {
    if (isStreamkitError(error)) return { message: error.message, details: error.details };
    throw error;
  }
  throw new Error('expected checkAvSync to throw');
}

describe('checkAvSync', () => {
  it('passes one timeline: video at the offset, audio earlier by exactly its priming (TS mux delay included)', () => {
    const report = checkAvSync(input(2.4, 2.4 - PRIMING));
    expect(report.audioVideoOffsetMs).toBe(0);
    expect(report.renditions.map((r) => r.errorMs)).toEqual([0, 0, 0]);
  });

  it("fails the issue's H.264 TS package: video moved by 2 B-frames, audio by its priming (62 ms)", () => {
    // each muxer moved its own first packet to zero (+ the 1.4 s MPEG-TS mux delay): the beep at 1.421 s
    const f = failure(input(1.4 + 2 / 24, 1.4));
    expect(f.message).toMatch(/out of sync/);
    expect(f.message).toMatch(/720p \(video\).*later by 62\.\d ms/);
  });

  it('fails the AV1 package: audio moved by its priming only (21 ms late)', () => {
    expect(failure(input(0, 0)).message).toMatch(/720p \(video\) starts at 0\.0000 s, earlier by 21\.3 ms/);
  });

  it('keeps a late audio start: audio 0.7 s after the video where the source has it so', () => {
    const x = input(1, 1.7 - PRIMING, { audios: [{ dir: 'audio-1', firstPts: 1.7 - PRIMING, sampleRate: 48000, sourceStart: 0.7 }] });
    expect(checkAvSync(x).audioVideoOffsetMs).toBe(0);
    // and the same package from a source whose streams start together is 700 ms off
    expect(failure(input(1, 1.7 - PRIMING)).message).toMatch(/later by 700\.0 ms|earlier by 700\.0 ms/);
  });

  it('keeps a video that starts after the audio where the source has it (timeline.videoStart)', () => {
    const timeline = { offset: 1, inputStart: 1.4, videoStart: 0.521333, audioPrimingSamples: 1024 };
    const x = input(1.4 + 1 + 0.521333, 2.4 - PRIMING, { timeline, audios: [{ dir: 'audio-1', firstPts: 2.4 - PRIMING, sampleRate: 48000, sourceStart: 1.4 }] });
    expect(checkAvSync(x).renditions.every((r) => r.errorMs === 0)).toBe(true);
    // the same video rounded onto a 1/24 s grid from the input's start (0.541667 s) is 20 ms late
    expect(failure({ ...x, videos: [{ dir: '720p', firstPts: 2.4 + 13 / 24 }] }).message).toMatch(/720p \(video\).*later by 20\.3 ms/);
  });

  it('without audio compares the rungs only', () => {
    expect(checkAvSync(input(5, 0, { audios: [] })).audioVideoOffsetMs).toBe(0);
    expect(
      failure(
        input(5, 0, {
          audios: [],
          videos: [
            { dir: 'a', firstPts: 5 },
            { dir: 'b', firstPts: 5.01 },
          ],
        }),
      ).message,
    ).toMatch(/b \(video\)/);
  });

  it('timelineFor covers 16 reordered frames, at least 1 s', () => {
    const media = { startTime: 0, video: { startTime: 0 } } as Parameters<typeof timelineFor>[2];
    expect(timelineFor(24, true, media)).toEqual({ offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 1024 });
    expect(timelineFor(10, false, media)).toEqual({ offset: 2, inputStart: 0, videoStart: 0, audioPrimingSamples: 0 });
    expect(timelineFor(1, true, media).offset).toBe(17);
  });

  it('timelineFor: the video starts where the source has it after the input start (0.5 s after the audio)', () => {
    const media = { startTime: 1.4, video: { startTime: 1.9 } } as Parameters<typeof timelineFor>[2];
    expect(timelineFor(25, true, media).videoStart).toBe(0.5);
  });
});
