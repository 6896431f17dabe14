import { describe, expect, it } from 'vitest';
import { accessLogLine, clfDate } from '../../src/serve/access-log.js';
import { escapeHtml, indexPage, packageUrl, playerPage, playerUrl } from '../../src/serve/pages.js';
import type { PackageInfo } from '../../src/serve/packages.js';
import { chooseEncoding, filePolicy, IMMUTABLE } from '../../src/serve/policy.js';

const preview = { playlistMaxAge: null };
const origin = { playlistMaxAge: 2 };

describe('filePolicy: content type, cache policy and compression by file name', () => {
  it.each([
    ['master.m3u8', 'application/vnd.apple.mpegurl', 'no-cache', true],
    ['180p/index.m3u8', 'application/vnd.apple.mpegurl', 'no-cache', true],
    ['manifest.mpd', 'application/dash+xml', 'no-cache', true],
    ['180p/seg_00001.ts', 'video/mp2t', IMMUTABLE, false],
    ['180p/seg_00001.m4s', 'video/iso.segment', IMMUTABLE, false],
    ['180p/init.mp4', 'video/mp4', IMMUTABLE, false],
    ['movie.mp4', 'video/mp4', IMMUTABLE, false],
    ['thumbnails.vtt', 'text/vtt; charset=utf-8', 'no-cache', true],
    ['thumbnails/sprite-0001.jpg', 'image/jpeg', IMMUTABLE, false],
    ['poster.jpg', 'image/jpeg', IMMUTABLE, false],
    ['streamkit.json', 'application/json; charset=utf-8', 'no-cache', false],
    ['notes.html', 'text/html; charset=utf-8', 'no-cache', false],
    ['README', 'application/octet-stream', 'no-cache', false],
  ])('%s -> %s, %s, compressible %s', (path, type, cache, compressible) => {
    const p = filePolicy(path, preview);
    expect(p.contentType).toBe(type);
    expect(p.cacheControl).toBe(cache);
    expect(p.compressible).toBe(compressible);
  });

  it('upper-case extensions are the same types', () => {
    expect(filePolicy('A/SEG.TS', preview).contentType).toBe('video/mp2t');
  });

  it('--playlist-max-age: playlists, MPDs and VTT get a short public max-age; segments stay immutable', () => {
    expect(filePolicy('master.m3u8', origin).cacheControl).toBe('public, max-age=2');
    expect(filePolicy('manifest.mpd', origin).cacheControl).toBe('public, max-age=2');
    expect(filePolicy('thumbnails.vtt', origin).cacheControl).toBe('public, max-age=2');
    expect(filePolicy('x/seg.ts', origin).cacheControl).toBe(IMMUTABLE);
    expect(filePolicy('master.m3u8', { playlistMaxAge: 0 }).cacheControl).toBe('public, max-age=0');
  });
});

describe('chooseEncoding: Accept-Encoding -> br, gzip or none', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['identity', null],
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0', null],
    ['BR', 'br'],
    ['*', 'br'],
    ['*;q=0', null],
    ['deflate', null],
    ['gzip;q=0.5, br;q=0', 'gzip'],
  ])('%s -> %s', (header, expected) => {
    expect(chooseEncoding(header)).toBe(expected);
  });
});

describe('access log line', () => {
  it('Common Log Format with the time taken', () => {
    const line = accessLogLine({
      time: new Date(Date.UTC(2026, 11, 6, 9, 5, 3)),
      remote: '127.0.0.1',
      method: 'GET',
      target: '/movie/master.m3u8',
      httpVersion: '1.1',
      status: 200,
      bytes: 1234,
      durationMs: 0.42,
    });
    expect(line).toBe('127.0.0.1 - - [06/Dec/2026:09:05:03 +0000] "GET /movie/master.m3u8 HTTP/1.1" 200 1234 0.4ms');
  });

  it('what a client sent cannot break the line or its quotes', () => {
    const line = accessLogLine({
      time: new Date(0),
      remote: '::1',
      method: 'GET',
      target: '/a"b\n127.0.0.1 - - fake\u001b[2J',
      httpVersion: '1.1',
      status: 404,
      bytes: null,
      durationMs: 1,
    });
    expect(line.includes('\n') || line.includes('\u001b')).toBe(false);
    expect(line).toContain('/a\\x22b\\x0a127.0.0.1 - - fake\\x1b[2J');
    expect(line.endsWith('404 - 1.0ms')).toBe(true);
    expect(clfDate(new Date(0))).toBe('[01/Jan/1970:00:00:00 +0000]');
  });
});

describe('pages', () => {
  const pkg: PackageInfo = {
    path: ['shows', 'a b<c>'],
    name: 'shows/a b<c>',
    preset: 'h264-ladder',
    manifestNote: null,
    createdAt: null,
    rungs: [{ resolution: '640x360', bandwidth: 900_000, codecs: 'avc1.4d401e,mp4a.40.2' }],
    audio: [],
    subtitles: [],
    durationSeconds: 3725,
    mpd: true,
    poster: true,
    thumbnails: true,
  };

  it('package and player URLs percent-encode each segment', () => {
    expect(packageUrl(pkg.path, 'master.m3u8')).toBe('/shows/a%20b%3Cc%3E/master.m3u8');
    expect(packageUrl([], 'master.m3u8')).toBe('/master.m3u8');
    expect(playerUrl(pkg.path)).toBe('/_streamkit/play/shows/a%20b%3Cc%3E/');
    expect(playerUrl([])).toBe('/_streamkit/play/');
  });

  it('names are escaped, no inline script, scripts only from /_streamkit/', () => {
    for (const html of [indexPage([pkg], '/srv/<pkgs>'), playerPage(pkg)]) {
      expect(html).not.toContain('<c>');
      expect(html).not.toMatch(/<script>|<script[^>]*>[^<]|<style|\sstyle="|\son\w+="/);
      for (const m of html.matchAll(/<script src="([^"]+)"/g)) expect(m[1]).toMatch(/^\/_streamkit\//);
    }
    const index = indexPage([pkg], '/srv');
    expect(index).toContain('1:02:05');
    expect(index).toContain('href="/shows/a%20b%3Cc%3E/manifest.mpd"');
    const player = playerPage(pkg);
    expect(player).toContain('data-src="/shows/a%20b%3Cc%3E/master.m3u8"');
    expect(player).toContain('data-thumbnails="/shows/a%20b%3Cc%3E/thumbnails.vtt"');
    expect(player).toContain('poster="/shows/a%20b%3Cc%3E/poster.jpg"');
    expect(escapeHtml(`"'&<>`)).toBe('&#34;&#39;&#38;&#60;&#62;');
  });

  it('an empty folder says what a package is', () => {
    expect(indexPage([], '/srv')).toContain('No packages under /srv');
  });
});
