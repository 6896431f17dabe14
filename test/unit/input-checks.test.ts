/** Pure checks that guard a transcode: preset-as-data, damaged inputs, demuxer whitelist, HLS paths. */
import { describe, expect, it } from 'vitest';
import { PresetError, StreamkitError } from '../../src/errors.js';
import { inputUrl, localDemuxerWhitelist, protocolOptions } from '../../src/media/probe.js';
import { loadPreset, parsePresetObject } from '../../src/preset/load.js';
import type { Preset } from '../../src/preset/schema.js';
import { checkPresetEncoders, checkPresetForEncoder } from '../../src/encoder/preset-check.js';
import { checkNotTruncated } from '../../src/package/verify.js';

function preset(cpu: Record<string, unknown>, nvenc?: Record<string, unknown>): Preset {
  return parsePresetObject({
    video: {
      codec: 'h264',
      encoder: { cpu, ...(nvenc ? { nvenc } : {}) },
      rateControl: { mode: 'vbr' },
      rungs: [{ height: 360, bitrate: '800k' }],
    },
  });
}

function issues(fn: () => void): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof PresetError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('presets are data: encoder options, tune and speed are allowlisted', () => {
  it('accepts allowed options, tune and speed', () => {
    expect(
      issues(() => checkPresetForEncoder(preset({ name: 'libx264', preset: 'slow', tune: 'film', options: { profile: 'high', refs: 3, '-bf': 2 } }), 'p.yaml', 'cpu', 'libx264')),
    ).toEqual([]);
  });

  it('refuses what the builder owns, with a hint saying where it comes from', () => {
    const found = issues(() =>
      checkPresetForEncoder(
        preset({ name: 'libx264', options: { g: 1, '-map': '1', filter_complex: 'movie=/etc/passwd', 'x264-params': 'keyint=1', i: '/etc/passwd' } }),
        'p.yaml',
        'cpu',
        'libx264',
      ),
    );
    expect(found).toHaveLength(5);
    for (const f of found) expect(f).toMatch(/^video\.encoder\.cpu\.options\.\S+: streamkit sets "[^"]+" itself \(GOP from video\.keyframeInterval/);
  });

  it('refuses options not on the list (file-writing ones included)', () => {
    expect(issues(() => checkPresetForEncoder(preset({ name: 'libx264', options: { passlogfile: '/tmp/x', stats: '/tmp/y' } }), 'p.yaml', 'cpu', 'libx264'))).toEqual([
      expect.stringMatching(/^video\.encoder\.cpu\.options\.passlogfile: expected one of the options allowed for libx264: profile, /),
      expect.stringMatching(/^video\.encoder\.cpu\.options\.stats: expected one of /),
    ]);
  });

  it("refuses a tune that is not one of the encoder's (svt-av1 puts it inside -svtav1-params)", () => {
    const av1 = parsePresetObject({
      video: {
        codec: 'av1',
        encoder: { cpu: { name: 'libsvtav1', tune: '0:stat-file=/tmp/x' } },
        rateControl: { mode: 'crf', crf: 30 },
        rungs: [{ height: 360, bitrate: '500k' }],
      },
      packaging: { hls: { container: 'fmp4' } },
    });
    expect(issues(() => checkPresetForEncoder(av1, 'a.yaml', 'cpu', 'libsvtav1'))).toEqual([
      'video.encoder.cpu.tune: expected one of 0, 1 for libsvtav1, got "0:stat-file=/tmp/x"',
    ]);
    expect(issues(() => checkPresetForEncoder(preset({ name: 'libx264', tune: 'film -i x' }), 'p.yaml', 'cpu', 'libx264'))).toEqual([
      expect.stringMatching(/^video\.encoder\.cpu\.tune: expected one of film, /),
    ]);
  });

  it('checkPresetEncoders checks both encoders, and unknown or misplaced encoder names', () => {
    expect(issues(() => checkPresetEncoders(preset({ name: 'libx264' }, { name: 'h264_nvenc', preset: 'p9' }), 'p.yaml'))).toEqual([
      expect.stringMatching(/^video\.encoder\.nvenc\.preset: expected one of p1, p2/),
    ]);
    expect(issues(() => checkPresetEncoders(preset({ name: 'h264_nvenc' }), 'p.yaml'))).toEqual(['video.encoder.cpu.name: expected a cpu encoder, got h264_nvenc (nvenc)']);
    expect(issues(() => checkPresetEncoders(preset({ name: 'libfoo' }), 'p.yaml'))).toEqual([
      expect.stringMatching(/^video\.encoder\.cpu\.name: expected one of the encoders streamkit knows: libx264, /),
    ]);
  });

  it('the built-in presets pass, for both their encoders', async () => {
    for (const name of ['h264-ladder', 'hevc-ladder', 'av1-ladder']) {
      const r = await loadPreset(name);
      expect(
        issues(() => checkPresetEncoders(r.preset, r.file)),
        name,
      ).toEqual([]);
    }
  });
});

describe('checkNotTruncated (encoded): a damaged input that ffmpeg quietly stops reading', () => {
  it('accepts small differences and unknown durations', () => {
    expect(() => checkNotTruncated('a.mp4', 6, 6.02, 'encoded')).not.toThrow();
    expect(() => checkNotTruncated('a.mp4', 6, 5.0, 'encoded')).not.toThrow(); // 1 s short: within 10% + 0.5 s
    expect(() => checkNotTruncated('a.mp4', 100, 90, 'encoded')).not.toThrow(); // 10% short
    expect(() => checkNotTruncated('a.mp4', null, 3, 'encoded')).not.toThrow();
    expect(() => checkNotTruncated('a.mp4', 6, null, 'encoded')).not.toThrow();
  });

  it('refuses an input that ended well before its announced duration: exit code 3', () => {
    let caught: unknown;
    try {
      checkNotTruncated('half.mp4', 6, 3.008, 'encoded');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StreamkitError);
    expect((caught as StreamkitError).code).toBe('INPUT_UNREADABLE');
    expect((caught as StreamkitError).exitCode).toBe(3);
    expect((caught as StreamkitError).message).toBe('half.mp4 ended early: ffmpeg encoded 3.01 s of the 6.00 s it announces. The file is truncated or damaged.');
    expect(() => checkNotTruncated('a.mp4', 100, 85, 'encoded')).toThrow(/encoded 85\.00 s of the 100\.00 s/);
    expect(() => checkNotTruncated('a.mp4', 6, 4.5, 'encoded')).toThrow(/ended early/); // 1.5 s short of 6 s
  });
});

describe('inputs: files stay files, demuxers that open other files are not allowed', () => {
  it('a local path becomes a file: URL of its absolute path, whatever it looks like', () => {
    expect(inputUrl('concat:a|b')).toMatch(/^file:\/.*\/concat:a\|b$/);
    expect(inputUrl('-y')).toMatch(/^file:\/.*\/-y$/);
    expect(inputUrl('http:x')).toMatch(/^file:\/.*\/http:x$/);
    expect(inputUrl('https://example.com/a.mp4')).toBe('https://example.com/a.mp4');
    expect(protocolOptions(false)).toEqual(['-protocol_whitelist', 'file']);
    expect(protocolOptions(true)).toEqual(['-protocol_whitelist', 'http,https,tcp,tls,crypto']);
  });

  it('the demuxer whitelist keeps media demuxers and drops playlists, scripts, image sequences, text and devices', () => {
    const text = [
      'File formats:',
      ' D. = Demuxing supported',
      ' .E = Muxing supported',
      ' --',
      ' D  concat          Virtual concatenation script',
      ' D  dash            Dynamic Adaptive Streaming over HTTP',
      ' D  h264            raw H.264 video',
      ' D  hls             Apple HTTP Live Streaming',
      ' D  image2          image2 sequence',
      ' D  lavfi           Libavfilter virtual input device',
      ' D  matroska,webm   Matroska / WebM',
      ' D  mov,mp4,m4a,3gp,3g2,mj2 QuickTime / MOV',
      ' D  mpegts          MPEG-TS (MPEG-2 Transport Stream)',
      ' D  tty             Tele-typewriter',
      ' D  sdp             SDP',
      ' D  imf             IMF (Interoperable Master Format)',
    ].join('\n');
    expect(localDemuxerWhitelist(text)).toEqual(['h264', 'matroska', 'webm', 'mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'mpegts']);
  });
});
