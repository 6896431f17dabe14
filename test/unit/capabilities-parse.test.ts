import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEncoders, parseFilters, parseHwaccels, parseMuxers, parseVersion } from '../../src/ffmpeg/capabilities-parse.js';

// Real output of the system ffmpeg 5.1.9-0+deb12u1 (Debian 12):
//   ffmpeg -hide_banner -encoders|-muxers|-filters|-hwaccels, ffmpeg -version, ffprobe -version
const FIXTURES = fileURLToPath(new URL('../fixtures/capabilities/', import.meta.url));
const fixture = (name: string): string => readFileSync(FIXTURES + name, 'utf8');

describe('parseEncoders (ffmpeg 5.1 -encoders)', () => {
  const text = fixture('ffmpeg-5.1-encoders.txt');
  const encoders = parseEncoders(text);
  const byName = new Map(encoders.map((e) => [e.name, e]));

  it('parses every entry line after the ------ separator, none of the legend', () => {
    const after = text
      .split('\n')
      .slice(text.split('\n').indexOf(' ------') + 1)
      .filter((l) => l.trim() !== '');
    expect(encoders).toHaveLength(after.length);
    expect(encoders.length).toBeGreaterThan(150);
    expect(byName.has('=')).toBe(false);
    expect(encoders.every((e) => /^[\w-]+$/.test(e.name) && e.description !== '')).toBe(true);
  });

  it.each([
    ['libx264', 'video'],
    ['libx265', 'video'],
    ['libsvtav1', 'video'],
    ['libaom-av1', 'video'],
    ['h264_nvenc', 'video'],
    ['hevc_nvenc', 'video'],
    ['h264_vaapi', 'video'],
    ['h264_qsv', 'video'],
    ['aac', 'audio'],
    ['libopus', 'audio'],
    ['mov_text', 'subtitle'],
    ['webvtt', 'subtitle'],
  ] as const)('%s is %s', (name, type) => {
    expect(byName.get(name)?.type).toBe(type);
  });

  it('keeps the description', () => {
    expect(byName.get('libx264')).toEqual({
      name: 'libx264',
      type: 'video',
      description: 'libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)',
    });
    expect(byName.get('aac')?.description).toBe('AAC (Advanced Audio Coding)');
  });

  it('handles CRLF and input without a legend', () => {
    expect(parseEncoders(text.replace(/\n/g, '\r\n'))).toEqual(encoders);
    expect(parseEncoders(' V....D libx264              libx264 H.264\n A..... aac  AAC\n')).toEqual([
      { name: 'libx264', type: 'video', description: 'libx264 H.264' },
      { name: 'aac', type: 'audio', description: 'AAC' },
    ]);
    expect(parseEncoders('')).toEqual([]);
  });
});

describe('parseMuxers (ffmpeg 5.1 -muxers)', () => {
  const text = fixture('ffmpeg-5.1-muxers.txt');
  const muxers = parseMuxers(text);

  it('contains the formats streamkit writes', () => {
    for (const m of ['hls', 'flv', 'mp4', 'mpegts', 'mov', 'null', 'tee', 'segment', 'webm', 'matroska']) {
      expect(muxers).toContain(m);
    }
  });

  it('splits comma lists and never returns legend bits', () => {
    expect(muxers).toEqual(expect.arrayContaining(['sdl', 'sdl2', 'stream_segment', 'ssegment', 'video4linux2', 'v4l2']));
    expect(muxers.some((m) => m.includes(',') || m === '=' || m === '--')).toBe(false);
    expect(muxers.length).toBeGreaterThan(150);
    expect(new Set(muxers).size).toBe(muxers.length);
  });

  it('only counts lines with the E column (-formats style input, 6.1+ device column)', () => {
    const formats = [
      'File formats:',
      ' D. = Demuxing supported',
      ' .E = Muxing supported',
      ' --',
      ' D  aac             raw ADTS AAC',
      ' DE matroska,webm   Matroska / WebM',
      '  E mp4             MP4',
    ].join('\n');
    expect(parseMuxers(formats)).toEqual(['matroska', 'webm', 'mp4']);
    const v7 = [
      'Formats:',
      ' D.. = Demuxing supported',
      ' .E. = Muxing supported',
      ' ..d = Is a device',
      ' ---',
      '  E  mp4             MP4',
      ' DEd fbdev           Linux framebuffer',
      ' D   aac             raw ADTS AAC',
    ].join('\n');
    expect(parseMuxers(v7)).toEqual(['mp4', 'fbdev']);
  });
});

describe('parseFilters (ffmpeg 5.1 -filters)', () => {
  const text = fixture('ffmpeg-5.1-filters.txt');
  const filters = parseFilters(text);

  it('contains the filters streamkit uses', () => {
    for (const f of ['scale', 'split', 'fps', 'format', 'setsar', 'aresample', 'overlay', 'null', 'anull', 'buffer', 'buffersink', 'testsrc2']) {
      expect(filters).toContain(f);
    }
  });

  it('parses every entry line and none of the legend', () => {
    const entries = text.split('\n').filter((l) => /^ [T.][S.][C.] /.test(l));
    expect(filters).toHaveLength(entries.length);
    expect(filters.length).toBeGreaterThan(400);
    expect(filters.some((f) => ['=', 'A', 'V', 'N', '|', 'T..'].includes(f))).toBe(false);
  });
});

describe('parseHwaccels (ffmpeg 5.1 -hwaccels)', () => {
  it('lists the methods in order', () => {
    expect(parseHwaccels(fixture('ffmpeg-5.1-hwaccels.txt'))).toEqual(['vdpau', 'cuda', 'vaapi', 'qsv', 'drm', 'opencl', 'vulkan']);
  });

  it('handles an empty list and CRLF', () => {
    expect(parseHwaccels('Hardware acceleration methods:\n\n')).toEqual([]);
    expect(parseHwaccels('Hardware acceleration methods:\r\ncuda\r\nvaapi\r\n\r\n')).toEqual(['cuda', 'vaapi']);
  });
});

describe('parseVersion', () => {
  it('parses ffmpeg 5.1 -version', () => {
    const v = parseVersion(fixture('ffmpeg-5.1-version.txt'));
    expect(v.raw).toBe('5.1.9-0+deb12u1');
    expect(v.major).toBe(5);
    expect(v.minor).toBe(1);
    expect(v.configuration).toContain('--enable-libx264');
    expect(v.configuration).toContain('--enable-libsvtav1');
    expect(v.configuration).toContain('--enable-gpl');
    expect(v.configuration.every((f) => f.startsWith('--enable-'))).toBe(true);
    expect(v.configuration).not.toContain('--disable-sndio');
  });

  it('parses ffprobe 5.1 -version the same way', () => {
    const v = parseVersion(fixture('ffprobe-5.1-version.txt'));
    expect(v).toEqual(parseVersion(fixture('ffmpeg-5.1-version.txt')));
  });

  it.each([
    ['ffmpeg version N-109421-g9adf02247c Copyright (c) 2000-2022 the FFmpeg developers', 'N-109421-g9adf02247c', null, null],
    ['ffmpeg version 7.1 Copyright (c) 2000-2024 the FFmpeg developers', '7.1', 7, 1],
    ['ffmpeg version n6.0 Copyright (c) 2000-2023 the FFmpeg developers', 'n6.0', 6, 0],
    ['ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers', '4.4.2-0ubuntu0.22.04.1', 4, 4],
    ['ffmpeg version 6.1.1-full_build-www.gyan.dev Copyright (c) 2000-2023 the FFmpeg developers', '6.1.1-full_build-www.gyan.dev', 6, 1],
    ['ffmpeg version 2023-03-05-git-912ac82a3c-full_build-www.gyan.dev Copyright', '2023-03-05-git-912ac82a3c-full_build-www.gyan.dev', null, null],
    ['ffmpeg version 7.0.2-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2024', '7.0.2-static', 7, 0],
    ['ffprobe version 10.12 Copyright', '10.12', 10, 12],
  ] as const)('%s', (line, raw, major, minor) => {
    expect(parseVersion(`${line}\r\nbuilt with gcc\r\nconfiguration: --prefix=/x --enable-gpl --enable-libx264\r\n`)).toEqual({
      raw,
      major,
      minor,
      configuration: ['--enable-gpl', '--enable-libx264'],
    });
  });

  it('gives an empty result for text that is not version output', () => {
    expect(parseVersion('')).toEqual({ raw: '', major: null, minor: null, configuration: [] });
    expect(parseVersion('bash: ffmpeg: command not found')).toEqual({ raw: '', major: null, minor: null, configuration: [] });
  });
});
