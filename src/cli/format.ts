import { duration } from '../format/quantities.js';

/** The CLI's text helpers: the shared quantities, and one progress line. */
export { bytes, duration, kbps } from '../format/quantities.js';

export function progressLine(e: { percent: number | null; fps: number | null; speed: number | null; etaSeconds: number | null; outTimeSeconds: number | null }): string {
  const pct = e.percent === null ? `${duration(e.outTimeSeconds)} encoded` : `${e.percent.toFixed(0)}%`;
  // ffmpeg reports fps=0 for its first second: unknown rather than zero
  const fps = e.fps === null || e.fps <= 0 ? '' : ` ${e.fps.toFixed(0)} fps`;
  const speed = e.speed === null || e.speed <= 0 ? '' : ` ${e.speed.toFixed(2)}x`;
  const eta = e.etaSeconds === null ? '' : ` ETA ${duration(e.etaSeconds)}`;
  return `${pct}${fps}${speed}${eta}`;
}
