import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionCache } from '../../src/serve/compress.js';
import { parseRequestPath, resolveInside } from '../../src/serve/path-safety.js';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';

describe('parseRequestPath: the raw request target -> segments, or refused', () => {
  it.each([
    ['/', []],
    ['/movie/master.m3u8', ['movie', 'master.m3u8']],
    ['/movie//180p/seg_00001.ts?x=1#y', ['movie', '180p', 'seg_00001.ts']],
    ['/a%20b/master.m3u8', ['a b', 'master.m3u8']],
    ['//etc/passwd', ['etc', 'passwd']],
  ])('%s -> %j', (target, segments) => {
    expect(parseRequestPath(target)).toEqual({ ok: true, segments });
  });

  it.each([
    ['/../etc/passwd', 403],
    ['/movie/../../etc/passwd', 403],
    ['/%2e%2e/etc/passwd', 403],
    ['/%2E%2E/etc/passwd', 403],
    ['/movie/%2e%2e%2f%2e%2e%2fetc/passwd', 403],
    ['/..%2fetc/passwd', 403],
    ['/..%5cetc%5cpasswd', 403],
    ['/movie\\..\\..\\etc', 403],
    ['/%252e%252e/etc/passwd', 403],
    ['/movie/%252fetc', 403],
    ['/./master.m3u8', 403],
    ['/movie/master.m3u8%00.ts', 400],
    ['/movie/%', 400],
    ['/movie/%zz', 400],
    ['http://evil/etc/passwd', 400],
    ['*', 400],
    ['/.env', 404],
    ['/movie/.hidden/seg.ts', 404],
    ['/.streamkit-tmp-abc/master.m3u8', 404],
    ['/%2estreamkit-tmp-abc/master.m3u8', 404],
  ])('%s -> %i', (target, status) => {
    const v = parseRequestPath(target);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.status).toBe(status);
  });
});

describe('resolveInside: only regular files whose real path stays under the root', () => {
  let base = '';
  let root = '';
  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'streamkit-serve-paths-')));
    root = join(base, 'root');
    await mkdir(join(root, 'movie', '180p'), { recursive: true });
    await mkdir(join(root, '.hidden'), { recursive: true });
    await writeFile(join(root, 'movie', 'master.m3u8'), '#EXTM3U\n');
    await writeFile(join(root, '.hidden', 'secret.txt'), 'secret');
    await writeFile(join(base, 'outside.txt'), 'outside');
    await symlink(join(base, 'outside.txt'), join(root, 'movie', 'escape.m3u8'));
    await symlink(base, join(root, 'up'));
    await symlink(join(root, 'movie', 'master.m3u8'), join(root, 'movie', 'alias.m3u8'));
    await symlink(join(root, '.hidden', 'secret.txt'), join(root, 'movie', 'peek.txt'));
  });
  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('a file, and a symlink to a file inside', async () => {
    const r = await resolveInside(root, ['movie', 'master.m3u8']);
    expect(r.ok && r.relative).toEqual(['movie', 'master.m3u8']);
    const alias = await resolveInside(root, ['movie', 'alias.m3u8']);
    expect(alias.ok && alias.relative).toEqual(['movie', 'master.m3u8']);
  });

  it.each([
    [['movie', 'escape.m3u8'], 403],
    [['up', 'outside.txt'], 403],
    [['movie', 'peek.txt'], 404],
    [['movie'], 404],
    [['movie', '180p'], 404],
    [['movie', 'missing.ts'], 404],
    [[], 404],
  ])('%j -> %i', async (segments, status) => {
    const r = await resolveInside(root, segments);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.status).toBe(status);
  });
});

describe('CompressionCache', () => {
  it('compresses once per key and encoding, and keeps within its budget', async () => {
    const cache = new CompressionCache(4096);
    let loads = 0;
    const body = Buffer.from('#EXTM3U\n'.repeat(200));
    const load = async (): Promise<Buffer> => {
      loads++;
      return body;
    };
    const [a, b] = await Promise.all([cache.get('k1', 'gzip', load), cache.get('k1', 'gzip', load)]);
    expect(loads).toBe(1);
    expect(a).toBe(b);
    expect(gunzipSync(a).equals(body)).toBe(true);
    expect(brotliDecompressSync(await cache.get('k1', 'br', load)).equals(body)).toBe(true);
    expect(loads).toBe(2);
    await cache.get('k1', 'gzip', load);
    expect(loads).toBe(2);
    for (let i = 0; i < 100; i++) await cache.get(`other-${i}`, 'gzip', async () => Buffer.from(`${i}`.repeat(500)));
    expect(cache.size.bytes).toBeLessThanOrEqual(4096);
  });
});
