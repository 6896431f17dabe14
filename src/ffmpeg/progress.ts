/**
 * Parser for the machine-readable progress stream that ffmpeg writes with
 * `-progress pipe:N` (or `-progress url`).
 *
 * The stream is a sequence of blocks of `key=value` lines; each block ends
 * with `progress=continue` or, for the very last report, `progress=end`.
 * Observed with ffmpeg 5.1 (see test/fixtures/progress):
 *
 * - One block per report, however many outputs there are. `frame=`/`fps=`
 *   come from the FIRST video output stream only, there is one
 *   `stream_<file>_<index>_q=` line per video output stream, `total_size=`
 *   is the size of output #0 only and `out_time*` is the MAXIMUM end time
 *   over all output streams.
 * - Outputs without video (audio-only, subtitle-only) have no `frame=` /
 *   `fps=` lines at all.
 * - `out_time_ms=` carries the same MICROSECOND value as `out_time_us=`
 *   (long-standing ffmpeg bug), so it is ignored here.
 * - `out_time_us` can be negative (`-copyts` on a source that does not start
 *   at 0 gives e.g. `out_time_us=-1400011`, `out_time=-00:00:01.400011`,
 *   `bitrate=  -0.0kbits/s`) and is `N/A` when no output stream has a time.
 * - `bitrate=` and `speed=` are printf-padded (`bitrate= 881.2kbits/s`,
 *   `speed=   0x`), and `speed=` uses `%g`, so it can be `2.38e+04x`.
 */

export interface ProgressSnapshot {
  /** `frame=`: frames of the first video output stream; null when absent. */
  frame: number | null;
  /** `fps=` */
  fps: number | null;
  /** `bitrate=` in kbit/s (`'1234.5kbits/s'` -> 1234.5); `N/A` or negative -> null. */
  bitrateKbps: number | null;
  /** `total_size=` in bytes (of output #0 only). */
  totalSizeBytes: number | null;
  /** From `out_time_us=`, else `out_time=HH:MM:SS.micro`; negative or `N/A` -> null. */
  outTimeSeconds: number | null;
  /** `dup_frames=` */
  dupFrames: number | null;
  /** `drop_frames=` */
  dropFrames: number | null;
  /** `speed=` (`'1.23x'` -> 1.23); `N/A` -> null. */
  speed: number | null;
  /** `progress=end` */
  done: boolean;
}

/** Keys the snapshot is built from; everything else (stream_*_q, psnr...) is ignored. */
const KNOWN_KEYS = ['frame', 'fps', 'bitrate', 'total_size', 'out_time_us', 'out_time', 'dup_frames', 'drop_frames', 'speed'] as const;
type KnownKey = (typeof KNOWN_KEYS)[number];
type RawBlock = Partial<Record<KnownKey, string>>;

const KNOWN_KEY_SET: ReadonlySet<string> = new Set<string>(KNOWN_KEYS);

/** Longest pending (newline-less) line kept; real lines are < 100 chars. */
const MAX_PENDING_LINE = 64 * 1024;

const INTEGER_RE = /^[+-]?\d+$/;
const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const OUT_TIME_RE = /^(-)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/;

function parseInteger(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const v = raw.trim();
  if (!INTEGER_RE.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

function parseDecimal(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const v = raw.trim();
  if (!DECIMAL_RE.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A count or size: a non-negative integer, else null. */
function parseCount(raw: string | undefined): number | null {
  const n = parseInteger(raw);
  return n !== null && n >= 0 ? n : null;
}

/** A non-negative decimal; negative values (including -0) become null. */
function parseNonNegative(raw: string | undefined): number | null {
  const n = parseDecimal(raw);
  if (n === null || n < 0 || Object.is(n, -0)) return null;
  return n;
}

/** `' 881.2kbits/s'` -> 881.2; `'N/A'`, `'-0.0kbits/s'` -> null. */
function parseBitrateKbps(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const m = /^(.*?)kbits\/s$/.exec(raw.trim());
  return m ? parseNonNegative(m[1]) : null;
}

/** `'1.23x'` -> 1.23, `'   0x'` -> 0, `'2.38e+04x'` -> 23800, `'N/A'` -> null. */
function parseSpeed(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const m = /^(.*?)x$/.exec(raw.trim());
  return m ? parseNonNegative(m[1]) : null;
}

/** `'00:01:02.500000'` -> 62.5; `'-00:00:01.4'` -> -1.4; `'N/A'` -> null. */
export function parseOutTime(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const m = OUT_TIME_RE.exec(raw.trim());
  if (!m) return null;
  const seconds = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  if (!Number.isFinite(seconds)) return null;
  return m[1] === '-' ? -seconds : seconds;
}

/** out_time_us first (microseconds), then out_time; negative -> null. */
function outTimeSeconds(block: RawBlock): number | null {
  const us = parseInteger(block.out_time_us);
  const seconds = us !== null ? us / 1_000_000 : parseOutTime(block.out_time);
  if (seconds === null || seconds < 0) return null;
  return seconds === 0 ? 0 : seconds;
}

function toSnapshot(block: RawBlock, done: boolean): ProgressSnapshot {
  return {
    frame: parseCount(block.frame),
    fps: parseNonNegative(block.fps),
    bitrateKbps: parseBitrateKbps(block.bitrate),
    totalSizeBytes: parseCount(block.total_size),
    outTimeSeconds: outTimeSeconds(block),
    dupFrames: parseCount(block.dup_frames),
    dropFrames: parseCount(block.drop_frames),
    speed: parseSpeed(block.speed),
    done,
  };
}

/**
 * Incremental, streaming parser: feed arbitrary chunks (split anywhere, even
 * mid-line or between `\r` and `\n`); `push` returns the snapshots completed
 * by that chunk. Only the unfinished line and the current block are kept.
 */
export class ProgressParser {
  private pending = '';
  private block: RawBlock = {};

  push(chunk: string): ProgressSnapshot[] {
    const out: ProgressSnapshot[] = [];
    let text = this.pending + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      const snap = this.line(text.slice(start, nl));
      if (snap) out.push(snap);
      start = nl + 1;
    }
    text = text.slice(start);
    // A line this long is not progress output; drop it rather than grow.
    this.pending = text.length > MAX_PENDING_LINE ? '' : text;
    return out;
  }

  /**
   * End of stream: treats a trailing line without newline as complete and
   * returns the snapshot it completes, if any. A block that never got its
   * `progress=` line (process killed mid-write) is discarded.
   */
  flush(): ProgressSnapshot[] {
    const rest = this.pending;
    this.pending = '';
    const snap = rest === '' ? null : this.line(rest);
    this.block = {};
    return snap ? [snap] : [];
  }

  private line(rawLine: string): ProgressSnapshot | null {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const eq = line.indexOf('=');
    if (eq <= 0) return null;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1);
    if (key === 'progress') {
      const done = value.trim() === 'end';
      const snap = toSnapshot(this.block, done);
      this.block = {};
      return snap;
    }
    if (KNOWN_KEY_SET.has(key)) this.block[key as KnownKey] = value;
    return null;
  }
}

/** Pure: whole text -> snapshots (a last line without newline is accepted). */
export function parseProgress(text: string): ProgressSnapshot[] {
  const parser = new ProgressParser();
  return [...parser.push(text), ...parser.flush()];
}

function knownDuration(durationSeconds: number | null): number | null {
  return durationSeconds !== null && Number.isFinite(durationSeconds) && durationSeconds > 0 ? durationSeconds : null;
}

/**
 * Percent 0..100 (clamped) of `durationSeconds` reached by the out time;
 * null when the duration is unknown/0 or the out time is unknown.
 * A `done` snapshot is 100 (the last out time is often one frame short).
 */
export function progressPercent(s: ProgressSnapshot, durationSeconds: number | null): number | null {
  const duration = knownDuration(durationSeconds);
  if (duration === null) return null;
  if (s.done) return 100;
  if (s.outTimeSeconds === null) return null;
  return Math.min(100, Math.max(0, (s.outTimeSeconds / duration) * 100));
}

/**
 * Seconds of wall-clock time left: remaining media time / speed. Null when
 * the duration, out time or speed is unknown, or speed is 0. 0 when done.
 */
export function progressEta(s: ProgressSnapshot, durationSeconds: number | null): number | null {
  const duration = knownDuration(durationSeconds);
  if (duration === null) return null;
  if (s.done) return 0;
  if (s.outTimeSeconds === null || s.speed === null || s.speed <= 0) return null;
  return Math.max(0, duration - s.outTimeSeconds) / s.speed;
}
