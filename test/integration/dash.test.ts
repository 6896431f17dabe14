/**
 * The DASH side of a CMAF package (issue 20), end to end on small lavfi clips with the real ffmpeg:
 * manifest.mpd checked by test/helpers/dash-check.ts (the MPEG-DASH schema, every addressed file,
 * S@t/S@d against the segments' own tfdt/trun, codecs against the init segments, the 23009-1 5.3.5.2
 * bandwidth rule simulated, the same files as the HLS playlists, cmfc and one track per init) and
 * the HLS side by hls-check.ts. H.264 through the built CLI (--json done event, a WebVTT sidecar via
 * --subtitles, two audio languages), AV1 and HEVC (structure only: Debian's Chromium has no HEVC
 * decoder; playback is dash-playback.test.ts) and an HDR10 (PQ) HEVC ladder through the library,
 * the preset refusals, and tampered copies that the check must refuse (so it can fail).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/package/manifest.js';
import { DASH_VTT_NAME } from '../../src/pipeline/subtitles.js';
import { resolveToolchain, transcode, type Toolchain } from '../../src/transcode.js';
import { assertBuilt, checkDash, checkPackage, cli, cliEnv, FFMPEG, FFPROBE, makeSource, need, parseEvents, unmet, writeFastPreset, type CheckedDash } from '../helpers/index.js';

const DASH_YAML = '  dash: {}';
/** the sidecar's cues, seconds from the title's start */
const CUES: [number, number, string][] = [
  [0.5, 1.5, 'Hallo'],
  [2.0, 3.2, 'Zwei'],
];
const vttTime = (s: number): string => `00:00:${s.toFixed(3).padStart(6, '0')}`;

/** The cues of a WebVTT file, read here: [start, end, text]. */
function cuesOf(text: string): [number, number, string][] {
  const seconds = (t: string): number =>
    t
      .split(':')
      .map(Number)
      .reduce((a, v) => a * 60 + v, 0);
  return [...text.matchAll(/^([\d:.]+) --> ([\d:.]+)[^\n]*\n([^\n]+)/gm)].map((m) => [seconds(m[1]!), seconds(m[2]!), m[3]!]);
}

describe.skipIf(unmet(need.ffmpeg))('DASH: manifest.mpd over the HLS package’s CMAF segments', () => {
  let dir = '';
  let toolchain: Toolchain;
  let h264 = '';
  let h264Dash: CheckedDash;
  let done: Record<string, unknown> | undefined;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'streamkit-dash-'));
    toolchain = await resolveToolchain({ ffmpeg: FFMPEG, ffprobe: FFPROBE });
    await makeSource(join(dir, 'clip.mp4'), { size: '320x180', duration: 4, audio: ['eng', 'fre'] });
    await writeFile(join(dir, 'side.vtt'), `WEBVTT\n\n${CUES.map(([a, b, t]) => `${vttTime(a)} --> ${vttTime(b)}\n${t}\n`).join('\n')}`);
    // fmp4 named: h264-ladder's own `container: ts` would be inherited (and refused beside dash, below).
    // Two B-frames: composition offsets, so that a segment's earliest presentation time is not simply
    // its first sample's decode time (trun version 0: the offsets are positive)
    await writeFastPreset(dir, 'h264-dash', { codec: 'h264', rungs: [180, 120], segmentDuration: 2, container: 'fmp4', extraYaml: DASH_YAML, options: { bf: 2 } });
    h264 = join(dir, 'h264');
    const r = await cli(['--json', 'transcode', '--hw', 'cpu', '-p', './h264-dash.yaml', '-o', 'h264', '--subtitles', 'side.vtt:de', 'clip.mp4'], { cwd: dir, env: cliEnv() });
    expect(r.code, r.stderr).toBe(0);
    done = parseEvents(r.stdout).find((e) => e.type === 'done');
    h264Dash = await checkDash(h264);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('H.264: the HLS side is still a whole, valid package (hls-check), in fMP4', async () => {
    const pkg = await checkPackage(h264, { duration: 4, audioRenditions: 2 });
    expect(pkg.rungs.map((r) => r.playlist.mapUri)).toEqual(['init.mp4', 'init.mp4']);
  });

  it('H.264: one video AdaptationSet (aligned, lowest bandwidth first), an audio set per language with its Role, the sidecar as text', () => {
    const period = h264Dash.mpd.Period[0];
    const sets = period.AdaptationSet as Record<string, unknown>[];
    expect(sets.map((s) => s['@contentType'])).toEqual(['video', 'audio', 'audio', 'text']);
    const video = h264Dash.representations.filter((r) => r.contentType === 'video');
    expect(video.map((r) => `${r.rep['@width']}x${r.rep['@height']}`)).toEqual(['214x120', '320x180']);
    expect(video[0]!.bandwidth).toBeLessThan(video[1]!.bandwidth);
    expect(video.every((r) => /^avc1\.[0-9a-f]{6}$/.test(r.codecs ?? ''))).toBe(true);
    // the B-frames are there: S@t = earliest presentation time was checked with composition offsets
    expect(video.every((r) => r.segments.every((s) => s.times.reordered))).toBe(true);
    expect(sets[0]).toMatchObject({ '@segmentAlignment': 'true', '@startWithSAP': '1', '@par': '16:9', '@maxWidth': '320', '@maxHeight': '180', '@maxFrameRate': '30' });
    const audio = h264Dash.representations.filter((r) => r.contentType === 'audio');
    expect(audio.map((r) => [r.set['@lang'], r.set.Role[0]['@value'], r.codecs])).toEqual([
      ['en', 'main', 'mp4a.40.2'],
      ['fr', 'alternate', 'mp4a.40.2'],
    ]);
    const text = h264Dash.representations.find((r) => r.contentType === 'text')!;
    expect([text.set['@lang'], text.set.Role[0]['@value'], text.file]).toEqual(['de', 'subtitle', `subs-1/${DASH_VTT_NAME}`]);
    // auto: minBufferTime is the longest segment (2 s of media, rounded up to the millisecond)
    expect(h264Dash.minBufferTime).toBeGreaterThanOrEqual(2);
    expect(h264Dash.minBufferTime).toBeLessThan(2.1);
    // the video's 4 s, or the audio's last AAC frame a few ms past it
    expect(h264Dash.duration).toBeGreaterThanOrEqual(4);
    expect(h264Dash.duration).toBeLessThan(4.05);
  });

  it('H.264: the WebVTT sidecar has the cues at the title’s times (the Period’s timeline)', async () => {
    const cues = cuesOf(await readFile(join(h264, 'subs-1', DASH_VTT_NAME), 'utf8'));
    expect(cues.map((c) => c[2])).toEqual(CUES.map((c) => c[2]));
    cues.forEach(([a, b], i) => {
      expect(Math.abs(a - CUES[i]![0]), `cue ${i} start`).toBeLessThan(0.05);
      expect(Math.abs(b - CUES[i]![1]), `cue ${i} end`).toBeLessThan(0.05);
    });
  });

  it('H.264: streamkit.json and the --json done event carry the dash report, the same as the MPD says', async () => {
    const manifest = JSON.parse(await readFile(join(h264, 'streamkit.json'), 'utf8')) as Manifest;
    const expected = {
      manifest: 'manifest.mpd',
      minBufferTime: h264Dash.minBufferTime,
      representations: h264Dash.representations.map((r) => ({ id: r.id, contentType: r.contentType, codecs: r.codecs ?? null, bandwidth: r.bandwidth })),
    };
    expect(manifest.dash).toEqual(expected);
    expect(done?.['dash']).toEqual(expected);
    expect(manifest.outputs.map((o) => o.path)).toEqual(expect.arrayContaining(['manifest.mpd', 'subs-1/subtitles.vtt']));
  });

  it('the check can fail: tampered copies of the MPD are refused', async () => {
    const tampered = async (name: string, edit: (xml: string) => string): Promise<string> => {
      const copy = join(dir, `tampered-${name}`);
      await cp(h264, copy, { recursive: true });
      const xml = await readFile(join(copy, 'manifest.mpd'), 'utf8');
      const changed = edit(xml);
      expect(changed, `${name} changed the MPD`).not.toBe(xml);
      await writeFile(join(copy, 'manifest.mpd'), changed);
      return copy;
    };
    const top = h264Dash.representations.find((r) => r.id === '180p')!;
    // 10% under the need: some segment arrives after it is due
    await expect(checkDash(await tampered('bandwidth', (x) => x.replace(`bandwidth="${top.bandwidth}"`, `bandwidth="${Math.floor(top.bandwidth * 0.9)}"`)))).rejects.toThrow(
      /no segment arrives late/,
    );
    // far over the need: more than the peak segment bitrate
    await expect(checkDash(await tampered('over', (x) => x.replace(`bandwidth="${top.bandwidth}"`, `bandwidth="${top.bandwidth * 3}"`)))).rejects.toThrow(/peak segment bitrate/);
    await expect(checkDash(await tampered('codecs', (x) => x.replace(`codecs="${top.codecs}"`, 'codecs="avc1.640028"')))).rejects.toThrow(/@codecs/);
    const t0 = top.segments[0]!.t;
    await expect(checkDash(await tampered('start', (x) => x.replace(`<S t="${t0}"`, `<S t="${t0 + 1}"`)))).rejects.toThrow(/earliest presentation time/);
    // a segment the timeline does not reach: one S fewer (the last one's @r or the last S dropped)
    await expect(
      checkDash(
        await tampered('short', (x) => {
          const timeline = /(<Representation id="180p"[\s\S]*?)(\s*<S d="\d+"\/>)(\s*<\/SegmentTimeline>)/.exec(x)!;
          return x.replace(timeline[0], timeline[1]! + timeline[3]!);
        }),
      ),
    ).rejects.toThrow(/nothing after the timeline's end/);
    await expect(checkDash(await tampered('schema', (x) => x.replace('<Period id="0"', '<Period id="0" bogus="1"')))).rejects.toThrow(/validates against DASH-MPD\.xsd/);
  });

  it('AV1 and HEVC: the same structure, with av01 and full hvc1 codecs from the bitstream; HEVC with minBufferTime 1 s', async () => {
    // 29.97 fps: @frameRate 30000/1001 checked against the sample durations
    const source = await makeSource(join(dir, 'short.mp4'), { size: '320x180', rate: '30000/1001', duration: 3, audio: ['eng'] });
    const check = async (codec: 'av1' | 'hevc', dashYaml = DASH_YAML): Promise<CheckedDash> => {
      const preset = await writeFastPreset(dir, `${codec}-dash`, { codec, rungs: [180, 120], segmentDuration: 2, extraYaml: dashYaml });
      const output = join(dir, codec);
      await transcode({ input: source, preset, output, hw: 'cpu', toolchain });
      await checkPackage(output, { duration: 3, audioRenditions: 1 });
      return checkDash(output);
    };
    const av1 = await check('av1');
    expect(av1.representations.filter((r) => r.contentType === 'video').map((r) => r.codecs?.split('.')[0])).toEqual(['av01', 'av01']);
    expect(av1.representations[0]!.rep['@frameRate']).toBe('30000/1001');
    // a minBufferTime shorter than a segment: @bandwidth grows to match (checked by the simulation)
    const hevc = await check('hevc', '  dash: { minBufferTime: 1 }');
    expect(hevc.mpd['@minBufferTime']).toBe('PT1S');
    const hevcVideo = hevc.representations.filter((r) => r.contentType === 'video');
    // hvc1.<profile>.<compatibility>.<tier+level>.<constraints>: never the bare 'hvc1' of ffmpeg's dash muxer
    for (const r of hevcVideo) expect(r.codecs).toMatch(/^hvc1\.[1-4]\.[0-9A-F]+\.[LH]\d+(\.[0-9A-F]{2})*$/);
    // SDR: no HDR descriptors
    expect(hevcVideo[0]!.set.EssentialProperty).toBeUndefined();
  });

  it('HDR10 (PQ) HEVC: the video AdaptationSet says PQ as an EssentialProperty, BT.2020 as supplemental; Main 10 codecs', async () => {
    // testsrc2 made PQ (BT.2020, 10-bit) the way colour.test.ts makes its HDR sources, smaller and shorter
    const pq = await makeSource(join(dir, 'pq.mp4'), {
      size: '320x180',
      duration: 2,
      audio: ['eng'],
      vf: 'zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=smpte2084:m=bt2020nc:p=bt2020:r=tv:npl=203,format=yuv420p10le',
      // biome-ignore format: ffmpeg flag/value pairs
      video: [
        '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:hdr10=1:max-cll=203,150',
        '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-color_range', 'tv',
      ],
    });
    const preset = await writeFastPreset(dir, 'pq-dash', { codec: 'hevc', rungs: [180], segmentDuration: 2, extraYaml: DASH_YAML });
    const output = join(dir, 'pq');
    await transcode({ input: pq, preset, output, hw: 'cpu', toolchain });
    const checked = await checkDash(output);
    const video = checked.representations.filter((r) => r.contentType === 'video');
    expect(video).toHaveLength(1);
    expect(video[0]!.codecs).toMatch(/^hvc1\.2\./);
    expect(video[0]!.stream?.pix_fmt).toBe('yuv420p10le');
    expect(video[0]!.set.EssentialProperty).toEqual([{ '@schemeIdUri': 'urn:mpeg:mpegB:cicp:TransferCharacteristics', '@value': '16' }]);
    expect(video[0]!.set.SupplementalProperty).toEqual([
      { '@schemeIdUri': 'urn:mpeg:mpegB:cicp:ColourPrimaries', '@value': '9' },
      { '@schemeIdUri': 'urn:mpeg:mpegB:cicp:MatrixCoefficients', '@value': '9' },
    ]);
  });

  describe('preset refusals: exit 2 with the key path', () => {
    const cases: [string, string, RegExp][] = [
      ['dash-ts.yaml', 'extends: h264-ladder\npackaging:\n  hls: { container: ts }\n  dash: {}\n', /dash-ts\.yaml: packaging\.hls\.container: expected fmp4 with packaging\.dash/],
      ['dash-alone.yaml', 'extends: mp4-download\npackaging:\n  dash: {}\n', /dash-alone\.yaml: packaging\.dash: expected packaging\.hls beside packaging\.dash/],
      ['dash-buffer.yaml', 'extends: h264-ladder\npackaging:\n  dash: { minBufferTime: 0 }\n', /dash-buffer\.yaml: packaging\.dash\.minBufferTime/],
    ];
    for (const [name, text, message] of cases) {
      it(name, async () => {
        await writeFile(join(dir, name), text);
        const v = await cli(['presets', 'validate', name], { cwd: dir, env: cliEnv() });
        expect(v.code, v.stderr).toBe(2);
        expect(v.stderr).toMatch(message);
        const t = await cli(['transcode', '--hw', 'cpu', '-p', `./${name}`, '-o', `o-${name}`, 'clip.mp4'], { cwd: dir, env: cliEnv() });
        expect(t.code, t.stderr).toBe(2);
        expect(t.stderr).toMatch(message);
      });
    }
  });

  it('the built-in cmaf-ladder: the H.264 ladder with fMP4 HLS and DASH', async () => {
    const r = await cli(['--json', 'presets', 'show', 'cmaf-ladder'], { env: cliEnv() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"dash"/);
    expect(r.stdout).toMatch(/"container":\s*"fmp4"/);
  });
});
