import { describe, expect, it } from 'vitest';
import { StreamkitError } from '../../src/errors.js';
import { inputUrl, isRemote, protocolOptions, streamDuration } from '../../src/media/probe.js';
import { checkOutputDuration } from '../../src/package/verify.js';

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

describe('checkOutputDuration: an input cut short fails the transcode', () => {
  it('accepts the whole duration and small differences at the end', () => {
    expect(() => checkOutputDuration('in.mp4', 6, 6)).not.toThrow();
    expect(() => checkOutputDuration('in.mp4', 5, 4.933)).not.toThrow();
    expect(() => checkOutputDuration('in.mp4', 60, 55)).not.toThrow();
    expect(() => checkOutputDuration('in.h264', null, 1)).not.toThrow();
  });

  it('rejects half an input with an input error (exit code 3)', () => {
    let error: unknown;
    try {
      checkOutputDuration('in.mp4', 6, 3);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamkitError);
    expect((error as StreamkitError).code).toBe('INPUT_UNREADABLE');
    expect((error as StreamkitError).exitCode).toBe(3);
    expect((error as StreamkitError).message).toMatch(/3\.00 s long .* 6\.00 s: the input is probably truncated/);
  });
});
