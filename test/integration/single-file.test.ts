/**
 * The single-file layout (packaging.hls.layout: single-file, issue 20's option for CDNs that prefer
 * fewer objects), end to end through the built CLI on a small lavfi clip: each rendition is one
 * media.mp4 (init, one sidx, every fragment) and nothing else; the sidx, read here, tiles the file
 * and its durations add up to the media; the HLS playlists' byte ranges decode whole through ffmpeg;
 * every I-frame byte range starts at a moof; the MPD (SegmentBase, isoff-on-demand) validates against
 * the MPEG-DASH schema and its ranges are the file's init segment and sidx. Playback in dash.js,
 * Shaka and hls.js: dash-playback.test.ts.
 */
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMediaPlaylist } from '../../src/package/playlist.js';
import { SINGLE_FILE_NAME } from '../../src/package/single-file.js';
import { assertBuilt, cli, cliEnv, FFMPEG, makeSource, mpdSchemaErrors, need, parseMpd, unmet, writeFastPreset } from '../helpers/index.js';

const SECONDS = 4;
const FPS = 30;

/** A few bytes of a file. */
async function bytesAt(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

/** The sidx at `offset`, read here (version 0 or 1): timescale, earliest presentation time, reference sizes and durations. */
function readSidx(buf: Buffer): { timescale: number; earliest: number; firstOffset: number; refs: { size: number; duration: number; sap: boolean }[] } {
  expect(buf.toString('latin1', 4, 8)).toBe('sidx');
  const version = buf[8]!;
  const timescale = buf.readUInt32BE(16);
  const earliest = version === 0 ? buf.readUInt32BE(20) : Number(buf.readBigUInt64BE(20));
  const firstOffset = version === 0 ? buf.readUInt32BE(24) : Number(buf.readBigUInt64BE(28));
  const at = version === 0 ? 28 : 36;
  const count = buf.readUInt16BE(at + 2);
  const refs = Array.from({ length: count }, (_, i) => {
    const p = at + 4 + 12 * i;
    return { size: buf.readUInt32BE(p) & 0x7fffffff, duration: buf.readUInt32BE(p + 4), sap: (buf.readUInt32BE(p + 8) & 0x80000000) !== 0 };
  });
  return { timescale, earliest, firstOffset, refs };
}

describe.skipIf(unmet(need.ffmpeg))('single-file layout: one byte-range-addressed file per rendition, HLS and DASH', () => {
  let dir = '';
  let out = '';

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'streamkit-single-'));
    await makeSource(join(dir, 'clip.mp4'), { size: '320x180', rate: String(FPS), duration: SECONDS, audio: ['eng'] });
    await writeFastPreset(dir, 'single', { codec: 'h264', rungs: [180, 120], segmentDuration: 2, container: 'fmp4', layout: 'single-file', extraYaml: '  dash: {}' });
    out = join(dir, 'out');
    const r = await cli(['transcode', '--hw', 'cpu', '-p', './single.yaml', '-o', 'out', 'clip.mp4'], { cwd: dir, env: cliEnv() });
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('each rendition folder holds its playlists and one media file, no init or segment files', async () => {
    for (const [d, files] of [
      ['180p', ['iframes.m3u8', 'index.m3u8', SINGLE_FILE_NAME]],
      ['120p', ['iframes.m3u8', 'index.m3u8', SINGLE_FILE_NAME]],
      ['audio-1', ['index.m3u8', SINGLE_FILE_NAME]],
    ] as const) {
      expect((await readdir(join(out, d))).sort(), d).toEqual([...files].sort());
    }
  });

  it('the sidx tiles the file after it, starts with a SAP everywhere, and lasts as long as the media', async () => {
    for (const d of ['180p', '120p', 'audio-1']) {
      const file = join(out, d, SINGLE_FILE_NAME);
      const playlist = parseMediaPlaylist(await readFile(join(out, d, 'index.m3u8'), 'utf8'));
      const init = playlist.segments[0]!.byteRange!.offset;
      const head = await bytesAt(file, 0, init);
      // ftyp (cmfc), moov, then the sidx
      expect(head.toString('latin1', 4, 8)).toBe('ftyp');
      expect(head.subarray(8, head.readUInt32BE(0)).toString('latin1')).toContain('cmfc');
      const ftyp = head.readUInt32BE(0);
      expect(head.toString('latin1', ftyp + 4, ftyp + 8)).toBe('moov');
      const sidxAt = ftyp + head.readUInt32BE(ftyp);
      const sidx = readSidx(head.subarray(sidxAt));
      expect(sidxAt + head.readUInt32BE(sidxAt)).toBe(init);
      expect(sidx.refs).toHaveLength(playlist.segments.length);
      let at = init + sidx.firstOffset;
      for (const [i, ref] of sidx.refs.entries()) {
        expect(ref.sap).toBe(true);
        // the playlist's byte range is the sidx's subsegment, which starts with a moof
        expect(playlist.segments[i]!.byteRange).toEqual({ offset: at, length: ref.size });
        expect((await bytesAt(file, at, 8)).toString('latin1', 4, 8)).toBe('moof');
        at += ref.size;
      }
      expect(at).toBe((await readFile(file)).length);
      const seconds = sidx.refs.reduce((a, r) => a + r.duration, 0) / sidx.timescale;
      expect(Math.abs(seconds - SECONDS), `${d}: ${seconds} s`).toBeLessThan(0.05);
    }
  });

  it('every rung decodes whole through its byte-range playlist, and its I-frame ranges start at a moof', async () => {
    for (const d of ['180p', '120p']) {
      const r = await execa(FFMPEG, ['-v', 'error', '-xerror', '-i', join(out, d, 'index.m3u8'), '-map', '0:v', '-f', 'framecrc', '-'], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout.split('\n').filter((l) => /^\d/.test(l))).toHaveLength(SECONDS * FPS);
      const iframes = (await readFile(join(out, d, 'iframes.m3u8'), 'utf8')).split('\n');
      const ranges = iframes.filter((l) => l.startsWith('#EXT-X-BYTERANGE:')).map((l) => l.slice(17).split('@').map(Number) as [number, number]);
      expect(ranges.length).toBe(SECONDS);
      for (const [, offset] of ranges) expect((await bytesAt(join(out, d, SINGLE_FILE_NAME), offset, 8)).toString('latin1', 4, 8)).toBe('moof');
      expect(iframes.filter((l) => !l.startsWith('#') && l !== '')).toEqual(Array(SECONDS).fill(SINGLE_FILE_NAME));
    }
  });

  it('the MPD addresses each file by SegmentBase (isoff-on-demand) and validates against the MPEG-DASH schema', async () => {
    const xml = await readFile(join(out, 'manifest.mpd'), 'utf8');
    expect(await mpdSchemaErrors(xml)).toEqual([]);
    const mpd = parseMpd(xml);
    expect(mpd['@profiles']).toBe('urn:mpeg:dash:profile:isoff-on-demand:2011');
    const sets = mpd.Period[0].AdaptationSet as Record<string, unknown>[];
    for (const set of sets) {
      expect(set['@subsegmentAlignment']).toBe('true');
      for (const rep of set['Representation'] as Record<string, unknown>[]) {
        const base = rep['SegmentBase'] as Record<string, unknown>;
        const file = join(out, String(rep['BaseURL']));
        const playlist = parseMediaPlaylist(await readFile(join(file, '..', 'index.m3u8'), 'utf8'));
        const [from, to] = String(base['@indexRange']).split('-').map(Number) as [number, number];
        expect((await bytesAt(file, from, 8)).toString('latin1', 4, 8)).toBe('sidx');
        expect(to + 1).toBe(playlist.segments[0]!.byteRange!.offset);
        expect((base['Initialization'] as Record<string, string>)['@range']).toBe(`0-${from - 1}`);
      }
    }
  });
});
