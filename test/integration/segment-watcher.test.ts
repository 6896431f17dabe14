/**
 * Segments measured while ffmpeg encodes (package/segment-watcher.ts) and the facts packaging keeps
 * about them (package/segment-facts.ts). The segments are real ones written by ffmpeg's HLS muxer
 * with streamkit's flags; the tests then play the muxer's part (NAME.tmp, renamed when complete) so
 * that every step can be observed.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureRendition } from '../../src/package/hls.js';
import { SEGMENT_PATTERN, segmentFileName } from '../../src/plan.js';
import { inspectFmp4Init, inspectFmp4Segment, inspectTsSegment, type TsInspection } from '../../src/package/inspect.js';
import type { SegmentFactsCache } from '../../src/package/segment-facts.js';
import { watchSegments } from '../../src/package/segment-watcher.js';
import { ffmpeg, need, unmet } from '../helpers/index.js';

const sha = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds (the watcher looks every 10 ms here); fail after 10 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A segment file appearing whole, as ffmpeg's temp_file makes it appear (written as NAME.tmp, then
 * renamed): a plain copy can be seen half-written by the watcher on a loaded machine.
 */
async function place(from: string, to: string): Promise<void> {
  await copyFile(from, `${to}.tmp`);
  await rename(`${to}.tmp`, to);
}

describe.skipIf(unmet(need.ffmpeg))('segments measured during the encode', () => {
  let dir = '';
  let ts = '';
  let fmp4 = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-watch-'));
    ts = join(dir, 'made-ts');
    fmp4 = join(dir, 'made-fmp4');
    for (const [out, type, ext] of [
      [ts, 'mpegts', 'ts'],
      [fmp4, 'fmp4', 'm4s'],
    ] as const) {
      await mkdir(out);
      // 3 s, a keyframe every second, 1 s segments: seg_00000 to seg_00002
      await ffmpeg([
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=160x90:rate=25',
        '-t',
        '3',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-g',
        '25',
        '-sc_threshold',
        '0',
        '-f',
        'hls',
        '-hls_time',
        '1',
        '-hls_playlist_type',
        'vod',
        '-hls_segment_type',
        type,
        ...(type === 'fmp4' ? ['-hls_fmp4_init_filename', 'init.mp4'] : []),
        '-hls_flags',
        'independent_segments+temp_file',
        '-hls_segment_filename',
        join(out, `${SEGMENT_PATTERN}.${ext}`),
        join(out, 'index.m3u8'),
      ]);
    }
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A watcher (looking every 10 ms) on rendition folder `v` of a fresh root, while `play` writes into it as ffmpeg would. */
  async function watching(container: 'ts' | 'fmp4', play: (v: string, facts: SegmentFactsCache) => Promise<void>): Promise<{ root: string; facts: SegmentFactsCache }> {
    const root = await mkdtemp(join(dir, `watch-${container}-`));
    await mkdir(join(root, 'v'));
    const facts: SegmentFactsCache = new Map();
    const watcher = watchSegments(root, [{ dir: 'v', kind: 'video', container }], facts, 10);
    try {
      await play(join(root, 'v'), facts);
    } finally {
      await watcher.stop();
    }
    return { root, facts };
  }

  it('the names the watcher looks for are the names ffmpeg expands the segment pattern to', async () => {
    expect((await readdir(ts)).filter((f) => f !== 'index.m3u8').sort()).toEqual([0, 1, 2].map((i) => segmentFileName('ts', i)));
    expect((await readdir(fmp4)).filter((f) => f.startsWith('seg')).sort()).toEqual([0, 1, 2].map((i) => segmentFileName('fmp4', i)));
  });

  it('MPEG-TS: a segment is measured once it has its final name, not while it is NAME.tmp', async () => {
    const { root, facts } = await watching('ts', async (v, facts) => {
      await copyFile(join(ts, 'seg_00000.ts'), join(v, 'seg_00000.ts.tmp'));
      await sleep(100);
      expect([...facts.keys()]).toEqual([]);
      await rename(join(v, 'seg_00000.ts.tmp'), join(v, 'seg_00000.ts'));
      await until(() => facts.has('v/seg_00000.ts'), 'seg_00000');
      await place(join(ts, 'seg_00001.ts'), join(v, 'seg_00001.ts'));
      await place(join(ts, 'seg_00002.ts'), join(v, 'seg_00002.ts'));
      await until(() => facts.size === 3, 'all three segments');
    });
    expect([...facts.keys()]).toEqual(['v/seg_00000.ts', 'v/seg_00001.ts', 'v/seg_00002.ts']);
    for (const [name, f] of facts) {
      const body = await readFile(join(root, name));
      expect({ size: f.size, sha256: f.sha256, initSha256: f.initSha256 }).toEqual({ size: body.length, sha256: sha(body), initSha256: null });
      expect(f.inspection).toEqual(inspectTsSegment(body));
      expect(f.inspection.keyframes).toHaveLength(1);
    }
    // kept for every segment until the package is written: one codec list for the whole rendition,
    // frozen because it is shared
    const lists = [...facts.values()].map((f) => (f.inspection as TsInspection).codecs);
    expect(lists[0]).toEqual([expect.stringMatching(/^avc1\./)]);
    expect(new Set(lists).size).toBe(1);
    expect(Object.isFrozen(lists[0])).toBe(true);
  });

  for (const container of ['ts', 'fmp4'] as const) {
    it(`${container}: with a short first segment, each segment's one-GOP pieces are joined as soon as they are all there, as packaging would join them`, async () => {
      const src = container === 'ts' ? ts : fmp4;
      const ext = container === 'ts' ? 'ts' : 'm4s';
      const root = await mkdtemp(join(dir, `join-${container}-`));
      await mkdir(join(root, 'v'));
      if (container === 'fmp4') await copyFile(join(src, 'init.mp4'), join(root, 'v', 'init.mp4'));
      const facts: SegmentFactsCache = new Map();
      const joined = new Map<string, number>();
      const told: number[] = [];
      // segment 0 = piece 0; segment 1 = pieces 1 and 2
      const watcher = watchSegments(root, [{ dir: 'v', kind: 'video', container }], facts, 10, {
        pieces: { first: 1, rest: 2, joined },
        onSegment: (_r, index) => told.push(index),
      });
      try {
        await place(join(src, `seg_00000.${ext}`), join(root, 'v', `seg_00000.${ext}`));
        await until(() => joined.get('v') === 1, 'segment 0');
        await place(join(src, `seg_00001.${ext}`), join(root, 'v', `seg_00001.${ext}`));
        await sleep(100);
        // half a segment: nothing joined yet, the piece is still there
        expect(joined.get('v')).toBe(1);
        await place(join(src, `seg_00002.${ext}`), join(root, 'v', `seg_00002.${ext}`));
        await until(() => joined.get('v') === 2, 'segment 1');
      } finally {
        await watcher.stop();
      }
      expect(told).toEqual([0, 1]);
      expect((await readdir(join(root, 'v'))).filter((f) => f.startsWith('seg_')).sort()).toEqual([`seg_00000.${ext}`, `seg_00001.${ext}`]);
      const [p1, p2, seg1] = await Promise.all([readFile(join(src, `seg_00001.${ext}`)), readFile(join(src, `seg_00002.${ext}`)), readFile(join(root, 'v', `seg_00001.${ext}`))]);
      const { joinBuffers } = await import('../../src/package/join.js');
      expect(seg1.equals(joinBuffers([p1, p2], container === 'fmp4'))).toBe(true);
      // the facts are those of the joined file, as measuring it would find them
      const f = facts.get(`v/seg_00001.${ext}`)!;
      expect({ size: f.size, sha256: f.sha256 }).toEqual({ size: seg1.length, sha256: sha(seg1) });
      expect(f.inspection.keyframes).toHaveLength(2);
      expect(facts.has(`v/seg_00002.${ext}`)).toBe(false);
    });
  }

  it('ts: a segment half joined when the watcher stops is left to packaging: its pieces stay, no scratch file is left', async () => {
    const root = await mkdtemp(join(dir, 'join-half-'));
    await mkdir(join(root, 'v'));
    const facts: SegmentFactsCache = new Map();
    const joined = new Map<string, number>();
    const watcher = watchSegments(root, [{ dir: 'v', kind: 'video', container: 'ts' }], facts, 10, { pieces: { first: 1, rest: 2, joined } });
    try {
      await place(join(ts, 'seg_00000.ts'), join(root, 'v', 'seg_00000.ts'));
      await until(() => joined.get('v') === 1, 'segment 0');
      await place(join(ts, 'seg_00001.ts'), join(root, 'v', 'seg_00001.ts'));
      // the first piece of segment 1 is written to the segment's scratch file once it is measured
      await until(() => existsSync(join(root, 'v', 'seg_00001.ts.joining')), 'the scratch file of segment 1');
    } finally {
      await watcher.stop();
    }
    expect(joined.get('v')).toBe(1);
    expect((await readdir(join(root, 'v'))).sort()).toEqual(['seg_00000.ts', 'seg_00001.ts']);
    expect((await readFile(join(root, 'v', 'seg_00001.ts'))).equals(await readFile(join(ts, 'seg_00001.ts')))).toBe(true);
  });

  it('fMP4: segments are inspected with the init segment, and the facts name that init by its hash', async () => {
    const { root, facts } = await watching('fmp4', async (v, facts) => {
      await copyFile(join(fmp4, 'init.mp4'), join(v, 'init.mp4'));
      for (const n of [0, 1, 2]) await place(join(fmp4, `seg_0000${n}.m4s`), join(v, `seg_0000${n}.m4s`));
      await until(() => facts.size === 3, 'all three segments');
    });
    const initBody = await readFile(join(root, 'v', 'init.mp4'));
    for (const [name, f] of facts) {
      const body = await readFile(join(root, name));
      expect({ size: f.size, sha256: f.sha256, initSha256: f.initSha256 }).toEqual({ size: body.length, sha256: sha(body), initSha256: sha(initBody) });
      expect(f.inspection).toEqual(inspectFmp4Segment(body, inspectFmp4Init(initBody)));
    }
  });

  it('packaging reuses facts while the file is unchanged, reads it again once it changed, and completes the facts', async () => {
    const root = await mkdtemp(join(dir, 'measure-'));
    await mkdir(join(root, 'v'));
    for (const f of ['index.m3u8', 'seg_00000.ts', 'seg_00001.ts', 'seg_00002.ts']) await copyFile(join(ts, f), join(root, 'v', f));
    const facts: SegmentFactsCache = new Map();
    const first = await measureRendition(root, 'v', 'video', facts);
    expect([...facts.keys()].sort()).toEqual(['v/seg_00000.ts', 'v/seg_00001.ts', 'v/seg_00002.ts']);
    for (const [name, f] of facts) expect(f.sha256).toBe(sha(await readFile(join(root, name))));

    // a planted difference shows whether the facts or the file were used
    const real = facts.get('v/seg_00001.ts')!;
    facts.set('v/seg_00001.ts', { ...real, inspection: { ...real.inspection, firstPts: 99 } });
    expect((await measureRendition(root, 'v', 'video', facts)).segments[1]!.firstPts).toBe(99);

    await utimes(join(root, 'v', 'seg_00001.ts'), new Date(), new Date(Date.now() + 5_000));
    const again = await measureRendition(root, 'v', 'video', facts);
    expect(again.segments[1]!.firstPts).toBe(first.segments[1]!.firstPts);
    expect(facts.get('v/seg_00001.ts')!.inspection.firstPts).toBe(first.segments[1]!.firstPts);
  });

  it('fMP4 facts made with another init segment are not used', async () => {
    const root = await mkdtemp(join(dir, 'measure-fmp4-'));
    await mkdir(join(root, 'v'));
    for (const f of ['index.m3u8', 'init.mp4', 'seg_00000.m4s', 'seg_00001.m4s', 'seg_00002.m4s']) await copyFile(join(fmp4, f), join(root, 'v', f));
    const facts: SegmentFactsCache = new Map();
    const first = await measureRendition(root, 'v', 'video', facts);
    const real = facts.get('v/seg_00000.m4s')!;
    facts.set('v/seg_00000.m4s', { ...real, initSha256: 'another init', inspection: { ...real.inspection, firstPts: 99 } });
    expect((await measureRendition(root, 'v', 'video', facts)).segments[0]!.firstPts).toBe(first.segments[0]!.firstPts);
  });
});
