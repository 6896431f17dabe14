import type { Ladder } from '../media/ladder.js';
import type { MediaInfo } from '../media/probe.js';
import { spriteFile, type NvencPipeline, type ThumbnailPlan } from '../plan.js';
import type { Preset } from '../preset/schema.js';

/**
 * Pure pieces of the poster and thumbnail sprites: the plan (interval, tile and sheet geometry, the
 * poster's window) from the preset and the source, the WebVTT thumbnail track written from that plan,
 * and a JPEG's size read from its frame header. pipeline/thumbnails.ts does the I/O.
 */

/** What was made: streamkit.json and the `done` event carry it. Paths are relative to the package folder. */
export interface ThumbnailsReport {
  poster: string;
  /** how the poster was chosen: from the window a tenth into the title, or (that window all dark) from the whole title; `black`: every candidate was dark */
  posterFrom: 'window' | 'title' | 'black';
  vtt: string;
  sprites: string[];
  /** cues (thumbnails) in thumbnails.vtt */
  count: number;
  intervalSeconds: number;
  durationSeconds: number;
  /** one thumbnail's size, and the thumbnails per sheet */
  width: number;
  height: number;
  columns: number;
  rows: number;
  /** bytes of the poster, the VTT and the sheets together */
  sizeBytes: number;
  /** encode: made from the ladder's own decode; separate: in a CPU pass of its own (NVENC) */
  pass: 'encode' | 'separate';
}

/** Intervals `auto` chooses from, shortest first: the first that keeps the title within MAX_AUTO_CUES cues. */
const AUTO_INTERVALS = [2, 3, 4, 5, 6, 8, 10];
const MAX_AUTO_CUES = 300;
/** The poster is at most this tall (a player's poster, not a second top rung). */
const POSTER_MAX_HEIGHT = 720;
/** The poster is chosen from a window starting this far into the title (skips black openings and fades)... */
const POSTER_START_FRACTION = 0.1;
/** ...and at most this long (one candidate frame a second: the thumbnail filter holds them all). */
const POSTER_WINDOW_SECONDS = 20;

const even = (x: number): number => Math.max(2, 2 * Math.round(x / 2));

/**
 * `auto`: 2 s for titles up to 10 minutes, then the shortest of 3-10 s that keeps them within 300
 * cues; 10 s for anything longer than 50 minutes (a two-hour film: 720 cues on 8 sheets of 10x10).
 */
export function autoInterval(durationSeconds: number): number {
  return AUTO_INTERVALS.find((i) => durationSeconds / i <= MAX_AUTO_CUES) ?? AUTO_INTERVALS.at(-1)!;
}

/**
 * Poster and thumbnails for a plan, or none with the reason. Absent from the preset: made unless the
 * preset is live (`streamkit push` has no package to put them in). NVENC plans whose frames stay in
 * GPU memory (modes gpu and upload) make them in a CPU pass of their own: the ladder's graph holds
 * CUDA frames, and a download branch would hold GPU surfaces from the decoder's small pool.
 */
export function planThumbnails(
  preset: Pick<Preset, 'live' | 'packaging'>,
  media: Pick<MediaInfo, 'duration'>,
  ladder: Pick<Ladder, 'rungs'>,
  nvenc?: Pick<NvencPipeline, 'mode'>,
): { thumbnails: ThumbnailPlan | null; notes: string[] } {
  const spec = preset.packaging.thumbnails;
  if (spec === false || (spec === undefined && preset.live)) return { thumbnails: null, notes: [] };
  if (media.duration === null) return { thumbnails: null, notes: ['thumbnails: none made, the source does not say how long it is'] };
  const s = spec ?? { interval: 'auto' as const, width: 160, columns: 10, rows: 10 };
  const top = ladder.rungs[0]!;
  const durationMs = Math.max(1, Math.round(media.duration * 1000));
  const intervalMs = Math.round((s.interval === 'auto' ? autoInterval(media.duration) : s.interval) * 1000);
  const count = Math.ceil(durationMs / intervalMs);
  const width = even(Math.min(s.width, top.width));
  const height = even((width * top.height) / top.width);
  const columns = Math.min(s.columns, count);
  const rows = Math.min(s.rows, Math.ceil(count / columns));
  const posterHeight = Math.min(top.height, POSTER_MAX_HEIGHT);
  const posterWidth = posterHeight === top.height ? top.width : even((posterHeight * top.width) / top.height);
  const duration = durationMs / 1000;
  const start = Math.round(duration * POSTER_START_FRACTION * 1000) / 1000;
  const end = Math.round(Math.min(duration, start + POSTER_WINDOW_SECONDS) * 1000) / 1000;
  return {
    thumbnails: {
      intervalMs,
      durationMs,
      count,
      width,
      height,
      columns,
      rows,
      poster: { width: posterWidth, height: posterHeight, start, end },
      pass: nvenc && nvenc.mode !== 'cpu' ? 'separate' : 'encode',
    },
    notes: [],
  };
}

/** Sprite sheets the plan's thumbnails fill. */
export function spriteCount(t: Pick<ThumbnailPlan, 'count' | 'columns' | 'rows'>): number {
  return Math.ceil(t.count / (t.columns * t.rows));
}

/** One sheet's size in pixels (every sheet, the last partly filled one too). */
export function spriteSize(t: Pick<ThumbnailPlan, 'width' | 'height' | 'columns' | 'rows'>): { width: number; height: number } {
  return { width: t.width * t.columns, height: t.height * t.rows };
}

/** `HH:MM:SS.mmm` */
export function vttTime(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

export interface ThumbnailCue {
  startMs: number;
  endMs: number;
  /** sprite file relative to the package folder (and to thumbnails.vtt, which lies there) */
  file: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Cue k: [k x interval, (k+1) x interval), the last one ending at the duration; tile k of the sheets, row by row. */
export function thumbnailCues(t: Pick<ThumbnailPlan, 'intervalMs' | 'durationMs' | 'count' | 'width' | 'height' | 'columns' | 'rows'>): ThumbnailCue[] {
  const perSheet = t.columns * t.rows;
  return Array.from({ length: t.count }, (_, k) => {
    const tile = k % perSheet;
    return {
      startMs: k * t.intervalMs,
      endMs: Math.min((k + 1) * t.intervalMs, t.durationMs),
      file: spriteFile(Math.floor(k / perSheet) + 1),
      x: (tile % t.columns) * t.width,
      y: Math.floor(tile / t.columns) * t.height,
      w: t.width,
      h: t.height,
    };
  });
}

/** thumbnails.vtt: the WebVTT thumbnail track video.js, JW Player and Shaka read (`sprite.jpg#xywh=x,y,w,h`). */
export function thumbnailsVtt(t: Parameters<typeof thumbnailCues>[0]): string {
  const cues = thumbnailCues(t).map((c) => `${vttTime(c.startMs)} --> ${vttTime(c.endMs)}\n${c.file}#xywh=${c.x},${c.y},${c.w},${c.h}\n`);
  return ['WEBVTT\n', ...cues].join('\n');
}

/**
 * Width and height from a JPEG's frame header (any SOFn marker), or null when `data` is not a JPEG
 * or ends before one.
 */
export function jpegSize(data: Uint8Array): { width: number; height: number } | null {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= data.length) {
    if (data[i] !== 0xff) return null;
    const marker = data[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // markers without a length: TEM, RSTn
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = (data[i + 2]! << 8) | data[i + 3]!;
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) {
      if (i + 9 > data.length) return null;
      return { height: (data[i + 5]! << 8) | data[i + 6]!, width: (data[i + 7]! << 8) | data[i + 8]! };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data or the end before any frame header
    i += 2 + length;
  }
  return null;
}
