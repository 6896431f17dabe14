import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOutputs, MANIFEST_NAME } from '../../src/package/manifest.js';

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
});
