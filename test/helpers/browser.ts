/**
 * Debian's Chromium through playwright-core (never a downloaded browser), the way the browser tests
 * start it: headless, no sandbox (CI runs as root), no GPU, no background traffic, autoplay allowed;
 * and a static server for the pages, player scripts and packages they load.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM } from './requirements.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/** A fresh Chromium profile in `dir` (its own folder, removed with `dir`). */
export async function launchChromium(dir: string, options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  if (!CHROMIUM) throw new Error('launchChromium: no Chromium here (check unmet(need.chromium) first)');
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    ...(options.viewport ? { viewport: options.viewport } : {}),
    args: CHROMIUM_ARGS,
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.vtt': 'text/vtt; charset=utf-8',
  '.js': 'text/javascript',
};

export interface StaticServer {
  /** http://127.0.0.1:PORT (no trailing slash) */
  base: string;
  /** every path requested, in order (to assert on what a player fetched) */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A tiny static HTTP server on 127.0.0.1 for the browser tests: `/` is `page`, `/lib/NAME` the file
 * `libs[NAME]` (player scripts from node_modules), `/pkg/...` the files under `root` (nothing outside it),
 * whole (no-cache: live playlists change) or one byte range.
 */
export async function serveStatic(root: string, page: string, libs: Record<string, string>): Promise<StaticServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(url.pathname);
      let file: string | undefined;
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
        return;
      }
      if (url.pathname.startsWith('/lib/')) file = libs[url.pathname.slice(5)];
      else if (url.pathname.startsWith('/pkg/')) {
        file = normalize(join(root, decodeURIComponent(url.pathname.slice(5))));
        if (!file.startsWith(root + sep)) file = undefined;
      }
      try {
        if (!file) throw new Error('not served');
        const body = await readFile(file);
        const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
        // one byte range (`bytes=a-b` or `bytes=a-`), as players ask for byte-range playlists and SegmentBase
        const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        if (range) {
          const start = Number(range[1]);
          const end = Math.min(range[2] ? Number(range[2]) : body.length - 1, body.length - 1);
          if (start > end) {
            res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
            return;
          }
          const part = body.subarray(start, end + 1);
          res.writeHead(206, { 'content-type': type, 'content-length': part.length, 'content-range': `bytes ${start}-${end}/${body.length}`, 'accept-ranges': 'bytes' }).end(part);
          return;
        }
        res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'accept-ranges': 'bytes', 'cache-control': 'no-cache' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
