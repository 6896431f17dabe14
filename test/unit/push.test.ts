import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/push.js';
import { StreamkitError } from '../../src/errors.js';
import { classifyFailure } from '../../src/push/push.js';
import { parsePublishUrl, redactor } from '../../src/push/url.js';

function usageError(fn: () => unknown): StreamkitError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamkitError);
    expect((error as StreamkitError).code).toBe('USAGE');
    expect((error as StreamkitError).exitCode).toBe(2);
    return error as StreamkitError;
  }
  throw new Error('expected a USAGE error');
}

describe('publish URL', () => {
  it('splits host, port, app and key, and redacts the key', () => {
    const t = parsePublishUrl('rtmp://ingest.example.com:1936/live/abc123-KEY');
    expect(t).toMatchObject({ scheme: 'rtmp', host: 'ingest.example.com', port: 1936, app: 'live', redacted: 'rtmp://ingest.example.com:1936/live/****' });
    expect(t.secrets).toEqual(['abc123-KEY']);
  });

  it('keeps app instances, hides query strings and passwords', () => {
    const t = parsePublishUrl('RTMPS://bob:hunter2@live.example.com/app/inst/k%2Fey?token=s3cr3t');
    expect(t.scheme).toBe('rtmps');
    expect(t.port).toBeNull();
    expect(t.app).toBe('app/inst');
    expect(t.redacted).toBe('rtmps://bob:****@live.example.com/app/inst/****?****');
    expect(t.secrets).toEqual(expect.arrayContaining(['k%2Fey', 'k/ey', 'token=s3cr3t', 'hunter2']));
  });

  it('refuses every other scheme and malformed URLs without echoing them', () => {
    for (const bad of ['http://h/live/key', 'file:///etc/passwd', 'rtmpt://h/live/key', 'srt://h:9000?streamid=key', 'tcp://h:1/x/y', '/live/key', 'key']) {
      const e = usageError(() => parsePublishUrl(bad));
      expect(e.message).not.toContain('key');
    }
    usageError(() => parsePublishUrl('rtmp://host/onlyapp'));
    usageError(() => parsePublishUrl('rtmp://host/live/'));
    usageError(() => parsePublishUrl('rtmp://host//key'));
    usageError(() => parsePublishUrl('rtmp:///live/key'));
    usageError(() => parsePublishUrl('rtmp://host/live/key#frag'));
    usageError(() => parsePublishUrl('rtmp://host/live/key with space'));
    usageError(() => parsePublishUrl('rtmp://host/live/key\n-f'));
    usageError(() => parsePublishUrl(' rtmp://host/live/key'));
  });

  it('scrubs the URL and every secret from text', () => {
    const t = parsePublishUrl('rtmp://127.0.0.1:1935/live/sup3rs3cret?auth=tok3n');
    const r = redactor(t);
    expect(r('Error writing trailer of rtmp://127.0.0.1:1935/live/sup3rs3cret?auth=tok3n: Broken pipe')).toBe(
      'Error writing trailer of rtmp://127.0.0.1:1935/live/****?****: Broken pipe',
    );
    expect(r("[rtmp] playpath 'sup3rs3cret' auth=tok3n")).toBe("[rtmp] playpath '****' ****");
    expect(r('nothing secret here')).toBe('nothing secret here');
  });

  it('scrubs short keys only where they sit in a URL, not every matching letter', () => {
    const r = redactor(parsePublishUrl('rtmp://h/live/x'));
    expect(r('-c:v libx264 rtmp://h/live/x')).toBe('-c:v libx264 rtmp://h/live/****');
    expect(r('tcp://h/live/x: refused')).toBe('tcp://h/live/****: refused');
  });
});

describe('failure classification', () => {
  it('tells an unreachable server, a refusal and a dropped connection apart', () => {
    expect(classifyFailure(['[tcp @ 0x1] Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused'])).toEqual({
      kind: 'unreachable',
      reason: 'connection refused',
    });
    expect(classifyFailure(['[rtmp @ 0x1] Server error: Authentication failed'])).toMatchObject({ kind: 'refused' });
    expect(classifyFailure(['av_interleaved_write_frame(): Broken pipe', 'Error writing trailer of rtmp://h/live/****: Broken pipe'])).toEqual({
      kind: 'dropped',
      reason: 'broken pipe',
    });
    expect(classifyFailure(['rtmp://h/live/****: Input/output error'])).toEqual({ kind: 'dropped', reason: 'input/output error' });
    expect(classifyFailure([])).toEqual({ kind: 'dropped', reason: 'ffmpeg stopped' });
  });
});

describe('--duration', () => {
  it('reads seconds and [hh:]mm:ss', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('1.5')).toBe(1.5);
    expect(parseDuration('1:30')).toBe(90);
    expect(parseDuration('01:00:00')).toBe(3600);
    expect(parseDuration('0:00:02.5')).toBe(2.5);
  });
  it('rejects the rest', () => {
    for (const bad of ['', '0', '-5', 'abc', '1:2:3:4', '1h']) expect(() => parseDuration(bad)).toThrow();
  });
});
