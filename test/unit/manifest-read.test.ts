import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCurrent, loadManifest, MANIFEST_NAME, readManifest, writeManifest } from '../../src/package/manifest.js';

// A streamkit.json at a destination is read from disk that anyone may have written: it is checked,
// and a broken one makes the folder "not a current package" with the reason, never a crash.
describe('reading streamkit.json', () => {
  let root = '';
  let good: Record<string, unknown> = {};
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sk-manifest-read-'));
    await mkdir(join(root, 'pkg', '720p'), { recursive: true });
    await writeFile(join(root, 'pkg', '720p', 'seg_00000.ts'), 'segment');
    good = {
      ...(await writeManifest(join(root, 'pkg'), {
        streamkitVersion: '0.0.0',
        jobKey: 'job',
        input: { input: '/in.mp4', size: 1, mtimeMs: 1, sample: null },
        preset: { name: 'p', hash: 'h', resolved: {} },
        options: { frameRate: null, hw: 'auto' },
        ffmpeg: { path: '/usr/bin/ffmpeg', version: '7.1' },
        hardware: 'cpu',
        encoder: 'libx264',
      })),
    };
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** a package folder holding `text` as its streamkit.json (and the one segment) */
  const pkgWith = async (name: string, text: string): Promise<string> => {
    const dir = join(root, name);
    await mkdir(join(dir, '720p'), { recursive: true });
    await writeFile(join(dir, '720p', 'seg_00000.ts'), 'segment');
    await writeFile(join(dir, MANIFEST_NAME), text);
    return dir;
  };

  it('accepts what writeManifest wrote', async () => {
    expect(await loadManifest(join(root, 'pkg'))).toMatchObject({ status: 'valid', manifest: { jobKey: 'job', outputs: [{ path: '720p/seg_00000.ts', size: 7 }] } });
    expect(await checkCurrent(join(root, 'pkg'), 'job')).toMatchObject({ current: true });
  });

  it('says missing for a folder without one, and for a path that is not a folder', async () => {
    expect(await loadManifest(join(root, 'nothing-here'))).toEqual({ status: 'missing' });
    expect(await loadManifest(join(root, 'pkg', '720p', 'seg_00000.ts'))).toEqual({ status: 'missing' });
    expect(await checkCurrent(join(root, 'nothing-here'), 'job')).toEqual({ current: false, reason: 'no manifest' });
  });

  // texts are made when the test runs: `good` is written by beforeAll
  it.each([
    ['not JSON', () => '{"manifestVersion": 1,', /not valid JSON/],
    ['outputs not a list', () => JSON.stringify({ ...good, outputs: 'all of them' }), /not a streamkit manifest \(outputs: /],
    ['a size that is not a number', () => JSON.stringify({ ...good, outputs: [{ path: '720p/seg_00000.ts', size: '7', sha256: 'x' }] }), /outputs\[0\]\.size: /],
    [
      'a file outside the package',
      () => JSON.stringify({ ...good, outputs: [{ path: '../../etc/passwd', size: 7, sha256: 'x' }] }),
      /outputs\[0\]\.path: expected a path inside the package/,
    ],
    ['no job key', () => JSON.stringify({ ...good, jobKey: undefined }), /\(jobKey: /],
    ['another manifest version', () => JSON.stringify({ ...good, manifestVersion: 2 }), /has manifest version 2, expected 1/],
    ['a JSON array', () => '[]', /not a streamkit manifest/],
  ])('treats %s as not a current package, with the reason', async (name, text, reason) => {
    const dir = await pkgWith(name.replace(/\W+/g, '-'), text());
    const read = await loadManifest(dir);
    expect(read.status).toBe('invalid');
    if (read.status === 'invalid') expect(read.reason).toMatch(reason);
    expect(await readManifest(dir)).toBeNull();
    const c = await checkCurrent(dir, 'job', true);
    expect(c.current).toBe(false);
    if (!c.current) expect(c.reason).toMatch(reason);
  });
});
