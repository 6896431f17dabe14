/**
 * `streamkit serve` as a real process on a real package (made by streamkit from a 3 s lavfi clip),
 * asked over real HTTP: the headers of each file type, gzip and brotli (decompressed and compared),
 * 206 ranges, 304s, CORS preflight, every path-traversal form refused with nothing outside the folder
 * readable, 405s, 404 for folders, the pages, the request log, Ctrl-C, and the start-up errors.
 * Requests go through node:http with the path exactly as written: fetch() would normalise `..` and
 * `%2e%2e` away before they reach the server.
 */
import { mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { type IncomingMessage, request } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cli, ffmpeg, HLS_JS, makeSource, need, type ServeProcess, startCli, startServe, tempDir, unmet, writeCliPreset, collect } from '../helpers/index.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function ask(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SECRET = 'top-secret-outside-the-served-folder';

describe.skipIf(unmet(need.ffmpeg))('streamkit serve over HTTP', () => {
  let dir = '';
  let pkgs = '';
  let movie = '';
  let secretFile = '';
  let server: ServeProcess;
  let base = '';

  beforeAll(async () => {
    assertBuilt();
    dir = await realpath(await tempDir('serve'));
    pkgs = join(dir, 'pkgs');
    movie = join(pkgs, 'movie');
    const src = await makeSource(join(dir, 'clip.mp4'), { duration: 3 });
    const preset = await writeCliPreset(dir);
    const made = await cli(['transcode', src, '-p', preset, '-o', movie]);
    expect(made.code, made.stderr).toBe(0);
    // the other file types a package may hold (thumbnails and MPD come from other stages)
    await ffmpeg(['-i', src, '-frames:v', '1', '-vf', 'scale=160:-2', join(movie, 'poster.jpg')]);
    await writeFile(join(movie, 'thumbnails.vtt'), 'WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nthumbnails/sprite-0001.jpg#xywh=0,0,160,90\n');
    await writeFile(join(movie, 'manifest.mpd'), `<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">${'<!-- padding -->'.repeat(20)}</MPD>\n`);
    await writeFile(join(movie, 'chunk.m4s'), Buffer.alloc(4096, 7));
    await writeFile(join(movie, 'download.mp4'), await readFile(src));
    // what must never come out
    secretFile = join(dir, 'secret.txt');
    await writeFile(secretFile, SECRET);
    await writeFile(join(pkgs, '.env'), SECRET);
    await mkdir(join(pkgs, '.streamkit-tmp-unfinished'), { recursive: true });
    await writeFile(join(pkgs, '.streamkit-tmp-unfinished', 'master.m3u8'), `#EXTM3U\n#${SECRET}\n`);
    await symlink(secretFile, join(movie, 'escape.ts'));
    await symlink(dir, join(pkgs, 'up'));
    server = await startServe(pkgs);
    base = server.url;
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const file = (rel: string): Promise<Buffer> => readFile(join(movie, rel));

  it('says where it listens: loopback, the package and its player page', () => {
    const e = server.events[0]!;
    expect(e).toMatchObject({ type: 'serve', status: 'listening', host: '127.0.0.1', root: pkgs, playlistMaxAge: null });
    expect(e['packages']).toEqual([{ path: 'movie', master: `${base}/movie/master.m3u8`, player: `${base}/_streamkit/play/movie/` }]);
  });

  it.each([
    ['movie/master.m3u8', 'application/vnd.apple.mpegurl', 'no-cache'],
    ['movie/180p/index.m3u8', 'application/vnd.apple.mpegurl', 'no-cache'],
    ['movie/180p/iframes.m3u8', 'application/vnd.apple.mpegurl', 'no-cache'],
    ['movie/manifest.mpd', 'application/dash+xml', 'no-cache'],
    ['movie/180p/seg_00000.ts', 'video/mp2t', 'public, max-age=31536000, immutable'],
    ['movie/chunk.m4s', 'video/iso.segment', 'public, max-age=31536000, immutable'],
    ['movie/download.mp4', 'video/mp4', 'public, max-age=31536000, immutable'],
    ['movie/thumbnails.vtt', 'text/vtt; charset=utf-8', 'no-cache'],
    ['movie/poster.jpg', 'image/jpeg', 'public, max-age=31536000, immutable'],
  ])('%s: %s, %s, ETag, Last-Modified, ranges, CORS; the bytes of the file', async (path, type, cache) => {
    const r = await ask(base, `/${path}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(type);
    expect(r.headers['cache-control']).toBe(cache);
    expect(r.headers['etag']).toMatch(/^(W\/)?"[^"]+"$/);
    expect(Date.parse(String(r.headers['last-modified']))).not.toBeNaN();
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.body.equals(await file(path.slice('movie/'.length)))).toBe(true);
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    const head = await ask(base, `/${path}`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(r.headers['content-length']);
  });

  it('gzip and brotli for playlists, MPDs and VTT, with Vary; never for segments or images', async () => {
    for (const path of ['master.m3u8', '180p/index.m3u8', 'manifest.mpd', 'thumbnails.vtt']) {
      const original = await file(path);
      const gz = await ask(base, `/movie/${path}`, { 'accept-encoding': 'gzip' });
      expect(gz.headers['content-encoding'], path).toBe('gzip');
      expect(gz.headers['vary']).toBe('Accept-Encoding');
      expect(gunzipSync(gz.body).equals(original), path).toBe(true);
      expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
      const br = await ask(base, `/movie/${path}`, { 'accept-encoding': 'gzip, deflate, br' });
      expect(br.headers['content-encoding'], path).toBe('br');
      expect(brotliDecompressSync(br.body).equals(original), path).toBe(true);
      // each representation has its own validator
      expect(new Set([gz.headers['etag'], br.headers['etag']]).size).toBe(2);
      const plain = await ask(base, `/movie/${path}`);
      expect(plain.headers['vary']).toBe('Accept-Encoding');
      expect(plain.headers['etag']).not.toBe(gz.headers['etag']);
    }
    for (const path of ['180p/seg_00000.ts', 'poster.jpg', 'chunk.m4s']) {
      const r = await ask(base, `/movie/${path}`, { 'accept-encoding': 'gzip, br' });
      expect(r.headers['content-encoding'], path).toBeUndefined();
      expect(r.body.equals(await file(path))).toBe(true);
    }
  });

  it('Range: 206 with Content-Range and exactly those bytes; 416 past the end', async () => {
    const seg = await file('180p/seg_00000.ts');
    const r = await ask(base, '/movie/180p/seg_00000.ts', { range: 'bytes=188-1127' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 188-1127/${seg.length}`);
    expect(r.body.equals(seg.subarray(188, 1128))).toBe(true);
    const tail = await ask(base, '/movie/180p/seg_00000.ts', { range: 'bytes=-188' });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(seg.subarray(seg.length - 188))).toBe(true);
    // a playlist asked for a range is answered in identity bytes, even when gzip is accepted
    const pl = await ask(base, '/movie/master.m3u8', { range: 'bytes=0-6', 'accept-encoding': 'gzip' });
    expect(pl.status).toBe(206);
    expect(pl.headers['content-encoding']).toBeUndefined();
    expect(pl.body.toString()).toBe('#EXTM3U');
    const past = await ask(base, '/movie/180p/seg_00000.ts', { range: `bytes=${seg.length + 10}-` });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${seg.length}`);
  });

  it('304 on If-None-Match and If-Modified-Since, for the identity and the compressed forms', async () => {
    for (const path of ['/movie/180p/seg_00000.ts', '/movie/master.m3u8']) {
      const first = await ask(base, path);
      const byTag = await ask(base, path, { 'if-none-match': String(first.headers['etag']) });
      expect(byTag.status, path).toBe(304);
      expect(byTag.body.length).toBe(0);
      expect(byTag.headers['etag']).toBe(first.headers['etag']);
      const byDate = await ask(base, path, { 'if-modified-since': String(first.headers['last-modified']) });
      expect(byDate.status, path).toBe(304);
      const stale = await ask(base, path, { 'if-none-match': '"something-else"' });
      expect(stale.status).toBe(200);
    }
    const gz = await ask(base, '/movie/master.m3u8', { 'accept-encoding': 'gzip' });
    const again = await ask(base, '/movie/master.m3u8', { 'accept-encoding': 'gzip', 'if-none-match': String(gz.headers['etag']) });
    expect(again.status).toBe(304);
    expect(again.headers['vary']).toBe('Accept-Encoding');
  });

  it('CORS: preflight allows Range; responses expose Content-Range and ETag', async () => {
    const pre = await ask(
      base,
      '/movie/180p/seg_00000.ts',
      { origin: 'https://player.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
      'OPTIONS',
    );
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(String(pre.headers['access-control-allow-methods'])).toMatch(/\bGET\b.*\bHEAD\b/);
    expect(String(pre.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/)).toContain('range');
    const r = await ask(base, '/movie/180p/seg_00000.ts', { origin: 'https://player.example', range: 'bytes=0-9' });
    const exposed = String(r.headers['access-control-expose-headers']).toLowerCase().split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['content-range', 'etag', 'content-length']));
  });

  it.each([
    ['/../secret.txt'],
    ['/../../../../../../etc/passwd'],
    ['/movie/../../secret.txt'],
    ['/%2e%2e/secret.txt'],
    ['/%2E%2E/secret.txt'],
    ['/movie/%2e%2e/%2e%2e/secret.txt'],
    ['/%2e%2e%2fsecret.txt'],
    ['/movie/%2e%2e%2f%2e%2e%2fsecret.txt'],
    ['/..%2fsecret.txt'],
    ['/..%5csecret.txt'],
    ['/movie/..%5c..%5csecret.txt'],
    ['/%252e%252e/secret.txt'],
    ['/%252e%252e%252fsecret.txt'],
    ['/movie/master.m3u8%00'],
    ['/secret.txt%00.ts'],
    ['/movie/escape.ts'],
    ['/up/secret.txt'],
    ['/.env'],
    ['/%2eenv'],
    ['/.streamkit-tmp-unfinished/master.m3u8'],
    ['/movie/%2e/%2e%2e/secret.txt'],
  ])('%s is refused, and nothing outside the folder comes out', async (path) => {
    const r = await ask(base, path);
    expect([400, 403, 404]).toContain(r.status);
    expect(r.body.toString()).not.toContain(SECRET);
    expect(r.body.toString()).not.toContain('root:');
  });

  it('absolute paths name files under the folder, never the file system', async () => {
    for (const path of [secretFile, `/${secretFile}`, '/etc/passwd', '//etc/passwd', `/${encodeURIComponent(secretFile)}`]) {
      const r = await ask(base, path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString()).not.toContain(SECRET);
    }
    const absoluteForm = await ask(base, `http://127.0.0.1:${server.port}/../secret.txt`);
    expect(absoluteForm.status).toBe(400);
  });

  it("a package's files never run as pages of this origin: every file response has a sandboxing CSP", async () => {
    for (const path of ['/movie/master.m3u8', '/movie/180p/seg_00000.ts', '/movie/poster.jpg']) {
      const r = await ask(base, path);
      expect(r.headers['content-security-policy'], path).toBe("sandbox; default-src 'none'");
    }
  });

  it('streamkit.json (input path, ffmpeg path) is not published, under its name or an alias', async () => {
    await symlink(join(movie, 'streamkit.json'), join(movie, 'alias.json'));
    for (const path of ['/movie/streamkit.json', '/movie/alias.json', '/movie/STREAMKIT.JSON']) {
      const r = await ask(base, path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString()).not.toContain('jobKey');
    }
  });

  it('specific refusals: the escaping symlink 403, dotfiles and staging folders 404, NUL 400', async () => {
    expect((await ask(base, '/movie/escape.ts')).status).toBe(403);
    expect((await ask(base, '/up/secret.txt')).status).toBe(403);
    expect((await ask(base, '/.env')).status).toBe(404);
    expect((await ask(base, '/.streamkit-tmp-unfinished/master.m3u8')).status).toBe(404);
    expect((await ask(base, '/movie/master.m3u8%00')).status).toBe(400);
    expect((await ask(base, '/%2e%2e/secret.txt')).status).toBe(403);
  });

  it('folders are 404 (no listings); the index page lists the packages', async () => {
    for (const path of ['/movie', '/movie/', '/movie/180p/', '/movie/180p']) expect((await ask(base, path)).status, path).toBe(404);
    const index = await ask(base, '/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(String(index.headers['content-security-policy'])).toContain("script-src 'self'");
    const html = index.body.toString();
    expect(html).toContain('href="/_streamkit/play/movie/"');
    expect(html).toContain('href="/movie/master.m3u8"');
    expect(html).toContain('href="/movie/manifest.mpd"');
    expect(html).toContain('src="/movie/poster.jpg"');
    expect(html).toContain('test-ultrafast');
    expect(html).not.toContain('streamkit-tmp');
  });

  it('the player page and its scripts come from this server; hls.js from the installed package', async () => {
    const page = await ask(base, '/_streamkit/play/movie/');
    expect(page.status).toBe(200);
    expect(String(page.headers['content-security-policy'])).toMatch(/default-src 'self'.*script-src 'self'/);
    expect(page.body.toString()).toContain('data-src="/movie/master.m3u8"');
    const hls = await ask(base, '/_streamkit/hls.min.js');
    expect(hls.status).toBe(200);
    expect(hls.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(hls.body.equals(await readFile(HLS_JS))).toBe(true);
    const gz = await ask(base, '/_streamkit/hls.min.js', { 'accept-encoding': 'gzip' });
    expect(gunzipSync(gz.body).equals(hls.body)).toBe(true);
    expect((await ask(base, '/_streamkit/player.js')).status).toBe(200);
    expect((await ask(base, '/_streamkit/play/nothing-here/')).status).toBe(404);
    expect((await ask(base, '/_streamkit/play/../movie/')).status).toBe(403);
  });

  it('methods other than GET, HEAD and OPTIONS: 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE']) {
      const r = await ask(base, '/movie/master.m3u8', {}, method);
      expect(r.status, method).toBe(405);
      expect(r.headers['allow']).toBe('GET, HEAD, OPTIONS');
    }
  });

  it('--json: one request event per request', async () => {
    await ask(base, '/movie/180p/seg_00001.ts');
    // the event is written when the response closes, which the client may see a moment before
    const logged = (): (typeof server.events)[number] | undefined => server.events.find((x) => x.type === 'request' && x['target'] === '/movie/180p/seg_00001.ts');
    for (let i = 0; i < 100 && !logged(); i++) await new Promise((r) => setTimeout(r, 50));
    const e = logged();
    expect(e).toMatchObject({ method: 'GET', status: 200, remote: '127.0.0.1' });
    expect(e!['bytes']).toBe((await file('180p/seg_00001.ts')).length);
  });

  it('plain mode: a log line per request on stderr; --playlist-max-age; Ctrl-C stops it, exit 0', async () => {
    const child = startCli(['serve', movie, '--port', '0', '--playlist-max-age', '4']);
    const done = collect(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    // the whole announcement: the address, then the player page's (one write may not hold both)
    for (let i = 0; i < 200 && !/127\.0\.0\.1:\d+\/_streamkit\/play\//.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)![0];
    // the folder itself is one package
    expect(out).toContain(`${url}/_streamkit/play/`);
    const r = await ask(url, '/master.m3u8');
    expect(r.headers['cache-control']).toBe('public, max-age=4');
    expect((await ask(url, '/180p/seg_00000.ts')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    // a response in flight when Ctrl-C comes (8 MiB: more than loopback socket buffers hold) still completes
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    await writeFile(join(movie, 'big.m4s'), big);
    const inFlight = await new Promise<{ res: IncomingMessage; first: Buffer }>((resolve, reject) => {
      const u = new URL(url);
      request({ host: u.hostname, port: u.port, path: '/big.m4s', agent: false }, (res) => {
        res.once('data', (c: Buffer) => {
          res.pause();
          resolve({ res, first: c });
        });
      })
        .on('error', reject)
        .end();
    });
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    const rest: Buffer[] = [inFlight.first];
    await new Promise<void>((resolve, reject) => {
      inFlight.res.on('data', (c: Buffer) => rest.push(c));
      inFlight.res.on('end', resolve);
      inFlight.res.on('error', reject);
      inFlight.res.resume();
    });
    expect(Buffer.concat(rest).equals(big)).toBe(true);
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/master\.m3u8 HTTP\/1\.1" 200 \d+ \d+\.\dms$/m);
    expect(result.stderr).toContain('SIGINT: stopping the server');
    expect(result.stdout).toMatch(/stopped after 3 requests/);
  });

  it('--help has examples', async () => {
    const r = await cli(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n {2}\$ streamkit serve /);
  });

  it('start-up errors: port in use (exit 2), folder missing (exit 3)', async () => {
    const busy = await cli(['serve', pkgs, '--port', String(server.port)]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`Port ${server.port} on 127.0.0.1 is already in use`);
    const missing = await cli(['serve', join(dir, 'nope')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('does not exist');
    const badPort = await cli(['serve', pkgs, '--port', '70000']);
    expect(badPort.code).toBe(2);
  });
});
