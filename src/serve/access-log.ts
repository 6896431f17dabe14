/**
 * One line per request in the Common Log Format, plus the time taken:
 * `127.0.0.1 - - [06/Dec/2026:19:10:00 +0000] "GET /movie/master.m3u8 HTTP/1.1" 200 1234 0.4ms`.
 * What the client sent (method, target) is escaped: no control character reaches the terminal or log.
 */

export interface RequestRecord {
  time: Date;
  remote: string;
  method: string;
  target: string;
  httpVersion: string;
  status: number;
  /** body bytes sent; null when none (HEAD, 304, an aborted response) */
  bytes: number | null;
  durationMs: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `[06/Dec/2026:19:10:00 +0000]`, in UTC. */
export function clfDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `[${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000]`;
}

/** Control characters, quotes and backslashes as \xHH, so one request is one line and the quotes stay balanced. */
function escapeLogText(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function accessLogLine(r: RequestRecord): string {
  return `${r.remote} - - ${clfDate(r.time)} "${escapeLogText(r.method)} ${escapeLogText(r.target)} HTTP/${escapeLogText(r.httpVersion)}" ${r.status} ${r.bytes ?? '-'} ${r.durationMs.toFixed(1)}ms`;
}
