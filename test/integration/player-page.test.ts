/**
 * The player page of `streamkit serve` in Debian's Chromium (playwright-core, never a downloaded
 * browser): from the index page to the player, playback (time advances, frames are presented), the
 * rung selector (hls.currentLevel changes and a fragment of that level loads and shows), the audio
 * and subtitle selectors, the live stats, the thumbnail preview over the seek bar, and that every
 * request the page makes goes to the serving origin with no Content-Security-Policy violation.
 * The package, its poster and its thumbnails (sprites + WebVTT) are made by streamkit; a subtitle
 * rendition is a fixture added here. A screenshot is kept in test-artifacts/.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cli, makeSource, need, REPO, type ServeProcess, startServe, tempDir, unmet, writeFastPreset, launchChromium } from '../helpers/index.js';

const unavailable = unmet(need.ffmpeg, need.chromium, need.hlsJs);

interface PlayerState {
  hls: { currentLevel: number; levels: { height: number; width: number }[]; audioTrack: number; subtitleTrack: number; audioTracks: unknown[]; subtitleTracks: unknown[] };
  video: HTMLVideoElementLike;
  errors: { type: string; details: string; fatal: boolean }[];
  fragments: { type: string; level: number; sn: number | string; url: string }[];
  thumbnails: unknown[];
  preview: { url: string | null; x?: number; y?: number; w?: number; h?: number; sprite?: { loaded: boolean } } | null;
  stats: { level: number; width: number; height: number; droppedFrames: number | null; totalFrames: number | null; bufferAhead: number } | null;
}
interface HTMLVideoElementLike {
  currentTime: number;
  duration: number;
  videoHeight: number;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}

describe.skipIf(unavailable)('the player page in Chromium', () => {
  let dir = '';
  let movie = '';
  let server: ServeProcess;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    assertBuilt();
    dir = await realpath(await tempDir('player'));
    movie = join(dir, 'pkgs', 'movie');
    const src = await makeSource(join(dir, 'clip.mp4'), { size: '426x240', duration: 6, audio: ['eng', 'fra'] });
    const preset = await writeFastPreset(dir, 'player', { codec: 'h264', rungs: [240, 180, 120] });
    const made = await cli(['transcode', src, '-p', preset, '-o', movie]);
    expect(made.code, made.stderr).toBe(0);
    // the thumbnails and poster are streamkit's own (the thumbnail stage)
    expect(existsSync(join(movie, 'thumbnails.vtt')) && existsSync(join(movie, 'poster.jpg'))).toBe(true);
    // a subtitle rendition, added to the master playlist
    await mkdir(join(movie, 'subs'));
    await writeFile(join(movie, 'subs', 'en.vtt'), 'WEBVTT\n\n00:00:00.500 --> 00:00:05.500\nHello from streamkit\n');
    await writeFile(join(movie, 'subs', 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:6.0,\nen.vtt\n#EXT-X-ENDLIST\n');
    const master = await readFile(join(movie, 'master.m3u8'), 'utf8');
    await writeFile(
      join(movie, 'master.m3u8'),
      master
        .replace(
          '#EXT-X-STREAM-INF:',
          '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=NO,URI="subs/index.m3u8"\n#EXT-X-STREAM-INF:',
        )
        .replace(/^(#EXT-X-STREAM-INF:.*)$/gm, '$1,SUBTITLES="subs"'),
    );

    server = await startServe(join(dir, 'pkgs'));
    context = await launchChromium(dir, { viewport: { width: 1000, height: 900 } });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => requests.push(r.url()));
    // injected by the browser driver, not the page: records what the page's policy blocked
    await page.addInitScript("window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));");
  });

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const state = <T>(fn: (p: PlayerState) => T): Promise<T> => page.evaluate(`(${fn.toString()})(window.streamkitPlayer)`) as Promise<T>;
  /**
   * Poll `expr` in the page through the driver (page.waitForFunction would compile it with eval inside
   * the page, which the page's own policy forbids).
   */
  const until = async (what: string, expr: string, timeout = 30_000): Promise<void> => {
    const t0 = Date.now();
    while (!(await page.evaluate(`Boolean(${expr})`))) {
      if (Date.now() - t0 > timeout) {
        const snapshot = await page.evaluate(
          'JSON.stringify({ t: streamkitPlayer.video.currentTime, level: streamkitPlayer.hls && streamkitPlayer.hls.currentLevel, errors: streamkitPlayer.errors, stats: streamkitPlayer.stats })',
        );
        throw new Error(`timed out waiting for ${what}: ${String(snapshot)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('plays, switches rungs, audio and subtitles, previews thumbnails; everything from the serving origin', async () => {
    await page.goto(`${server.url}/`);
    await page.click('a.play');
    await page.waitForURL(`${server.url}/_streamkit/play/movie/`);
    expect(await page.getAttribute('video', 'poster')).toBe('/movie/poster.jpg');

    // plays: time advances and frames are presented
    await until('playback', 'window.streamkitPlayer && streamkitPlayer.video.currentTime > 0.5');
    expect(await state((p) => p.video.getVideoPlaybackQuality().totalVideoFrames)).toBeGreaterThan(5);
    expect(await page.$$eval('#rung option', (os) => os.map((o) => o.textContent?.split(' ')[0]))).toEqual(['Auto', '120p', '180p', '240p']);

    // the rung selector: each fixed level in turn, each must load its own fragments and show its size
    for (const level of [2, 0]) {
      await state((p) => {
        if (p.video.currentTime > p.video.duration - 2.5) (p.video as unknown as { currentTime: number }).currentTime = 0;
      });
      const before = await state((p) => p.fragments.length);
      await page.selectOption('#rung', String(level));
      await until(`level ${level}`, `streamkitPlayer.hls.currentLevel === ${level}`);
      await until(`a fragment of level ${level}`, `streamkitPlayer.fragments.slice(${before}).some((f) => f.type === 'main' && f.level === ${level})`);
      await until(`frames of level ${level}`, `streamkitPlayer.video.videoHeight === streamkitPlayer.hls.levels[${level}].height`);
      // the stats panel follows (updated every 0.5 s)
      const height = await state((p) => p.hls.levels[2]?.height);
      expect(height).toBe(240);
      await until('stats', `document.getElementById('stat-resolution').textContent === streamkitPlayer.video.videoWidth + 'x' + streamkitPlayer.video.videoHeight`);
    }
    await page.selectOption('#rung', '-1');
    await until('auto again', 'streamkitPlayer.hls.autoLevelEnabled === true');

    // audio: two renditions, switch to the second
    expect(await page.$$eval('#audio option', (os) => os.length)).toBe(2);
    const beforeAudio = await state((p) => p.fragments.length);
    await state((p) => {
      if (p.video.currentTime > p.video.duration - 2.5) (p.video as unknown as { currentTime: number }).currentTime = 0;
    });
    await page.selectOption('#audio', '1');
    await until('audio track 1', 'streamkitPlayer.hls.audioTrack === 1');
    await until('an audio fragment after the switch', `streamkitPlayer.fragments.slice(${beforeAudio}).some((f) => f.type === 'audio')`);

    // subtitles: off, then English
    expect(await page.$$eval('#subtitles option', (os) => os.map((o) => o.textContent))).toEqual(['Off', 'English']);
    await page.selectOption('#subtitles', '0');
    await until('subtitle track 0', 'streamkitPlayer.hls.subtitleTrack === 0');
    await until('the subtitle file', `streamkitPlayer.fragments.some((f) => f.type === 'subtitle')`);

    // thumbnails: hover the seek bar at 3.5 s -> the cue of the real thumbnails.vtt covering 3.5 s
    const vtt = await readFile(join(movie, 'thumbnails.vtt'), 'utf8');
    const cueList = [...vtt.matchAll(/(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)/g)].map((m) => ({
      start: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000,
      end: Number(m[5]) * 3600 + Number(m[6]) * 60 + Number(m[7]) + Number(m[8]) / 1000,
      url: m[9]!,
      x: Number(m[10]),
      y: Number(m[11]),
      w: Number(m[12]),
      h: Number(m[13]),
    }));
    expect(cueList.length).toBeGreaterThan(1);
    const cue = cueList.find((c) => c.start <= 3.5 && 3.5 < c.end)!;
    await until('thumbnails parsed', `streamkitPlayer.thumbnails.length === ${cueList.length} && Number.isFinite(streamkitPlayer.video.duration)`);
    const bar = (await page.locator('#seek').boundingBox())!;
    const duration = await state((p) => p.video.duration);
    const at = 3.5 / duration;
    await page.mouse.move(bar.x + bar.width * at, bar.y + bar.height / 2);
    await until('the preview', `!document.getElementById('preview').hidden && streamkitPlayer.preview && streamkitPlayer.preview.sprite && streamkitPlayer.preview.sprite.loaded`);
    const preview = await state((p) => p.preview);
    expect(preview).toMatchObject({ url: `${server.url}/movie/${cue.url}`, x: cue.x, y: cue.y, w: cue.w, h: cue.h });
    expect(await page.evaluate("getComputedStyle(document.getElementById('preview-image')).backgroundPosition")).toBe(
      [cue.x, cue.y].map((n) => (n === 0 ? '0px' : `-${n}px`)).join(' '),
    );
    expect(await page.locator('#preview').isVisible()).toBe(true);

    // stats and errors
    const stats = await state((p) => p.stats);
    expect(stats?.totalFrames).toBeGreaterThan(0);
    expect(await state((p) => p.errors.filter((e) => e.fatal))).toEqual([]);

    const shot = join(REPO, 'test-artifacts', 'player-page.png');
    await mkdir(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`player-page: screenshot saved to ${shot}`);

    // same origin only (blob:/data: are the page's own MSE and worker URLs), and nothing blocked
    const foreign = requests.filter((u) => !u.startsWith(`${server.url}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
    expect(requests).toContain(`${server.url}/_streamkit/hls.min.js`);
    expect(requests).toContain(`${server.url}/movie/${cueList[0]!.url}`);
    expect(await page.evaluate('window.__csp')).toEqual([]);
  });
});
