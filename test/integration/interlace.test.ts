/**
 * Interlaced sources (issue 19): the container's field order, confirmed by idet on a sample, and
 * bwdif by default. The interlaced test source is real interlacing: testsrc2 at 50 frames/s woven
 * into 25 interlaced frames/s (top field first) by ffmpeg's interlace filter, coded as interlaced.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcode } from '../../src/transcode.js';
import { cli, FFMPEG, FFPROBE, ffmpeg, ffprobeJson, makeSource, need, run, unmet, writeFastPreset } from '../helpers/index.js';

/** idet's per-frame verdicts on a file (multiple-frame detection), counted. */
async function idet(file: string): Promise<Record<string, number>> {
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  const r = await run(FFMPEG, [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-i', file,
    '-vf', 'idet,metadata=print:key=lavfi.idet.multiple.current_frame:file=pipe\\\\:1',
    '-f', 'null', '-',
  ]);
  const counts: Record<string, number> = { tff: 0, bff: 0, progressive: 0, undetermined: 0 };
  for (const m of r.stdout.matchAll(/current_frame=(\w+)/g)) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
  return counts;
}

const share = (c: Record<string, number>, ...keys: string[]): number => keys.reduce((a, k) => a + (c[k] ?? 0), 0) / Object.values(c).reduce((a, b) => a + b, 0);

async function firstSegment(pkg: string, rung: string): Promise<string> {
  const playlist = await readFile(join(pkg, rung, 'index.m3u8'), 'utf8');
  return join(pkg, rung, playlist.split('\n').find((l) => l && !l.startsWith('#'))!);
}

async function rate(file: string): Promise<string> {
  return (await ffprobeJson<{ streams: { r_frame_rate: string }[] }>(['-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate', file])).streams[0]!.r_frame_rate;
}

describe.skipIf(unmet(need.ffmpeg))('interlaced sources', () => {
  let dir = '';
  let interlaced = '';
  let mislabelled = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-interlace-'));
    [interlaced, mislabelled] = await Promise.all([
      makeSource(join(dir, 'tff.mp4'), {
        size: '640x360',
        rate: '50',
        duration: 3,
        vf: 'interlace=scan=tff,setfield=tff',
        video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-flags', '+ilme+ildct', '-x264-params', 'tff=1', '-r', '25'],
      }),
      // progressive frames coded as interlaced (top field first): the stream says "tt". testsrc, not
      // testsrc2: testsrc2's one-pixel stripes look like combing to idet even when progressive
      (async () => {
        const out = join(dir, 'flagged.mp4');
        // biome-ignore format: ffmpeg flag/value pairs, one pair per line
        await ffmpeg([
          '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25',
          '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
          '-t', '3',
          '-vf', 'setfield=tff',
          '-c:v', 'libx264', '-preset', 'ultrafast', '-flags', '+ildct',
          '-c:a', 'aac',
          out,
        ]);
        return out;
      })(),
    ]);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const encode = async (input: string, name: string, deinterlace?: string): Promise<{ out: string; notes: string[] }> => {
    let preset = await writeFastPreset(dir, name, { codec: 'h264', rungs: [360] });
    if (deinterlace) {
      const text = (await readFile(preset, 'utf8')).replace('  keyframeInterval:', `  deinterlace: ${deinterlace}\n  keyframeInterval:`);
      preset = join(dir, `${name}-d.yaml`);
      await writeFile(preset, text);
    }
    const out = join(dir, name);
    const notes: string[] = [];
    await transcode({
      input,
      preset,
      output: out,
      hw: 'cpu',
      ffmpeg: FFMPEG,
      ffprobe: FFPROBE,
      onEvent: (e) => {
        if (e.type === 'warning') notes.push(e.message);
      },
    });
    return { out, notes };
  };

  it('the test sources are what they claim: one interlaced, one progressive but flagged top field first', async () => {
    expect(share(await idet(interlaced), 'tff')).toBeGreaterThan(0.8);
    expect(share(await idet(mislabelled), 'tff', 'bff')).toBeLessThan(0.1);
    const order = await ffprobeJson<{ streams: { field_order?: string }[] }>(['-select_streams', 'v:0', '-show_entries', 'stream=field_order', mislabelled]);
    expect(order.streams[0]!.field_order).toBe('tt');
  });

  it('auto: confirmed by idet, deinterlaced with bwdif one frame per frame: the rung is progressive at 25 fps, and the run says so', async () => {
    const { out, notes } = await encode(interlaced, 'auto');
    expect(notes.find((n) => n.startsWith('Interlaced source'))).toMatch(
      /flagged top field first \(idet: \d+ top-field-first.*deinterlaced with bwdif, top field first, one frame per frame/,
    );
    const seg = await firstSegment(out, '360p');
    expect(share(await idet(seg), 'tff', 'bff')).toBeLessThan(0.1);
    expect(await rate(seg)).toBe('25/1');
    expect(JSON.parse(await readFile(join(out, 'streamkit.json'), 'utf8')).notes).toEqual(expect.arrayContaining([expect.stringMatching(/^Interlaced source/)]));
  }, 120_000);

  it('field: one frame per field, 50 fps', async () => {
    const { out, notes } = await encode(interlaced, 'field', 'field');
    expect(notes.some((n) => n.includes('one frame per field (double frame rate)'))).toBe(true);
    const seg = await firstSegment(out, '360p');
    expect(await rate(seg)).toBe('50/1');
    expect(share(await idet(seg), 'tff', 'bff')).toBeLessThan(0.1);
  }, 120_000);

  it('off: the fields stay as they are, and the run says so', async () => {
    const { out, notes } = await encode(interlaced, 'off', 'off');
    expect(notes.some((n) => n.includes('video.deinterlace: off keeps the fields'))).toBe(true);
    expect(share(await idet(await firstSegment(out, '360p')), 'tff', 'bff')).toBeGreaterThan(0.5);
  }, 120_000);

  it("probe shows the field order, idet's count and the decision", async () => {
    const r = await cli(['probe', interlaced, '--preset', 'h264-ladder']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^scan: field order tt, idet on a sample: \d+ top-field-first, \d+ bottom-field-first/m);
    expect(r.stdout).toMatch(/note: Interlaced source .* deinterlaced with bwdif/);
  }, 60_000);

  it('a progressive source flagged interlaced is not deinterlaced (idet refutes the flag), and the run says so', async () => {
    const { out, notes } = await encode(mislabelled, 'flagged');
    expect(notes.find((n) => n.includes('flagged top field first but its frames are progressive'))).toBeDefined();
    expect(notes.some((n) => n.startsWith('Interlaced source'))).toBe(false);
    expect(await rate(await firstSegment(out, '360p'))).toBe('25/1');
  }, 120_000);
});
