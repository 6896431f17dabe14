/** Small text helpers for human output. */
export function kbps(bps: number): string {
  return bps >= 1_000_000 ? `${(bps / 1_000_000).toFixed(2)} Mb/s` : `${Math.round(bps / 1000)} kb/s`;
}

export function bytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function duration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function progressLine(e: { percent: number | null; fps: number | null; speed: number | null; etaSeconds: number | null; outTimeSeconds: number | null }): string {
  const pct = e.percent === null ? `${duration(e.outTimeSeconds)} encoded` : `${e.percent.toFixed(0)}%`;
  // ffmpeg reports fps=0 for its first second: unknown rather than zero
  const fps = e.fps === null || e.fps <= 0 ? '' : ` ${e.fps.toFixed(0)} fps`;
  const speed = e.speed === null || e.speed <= 0 ? '' : ` ${e.speed.toFixed(2)}x`;
  const eta = e.etaSeconds === null ? '' : ` ETA ${duration(e.etaSeconds)}`;
  return `${pct}${fps}${speed}${eta}`;
}
