import { StreamkitError } from '../errors.js';

/**
 * The publish URL: `rtmp://host[:port]/app[/instance]/STREAM_KEY` or `rtmps://...`. These are the
 * only outputs streamkit writes that are not files, so the scheme is checked strictly. The stream
 * key (the last path segment), any query string and any password are secrets: everything shown to
 * a person or a program uses the redacted form `rtmp://host/app/****`.
 */
export interface PublishTarget {
  /** the URL handed to ffmpeg; secret */
  url: string;
  scheme: 'rtmp' | 'rtmps';
  host: string;
  /** the port given in the URL; null means RTMP's default (1935, or 443 for rtmps) */
  port: number | null;
  /** application path (everything between host and key), e.g. "live" or "app/instance" */
  app: string;
  /** safe to print: rtmp://host:port/app/**** */
  redacted: string;
  /** every string that must never be shown (key, query, password; raw and percent-decoded) */
  secrets: string[];
}

const SHAPE = 'rtmp://host[:port]/app/STREAM_KEY (or rtmps://...)';

function usage(message: string): StreamkitError {
  return new StreamkitError('USAGE', message, { hint: `Give the ingest URL as ${SHAPE}; the last path segment is the stream key.` });
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parse and check a publish URL. Error messages never repeat the URL (it holds the key). */
export function parsePublishUrl(raw: string): PublishTarget {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is what this check is for
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) throw usage('The publish URL contains whitespace or control characters.');
  const m = /^(rtmps?):\/\//i.exec(raw);
  if (!m) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1];
    throw usage(scheme ? `Cannot publish to a ${scheme.toLowerCase()}: URL; only rtmp:// and rtmps:// are allowed.` : `The publish URL must start with rtmp:// or rtmps://.`);
  }
  const scheme = m[1]!.toLowerCase() as 'rtmp' | 'rtmps';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usage('The publish URL is not a valid URL.');
  }
  if (!u.hostname) throw usage('The publish URL has no host.');
  if (u.hash !== '' || raw.includes('#')) throw usage('The publish URL must not contain "#".');
  const path = u.pathname;
  const segments = path.split('/').slice(1);
  if (segments.length < 2 || segments.some((s) => s === '')) throw usage('The publish URL needs an application and a stream key, with no empty path segments.');
  const key = segments[segments.length - 1]!;
  const app = segments.slice(0, -1).join('/');
  const port = u.port === '' ? null : Number(u.port);
  const query = u.search.replace(/^\?/, '');
  const secrets = new Set<string>();
  for (const s of [key, query, u.password]) {
    if (s) {
      secrets.add(s);
      secrets.add(decoded(s));
    }
  }
  const userinfo = u.username ? `${u.username}${u.password ? ':****' : ''}@` : '';
  const host = u.host; // host[:port], IPv6 in brackets
  const redacted = `${scheme}://${userinfo}${host}/${app}/****${query ? '?****' : ''}`;
  return { url: raw, scheme, host: u.hostname, port, app, redacted, secrets: [...secrets].sort((a, b) => b.length - a.length) };
}

/** Secrets this long or longer are removed wherever they appear; shorter ones only where they follow a URL delimiter (a one-letter key would otherwise eat every "x" in a log). */
const FREE_TEXT_SECRET_MIN = 4;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A function that removes every secret of the target from a text (ffmpeg's stderr, a command
 * line): the whole URL becomes its redacted form, then any leftover secret becomes ****.
 */
export function redactor(target: Pick<PublishTarget, 'url' | 'redacted' | 'secrets'>): (text: string) => string {
  const patterns = target.secrets.map((s) =>
    s.length >= FREE_TEXT_SECRET_MIN ? new RegExp(escapeRegExp(s), 'g') : new RegExp(`(?<=[/=:@?&])${escapeRegExp(s)}(?=$|[^A-Za-z0-9_.~-])`, 'g'),
  );
  return (text: string): string => {
    let out = text.split(target.url).join(target.redacted);
    for (const p of patterns) out = out.replace(p, '****');
    return out;
  };
}
