import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCurrent, describeOutputs, MANIFEST_NAME, writeManifest } from '../../src/package/manifest.js';

// A package of many small files (a long ladder has thousands of segments): every file is listed once,
// sorted, with its own size and SHA-256, whatever order the bounded hashing finishes them in.
describe('describeOutputs', () => {
  let root: string;
  const expected = new Map<string, { size: number; sha256: string }>();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sk-manifest-'));
    for (const rung of ['1080p', '720p', 'audio-1']) {
      await mkdir(join(root, rung));
      for (let i = 0; i < 120; i++) {
        // sizes differ so a mix-up between files shows; a large one keeps its stream busy longer
        const body = Buffer.alloc(i === 3 ? 300_000 : 100 + i * 7, `${rung}/${i}`);
        const path = `${rung}/seg_${String(i).padStart(5, '0')}.ts`;
        await writeFile(join(root, path), body);
        expected.set(path, { size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
      }
    }
    await writeFile(join(root, 'master.m3u8'), '#EXTM3U\n');
    expected.set('master.m3u8', { size: 8, sha256: createHash('sha256').update('#EXTM3U\n').digest('hex') });
    await writeFile(join(root, MANIFEST_NAME), '{}'); // the manifest never describes itself
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('lists every file once, sorted, with its size and SHA-256, and leaves the manifest out', async () => {
    const outputs = await describeOutputs(root);
    expect(outputs.map((o) => o.path)).toEqual([...expected.keys()].sort());
    for (const o of outputs) expect({ size: o.size, sha256: o.sha256 }).toEqual(expected.get(o.path));
  });

  it('takes the SHA-256 of a file from `known` only while the file has the recorded size and mtime', async () => {
    const path = '1080p/seg_00007.ts';
    const st = await stat(join(root, path));
    const known = new Map([[path, { size: st.size, mtimeMs: st.mtimeMs, sha256: 'hashed-while-encoding' }]]);
    const find = async (): Promise<string | undefined> => (await describeOutputs(root, known)).find((o) => o.path === path)?.sha256;
    expect(await find()).toBe('hashed-while-encoding'); // not read again
    known.set(path, { size: st.size, mtimeMs: st.mtimeMs - 1000, sha256: 'hashed-while-encoding' });
    expect(await find()).toBe(expected.get(path)!.sha256); // touched since: read again
    known.set(path, { size: st.size + 1, mtimeMs: st.mtimeMs, sha256: 'hashed-while-encoding' });
    expect(await find()).toBe(expected.get(path)!.sha256); // another size: read again
  });

  it('checkCurrent with verifyHashes finds a file whose content changed but not its size', async () => {
    await writeManifest(root, {
      streamkitVersion: '0.0.0',
      jobKey: 'job',
      input: { input: '/in.mp4', size: 1, mtimeMs: 1, sample: null },
      preset: { name: 'p', hash: 'h', resolved: {} },
      options: {},
      ffmpeg: { path: '/usr/bin/ffmpeg', version: '5.1' },
      hardware: 'cpu',
      encoder: 'libx264',
    });
    expect(await checkCurrent(root, 'job', true)).toMatchObject({ current: true });
    const path = join(root, '720p', 'seg_00003.ts'); // the large file: more than one read of the hashing buffer
    await writeFile(path, Buffer.alloc(expected.get('720p/seg_00003.ts')!.size, 'x'));
    expect(await checkCurrent(root, 'job', false)).toMatchObject({ current: true }); // sizes alone cannot tell
    expect(await checkCurrent(root, 'job', true)).toEqual({ current: false, reason: '720p/seg_00003.ts changed content' });
  });
});
