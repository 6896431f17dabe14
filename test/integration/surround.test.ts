/**
 * Surround sound (README "Surround sound"): a 5.1 source keeps a 5.1 rendition in its own audio group
 * beside the AAC stereo downmix, every rung listed once per group, BANDWIDTH with that group's audio;
 * stereo sources get none. Real ffmpeg on generated 4 s sources (lavfi pan=5.1 / pan=7.1), every
 * package checked independently (test/helpers/hls-check.ts), channel counts read back with ffprobe.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAc3Frame } from '../../src/package/bitstream/ac3.js';
import { firstAudioFrame } from '../../src/package/inspect.js';
import { transcode } from '../../src/transcode.js';
import { checkPackage, cli, FFMPEG, ffmpeg, ffprobeJson, makeClip, need, parseEvents, run, unmet, writeFastPreset } from '../helpers/index.js';

/** A white frame and a 1 kHz beep every 2 s from t = 0 (as av-sync.test.ts), the beep in every channel of `layout`. */
async function makeFlashBeep(out: string, layout: '5.1' | '7.1' | 'stereo'): Promise<string> {
  const channels = { '5.1': 6, '7.1': 8, stereo: 2 }[layout];
  const pan = `pan=${layout}|${Array.from({ length: channels }, (_, i) => `c${i}=${(1 - i * 0.1).toFixed(1)}*c0`).join('|')}`;
  // biome-ignore format: ffmpeg flag/value pairs
  await ffmpeg([
    '-f', 'lavfi', '-i', "color=black:size=320x180:rate=24,drawbox=w=iw:h=ih:color=white:t=fill:enable='lt(mod(t,2),1/24)'",
    '-f', 'lavfi', '-i', "aevalsrc='if(lt(mod(t,2),0.05),sin(2*PI*1000*t),0)':s=48000",
    '-t', '4', '-af', pan,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '256k',
    out,
  ]);
  return out;
}

interface Stream {
  codec_name: string;
  channels: number;
  channel_layout?: string;
}

/** What a player downloads for one rendition, as one file: its init segment (fMP4) and every segment in order. */
async function renditionStream(pkg: string, dir: string, out: string): Promise<string> {
  const files = (await readdir(join(pkg, dir))).filter((f) => /^seg_\d+\.(ts|m4s)$/.test(f)).sort();
  const init = existsSync(join(pkg, dir, 'init.mp4')) ? [await readFile(join(pkg, dir, 'init.mp4'))] : [];
  await writeFile(out, Buffer.concat([...init, ...(await Promise.all(files.map((f) => readFile(join(pkg, dir, f)))))]));
  return out;
}

async function audioStream(file: string): Promise<Stream> {
  const { streams } = await ffprobeJson<{ streams: Stream[] }>([
    '-v',
    'error',
    '-select_streams',
    'a',
    '-show_entries',
    'stream=codec_name,channels,channel_layout',
    '-of',
    'json',
    file,
  ]);
  expect(streams).toHaveLength(1);
  return streams[0]!;
}

/** First PTS (s, -copyts) whose 1 ms window peaks above -20 dBFS / whose picture is white. */
async function firstMatch(file: string, what: 'beep' | 'white'): Promise<number> {
  const key = what === 'beep' ? 'lavfi.astats.Overall.Peak_level' : 'lavfi.signalstats.YAVG';
  const filter =
    what === 'beep'
      ? ['-vn', '-af', `asetnsamples=n=48,astats=metadata=1:reset=1,ametadata=print:key=${key}:file=-`]
      : ['-an', '-vf', `signalstats,metadata=print:key=${key}:file=-`];
  const { stdout } = await run(FFMPEG, ['-hide_banner', '-nostdin', '-copyts', '-i', file, ...filter, '-f', 'null', '-']);
  let pts: number | null = null;
  for (const line of stdout.split('\n')) {
    const frame = /pts_time:(-?[\d.]+)/.exec(line);
    if (frame) pts = Number(frame[1]);
    else if (line.startsWith(`${key}=`) && pts !== null && (what === 'beep' ? Number(line.slice(key.length + 1)) > -20 : Number(line.slice(key.length + 1)) > 128)) return pts;
  }
  throw new Error(`no ${what} in ${file}`);
}

function masterLines(text: string): { media: string[]; variants: { attrs: string; uri: string }[] } {
  const lines = text.split('\n');
  return {
    media: lines.filter((l) => l.startsWith('#EXT-X-MEDIA:')),
    variants: lines.flatMap((l, i) => (l.startsWith('#EXT-X-STREAM-INF:') ? [{ attrs: l, uri: lines[i + 1]! }] : [])),
  };
}

describe.skipIf(unmet(need.ffmpeg))('surround sound: a 5.1 rendition in its own group beside the stereo downmix', () => {
  let dir = '';
  let src51 = '';
  let src71 = '';
  let h264 = '';
  let hevc = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sk-surround-'));
    src51 = await makeFlashBeep(join(dir, 'src51.mp4'), '5.1');
    src71 = await makeFlashBeep(join(dir, 'src71.mp4'), '7.1');
    h264 = await writeFastPreset(dir, 'fast-h264', { codec: 'h264', rungs: [180, 120] });
    // fMP4, AC-3 chosen by the preset, and an MP4 file (the tee path: one output fanned out)
    hevc = await writeFastPreset(dir, 'fast-hevc', {
      codec: 'hevc',
      rungs: [180],
      extraYaml: '  mp4: { rungs: top }\naudio: { surround: { codec: ac3, bitrate: 448k } }\n',
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('H.264/TS, 5.1 source: E-AC-3 5.1 in group audio-eac3, every rung once per group, stereo first, notes in --json and streamkit.json', async () => {
    const out = join(dir, 'ts');
    const r = await cli(['transcode', src51, '-o', out, '--preset', h264, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const notes = parseEvents(r.stdout)
      .filter((e) => e.type === 'warning')
      .map((e) => String(e['message']));
    const note = '5.1 source: E-AC-3 5.1 rendition at 384 kb/s, in its own group beside the AAC stereo downmix';
    expect(notes.some((n) => n.includes(note))).toBe(true);
    const manifest = JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8')) as { notes: string[]; avSync: { renditions: { dir: string }[] } };
    expect(manifest.notes.some((n) => n.includes(note))).toBe(true);
    expect(manifest.avSync.renditions.map((x) => x.dir)).toContain('audio-1-51');

    await checkPackage(out, { audioRenditions: 2, fps: 24 });
    expect(await audioStream(await renditionStream(out, 'audio-1', join(dir, 'a.ts')))).toMatchObject({ codec_name: 'aac', channels: 2 });
    expect(await audioStream(await renditionStream(out, 'audio-1-51', join(dir, 'b.ts')))).toMatchObject({ codec_name: 'eac3', channels: 6 });
    // the package's own check reads the same from the frame header (acmod 7 + LFE)
    expect(parseAc3Frame(firstAudioFrame(await readFile(join(out, 'audio-1-51', 'seg_00000.ts')), false)!)).toEqual({ codec: 'ec-3', acmod: 7, lfeon: true, channels: 6 });

    const m = masterLines(await readFile(join(out, 'master.m3u8'), 'utf8'));
    expect(m.media).toEqual([
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Main",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-1/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-eac3",NAME="Main",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="6",URI="audio-1-51/index.m3u8"',
    ]);
    expect(m.variants).toHaveLength(4);
    expect(m.variants.slice(0, 2).every((v) => v.attrs.includes('AUDIO="audio"') && /CODECS="avc1\.[0-9a-f]+,mp4a\.40\.2"/.test(v.attrs))).toBe(true);
    expect(m.variants.slice(2).every((v) => v.attrs.includes('AUDIO="audio-eac3"') && /CODECS="avc1\.[0-9a-f]+,ec-3"/.test(v.attrs))).toBe(true);
    expect(
      m.variants
        .slice(2)
        .map((v) => v.uri)
        .sort(),
    ).toEqual(
      m.variants
        .slice(0, 2)
        .map((v) => v.uri)
        .sort(),
    );
    // the same rung costs more with 384 kb/s of E-AC-3 than with 128 kb/s of AAC
    const bw = (v: { attrs: string }): number => Number(/BANDWIDTH=(\d+)/.exec(v.attrs)![1]);
    for (const v of m.variants.slice(2)) expect(bw(v)).toBeGreaterThan(bw(m.variants.find((x) => x.uri === v.uri)!) + 200_000);
  });

  it('the beep of the 5.1 rendition plays with the white frame (AC-3 priming taken into account)', async () => {
    const out = join(dir, 'ts');
    const white = await firstMatch(await renditionStream(out, '180p', join(dir, 'v.ts')), 'white');
    const beep = await firstMatch(await renditionStream(out, 'audio-1-51', join(dir, 'b.ts')), 'beep');
    const stereoBeep = await firstMatch(await renditionStream(out, 'audio-1', join(dir, 'a.ts')), 'beep');
    expect(Math.abs(beep - white) * 1000).toBeLessThanOrEqual(3);
    expect(Math.abs(beep - stereoBeep) * 1000).toBeLessThanOrEqual(3);
  });

  it('HEVC/fMP4 with an MP4 file, 7.1 source: AC-3 downmixed to 5.1, the MP4 file keeps the stereo rendition only', async () => {
    const out = join(dir, 'fmp4');
    const result = await transcode({ input: src71, preset: hevc, output: out });
    expect(result.package!.audio.map((a) => [a.dir, a.groupId, a.channels, a.codecs])).toEqual([
      ['audio-1', 'audio', 2, ['mp4a.40.2']],
      ['audio-1-51', 'audio-ac3', 6, ['ac-3']],
    ]);
    await checkPackage(out, { audioRenditions: 2 });
    expect(await audioStream(await renditionStream(out, 'audio-1-51', join(dir, 'c.mp4')))).toMatchObject({ codec_name: 'ac3', channels: 6 });
    expect(parseAc3Frame(firstAudioFrame(await readFile(join(out, 'audio-1-51', 'seg_00000.m4s')), true)!)).toMatchObject({ codec: 'ac-3', channels: 6 });
    const m = masterLines(await readFile(join(out, 'master.m3u8'), 'utf8'));
    expect(m.variants.map((v) => /AUDIO="([^"]+)"/.exec(v.attrs)![1])).toEqual(['audio', 'audio-ac3']);
    expect(m.variants[1]!.attrs).toMatch(/CODECS="hvc1\.[^,]+,ac-3"/);
    const manifest = JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8')) as { notes: string[] };
    expect(manifest.notes.some((n) => n.includes('7.1 source: AC-3 5.1 rendition at 448 kb/s, downmixed from 7.1 to 5.1'))).toBe(true);
    const { streams } = await ffprobeJson<{ streams: Stream[] }>([
      '-v',
      'error',
      '-select_streams',
      'a',
      '-show_entries',
      'stream=codec_name,channels',
      '-of',
      'json',
      join(out, 'mp4', '180p.mp4'),
    ]);
    expect(streams).toEqual([{ codec_name: 'aac', channels: 2 }]);
  });

  it('a stereo source gets no surround rendition and no extra group', async () => {
    const src = await makeClip(join(dir, 'stereo.mp4'), 2);
    const out = join(dir, 'stereo');
    const result = await transcode({ input: src, preset: h264, output: out });
    expect(result.package!.audio.map((a) => a.dir)).toEqual(['audio-1']);
    const m = masterLines(await readFile(join(out, 'master.m3u8'), 'utf8'));
    expect(m.media).toHaveLength(1);
    expect(m.variants).toHaveLength(2);
    expect(existsSync(join(out, 'audio-1-51'))).toBe(false);
    // and the frame header check tells stereo AC-3 from 5.1 in what ffmpeg writes
    const ac3 = join(dir, 'stereo-ac3.ts');
    await ffmpeg(['-i', src, '-vn', '-c:a', 'ac3', '-ac', '2', '-f', 'mpegts', ac3]);
    expect(parseAc3Frame(firstAudioFrame(await readFile(ac3), false)!)).toMatchObject({ codec: 'ac-3', acmod: 2, channels: 2 });
  });

  it('probe shows the channel layout and the decision', async () => {
    const r = await cli(['probe', src51, '--preset', h264]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/audio #1: aac 6 ch \(5\.1\) 48000 Hz/);
    expect(r.stdout).toMatch(/audio-1-51 eac3 6 ch "Main" \(surround group\)/);
    expect(r.stdout).toContain('note: 5.1 source: E-AC-3 5.1 rendition at 384 kb/s');
  });
});
