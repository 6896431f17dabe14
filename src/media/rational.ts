/** Exact rationals for frame rates (30000/1001 stays 30000/1001) and aspect ratios. */
export interface Rational {
  num: number;
  den: number;
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a || 1;
}

export function rational(num: number, den: number): Rational {
  if (den === 0) throw new Error(`invalid rational ${num}/0`);
  const g = gcd(num, den);
  const sign = den < 0 ? -1 : 1;
  return { num: (sign * num) / g, den: (sign * den) / g };
}

/** "30000/1001", "25", "16:9" -> Rational; null for 0/0, N/A or garbage. */
export function parseRational(text: string | undefined | null): Rational | null {
  if (!text) return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:[/:]\s*(\d+)\s*)?$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const d = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isFinite(n) || d === 0 || n === 0) return null;
  if (!Number.isInteger(n)) {
    // "29.97" -> 2997/100, then reduced; common decimal NTSC spellings snap to exact rates
    const snapped = snapNtsc(n);
    if (snapped) return snapped;
    const scale = 10 ** (String(m[1]).split('.')[1]?.length ?? 0);
    return rational(Math.round(n * scale), d * scale);
  }
  return rational(n, d);
}

function snapNtsc(value: number): Rational | null {
  for (const base of [24, 30, 60, 120]) {
    const exact = (base * 1000) / 1001;
    if (Math.abs(value - exact) < 0.006) return rational(base * 1000, 1001);
  }
  return null;
}

export function toNumber(r: Rational): number {
  return r.num / r.den;
}

export function formatRational(r: Rational): string {
  return r.den === 1 ? String(r.num) : `${r.num}/${r.den}`;
}

export function divide(r: Rational, k: number): Rational {
  return rational(r.num, r.den * k);
}
