// Small statistics and formatting helpers for the benchmark report.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  values: number[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export function summary(xs: readonly number[]): Summary {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, values: [...xs] };
}

export function fmt(x: number | null | undefined, digits = 2): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/** "12.34 (11.90–13.10)" */
export function fmtSummary(s: Summary, digits = 2): string {
  return s.n > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : fmt(s.median, digits);
}

/** POSIX shell quoting, for showing commands (never executed through a shell). */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=+,@%-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function mib(kib: number | null | undefined): string {
  return kib === null || kib === undefined ? 'n/a' : (kib / 1024).toFixed(0);
}
