/** Bitrates in presets: a number of bits per second, or a string like "145k", "7.8M", "128000". */
export function parseBitrate(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([kKmM]?)(?:bps|b\/s)?\s*$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  return Math.round(unit === 'k' ? n * 1000 : unit === 'm' ? n * 1_000_000 : n);
}

/** 7800000 -> "7800k" (ffmpeg understands k/M suffixes). */
export function formatBitrate(bps: number): string {
  if (bps % 1000 === 0) return `${bps / 1000}k`;
  return String(Math.round(bps));
}
