import { StreamkitError } from '../errors.js';
import { parsePublishUrl, redactor } from '../push/url.js';

/**
 * Where `streamkit live` takes a stream in, and who may publish there:
 * - `rtmp://HOST:PORT/APP/KEY`: streamkit listens on HOST:PORT; only a publisher that connects to
 *   application APP and publishes stream KEY is let through (live/rtmp-gate.ts).
 * - `srt://HOST:PORT?passphrase=SECRET[&pbkeylen=16|24|32][&latency=MS]`: ffmpeg's SRT listener on
 *   HOST:PORT, with libsrt's encryption: a caller without the passphrase fails the handshake.
 * The key and the passphrase are secrets: everything shown uses `redacted`.
 */
export type ListenTarget =
  | { kind: 'rtmp'; host: string; port: number; app: string; key: string; redacted: string; secrets: string[]; redact: (t: string) => string }
  | {
      kind: 'srt';
      host: string;
      port: number;
      passphrase: string;
      pbkeylen: 16 | 24 | 32;
      /** SRT receive latency in ms (libsrt's default 120 when null) */
      latencyMs: number | null;
      redacted: string;
      secrets: string[];
      redact: (t: string) => string;
    };

const SHAPES = 'rtmp://HOST:PORT/APP/STREAM_KEY or srt://HOST:PORT?passphrase=SECRET';

function usage(message: string, hint = `Give --listen as ${SHAPES}.`): StreamkitError {
  return new StreamkitError('USAGE', message, { hint });
}

export function parseListenUrl(raw: string): ListenTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 'rtmp') {
    const t = parsePublishUrl(raw);
    if (t.port === null) throw usage('--listen needs a port (rtmp://HOST:PORT/APP/KEY; RTMP usually uses 1935).');
    if (raw.includes('?')) throw usage('An rtmp:// --listen URL takes no query string: the stream key is the last path segment.');
    const key = raw.replace(/\/+$/, '').split('/').pop()!;
    return { kind: 'rtmp', host: t.host, port: t.port, app: t.app, key: decodeURIComponent(key), redacted: t.redacted, secrets: t.secrets, redact: redactor(t) };
  }
  if (scheme === 'srt') {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is what this check is for
    if (/[\s\u0000-\u001f\u007f]/.test(raw)) throw usage('The --listen URL contains whitespace or control characters.');
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw usage('The --listen URL is not a valid URL.');
    }
    if (!u.hostname || u.port === '') throw usage('An srt:// --listen URL needs a host and a port (srt://0.0.0.0:9000?passphrase=...).');
    if (u.pathname !== '' && u.pathname !== '/') throw usage('An srt:// --listen URL has no path; the passphrase is the check.');
    const known = new Set(['passphrase', 'pbkeylen', 'latency']);
    for (const k of u.searchParams.keys()) {
      if (!known.has(k)) throw usage(`Unknown srt:// option "${k}"; streamkit takes passphrase, pbkeylen and latency.`);
    }
    const passphrase = u.searchParams.get('passphrase') ?? '';
    if (passphrase === '') {
      throw usage(
        'An srt:// --listen URL needs ?passphrase=...: without one, anyone who reaches the port could publish.',
        'Add ?passphrase=SECRET (10 to 64 characters) and give the same passphrase to the encoder (OBS: Settings > Stream > Server srt://HOST:PORT?passphrase=SECRET).',
      );
    }
    if (passphrase.length < 10 || passphrase.length > 64) throw usage(`The SRT passphrase must be 10 to 64 characters long (libsrt's rule), not ${passphrase.length}.`);
    const pb = Number(u.searchParams.get('pbkeylen') ?? 16);
    if (pb !== 16 && pb !== 24 && pb !== 32) throw usage('pbkeylen must be 16, 24 or 32 (AES-128, -192, -256).');
    const lat = u.searchParams.get('latency');
    const latencyMs = lat === null ? null : Number(lat);
    if (latencyMs !== null && !(Number.isInteger(latencyMs) && latencyMs >= 20 && latencyMs <= 10_000)) throw usage('latency is in milliseconds, 20 to 10000.');
    const port = Number(u.port);
    const secrets = [...new Set([passphrase, encodeURIComponent(passphrase)])].sort((a, b) => b.length - a.length);
    const redacted = `srt://${u.host}?passphrase=****${u.searchParams.has('pbkeylen') ? `&pbkeylen=${pb}` : ''}${latencyMs !== null ? `&latency=${latencyMs}` : ''}`;
    const redact = (text: string): string => {
      let out = text;
      for (const s of secrets) out = out.split(s).join('****');
      return out;
    };
    return { kind: 'srt', host: u.hostname, port, passphrase, pbkeylen: pb, latencyMs, redacted, secrets, redact };
  }
  if (scheme === 'rtmps') throw usage('streamkit live cannot listen for rtmps:// (TLS): put a TLS terminator in front of it, or use srt:// with a passphrase.');
  throw usage(scheme ? `Cannot listen for ${scheme}://; only rtmp:// and srt:// are taken.` : `--listen must be ${SHAPES}.`);
}
