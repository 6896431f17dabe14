/**
 * Colour and HDR (issue 19): HDR sources are kept HDR on HEVC/AV1 ladders (10-bit, BT.2020/PQ or HLG
 * tags, HDR10 metadata, VIDEO-RANGE) and tone-mapped to SDR BT.709 on H.264 ladders; SDR sources
 * keep their colour description. The HDR test sources are made from an SDR original (testsrc2) with
 * zscale, with SDR white at HDR reference white (203 cd/m²), so the tone-mapped output can be
 * compared with the original it came from.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMasterPlaylist } from '../../src/package/playlist.js';
import { transcode } from '../../src/transcode.js';
import { FFMPEG, FFPROBE, ffmpeg, ffprobeJson, makeSource, need, run, unmet, writeFastPreset } from '../helpers/index.js';

const SIZE = '640x360';
const MASTER_DISPLAY = 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)';

type Stream = { pix_fmt?: string; color_primaries?: string; color_transfer?: string; color_space?: string; color_range?: string; profile?: string };
type SideData = { side_data_type?: string; max_luminance?: string; min_luminance?: string; green_x?: string; max_content?: number; max_average?: number };

/** An HDR source made from testsrc2: SDR white at 203 cd/m², 10-bit HEVC, with or without HDR10 metadata. */
async function hdrSource(out: string, transfer: 'smpte2084' | 'arib-std-b67'): Promise<string> {
  const pq = transfer === 'smpte2084';
  const x265 = ['log-level=error', 'crf=6', ...(pq ? ['hdr10=1', `master-display=${MASTER_DISPLAY}`, 'max-cll=203,150'] : [])].join(':');
  return makeSource(out, {
    size: SIZE,
    duration: 2,
    vf: `zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=${transfer}:m=bt2020nc:p=bt2020:r=tv:npl=203,format=yuv420p10le`,
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    video: [
      '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', x265,
      '-color_primaries', 'bt2020', '-color_trc', transfer, '-colorspace', 'bt2020nc', '-color_range', 'tv',
    ],
  });
}

/** The first video segment of a rendition, with its init segment for fMP4, as one file ffprobe can read. */
async function firstSegment(pkg: string, rung: string, dir: string): Promise<string> {
  const playlist = await readFile(join(pkg, rung, 'index.m3u8'), 'utf8');
  const seg = playlist.split('\n').find((l) => l && !l.startsWith('#'))!;
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
  const out = join(dir, `${rung}-${Math.random().toString(16).slice(2)}.${map ? 'mp4' : 'ts'}`);
  const parts = await Promise.all([...(map ? [map] : []), seg].map((f) => readFile(join(pkg, rung, f))));
  await writeFile(out, Buffer.concat(parts));
  return out;
}

async function videoStream(file: string): Promise<Stream> {
  return (await ffprobeJson<{ streams: Stream[] }>(['-select_streams', 'v:0', '-show_streams', file])).streams[0]!;
}

async function firstFrameSideData(file: string): Promise<SideData[]> {
  const r = await ffprobeJson<{ frames: { side_data_list?: SideData[] }[] }>([
    '-select_streams',
    'v:0',
    '-read_intervals',
    '%+#1',
    '-show_frames',
    '-show_entries',
    'frame=side_data_list',
    file,
  ]);
  return r.frames[0]?.side_data_list ?? [];
}

/** PSNR (average) and mean saturation ratio of `file`'s first 2 s against testsrc2 at the same size. */
async function againstOriginal(file: string, size: string): Promise<{ psnr: number; saturation: number }> {
  const lavfi = `testsrc2=size=${size}:rate=30`;
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  const psnr = await run(FFMPEG, [
    '-hide_banner',
    '-f', 'lavfi', '-i', lavfi,
    '-i', file,
    '-t', '1.9',
    '-lavfi', '[0:v]format=yuv420p[a];[1:v]setpts=PTS-STARTPTS,format=yuv420p[b];[a][b]psnr',
    '-f', 'null', '-',
  ]);
  const avg = Number(/PSNR .*average:([\d.]+)/.exec(psnr.stderr)?.[1]);
  const sat = async (input: string[]): Promise<number> => {
    const r = await run(FFMPEG, ['-hide_banner', ...input, '-t', '1.9', '-vf', 'format=yuv420p,signalstats,metadata=print:key=lavfi.signalstats.SATAVG', '-f', 'null', '-']);
    const values = [...r.stderr.matchAll(/SATAVG=([\d.]+)/g)].map((m) => Number(m[1]));
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const saturation = (await sat(['-i', file])) / (await sat(['-f', 'lavfi', '-i', lavfi]));
  return { psnr: avg, saturation };
}

describe.skipIf(unmet(need.ffmpeg))('colour and HDR', () => {
  let dir = '';
  let pq = '';
  let hlg = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-colour-'));
    [pq, hlg] = await Promise.all([hdrSource(join(dir, 'pq.mp4'), 'smpte2084'), hdrSource(join(dir, 'hlg.mp4'), 'arib-std-b67')]);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('HDR10 (PQ) -> HEVC ladder: every rung 10-bit Main 10, BT.2020/PQ, the mastering display and MaxCLL/MaxFALL carried, VIDEO-RANGE=PQ', async () => {
    const preset = await writeFastPreset(dir, 'hevc', { codec: 'hevc', rungs: [360, 180] });
    const out = join(dir, 'pq-hevc');
    const warnings: string[] = [];
    await transcode({
      input: pq,
      preset,
      output: out,
      hw: 'cpu',
      ffmpeg: FFMPEG,
      ffprobe: FFPROBE,
      onEvent: (e) => {
        if (e.type === 'warning') warnings.push(e.message);
      },
    });
    expect(warnings.find((w) => w.startsWith('HDR10 (PQ) source kept as HDR'))).toMatch(/mastering display and MaxCLL 203 \/ MaxFALL 150/);
    const master = parseMasterPlaylist(await readFile(join(out, 'master.m3u8'), 'utf8'));
    expect(master.variants.map((v) => v.attrs['VIDEO-RANGE'])).toEqual(['PQ', 'PQ']);
    expect(master.iframes.map((v) => v['VIDEO-RANGE'])).toEqual(['PQ', 'PQ']);
    for (const v of master.variants) expect(v.attrs['CODECS']).toMatch(/^hvc1\.2\.4\./);
    for (const rung of ['360p', '180p']) {
      const file = await firstSegment(out, rung, dir);
      expect(await videoStream(file)).toMatchObject({
        profile: 'Main 10',
        pix_fmt: 'yuv420p10le',
        color_primaries: 'bt2020',
        color_transfer: 'smpte2084',
        color_space: 'bt2020nc',
        color_range: 'tv',
      });
      const side = await firstFrameSideData(file);
      expect(side.find((s) => s.side_data_type === 'Mastering display metadata')).toMatchObject({
        green_x: '13250/50000',
        max_luminance: '10000000/10000',
        min_luminance: '50/10000',
      });
      expect(side.find((s) => s.side_data_type === 'Content light level metadata')).toMatchObject({ max_content: 203, max_average: 150 });
    }
    const manifest = JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8')) as { notes?: string[]; colour?: { range?: string; bitDepth?: number } };
    expect(manifest.notes?.some((n) => n.includes('kept as HDR'))).toBe(true);
    expect(manifest.colour).toMatchObject({ range: 'PQ', bitDepth: 10 });
    // the poster is a JPEG, SDR: tone-mapped like an SDR ladder, not PQ code values shown as SDR
    const poster = await againstOriginal(join(out, 'poster.jpg'), SIZE);
    expect(poster.saturation).toBeGreaterThan(0.8);
    expect(poster.saturation).toBeLessThan(1.25);
  }, 180_000);

  it('HDR10 (PQ) -> H.264 ladder: tone-mapped to 8-bit BT.709, close to the SDR original (PSNR and saturation), where an untone-mapped copy is not', async () => {
    const preset = await writeFastPreset(dir, 'h264', { codec: 'h264', rungs: [360] });
    const out = join(dir, 'pq-h264');
    await transcode({ input: pq, preset, output: out, hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    const file = await firstSegment(out, '360p', dir);
    expect(await videoStream(file)).toMatchObject({ pix_fmt: 'yuv420p', color_primaries: 'bt709', color_transfer: 'bt709', color_space: 'bt709' });
    const master = parseMasterPlaylist(await readFile(join(out, 'master.m3u8'), 'utf8'));
    expect(master.variants[0]!.attrs['VIDEO-RANGE']).toBeUndefined();
    // what the H.264 ladder did before: the PQ frames made 8-bit and shown as BT.709
    const naive = join(dir, 'naive.mp4');
    await ffmpeg(['-i', pq, '-vf', 'format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12', naive]);
    const mapped = await againstOriginal(file, SIZE);
    const untouched = await againstOriginal(naive, SIZE);
    expect(mapped.psnr).toBeGreaterThan(untouched.psnr + 8);
    expect(mapped.psnr).toBeGreaterThan(28);
    expect(mapped.saturation).toBeGreaterThan(0.85);
    expect(mapped.saturation).toBeLessThan(1.15);
    expect(Math.abs(untouched.saturation - 1)).toBeGreaterThan(0.25);
  }, 180_000);

  it('HLG -> HEVC keeps HLG (VIDEO-RANGE=HLG, arib-std-b67, 10-bit); HLG -> H.264 is tone-mapped to BT.709', async () => {
    const hevc = await writeFastPreset(dir, 'hevc-hlg', { codec: 'hevc', rungs: [180] });
    const h264 = await writeFastPreset(dir, 'h264-hlg', { codec: 'h264', rungs: [180] });
    await transcode({ input: hlg, preset: hevc, output: join(dir, 'hlg-hevc'), hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    await transcode({ input: hlg, preset: h264, output: join(dir, 'hlg-h264'), hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    const master = parseMasterPlaylist(await readFile(join(dir, 'hlg-hevc', 'master.m3u8'), 'utf8'));
    expect(master.variants[0]!.attrs['VIDEO-RANGE']).toBe('HLG');
    expect(await videoStream(await firstSegment(join(dir, 'hlg-hevc'), '180p', dir))).toMatchObject({
      pix_fmt: 'yuv420p10le',
      color_transfer: 'arib-std-b67',
      color_primaries: 'bt2020',
    });
    const sdr = await firstSegment(join(dir, 'hlg-h264'), '180p', dir);
    expect(await videoStream(sdr)).toMatchObject({ pix_fmt: 'yuv420p', color_transfer: 'bt709', color_primaries: 'bt709' });
    const mapped = await againstOriginal(sdr, '320x180');
    expect(mapped.saturation).toBeGreaterThan(0.8);
    expect(mapped.saturation).toBeLessThan(1.2);
  }, 180_000);

  it('video.hdr: sdr tone-maps an HEVC ladder too; an AV1 ladder keeps HDR10 with its metadata', async () => {
    const sdr = await writeFastPreset(dir, 'hevc-sdr', { codec: 'hevc', rungs: [180], extraYaml: '' });
    const text = (await readFile(sdr, 'utf8')).replace('  keyframeInterval:', '  hdr: sdr\n  keyframeInterval:');
    await writeFile(sdr, text);
    await transcode({ input: pq, preset: sdr, output: join(dir, 'pq-hevc-sdr'), hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    expect(await videoStream(await firstSegment(join(dir, 'pq-hevc-sdr'), '180p', dir))).toMatchObject({ pix_fmt: 'yuv420p', color_transfer: 'bt709', profile: 'Main' });

    const av1 = await writeFastPreset(dir, 'av1', { codec: 'av1', rungs: [180] });
    await transcode({ input: pq, preset: av1, output: join(dir, 'pq-av1'), hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    const file = await firstSegment(join(dir, 'pq-av1'), '180p', dir);
    expect(await videoStream(file)).toMatchObject({ pix_fmt: 'yuv420p10le', color_transfer: 'smpte2084', color_primaries: 'bt2020' });
    const side = await firstFrameSideData(file);
    expect(side.map((s) => s.side_data_type)).toEqual(expect.arrayContaining(['Mastering display metadata', 'Content light level metadata']));
    const master = parseMasterPlaylist(await readFile(join(dir, 'pq-av1', 'master.m3u8'), 'utf8'));
    // CODECS from the bitstream: 10-bit, BT.2020 (09), PQ (16), BT.2020 NCL (09)
    expect(master.variants[0]!.attrs['CODECS']).toMatch(/^av01\.0\.\d\dM\.10\.0\.\d{3}\.09\.16\.09\.0,/);
    expect(master.variants[0]!.attrs['VIDEO-RANGE']).toBe('PQ');
  }, 180_000);

  it('video.hdr: both: the HDR ladder plus an SDR copy of every rung in one package, each variant saying its range', async () => {
    const both = await writeFastPreset(dir, 'hevc-both', { codec: 'hevc', rungs: [360, 180] });
    await writeFile(both, (await readFile(both, 'utf8')).replace('  keyframeInterval:', '  hdr: both\n  keyframeInterval:'));
    const out = join(dir, 'pq-both');
    await transcode({ input: pq, preset: both, output: out, hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    const master = parseMasterPlaylist(await readFile(join(out, 'master.m3u8'), 'utf8'));
    const byUri = new Map(master.variants.map((v) => [v.uri, v.attrs]));
    expect([...byUri.keys()].sort()).toEqual(['180p-sdr/index.m3u8', '180p/index.m3u8', '360p-sdr/index.m3u8', '360p/index.m3u8']);
    for (const rung of ['360p', '180p']) {
      expect(byUri.get(`${rung}/index.m3u8`)!['VIDEO-RANGE']).toBe('PQ');
      expect(byUri.get(`${rung}/index.m3u8`)!['CODECS']).toMatch(/^hvc1\.2\.4\./);
      expect(byUri.get(`${rung}-sdr/index.m3u8`)!['VIDEO-RANGE']).toBeUndefined();
      expect(byUri.get(`${rung}-sdr/index.m3u8`)!['CODECS']).toMatch(/^hvc1\.1\.6\./);
      expect(await videoStream(await firstSegment(out, rung, dir))).toMatchObject({ pix_fmt: 'yuv420p10le', color_transfer: 'smpte2084', profile: 'Main 10' });
      const sdr = await firstSegment(out, `${rung}-sdr`, dir);
      expect(await videoStream(sdr)).toMatchObject({ pix_fmt: 'yuv420p', color_transfer: 'bt709', color_primaries: 'bt709', profile: 'Main' });
      expect((await firstFrameSideData(sdr)).some((d) => d.side_data_type === 'Mastering display metadata')).toBe(false);
    }
    const sdrTop = await againstOriginal(await firstSegment(out, '360p-sdr', dir), SIZE);
    expect(sdrTop.saturation).toBeGreaterThan(0.85);
    expect(sdrTop.saturation).toBeLessThan(1.15);
  }, 180_000);

  it('SDR: a BT.709-tagged source keeps its tags on every rung; an untagged one stays untagged and says so', async () => {
    const preset = await writeFastPreset(dir, 'sdr', { codec: 'h264', rungs: [180] });
    const tagged = await makeSource(join(dir, 'tagged.mp4'), {
      duration: 1,
      // biome-ignore format: ffmpeg flag/value pairs, one pair per line
      video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv'],
    });
    const untagged = await makeSource(join(dir, 'untagged.mp4'), { duration: 1 });
    const notes: string[] = [];
    await transcode({ input: tagged, preset, output: join(dir, 'tagged'), hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    await transcode({
      input: untagged,
      preset,
      output: join(dir, 'untagged'),
      hw: 'cpu',
      ffmpeg: FFMPEG,
      ffprobe: FFPROBE,
      onEvent: (e) => {
        if (e.type === 'warning') notes.push(e.message);
      },
    });
    expect(await videoStream(await firstSegment(join(dir, 'tagged'), '180p', dir))).toMatchObject({
      color_primaries: 'bt709',
      color_transfer: 'bt709',
      color_space: 'bt709',
      color_range: 'tv',
    });
    const plain = await videoStream(await firstSegment(join(dir, 'untagged'), '180p', dir));
    expect(plain.color_primaries ?? 'unknown').toBe('unknown');
    expect(notes.some((n) => n.startsWith('The source has no colour description'))).toBe(true);
  }, 120_000);
});
