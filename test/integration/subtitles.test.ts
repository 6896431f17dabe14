/**
 * Subtitles end to end: an MKV made by ffmpeg from testsrc2 with two SRT tracks (English default,
 * French forced) plus a WebVTT sidecar (--subtitles FILE:de), packaged with a fast H.264 ladder (1 s
 * first segment, then 2 s). Asserts the master's EXT-X-MEDIA and SUBTITLES attributes, the subtitle
 * playlists (the video's segment durations), every segment's header and X-TIMESTAMP-MAP, which cues
 * each segment holds, streamkit.json; then hls.js in Chromium loads the package and its
 * `video.textTracks` cues must start and end where the SRT says (within 0.1 s): the check that
 * fails with a wrong X-TIMESTAMP-MAP (ffmpeg's own HLS muxer writes none: cues 1.4 s early).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMasterPlaylist, parseMediaPlaylist } from '../../src/package/playlist.js';
import { parseVtt } from '../../src/package/subtitles.js';
import { resolveToolchain, transcode, type TranscodeResult } from '../../src/transcode.js';
import type { TranscodeEvent } from '../../src/events.js';
import { assertBuilt, CHROMIUM, cli, FFMPEG, FFPROBE, HLS_JS, ffmpeg, ffprobeJson, need, run, unmet, writeFastPreset } from '../helpers/index.js';

const unavailable = unmet(need.ffmpeg);

const ENG: [number, number, string][] = [
  [0.5, 1.7, 'Hello one'],
  [2.9, 4.3, 'Two spans'],
  [5.0, 5.8, 'Three'],
];
const FRA: [number, number, string][] = [
  [1.2, 2.0, 'Bonjour'],
  [3.0, 3.5, 'Deux'],
];
const DEU: [number, number, string][] = [[1.5, 2.5, 'Hallo']];

const srtTime = (s: number): string => {
  const ms = Math.round(s * 1000);
  return `00:00:${String(Math.floor(ms / 1000)).padStart(2, '0')},${String(ms % 1000).padStart(3, '0')}`;
};
const srt = (cues: [number, number, string][]): string => cues.map(([a, b, t], i) => `${i + 1}\n${srtTime(a)} --> ${srtTime(b)}\n${t}\n`).join('\n');
const vtt = (cues: [number, number, string][]): string =>
  `WEBVTT\n\n${cues.map(([a, b, t]) => `${srtTime(a).replace(',', '.')} --> ${srtTime(b).replace(',', '.')}\n${t}\n`).join('\n')}`;

/**
 * The page's script: play the package, select each subtitle track in turn, and once the whole title
 * is buffered (6 s) read that track's cues from video.textTracks.
 */
const READ_CUES = `
window.readCues = async (src) => {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: true });
  const errors = [];
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) errors.push(d.details); });
  const parsed = new Promise((resolve) => hls.once(Hls.Events.MANIFEST_PARSED, resolve));
  hls.loadSource(src);
  hls.attachMedia(video);
  await parsed;
  await video.play();
  const wait = (test, ms, what) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      if (errors.length) reject(new Error('hls.js: ' + errors.join(', ')));
      else if (test()) resolve();
      else if (performance.now() - t0 > ms) reject(new Error('timed out: ' + what));
      else setTimeout(tick, 50);
    };
    tick();
  });
  const out = [];
  for (let i = 0; i < hls.subtitleTracks.length; i++) {
    hls.subtitleTrack = i;
    const want = hls.subtitleTracks[i];
    const track = () => [...video.textTracks].find((t) => t.label === want.name);
    await wait(() => track() && track().cues && track().cues.length > 0 && video.buffered.length > 0 && video.buffered.end(0) > 5.5, 20000, 'cues of ' + want.name);
    // the later segments' cues
    await new Promise((r) => setTimeout(r, 1000));
    const t = track();
    out.push({ name: want.name, language: t.language, cues: [...t.cues].map((c) => ({ start: c.startTime, end: c.endTime, text: c.text })) });
  }
  hls.destroy();
  return out;
};`;

interface PageTrack {
  name: string;
  language: string;
  cues: { start: number; end: number; text: string }[];
}

describe.skipIf(unavailable)('subtitles: SRT tracks and a sidecar become WebVTT renditions', () => {
  let dir = '';
  let out = '';
  let outFmp4 = '';
  let result: TranscodeResult;
  const events: TranscodeEvent[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-subs-'));
    await writeFile(join(dir, 'eng.srt'), srt(ENG));
    await writeFile(join(dir, 'fra.srt'), srt(FRA));
    await writeFile(join(dir, 'side.vtt'), vtt(DEU));
    const source = join(dir, 'movie.mkv');
    // biome-ignore format: ffmpeg flag/value pairs
    await ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=24', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-i', join(dir, 'eng.srt'), '-i', join(dir, 'fra.srt'),
      '-t', '6', '-map', '0:v', '-map', '1:a', '-map', '2', '-map', '3',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-c:s', 'srt',
      '-metadata:s:s:0', 'language=eng', '-metadata:s:s:1', 'language=fre',
      '-disposition:s:0', 'default', '-disposition:s:1', 'forced',
      source,
    ]);
    const preset = await writeFastPreset(dir, 'subs', { codec: 'h264', rungs: [180, 120], segmentDuration: 2 });
    out = join(dir, 'pkg');
    result = await transcode({
      input: source,
      preset,
      output: out,
      subtitles: [`${join(dir, 'side.vtt')}:de`],
      toolchain: await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE }),
      onEvent: (e) => events.push(e),
    });
    // the same with fMP4 segments: hls.js places the cues against the fMP4 timeline (tfdt), which has no 1.4 s
    // and with an MP4 download: the subtitles as its mov_text tracks
    const fmp4 = await writeFastPreset(dir, 'subs-fmp4', { codec: 'h264', rungs: [180], segmentDuration: 2, extraYaml: '  mp4: { rungs: top }' });
    await writeFile(fmp4, (await readFile(fmp4, 'utf8')).replace('segmentDuration: 2', 'segmentDuration: 2, container: fmp4'));
    outFmp4 = join(dir, 'pkg-fmp4');
    // the sidecar with a three-letter code: it is also the MP4 track's language (ISO 639-2)
    await transcode({
      input: source,
      preset: fmp4,
      output: outFmp4,
      subtitles: [`${join(dir, 'side.vtt')}:deu`],
      toolchain: await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE }),
    });
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('master.m3u8: one EXT-X-MEDIA per track with language, name and dispositions, SUBTITLES on every variant', async () => {
    const master = parseMasterPlaylist(await readFile(join(out, 'master.m3u8'), 'utf8'));
    expect(master.media.filter((m) => m['TYPE'] === 'SUBTITLES')).toEqual([
      { TYPE: 'SUBTITLES', 'GROUP-ID': 'subs', NAME: 'English', LANGUAGE: 'en', DEFAULT: 'YES', AUTOSELECT: 'YES', FORCED: 'NO', URI: 'subs-1/index.m3u8' },
      { TYPE: 'SUBTITLES', 'GROUP-ID': 'subs', NAME: 'Français', LANGUAGE: 'fr', DEFAULT: 'NO', AUTOSELECT: 'YES', FORCED: 'YES', URI: 'subs-2/index.m3u8' },
      { TYPE: 'SUBTITLES', 'GROUP-ID': 'subs', NAME: 'Deutsch', LANGUAGE: 'de', DEFAULT: 'NO', AUTOSELECT: 'YES', FORCED: 'NO', URI: 'subs-3/index.m3u8' },
    ]);
    expect(master.variants).toHaveLength(2);
    for (const v of master.variants) expect(v.attrs['SUBTITLES']).toBe('subs');
    expect(result.package?.rungs).toHaveLength(2);
  });

  it("every subtitle playlist has the video segments' durations, every segment the header, the X-TIMESTAMP-MAP and the cues it overlaps", async () => {
    const video = parseMediaPlaylist(await readFile(join(out, '180p', 'index.m3u8'), 'utf8'));
    expect(video.segments.map((s) => Math.round(s.duration * 10) / 10)).toEqual([1, 2, 2, 1]);
    const starts = video.segments.map((_, k) => video.segments.slice(0, k).reduce((a, s) => a + s.duration, 0));
    for (const [dir, cues] of [
      ['subs-1', ENG],
      ['subs-2', FRA],
      ['subs-3', DEU],
    ] as const) {
      const list = parseMediaPlaylist(await readFile(join(out, dir, 'index.m3u8'), 'utf8'));
      expect(list.endList).toBe(true);
      expect(list.segments.map((s) => s.duration)).toEqual(video.segments.map((s) => s.duration));
      expect((await readdir(join(out, dir))).sort()).toEqual(['index.m3u8', ...list.segments.map((s) => s.uri)].sort());
      const seen = new Set<string>();
      for (const [k, s] of list.segments.entries()) {
        const text = await readFile(join(out, dir, s.uri), 'utf8');
        // timeline offset 1 s (plan.ts Timeline) plus the MPEG-TS muxer's own 1.4 s: VTT time 0 is PTS 2.4 s
        expect(text.split('\n').slice(0, 2)).toEqual(['WEBVTT', 'X-TIMESTAMP-MAP=MPEGTS:216000,LOCAL:00:00:00.000']);
        const from = k === 0 ? -1 : starts[k]!;
        const to = k === list.segments.length - 1 ? 1e9 : starts[k + 1]!;
        const got = parseVtt(text);
        // each cue where it overlaps the segment (within the few ms ffmpeg shifts the input's start)
        const expected = cues.filter(([a, b]) => a < to - 0.05 && b > from + 0.05).map(([, , t]) => t);
        expect(got.map((c) => c.text)).toEqual(expected);
        for (const c of got) {
          const want = cues.find(([, , t]) => t === c.text)!;
          expect(Math.abs(c.start - want[0])).toBeLessThan(0.05);
          expect(Math.abs(c.end - want[1])).toBeLessThan(0.05);
          seen.add(c.text);
        }
      }
      expect([...seen].sort()).toEqual(cues.map(([, , t]) => t).sort());
    }
  });

  it('fMP4: X-TIMESTAMP-MAP at the timeline offset itself (1 s), the same cues', async () => {
    const text = await readFile(join(outFmp4, 'subs-1', 'seg_00001.vtt'), 'utf8');
    expect(text.split('\n').slice(0, 2)).toEqual(['WEBVTT', 'X-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000']);
    expect(parseVtt(text).map((c) => c.text)).toEqual(['Hello one', 'Two spans']);
  });

  it('MP4 download: one mov_text track per rendition, with ISO 639-2 language, dispositions and the SRT times', async () => {
    const file = join(outFmp4, 'mp4', '180p.mp4');
    const probed = await ffprobeJson<{ streams: { codec_name: string; tags?: { language?: string }; disposition: { default: number; forced: number } }[] }>([
      '-show_entries',
      'stream=codec_name:stream_tags=language:stream_disposition=default,forced',
      file,
    ]);
    const subs = probed.streams.filter((s) => s.codec_name === 'mov_text');
    expect(subs.map((s) => [s.tags?.language, s.disposition.default, s.disposition.forced])).toEqual([
      ['eng', 1, 0],
      ['fre', 0, 1],
      ['deu', 0, 0],
    ]);
    for (const [i, cues] of [ENG, FRA, DEU].entries()) {
      const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', file, '-map', `0:s:${i}`, '-f', 'webvtt', '-']);
      const got = parseVtt(stdout);
      expect(got.map((c) => c.text)).toEqual(cues.map(([, , t]) => t));
      for (const [k, c] of got.entries()) expect(Math.abs(c.start - cues[k]![0])).toBeLessThan(0.05);
    }
  });

  it('CLI: a missing sidecar or a playlist posing as one exits 3, a bad extension or language 2; nothing is written', async () => {
    assertBuilt();
    await writeFile(join(dir, 'list.srt'), '#EXTM3U\n#EXT-X-ENDLIST\n');
    await writeFile(join(dir, 'notes.txt'), 'hello');
    const preset = join(dir, 'subs.yaml');
    for (const [arg, code, message] of [
      ['missing.srt', 3, /Subtitles file not found: missing\.srt/],
      ['list.srt', 3, /Refusing subtitles list\.srt: it is a playlist/],
      ['notes.txt', 2, /expected a \.srt, \.vtt, \.ass or \.ssa file/],
      ['eng.srt:und', 2, /"und" is not a language tag/],
    ] as const) {
      const r = await cli(['transcode', 'movie.mkv', '-p', preset, '-o', 'cli-out', '--subtitles', arg], { cwd: dir });
      expect([r.code, r.stderr]).toEqual([code, expect.stringMatching(message)]);
    }
    expect((await readdir(dir)).filter((f) => f.includes('cli-out'))).toEqual([]);
  });

  it('every decision is a note (warning event) and streamkit.json records the renditions and their files', async () => {
    const notes = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message);
    expect(notes.filter((n) => n.startsWith('subtitles:'))).toEqual([
      'subtitles: subtitle stream #2 (subrip, eng) -> subs-1 WebVTT "English" [en], default',
      'subtitles: subtitle stream #3 (subrip, fre) -> subs-2 WebVTT "Français" [fr], forced',
      'subtitles: subtitles file side.vtt -> subs-3 WebVTT "Deutsch" [de]',
    ]);
    const manifest = JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8'));
    expect(manifest.subtitles.map((s: { dir: string; cues: number; segments: number; mpegts: number }) => [s.dir, s.cues, s.segments, s.mpegts])).toEqual([
      ['subs-1', 3, 4, 216000],
      ['subs-2', 2, 4, 216000],
      ['subs-3', 1, 4, 216000],
    ]);
    const paths = manifest.outputs.map((o: { path: string }) => o.path);
    expect(paths).toContain('subs-1/index.m3u8');
    expect(paths).toContain('subs-3/seg_00003.vtt');
    expect(paths.some((p: string) => p.endsWith('full.vtt'))).toBe(false);
  });

  describe.skipIf(unmet(need.chromium, need.hlsJs))('hls.js in Chromium', () => {
    let server: Server;
    let context: BrowserContext;

    afterAll(async () => {
      await context?.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    });

    it("shows each track's cues at the SRT times (video.textTracks), within 0.1 s", async () => {
      const page = `<!doctype html><html><body><video id="v" muted playsinline></video><script src="/hls.js"></script><script>${READ_CUES}</script></body></html>`;
      const types: Record<string, string> = {
        '.m3u8': 'application/vnd.apple.mpegurl',
        '.ts': 'video/mp2t',
        '.m4s': 'video/iso.segment',
        '.mp4': 'video/mp4',
        '.vtt': 'text/vtt',
        '.js': 'text/javascript',
      };
      server = createServer((req, res) => {
        void (async () => {
          const path = new URL(req.url ?? '/', 'http://x').pathname;
          if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
          const file = path === '/hls.js' ? HLS_JS : normalize(join(dir, decodeURIComponent(path)));
          if (file !== HLS_JS && !file.startsWith(dir + sep)) return void res.writeHead(403).end();
          try {
            const body = await readFile(file);
            res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
          } catch {
            res.writeHead(404).end();
          }
        })();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
        executablePath: CHROMIUM!,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
      });
      const tab = context.pages()[0] ?? (await context.newPage());
      await tab.goto(`${base}/`);
      for (const pkg of ['pkg', 'pkg-fmp4']) {
        const tracks = await tab.evaluate((src) => (globalThis as unknown as { readCues(src: string): Promise<PageTrack[]> }).readCues(src), `${base}/${pkg}/master.m3u8`);
        expect(tracks.map((t) => [t.name, t.language])).toEqual([
          ['English', 'en'],
          ['Français', 'fr'],
          ['Deutsch', 'de'],
        ]);
        for (const [i, cues] of [ENG, FRA, DEU].entries()) {
          // hls.js drops the repeats of a cue that spans segments: each cue once
          expect(tracks[i]!.cues.map((c) => c.text)).toEqual(cues.map(([, , t]) => t));
          for (const [k, c] of tracks[i]!.cues.entries()) {
            expect(Math.abs(c.start - cues[k]![0]), `${pkg} ${tracks[i]!.name} cue ${c.text} starts at ${c.start}`).toBeLessThan(0.1);
            expect(Math.abs(c.end - cues[k]![1]), `${pkg} ${tracks[i]!.name} cue ${c.text} ends at ${c.end}`).toBeLessThan(0.1);
          }
        }
        await tab.reload();
      }
    }, 120_000);
  });
});
