/**
 * Fast start (issue 22) on a real package: a short first segment (one GOP: ffmpeg cuts one-GOP
 * pieces, packaging joins them into the preset's segments), starting with an IDR, the later segments
 * at the preset's length, every rendition cut alike, the start variant listed first, and everything
 * else checkPackage checks (keyframes at every segment start, alignment, BANDWIDTH from the real
 * segments, A/V sync, decode, manifest). Then hls.js in Chromium loads it: the first fragment it
 * fetches is the first segment of the first-listed variant; the time to the first frame is printed
 * for information only (no assertion on time).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinedTsInspection } from '../../src/package/join.js';
import { inspectTsSegment } from '../../src/package/inspect.js';
import { parseMasterPlaylist, parseMediaPlaylist } from '../../src/package/playlist.js';
import { resolveToolchain, transcode, type Toolchain } from '../../src/transcode.js';
import { CHROMIUM, checkPackage, FFMPEG, FFPROBE, ffmpeg, ffprobeJson, HLS_JS, makeSource, need, tempDir, unmet, writeFastPreset, type CheckedPackage } from '../helpers/index.js';

/** The page: hls.js (default config) plays the package muted; what it fetched first, and when the first frame came. */
const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video><script src="/hls.js"></script><script>
window.firstFrame = async (src) => {
  const video = document.getElementById('v');
  const hls = new Hls();
  const fragments = [];
  const errors = [];
  hls.on(Hls.Events.FRAG_LOADED, (_, d) => { if (d.frag.type === 'main') fragments.push({ level: d.frag.level, sn: d.frag.sn }); });
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) errors.push(d.details); });
  await new Promise((resolve) => { hls.once(Hls.Events.MEDIA_ATTACHED, resolve); hls.attachMedia(video); });
  const frame = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(performance.now())));
  const t0 = performance.now();
  hls.loadSource(src);
  await video.play();
  const t1 = await Promise.race([frame, new Promise((_, reject) => setTimeout(() => reject(new Error('no frame in 20 s: ' + errors.join(', '))), 20000))]);
  const first = fragments[0];
  const out = { seconds: (t1 - t0) / 1000, sn: first ? first.sn : null, levelUrl: first ? hls.levels[first.level].url[0] : null, errors };
  hls.destroy();
  return out;
};
</script></body></html>`;

interface FirstFrame {
  seconds: number;
  sn: number | null;
  levelUrl: string | null;
  errors: string[];
}

describe.skipIf(unmet(need.ffmpeg))('a short first segment', () => {
  let dir = '';
  let toolchain: Toolchain;
  let output = '';
  let pkg: CheckedPackage;

  beforeAll(async () => {
    dir = await tempDir('streamkit-fast-start-');
    toolchain = await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE });
    // 7 s at 30 fps, 1 s GOPs, 3 s segments: 1 + 3 + 3
    const source = await makeSource(join(dir, 'clip.mp4'), { size: '320x180', rate: '30', duration: 7, audio: ['eng'] });
    const preset = await writeFastPreset(dir, 'fast-start', { codec: 'h264', rungs: [180, 120], keyframeInterval: 1, segmentDuration: 3 });
    output = join(dir, 'out');
    await transcode({ input: source, preset, output, hw: 'cpu', toolchain });
    pkg = await checkPackage(output, { fps: 30, duration: 7, audioRenditions: 1, resolutions: ['214x120', '320x180'], targetDuration: 3 });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every rung: the first segment is one GOP, the later ones the preset length', () => {
    for (const r of pkg.rungs) {
      expect(
        r.playlist.segments.map((s) => Number(s.duration.toFixed(3))),
        r.dir,
      ).toEqual([1, 3, 3]);
      // one keyframe per second: the first segment holds one, the later ones three each
      expect(r.keyframes).toHaveLength(7);
      expect(r.segmentStarts.map((t) => Number((t - r.segmentStarts[0]!).toFixed(3)))).toEqual([0, 1, 4]);
    }
  });

  it('the audio rendition is cut alike', () => {
    const durations = pkg.audio[0]!.playlist.segments.map((s) => s.duration);
    expect(durations).toHaveLength(3);
    expect(durations[0]).toBeCloseTo(1, 1);
    expect(durations[1]).toBeCloseTo(3, 1);
  });

  it('the first segment of every rung starts with an IDR frame', async () => {
    for (const r of pkg.rungs) {
      const first = join(output, r.dir, r.playlist.segments[0]!.uri);
      const { frames } = await ffprobeJson<{ frames: { key_frame: number; pict_type: string }[] }>([
        '-select_streams',
        'v',
        '-read_intervals',
        '%+#1',
        '-show_entries',
        'frame=key_frame,pict_type',
        first,
      ]);
      expect(frames[0], first).toMatchObject({ key_frame: 1, pict_type: 'I' });
    }
  });

  it("no piece is left behind: each folder holds its playlists and the playlist's segments, named in order", async () => {
    for (const r of [...pkg.rungs.map((x) => ({ dir: x.dir, playlist: x.playlist })), ...pkg.audio.map((a) => ({ dir: a.attrs['URI']!.split('/')[0]!, playlist: a.playlist }))]) {
      const files = (await readdir(join(output, r.dir))).filter((f) => !f.endsWith('.m3u8')).sort();
      expect(files, r.dir).toEqual(r.playlist.segments.map((s) => s.uri).sort());
      expect(r.playlist.segments.map((s) => s.uri)).toEqual(r.playlist.segments.map((_, i) => `seg_${String(i).padStart(5, '0')}.ts`));
    }
  });

  it('a last segment of one piece (8 s: 1 + 3 + 3 + 1) is that piece renamed, and streamkit.json has its real size and checksum', async () => {
    const source = await makeSource(join(dir, 'clip8.mp4'), { size: '320x180', rate: '30', duration: 8, audio: ['eng'] });
    const preset = await writeFastPreset(dir, 'fast-start-8', { codec: 'h264', rungs: [180, 120], keyframeInterval: 1, segmentDuration: 3 });
    const out = join(dir, 'out8');
    await transcode({ input: source, preset, output: out, hw: 'cpu', toolchain });
    // checkPackage compares every output's size and SHA-256 in streamkit.json with the file
    const p8 = await checkPackage(out, { fps: 30, duration: 8, audioRenditions: 1, resolutions: ['214x120', '320x180'], targetDuration: 3 });
    for (const r of p8.rungs)
      expect(
        r.playlist.segments.map((s) => Number(s.duration.toFixed(3))),
        r.dir,
      ).toEqual([1, 3, 3, 1]);
    for (const r of p8.rungs)
      expect((await readdir(join(out, r.dir))).filter((f) => !f.endsWith('.m3u8')).sort(), r.dir).toEqual(['seg_00000.ts', 'seg_00001.ts', 'seg_00002.ts', 'seg_00003.ts']);
  });

  it('the start variant is listed first: here the top rung, whose first segment is small enough for 1.5 Mbit/s', async () => {
    const master = parseMasterPlaylist(await readFile(join(output, 'master.m3u8'), 'utf8'));
    expect(master.variants.map((v) => v.attrs['RESOLUTION'])).toEqual(['320x180', '214x120']);
    const media = parseMediaPlaylist(await readFile(join(output, master.variants[0]!.uri), 'utf8'));
    expect(media.segments[0]!.duration).toBeCloseTo(1, 3);
  });

  it('joined TS pieces: the inspection composed from the pieces is the one of the joined bytes', async () => {
    // one-second pieces of a video-only and of an audio-only rendition, cut by ffmpeg's HLS muxer as streamkit has it cut them
    const pieces = join(dir, 'pieces');
    await rm(pieces, { recursive: true, force: true });
    for (const [kind, map] of [
      ['video', ['-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0']],
      ['audio', ['-map', '0:a', '-c:a', 'aac']],
    ] as const) {
      const out = join(pieces, kind);
      await mkdir(out, { recursive: true });
      await ffmpeg([
        '-i',
        join(dir, 'clip.mp4'),
        ...map,
        '-f',
        'hls',
        '-hls_time',
        '1',
        '-hls_playlist_type',
        'vod',
        '-hls_segment_filename',
        join(out, 'p_%03d.ts'),
        join(out, 'index.m3u8'),
      ]);
      const files = (await readdir(out)).filter((f) => f.endsWith('.ts')).sort();
      expect(files.length, kind).toBeGreaterThanOrEqual(4);
      const bufs = await Promise.all(files.slice(1, 4).map((f) => readFile(join(out, f))));
      const composed = joinedTsInspection(bufs.map((b) => ({ size: b.length, inspection: inspectTsSegment(b) })));
      expect(composed, kind).toEqual(inspectTsSegment(Buffer.concat(bufs)));
      if (kind === 'video') expect(composed.keyframes).toHaveLength(3);
    }
  });

  describe.skipIf(unmet(need.chromium, need.hlsJs))('in hls.js (Chromium)', () => {
    let server: Server;
    let browser: Browser;
    let base = '';

    beforeAll(async () => {
      const types: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.js': 'text/javascript' };
      server = createServer((req, res) => {
        void (async () => {
          const path = new URL(req.url ?? '/', 'http://x').pathname;
          if (path === '/') {
            res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
            return;
          }
          const file = path === '/hls.js' ? HLS_JS : normalize(join(output, decodeURIComponent(path.slice(1))));
          if (file !== HLS_JS && !file.startsWith(output + sep)) {
            res.writeHead(403).end();
            return;
          }
          try {
            const body = await readFile(file);
            res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
          } catch {
            res.writeHead(404).end();
          }
        })();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
    });
    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    });

    it('the first fragment hls.js loads is the first segment of the first-listed variant', async () => {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      const r = await page.evaluate((src) => (globalThis as unknown as { firstFrame(s: string): Promise<FirstFrame> }).firstFrame(src), `${base}/master.m3u8`);
      await page.close();
      console.info(`fast-start: hls.js showed its first frame ${r.seconds.toFixed(3)} s after loadSource() (loopback, no throttling; information only)`);
      expect(r.errors).toEqual([]);
      expect(r.sn).toBe(0);
      expect(r.levelUrl).toBe(`${base}/180p/index.m3u8`);
    });
  });
});
