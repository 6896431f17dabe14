/**
 * The CPU filter graph as the real ffmpeg runs it. This machine may have fewer cores than the
 * threshold at which streamkit threads its scalers (scaleThreadsFor), so the threaded graph is
 * forced here: ffmpeg must accept it, and its frames must be bit-identical to the unthreaded graph's,
 * the pixel format conversion (10-bit 4:2:2 in, the encoder's 8-bit 4:2:0 out) included.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoFilterGraph } from '../../src/args/command.js';
import { planTranscode } from '../../src/transcode.js';
import { ffmpeg, FFMPEG, FFPROBE, makeSource, need, unmet, writeFastPreset } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('CPU filter graph', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-graph-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('threaded scalers give the same frames as unthreaded ones', async () => {
    const input = await makeSource(join(dir, 'ten-bit.mp4'), {
      size: '640x360',
      duration: 1,
      audio: [],
      video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv422p10le'],
    });
    const preset = await writeFastPreset(dir, 'two-rungs', { codec: 'h264', rungs: [360, 180] });
    const { plan } = await planTranscode({ input, preset, hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    const frames = async (scaleThreads: number): Promise<{ graph: string; md5: string[] }> => {
      const { graph, outputs } = videoFilterGraph({ ...plan, scaleThreads });
      const files = outputs.map((o) => join(dir, `${o}-${scaleThreads}.framemd5`));
      await ffmpeg(['-i', `file:${input}`, '-filter_complex', graph, ...outputs.flatMap((o, i) => ['-map', `[${o}]`, '-f', 'framemd5', files[i]!])]);
      return { graph, md5: await Promise.all(files.map((f) => readFile(f, 'utf8'))) };
    };
    const plain = await frames(1);
    const threaded = await frames(2);
    expect(plain.graph).not.toContain('threads=');
    // the conversion and the 180p scaler; the 360p rung has the source's size and is not scaled
    expect(threaded.graph.match(/threads=2/g)).toHaveLength(2);
    for (const md5 of plain.md5) expect(md5.split('\n').filter((l) => /^0,/.test(l)).length).toBe(30);
    expect(threaded.md5).toEqual(plain.md5);
  }, 60_000);
});
