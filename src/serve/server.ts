import { basename, resolve } from 'node:path';
/**
 * The HTTP origin behind `streamkit serve`: Node's http server, `send` for the files (ranges, ETag,
 * Last-Modified, conditional requests), our own gzip/brotli for the small text types, the cache and
 * CORS headers of policy.ts, the path checks of path-safety.ts, and the pages of pages.ts under the
 * reserved /_streamkit/ prefix. docs/serve.md says what each response carries and why.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import etag from 'etag';
import fresh from 'fresh';
import send from 'send';
import { StreamkitError } from '../errors.js';
import { MANIFEST_NAME } from '../package/manifest.js';
import type { RequestRecord } from './access-log.js';
import { CompressionCache, MAX_COMPRESS_BYTES } from './compress.js';
import { describePackage, listPackages } from './packages.js';
import { indexPage, PAGE_CSP, playerPage, RESERVED } from './pages.js';
import { parseRequestPath, resolveInside } from './path-safety.js';
import { PLAYER_CSS, PLAYER_JS } from './player-assets.js';
import { chooseEncoding, type Encoding, filePolicy, type ServePolicyOptions } from './policy.js';

export interface ServeOptions extends ServePolicyOptions {
  /** the folder to serve: one package or a folder of packages */
  root: string;
  host: string;
  /** 0: any free port */
  port: number;
  /** called once per finished (or aborted) request */
  onRequest?: (r: RequestRecord) => void;
}

export interface RunningServer {
  /** http://host:port (the address really bound) */
  url: string;
  host: string;
  port: number;
  /** the real path served */
  root: string;
  requests(): number;
  /** stop accepting, let in-flight responses finish (at most `graceMs`), then close every connection */
  close(graceMs?: number): Promise<void>;
}

const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
const CORS: OutgoingHttpHeaders = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Length, Content-Range, Content-Encoding, Accept-Ranges, ETag, Last-Modified, Date',
};
const PREFLIGHT: OutgoingHttpHeaders = {
  'access-control-allow-methods': ALLOWED_METHODS,
  'access-control-allow-headers': 'Range, If-None-Match, If-Modified-Since, Accept-Encoding',
  'access-control-max-age': '86400',
};

/** hls.js's browser build, from streamkit's own dependencies (works from a global install and the bundled CLI). */
function hlsJsPath(): string {
  return createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
}

interface Asset {
  body: Buffer;
  etag: string;
  contentType: string;
  cacheControl: string;
  csp: boolean;
}

function asset(body: string | Buffer, contentType: string, csp = false): Asset {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: b, etag: `"${createHash('sha1').update(b).digest('base64url')}"`, contentType, cacheControl: 'no-cache', csp };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  let root: string;
  try {
    root = await realpath(options.root);
  } catch (error) {
    throw new StreamkitError('INPUT_MISSING', `Nothing to serve: ${options.root} does not exist.`, {
      hint: 'give the folder of a package (streamkit transcode ... -o DIR) or a folder of packages',
      cause: error,
      details: { path: options.root },
    });
  }
  if (!(await stat(root)).isDirectory()) {
    throw new StreamkitError('INPUT_MISSING', `Nothing to serve: ${options.root} is not a folder.`, {
      hint: 'serve the package folder, not its master.m3u8',
      details: { path: options.root },
    });
  }
  const policyOptions: ServePolicyOptions = { playlistMaxAge: options.playlistMaxAge };
  const cache = new CompressionCache();
  const staticAssets = new Map<string, Asset>([
    ['player.js', asset(PLAYER_JS, 'text/javascript; charset=utf-8')],
    ['player.css', asset(PLAYER_CSS, 'text/css; charset=utf-8')],
  ]);
  let hlsAsset: Promise<Asset> | null = null;
  let served = 0;

  /** A body held in memory (pages, scripts): ETag, 304, gzip/brotli; no ranges (a full 200 is a valid answer to a Range request). */
  const sendAsset = async (req: IncomingMessage, res: ServerResponse, a: Asset): Promise<void> => {
    const encoding = chooseEncoding(req.headers['accept-encoding']);
    const tag = encoding ? `${a.etag.slice(0, -1)}-${encoding}"` : a.etag;
    res.setHeader('content-type', a.contentType);
    res.setHeader('cache-control', a.cacheControl);
    res.setHeader('vary', 'Accept-Encoding');
    res.setHeader('etag', tag);
    if (a.csp) res.setHeader('content-security-policy', PAGE_CSP);
    if (fresh(req.headers, { etag: tag })) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const body = encoding ? await cache.get(a.etag, encoding, async () => a.body) : a.body;
    if (encoding) res.setHeader('content-encoding', encoding);
    res.setHeader('content-length', body.length);
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  /** A compressible file (playlist, MPD, WebVTT) for a client that accepts `encoding`. */
  const sendCompressed = async (req: IncomingMessage, res: ServerResponse, file: string, stats: Stats, encoding: Encoding): Promise<void> => {
    const base = etag(stats); // the identity ETag send() gives the same file
    const tag = `${base.slice(0, -1)}-${encoding}"`;
    res.setHeader('etag', tag);
    res.setHeader('last-modified', stats.mtime.toUTCString());
    res.setHeader('content-encoding', encoding);
    if (fresh(req.headers, { etag: tag, 'last-modified': stats.mtime.toUTCString() })) {
      res.removeHeader('content-encoding');
      res.statusCode = 304;
      res.end();
      return;
    }
    const body = await cache.get(`${file}\0${base}`, encoding, () => readFile(file));
    res.setHeader('content-length', body.length);
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const fail = (res: ServerResponse, status: number, extra: OutgoingHttpHeaders = {}): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const name of res.getHeaderNames()) if (!(name in CORS)) res.removeHeader(name);
    const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...extra,
    });
    res.end(body);
  };

  const internal = async (req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> => {
    const [first, ...rest] = segments;
    if (first === 'play') {
      const info = await packageAt(rest);
      if (!info) return fail(res, 404);
      return sendAsset(req, res, asset(playerPage(info), 'text/html; charset=utf-8', true));
    }
    if (first === 'hls.min.js' && rest.length === 0) {
      // a failed read is not kept: the next request tries again
      hlsAsset ??= readFile(hlsJsPath()).then(
        (b) => asset(b, 'text/javascript; charset=utf-8'),
        (error: unknown) => {
          hlsAsset = null;
          throw error;
        },
      );
      return sendAsset(req, res, await hlsAsset);
    }
    const a = first !== undefined && rest.length === 0 ? staticAssets.get(first) : undefined;
    if (!a) return fail(res, 404);
    return sendAsset(req, res, a);
  };

  /** The package whose folder is `segments` (checked like any path: inside the root, not hidden). */
  const packageAt = async (segments: string[]): Promise<Awaited<ReturnType<typeof describePackage>>> => {
    const master = await resolveInside(root, [...segments, 'master.m3u8']);
    if (!master.ok) return null;
    return describePackage(root, master.relative.slice(0, -1));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const [k, v] of Object.entries(CORS)) res.setHeader(k, v as string);
    res.setHeader('x-content-type-options', 'nosniff');
    const method = req.method ?? '';
    if (method === 'OPTIONS') {
      res.writeHead(204, { ...PREFLIGHT, allow: ALLOWED_METHODS, 'content-length': '0' });
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') return fail(res, 405, { allow: ALLOWED_METHODS });
    const verdict = parseRequestPath(req.url ?? '');
    if (!verdict.ok) return fail(res, verdict.status);
    const segments = verdict.segments;
    if (segments.length === 0) return sendAsset(req, res, asset(indexPage(await listPackages(root), basename(resolve(options.root)) || '/'), 'text/html; charset=utf-8', true));
    if (segments[0] === RESERVED) return internal(req, res, segments.slice(1));
    const found = await resolveInside(root, segments);
    if (!found.ok) return fail(res, found.status);
    // streamkit.json names the input's absolute path and the encoding machine's ffmpeg: the index
    // page reads it here, it is not published (checked on the real path, so an alias cannot reach it)
    // (case-insensitively: on a vfat, exFAT or casefolded mount STREAMKIT.JSON is the same file)
    if (found.relative.at(-1)?.toLowerCase() === MANIFEST_NAME) return fail(res, 404);
    const policy = filePolicy(found.file, policyOptions);
    // a package's files are data, never a page of this origin: an .html or .js among them runs nothing
    res.setHeader('content-security-policy', "sandbox; default-src 'none'");
    res.setHeader('content-type', policy.contentType);
    res.setHeader('cache-control', policy.cacheControl);
    if (policy.compressible) {
      res.setHeader('vary', 'Accept-Encoding');
      const encoding = chooseEncoding(req.headers['accept-encoding']);
      // a Range request gets the identity bytes it asked for (a range of a compressed body is another thing)
      if (encoding && req.headers.range === undefined && found.stats.size <= MAX_COMPRESS_BYTES) return sendCompressed(req, res, found.file, found.stats, encoding);
    }
    const path = `/${found.relative.map(encodeURIComponent).join('/')}`;
    await new Promise<void>((resolve) => {
      send(req, path, { root, dotfiles: 'deny', index: false, cacheControl: false, etag: true, lastModified: true, acceptRanges: true })
        .on('error', (error: { status?: number; statusCode?: number; headers?: Record<string, string> }) => {
          // a 416 carries `Content-Range: bytes */SIZE`
          fail(res, error.status ?? error.statusCode ?? 500, error.headers ?? {});
          resolve();
        })
        .on('end', resolve)
        .pipe(res);
      res.once('close', resolve);
    });
  };

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const time = new Date();
    served++;
    res.once('close', () => {
      const finished = res.writableFinished;
      const length = Number(res.getHeader('content-length'));
      const bodyless = req.method === 'HEAD' || res.statusCode === 304 || res.statusCode === 204;
      options.onRequest?.({
        time,
        remote: req.socket.remoteAddress ?? '-',
        method: req.method ?? '-',
        target: req.url ?? '-',
        httpVersion: req.httpVersion,
        status: finished ? res.statusCode : 499,
        bytes: finished && !bodyless && Number.isFinite(length) ? length : null,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    handle(req, res).catch(() => fail(res, 500));
  });
  // slow or silent clients do not hold a connection forever
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${options.host}:${options.port}`;
      if (error.code === 'EADDRINUSE')
        reject(
          new StreamkitError('USAGE', `Port ${options.port} on ${options.host} is already in use.`, { hint: 'choose another with --port (--port 0: any free port)', cause: error }),
        );
      else if (error.code === 'EACCES')
        reject(new StreamkitError('USAGE', `Not allowed to listen on ${where}.`, { hint: 'ports below 1024 need privileges; use --port 8080 or above', cause: error }));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
        reject(
          new StreamkitError('USAGE', `Cannot listen on ${options.host}: not an address of this machine.`, {
            hint: 'use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)',
            cause: error,
          }),
        );
      else reject(new StreamkitError('USAGE', `Cannot listen on ${where}: ${error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${hostForUrl(address.address)}:${address.port}`,
    host: address.address,
    port: address.port,
    root,
    requests: () => served,
    async close(graceMs = 5000): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
