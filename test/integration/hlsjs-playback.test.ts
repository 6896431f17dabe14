/**
 * Real playback: each package is served over HTTP from 127.0.0.1 and played by hls.js in Chromium
 * (Debian's chromium, found on PATH or at /usr/bin/chromium, through playwright-core). For every level the page forces
 * `hls.currentLevel = i` and requires LEVEL_SWITCHED, frames advancing at that level's size and
 * no fatal error. H.264 (MPEG-TS) always; HEVC and AV1 when this Chromium can decode them
 * (MediaSource.isTypeSupported with the package's own CODECS), skipped with a message otherwise.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMasterPlaylist } from '../../src/package/playlist.js';
import { resolveToolchain, transcode, type Toolchain } from '../../src/transcode.js';
import { CHROMIUM, FFMPEG, FFPROBE, HLS_JS, makeSource, need, unmet, writeFastPreset, type Codec, launchChromium } from '../helpers/index.js';

const unavailable = unmet(need.ffmpeg, need.chromium, need.hlsJs);

const types: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.js': 'text/javascript',
  '.html': 'text/html; charset=utf-8',
};

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline width="320"></video>
<script src="/hls.js"></script>
<script>
window.playEveryLevel = async (src) => {
  const video = document.getElementById('v');
  const out = { levels: [], results: [], errors: [], switched: [] };
  const hls = new Hls({ startLevel: 0, capLevelToPlayerSize: false, enableWorker: true });
  hls.on(Hls.Events.ERROR, (_, d) => out.errors.push({ type: d.type, details: d.details, fatal: d.fatal }));
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => out.switched.push(d.level));
  const parsed = new Promise((resolve) => hls.once(Hls.Events.MANIFEST_PARSED, resolve));
  hls.loadSource(src);
  hls.attachMedia(video);
  await parsed;
  out.levels = hls.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate, codecs: l.attrs.CODECS }));
  await video.play();
  const until = (test, ms, what) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      if (out.errors.some((e) => e.fatal)) return reject(new Error('fatal hls.js error while waiting for ' + what + ': ' + JSON.stringify(out.errors)));
      if (test()) return resolve();
      if (performance.now() - t0 > ms) return reject(new Error('timed out waiting for ' + what + ' (currentTime ' + video.currentTime + ', level ' + hls.currentLevel + ', errors ' + JSON.stringify(out.errors) + ')'));
      setTimeout(tick, 50);
    };
    tick();
  });
  // playback starts on level 0: visit 1, 2, ... and come back to 0, so that every visit is a real switch
  const order = [...hls.levels.keys()].slice(1).concat([0]);
  await until(() => video.currentTime > 0.3, 20000, 'playback to start');
  for (const i of order) {
    if (video.currentTime > video.duration - 3) { video.currentTime = 0; }
    const switchedBefore = out.switched.length;
    hls.currentLevel = i;
    // on a loaded machine playback can reach the end (everything buffered at the old level) before
    // the switch: then no fragment loads, and no switch comes; from the start again, it does
    const rewound = () => {
      if (!video.ended) return false;
      video.currentTime = 0;
      video.play();
      return true;
    };
    await until(() => (rewound(), out.switched.slice(switchedBefore).includes(i)), 20000, 'LEVEL_SWITCHED to ' + i);
    let t0 = video.currentTime;
    await until(() => {
      if (rewound()) t0 = 0;
      return video.currentTime > t0 + 0.5 && video.videoHeight === hls.levels[i].height;
    }, 20000, 'frames of level ' + i);
    out.results.push({ level: i, advanced: video.currentTime - t0, videoWidth: video.videoWidth, videoHeight: video.videoHeight, decodedFrames: video.getVideoPlaybackQuality().totalVideoFrames });
  }
  hls.destroy();
  return out;
};
window.canPlay = (codecs) => MediaSource.isTypeSupported('video/mp4; codecs="' + codecs + '"');
</script></body></html>`;

interface PlayResult {
  levels: { width: number; height: number; bitrate: number; codecs: string }[];
  results: { level: number; advanced: number; videoWidth: number; videoHeight: number; decodedFrames: number }[];
  errors: { type: string; details: string; fatal: boolean }[];
  switched: number[];
}

describe.skipIf(unavailable)('hls.js in Chromium plays every level', () => {
  let dir = '';
  let source = '';
  let toolchain: Toolchain;
  let server: Server;
  let base = '';
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-hlsjs-'));
    toolchain = await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE });
    source = await makeSource(join(dir, 'clip.mp4'), { size: '426x240', rate: '30', duration: 8, audio: ['eng'] });

    // a tiny static server: the page, hls.js, and the packages under /pkg/
    server = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        let file: string;
        if (url.pathname === '/' || url.pathname === '/index.html') {
          res.writeHead(200, { 'content-type': types['.html']! }).end(PAGE);
          return;
        } else if (url.pathname === '/hls.js') {
          file = HLS_JS;
        } else if (url.pathname.startsWith('/pkg/')) {
          file = normalize(join(dir, decodeURIComponent(url.pathname.slice(5))));
          if (!file.startsWith(dir + sep)) {
            res.writeHead(403).end();
            return;
          }
        } else {
          res.writeHead(404).end();
          return;
        }
        try {
          const body = await readFile(file);
          res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-length': body.length }).end(body);
        } catch {
          res.writeHead(404).end();
        }
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    context = await launchChromium(dir);
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${base}/`);
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const canPlay = (codecs: string): Promise<boolean> => page.evaluate((c) => (globalThis as unknown as { canPlay(c: string): boolean }).canPlay(c), codecs);
  /** Skip with the reason printed (reporters do not show skip notes of passing files). */
  const skipUnless = async (ctx: { skip(note?: string): never }, codecs: string, what: string): Promise<void> => {
    if (await canPlay(codecs)) return;
    const why = `${CHROMIUM} cannot decode ${what} here: MediaSource.isTypeSupported('video/mp4; codecs="${codecs}"') is false; skipped`;
    console.warn(`hlsjs-playback: ${why}`);
    ctx.skip(why);
  };

  /**
   * Package `input` and play every level. Variants with AC-3/E-AC-3 audio (the surround group) may be
   * undecodable here (Debian's Chromium): hls.js must then drop them and play the AAC ones; every
   * other variant must be decodable.
   */
  async function packageAndPlay(
    codec: Codec,
    input = source,
    name: string = codec,
    /** a preset file instead of the fast preset of `codec`, and CODECS this Chromium may not decode besides AC-3/E-AC-3 */
    custom?: { preset: string; mayDrop: RegExp },
  ): Promise<PlayResult> {
    const preset = custom?.preset ?? (await writeFastPreset(dir, `play-${name}`, { codec, rungs: [240, 180, 120] }));
    const output = join(dir, `pkg-${name}`);
    await transcode({ input, preset, output, hw: 'cpu', toolchain });
    const all = parseMasterPlaylist(await readFile(join(output, 'master.m3u8'), 'utf8'));
    const variants = [];
    for (const v of all.variants) {
      const playable = await canPlay(v.attrs['CODECS']!);
      if (!playable && (/(^|,)(ac-3|ec-3)(,|$)/.test(v.attrs['CODECS']!) || custom?.mayDrop.test(v.attrs['CODECS']!))) continue;
      expect(playable, `MediaSource.isTypeSupported(${v.attrs['CODECS']})`).toBe(true);
      variants.push(v);
    }
    const master = { variants };
    // rethrown without the page's stack: vitest would try to source-map http://127.0.0.1:PORT/ and hide the message
    const result = await page
      .evaluate((src) => (globalThis as unknown as { playEveryLevel(s: string): Promise<PlayResult> }).playEveryLevel(src), `${base}/pkg/pkg-${name}/master.m3u8`)
      .catch((error: unknown) => {
        throw new Error(`playback in Chromium failed: ${String((error as Error).message ?? error).split('\n')[0]}`);
      });
    if (variants.length < all.variants.length)
      console.warn(
        `hlsjs-playback: ${all.variants.length - variants.length} variants (AC-3/E-AC-3${custom ? ` or ${custom.mayDrop.source}` : ''}) not decodable by ${CHROMIUM}: played the others`,
      );
    expect(result.errors.filter((e) => e.fatal)).toEqual([]);
    // hls.js lists its levels by bitrate; the master lists the start variant first (README "Start-up")
    const byBandwidth = [...master.variants].sort((a, b) => Number(a.attrs['BANDWIDTH']) - Number(b.attrs['BANDWIDTH']));
    expect(result.levels.map((l) => `${l.width}x${l.height}`)).toEqual(byBandwidth.map((v) => v.attrs['RESOLUTION']));
    expect(result.results).toHaveLength(master.variants.length);
    for (const r of result.results) {
      expect(r.advanced, `level ${r.level} played`).toBeGreaterThan(0.5);
      expect(`${r.videoWidth}x${r.videoHeight}`, `level ${r.level} shows its own size`).toBe(byBandwidth[r.level]!.attrs['RESOLUTION']);
    }
    for (let i = 0; i < master.variants.length; i++) expect(result.switched).toContain(i);
    return result;
  }

  it('H.264 in MPEG-TS: every level switches and plays', async () => {
    const r = await packageAndPlay('h264');
    expect(r.levels).toHaveLength(3);
  });

  it('H.264 with a 5.1 source: the E-AC-3 group beside the AAC one; hls.js plays every level it can decode', async () => {
    const surround = await makeSource(join(dir, 'clip51.mp4'), {
      size: '426x240',
      rate: '30',
      duration: 8,
      audio: ['eng'],
      audioCodec: ['-c:a', 'aac', '-ac', '6', '-b:a', '256k'],
    });
    const r = await packageAndPlay('h264', surround, 'h264-51');
    // three rungs with AAC at least; with E-AC-3 too where this Chromium decodes it
    expect(r.levels.length === 3 || r.levels.length === 6).toBe(true);
  });

  it('HEVC in fMP4 (when this Chromium decodes HEVC)', async (ctx) => {
    await skipUnless(ctx, 'hvc1.1.6.L60.90,mp4a.40.2', 'HEVC');
    await packageAndPlay('hevc');
  });

  it('AV1 in fMP4 (when this Chromium decodes AV1)', async (ctx) => {
    await skipUnless(ctx, 'av01.0.00M.08,mp4a.40.2', 'AV1');
    await packageAndPlay('av1');
  });

  it('H.264 + HEVC + AV1 in one package: hls.js drops what this Chromium cannot decode (HEVC here) and plays every other level', async () => {
    const preset = join(dir, 'play-multi.yaml');
    const ladder = (codec: Codec, encoder: string, speed: string | number, mode: string): string[] => [
      `  - codec: ${codec}`,
      `    encoder: { cpu: { name: ${encoder}, preset: ${speed} } }`,
      `    rateControl: { mode: ${mode}${mode === 'crf' ? ', crf: 40' : ''} }`,
      '    keyframeInterval: 1',
      '    rungs: [{ height: 240, bitrate: 400k }, { height: 120, bitrate: 120k }]',
    ];
    await writeFile(
      preset,
      [
        'video:',
        ...ladder('h264', 'libx264', 'ultrafast', 'vbr'),
        ...ladder('hevc', 'libx265', 'ultrafast', 'vbr'),
        ...ladder('av1', 'libsvtav1', 12, 'crf'),
        'packaging: { hls: { segmentDuration: 2 }, thumbnails: false }',
        '',
      ].join('\n'),
    );
    const r = await packageAndPlay('h264', source, 'multi', { preset, mayDrop: /(^|,)(hvc1|av01)\./ });
    const codecs = r.levels.map((l) => l.codecs.split(',')[0]!.split('.')[0]);
    // the H.264 levels always; AV1 and HEVC where this Chromium decodes them
    expect(codecs.filter((c) => c === 'avc1')).toHaveLength(2);
    expect(codecs.filter((c) => c === 'hvc1')).toHaveLength((await canPlay('hvc1.1.6.L60.90')) ? 2 : 0);
    expect(codecs.filter((c) => c === 'av01')).toHaveLength((await canPlay('av01.0.00M.08')) ? 2 : 0);
  });
});
