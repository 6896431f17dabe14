import { describe, expect, it } from 'vitest';
import { StreamkitError } from '../../src/errors.js';
import { inputUrl, isRemote, protocolOptions, streamDuration } from '../../src/media/probe.js';
import { checkNotTruncated } from '../../src/package/verify.js';

describe('streamDuration', () => {
  it('takes ffprobe seconds, else a Matroska DURATION tag', () => {
    expect(streamDuration('4.000000', undefined)).toBe(4);
    expect(streamDuration(undefined, '00:00:04.007000000')).toBeCloseTo(4.007, 9);
    expect(streamDuration('N/A', '01:02:03.5')).toBe(3723.5);
    expect(streamDuration(undefined, undefined)).toBeNull();
    expect(streamDuration('0', 'garbage')).toBeNull();
  });
});

describe('input URLs', () => {
  it('local paths become file: URLs of the absolute path; http(s) stays', () => {
    expect(inputUrl('/a/b.mp4')).toBe('file:/a/b.mp4');
    expect(inputUrl('-i')).toMatch(/^file:\/.*\/-i$/);
    expect(isRemote('https://example.com/x.mp4')).toBe(true);
    expect(inputUrl('https://example.com/x.mp4')).toBe('https://example.com/x.mp4');
    expect(protocolOptions(false)).toEqual(['-protocol_whitelist', 'file']);
    expect(protocolOptions(true)[1]).not.toContain('file');
  });
});

describe('checkNotTruncated (packaged): an input cut short fails the transcode', () => {
  it('accepts the whole duration and small differences at the end', () => {
    expect(() => checkNotTruncated('in.mp4', 6, 6, 'packaged')).not.toThrow();
    expect(() => checkNotTruncated('in.mp4', 5, 4.933, 'packaged')).not.toThrow();
    expect(() => checkNotTruncated('in.mp4', 60, 55, 'packaged')).not.toThrow();
    expect(() => checkNotTruncated('in.h264', null, 1, 'packaged')).not.toThrow();
  });

  it('rejects half an input with an input error (exit code 3)', () => {
    let error: unknown;
    try {
      checkNotTruncated('in.mp4', 6, 3, 'packaged');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamkitError);
    expect((error as StreamkitError).code).toBe('INPUT_UNREADABLE');
    expect((error as StreamkitError).exitCode).toBe(3);
    expect((error as StreamkitError).message).toMatch(/in\.mp4 ended early: the package holds 3\.00 s of video of the 6\.00 s it announces\. The file is truncated or damaged\./);
  });
});
