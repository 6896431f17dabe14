/**
 * HLS + progressive MP4 + FLV from one transcode, through the CLI, on tiny generated media.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { probeCapabilities, versionAtLeast } from '../../src/ffmpeg/capabilities.js';
import { FFMPEG, FFPROBE, need, unmet } from '../helpers/index.js';

const run = promisify(execFile);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  events: { type: string; [k: string]: unknown }[];
}

async function cli(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  const out = sink((s) => (stdout += s));
  const err = sink((s) => (stderr += s));
  const code = await main(['--ffmpeg', FFMPEG, '--ffprobe', FFPROBE, ...args], { out, err, env: { ...process.env, CI: '1' }, signal: new AbortController().signal });
  const events = args.includes('--json')
    ? stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as CliRun['events'][number])
    : [];
  return { code, stdout, stderr, events };
}

/** Top-level MP4 boxes, walked independently of the code under test. */
function topBoxes(buf: Buffer): string[] {
  const types: string[] = [];
  for (let off = 0; off + 8 <= buf.length; ) {
    let size = buf.readUInt32BE(off);
    if (size === 1) size = Number(buf.readBigUInt64BE(off + 8));
    if (size === 0) size = buf.length - off;
    types.push(buf.toString('latin1', off + 4, off + 8));
    off += size;
  }
  return types;
}

async function probe(
  file: string,
): Promise<{ streams: { codec_type: string; codec_name: string; width?: number; height?: number; sample_rate?: string }[]; format: { duration: string; format_name: string } }> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  return JSON.parse(stdout) as never;
}

/** MD5 of every decoded video frame, in order (timestamps left out). */
async function frameHashes(input: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', ...extra, '-i', input, '-map', '0:v:0', '-f', 'framemd5', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').pop()!.trim());
}

describe.skipIf(unmet(need.ffmpeg))('HLS + MP4 + FLV from one transcode', () => {
  let root = '';
  let src = '';
  let combo = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'streamkit-files-'));
    src = join(root, 'src.mp4');
    await run(FFMPEG, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=44100',
      '-t',
      '4',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-ac',
      '2',
      `file:${src}`,
    ]);
    combo = join(root, 'combo.yaml');
    await writeFile(
      combo,
      [
        'name: combo',
        'video:',
        '  codec: h264',
        // one x264 thread: with frame threads and VBV, x264's output depends on thread timing (12 runs
        // of one ffmpeg command gave 9 different streams), and a test below compares two encodes
        '  encoder: { cpu: { name: libx264, preset: ultrafast, options: { threads: 1 } } }',
        '  rateControl: { mode: vbr }',
        '  keyframeInterval: 1',
        '  rungs:',
        '    - { name: top, height: 180, bitrate: 400k }',
        '    - { name: low, height: 90, bitrate: 150k }',
        'audio: { bitrate: 64k }',
        'packaging:',
        '  hls: { segmentDuration: 2 }',
        '  mp4: { rungs: all }',
        '  flv: { rungs: top }',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('plans one ffmpeg process with one encoder per rung and per audio rendition, fanned out by tee', async () => {
    const r = await cli(['--json', 'transcode', src, '-p', combo, '-o', join(root, 'planned'), '--dry-run']);
    expect(r.code).toBe(0);
    const plan = r.events.find((e) => e.type === 'plan')!;
    const argv = plan['command'] as string[];
    // one encoder per rung; the two unnumbered -c:v are the sprites' and the poster's mjpeg (args/thumbnails.ts)
    expect(argv.filter((a) => /^-c:v(:|$)/.test(a))).toEqual(['-c:v:0', '-c:v:1', '-c:v', '-c:v']);
    expect(argv.filter((a) => a === 'mjpeg')).toHaveLength(2);
    expect(argv.filter((a) => /^-c:a(:|$)/.test(a))).toEqual(['-c:a:0']);
    expect(argv.filter((a) => a === '-i')).toHaveLength(1);
    // after the input (before -i: the pinned demuxer): the encode's one output, then the sprites and the poster
    const outputs = argv.slice(argv.indexOf('-i'));
    expect(outputs.flatMap((a, i) => (a === '-f' ? [outputs[i + 1]] : []))).toEqual(['tee', 'image2', 'image2']);
    const f = argv.indexOf('tee') - 1;
    expect(argv[f + 3]).toBe('-map'); // the tee list is the encode's only output
    const slaves = argv[f + 2]!.split(/(?<!\\)\|/);
    expect(slaves).toHaveLength(6); // 2 rungs + 1 audio as HLS, 2 MP4, 1 FLV
    expect(slaves.filter((s) => s.startsWith('[f=hls'))).toHaveLength(3);
    expect(slaves.filter((s) => s.startsWith('[f=mp4') && s.includes('movflags=+faststart'))).toHaveLength(2);
    expect(slaves.filter((s) => s.startsWith('[f=flv'))).toHaveLength(1);
    expect(existsSync(join(root, 'planned'))).toBe(false);
  });

  it('writes every target from that single encode, in a folder with awkward characters', async () => {
    // (no "%": ffmpeg 5.1's HLS muxer keeps an escaped "%%" as is, a limitation of the HLS path shared with HLS-only presets)
    const out = join(root, "out it's [a]:b|c\\d");
    const r = await cli(['--json', 'transcode', src, '-p', combo, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.events.filter((e) => e.type === 'stage' && e['stage'] === 'encode' && e['status'] === 'start')).toHaveLength(1);
    const start = r.events.find((e) => e.type === 'start')!;
    expect(start['targets']).toEqual({ hls: true, files: ['mp4/top.mp4', 'mp4/low.mp4', 'flv/top.flv'], thumbnails: true });
    expect(r.events.filter((e) => e.type === 'file').map((e) => e['path'])).toEqual(['mp4/top.mp4', 'mp4/low.mp4', 'flv/top.flv']);
    const done = r.events.find((e) => e.type === 'done')!;
    expect(done['master']).toBe(join(out, 'master.m3u8'));

    expect((await readdir(out)).sort()).toEqual(['audio-1', 'flv', 'low', 'master.m3u8', 'mp4', 'poster.jpg', 'streamkit.json', 'thumbnails', 'thumbnails.vtt', 'top']);
    expect((await readdir(root)).filter((n) => n.startsWith('.streamkit-tmp-'))).toEqual([]);

    // MP4: progressive, moov in front of the media data, H.264 + AAC of the right size
    for (const [name, w, h] of [
      ['top', 320, 180],
      ['low', 160, 90],
    ] as const) {
      const file = join(out, 'mp4', `${name}.mp4`);
      const boxes = topBoxes(await readFile(file));
      expect(boxes[0]).toBe('ftyp');
      expect(boxes.indexOf('moov')).toBeGreaterThan(-1);
      expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
      expect(boxes).not.toContain('moof');
      const p = await probe(file);
      expect(p.streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
      expect([p.streams[0]!.width, p.streams[0]!.height]).toEqual([w, h]);
      expect(Number(p.format.duration)).toBeCloseTo(4, 0);
    }

    // FLV: classic FLV with H.264 + AAC 48 kHz
    const flv = join(out, 'flv', 'top.flv');
    const head = await readFile(flv);
    expect(head.toString('latin1', 0, 3)).toBe('FLV');
    expect(head[4]! & 5).toBe(5);
    const pf = await probe(flv);
    expect(pf.format.format_name).toBe('flv');
    expect(pf.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(pf.streams.find((s) => s.codec_type === 'audio')!.sample_rate).toBe('48000');
    expect(Number(pf.format.duration)).toBeCloseTo(4, 0);

    // the same encoded frames everywhere: HLS rung, MP4 and FLV decode to identical pictures
    const hls = await frameHashes(`file:${join(out, 'top', 'index.m3u8')}`, ['-protocol_whitelist', 'file']);
    expect(hls.length).toBe(120);
    expect(await frameHashes(`file:${join(out, 'mp4', 'top.mp4')}`)).toEqual(hls);
    expect(await frameHashes(`file:${flv}`)).toEqual(hls);
  });

  it('leaves the HLS renditions exactly as an HLS-only preset writes them', async () => {
    const hlsOnly = join(root, 'hls-only.yaml');
    await writeFile(hlsOnly, (await readFile(combo, 'utf8')).replace(/ {2}mp4: .*\n {2}flv: .*\n/, ''));
    const [a, b] = [join(root, 'cmp-combo'), join(root, 'cmp-hls')];
    expect((await cli(['transcode', src, '-p', combo, '-o', a])).code).toBe(0);
    expect((await cli(['transcode', src, '-p', hlsOnly, '-o', b])).code).toBe(0);
    expect(existsSync(join(b, 'mp4'))).toBe(false);
    // same files, and the same decoded frames and samples in every rendition (the muxers' byte
    // interleaving may differ between a tee slave and a plain output; the encodes may not)
    const framemd5 = (playlist: string): string =>
      execFileSync('ffmpeg', ['-v', 'error', '-protocol_whitelist', 'file', '-i', `file:${playlist}`, '-map', '0', '-f', 'framemd5', '-'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n');
    for (const dir of ['top', 'low', 'audio-1']) {
      const names = (await readdir(join(b, dir))).sort();
      expect((await readdir(join(a, dir))).sort()).toEqual(names);
      expect(framemd5(join(a, dir, 'index.m3u8')), dir).toBe(framemd5(join(b, dir, 'index.m3u8')));
    }
  });

  it('runs an MP4-only preset (mp4-download): no HLS, one progressive file per fitting rung', async () => {
    const out = join(root, 'download');
    const r = await cli(['--json', 'transcode', src, '-p', 'mp4-download', '-o', out]);
    expect(r.code).toBe(0);
    const done = r.events.find((e) => e.type === 'done')!;
    expect(done['master']).toBeNull();
    // a 180p source: 1080p and 480p are taller, so the ladder has one rung at the source's height
    // a package without HLS gets its poster and thumbnails too (a download page shows them)
    expect((await readdir(out)).sort()).toEqual(['mp4', 'poster.jpg', 'streamkit.json', 'thumbnails', 'thumbnails.vtt']);
    expect(await readdir(join(out, 'mp4'))).toEqual(['180p.mp4']);
    const file = join(out, 'mp4', '180p.mp4');
    const boxes = topBoxes(await readFile(file));
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    expect((await probe(file)).streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
  });

  it('refuses HEVC in FLV on an ffmpeg without enhanced FLV (exit 4, nothing written), or writes it on one with', async () => {
    const preset = join(root, 'hevc-flv.yaml');
    await writeFile(preset, (await readFile(combo, 'utf8')).replace('codec: h264', 'codec: hevc').replace('libx264', 'libx265').replace('  hls: { segmentDuration: 2 }\n', ''));
    const out = join(root, 'hevc-flv');
    const r = await cli(['transcode', src, '-p', preset, '-o', out]);
    const caps = await probeCapabilities(FFMPEG);
    if (!versionAtLeast(caps, 6, 1)) {
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/FLV files with HEVC need enhanced FLV, which ffmpeg muxes from version 6\.1 on/);
      expect(r.stderr).toMatch(/hint: .*6\.1 or later/);
      expect(existsSync(out)).toBe(false);
    } else {
      expect(r.code).toBe(0);
      expect((await probe(join(out, 'flv', 'top.flv'))).streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'hevc']);
    }
  });
});
