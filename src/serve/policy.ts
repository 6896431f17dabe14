/**
 * What a served file's response says about it, as a pure function of its path: the Content-Type,
 * the Cache-Control a CDN may follow, and whether the body may be compressed. Tested without a server
 * (test/unit/serve-policy.test.ts); the reasons are in docs/serve.md.
 */
import { extname } from 'node:path';

export interface ServePolicyOptions {
  /** playlists, MPDs and the pages: `no-cache` when null (preview), else `public, max-age=N` */
  playlistMaxAge: number | null;
}

export type FileKind = 'playlist' | 'segment' | 'image' | 'text' | 'other';

export interface FilePolicy {
  contentType: string;
  cacheControl: string;
  /** gzip/brotli when the client accepts it: small text that players fetch again and again */
  compressible: boolean;
  kind: FileKind;
}

/** A package never rewrites a segment, an init segment or an image in place: cache them for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

const byExtension: Record<string, { contentType: string; kind: FileKind }> = {
  '.m3u8': { contentType: 'application/vnd.apple.mpegurl', kind: 'playlist' },
  '.mpd': { contentType: 'application/dash+xml', kind: 'playlist' },
  '.ts': { contentType: 'video/mp2t', kind: 'segment' },
  '.m4s': { contentType: 'video/iso.segment', kind: 'segment' },
  '.mp4': { contentType: 'video/mp4', kind: 'segment' },
  '.m4a': { contentType: 'audio/mp4', kind: 'segment' },
  '.aac': { contentType: 'audio/aac', kind: 'segment' },
  '.vtt': { contentType: 'text/vtt; charset=utf-8', kind: 'text' },
  '.jpg': { contentType: 'image/jpeg', kind: 'image' },
  '.jpeg': { contentType: 'image/jpeg', kind: 'image' },
  '.png': { contentType: 'image/png', kind: 'image' },
  '.webp': { contentType: 'image/webp', kind: 'image' },
  '.json': { contentType: 'application/json; charset=utf-8', kind: 'other' },
  '.js': { contentType: 'text/javascript; charset=utf-8', kind: 'other' },
  '.css': { contentType: 'text/css; charset=utf-8', kind: 'other' },
  '.html': { contentType: 'text/html; charset=utf-8', kind: 'other' },
};

/** `no-cache` (revalidate every time, with the ETag) in preview; `public, max-age=N` for an origin. */
function shortLived(options: ServePolicyOptions): string {
  return options.playlistMaxAge === null ? 'no-cache' : `public, max-age=${options.playlistMaxAge}`;
}

/** The policy for a file in a package, by its name. */
export function filePolicy(path: string, options: ServePolicyOptions): FilePolicy {
  const known = byExtension[extname(path).toLowerCase()];
  const kind = known?.kind ?? 'other';
  const contentType = known?.contentType ?? 'application/octet-stream';
  switch (kind) {
    case 'segment':
    case 'image':
      return { contentType, cacheControl: IMMUTABLE, compressible: false, kind };
    case 'playlist':
      return { contentType, cacheControl: shortLived(options), compressible: true, kind };
    case 'text':
      // a thumbnails track or subtitles may be regenerated with the package: revalidate, like playlists
      return { contentType, cacheControl: shortLived(options), compressible: true, kind };
    default:
      // streamkit.json and anything unknown: revalidate; compress the text ones
      // compression is for playlists, MPDs and WebVTT only
      return { contentType, cacheControl: 'no-cache', compressible: false, kind };
  }
}

export type Encoding = 'br' | 'gzip';

/**
 * The encoding to answer with, from an Accept-Encoding header: brotli when accepted, else gzip, else
 * none. `q=0` refuses a coding; `*` accepts both.
 */
export function chooseEncoding(acceptEncoding: string | undefined): Encoding | null {
  if (!acceptEncoding) return null;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qp ? Number(qp.slice(2)) : 1;
    q.set(name, Number.isFinite(value) ? value : 0);
  }
  const accepts = (coding: string): boolean => {
    const v = q.get(coding) ?? q.get('*');
    return v !== undefined && v > 0;
  };
  if (accepts('br')) return 'br';
  if (accepts('gzip') || (q.get('x-gzip') ?? 0) > 0) return 'gzip';
  return null;
}
