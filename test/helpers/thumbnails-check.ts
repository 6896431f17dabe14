/**
 * The independent check of a package's poster and thumbnail track: WebVTT parsed here (not with the
 * product's writer), image sizes from ffprobe (not the product's JPEG reader), blackness from ffmpeg's
 * signalstats.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { FFMPEG, FFPROBE } from './requirements.js';
import { run } from './media.js';

export interface ParsedCue {
  start: number;
  end: number;
  /** the payload's file, relative to the VTT */
  file: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

const time = (t: string): number => {
  const m = /^(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})$/.exec(t);
  if (!m) throw new Error(`not a WebVTT timestamp: ${t}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
};

/** A thumbnail track: `WEBVTT`, then blocks of an optional id, `start --> end`, `file#xywh=x,y,w,h`. Throws on anything else. */
export function parseThumbnailVtt(text: string): ParsedCue[] {
  const blocks = text
    .replace(/\r\n/g, '\n')
    .trim()
    .split(/\n{2,}/);
  if (!/^WEBVTT(?:[ \t].*)?$/.test(blocks[0]!.split('\n')[0]!)) throw new Error('no WEBVTT header');
  return blocks.slice(1).map((block) => {
    const lines = block.split('\n');
    const at = lines.findIndex((l) => l.includes('-->'));
    const timing = /^(\S+)\s+-->\s+(\S+)/.exec(lines[at] ?? '');
    const payload = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[at + 1] ?? '');
    if (!timing || !payload || lines.length !== at + 2) throw new Error(`not a thumbnail cue: ${JSON.stringify(block)}`);
    return {
      start: time(timing[1]!),
      end: time(timing[2]!),
      file: payload[1]!,
      x: Number(payload[2]),
      y: Number(payload[3]),
      w: Number(payload[4]),
      h: Number(payload[5]),
    };
  });
}

/** Width and height of an image, by ffprobe. */
export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json', `file:${file}`]);
  const s = (JSON.parse(stdout) as { streams: { width: number; height: number }[] }).streams[0]!;
  return { width: s.width, height: s.height };
}

/** The brightest luma of an image (0-255, ffmpeg's signalstats YMAX); also proves it decodes. */
export async function maxLuma(file: string): Promise<number> {
  const { stderr } = await run(FFMPEG, ['-hide_banner', '-xerror', '-i', `file:${file}`, '-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YMAX', '-f', 'null', '-']);
  const m = /lavfi\.signalstats\.YMAX=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no signalstats for ${file}`);
  return Number(m[1]);
}

export interface ThumbnailTrackCheck {
  cues: ParsedCue[];
  /** sprite files the cues use, relative to the package */
  sprites: string[];
  /** every problem found, in words; empty when the track is right */
  problems: string[];
}

/**
 * Check DIR/thumbnails.vtt against `durationSeconds`: cues contiguous from 0, no gaps or overlaps,
 * the last ending at the duration; every `#xywh` inside its sprite's real size, on the tile grid of
 * `tile` when given; every sprite in DIR/thumbnails/ used by a cue and every cue's sprite there.
 */
export async function checkThumbnailTrack(dir: string, durationSeconds: number, tile?: { width: number; height: number }): Promise<ThumbnailTrackCheck> {
  const vtt = join(dir, 'thumbnails.vtt');
  const cues = parseThumbnailVtt(await readFile(vtt, 'utf8'));
  const problems: string[] = [];
  if (cues.length === 0) problems.push('no cues');
  if (cues[0] && cues[0].start !== 0) problems.push(`first cue starts at ${cues[0].start}`);
  cues.forEach((c, i) => {
    if (!(c.end > c.start)) problems.push(`cue ${i} is empty or reversed (${c.start} --> ${c.end})`);
    const next = cues[i + 1];
    if (next && Math.abs(next.start - c.end) > 1e-9) problems.push(`cue ${i} ends at ${c.end}, cue ${i + 1} starts at ${next.start}`);
  });
  const last = cues.at(-1);
  if (last && Math.abs(last.end - durationSeconds) > 0.0005) problems.push(`last cue ends at ${last.end}, the title at ${durationSeconds}`);
  const sprites = [...new Set(cues.map((c) => normalize(join(dirname('thumbnails.vtt'), c.file))))];
  const sizes = new Map<string, { width: number; height: number }>();
  for (const s of sprites) {
    try {
      sizes.set(s, await imageSize(join(dir, s)));
    } catch {
      problems.push(`${s} (used by a cue) cannot be read`);
    }
  }
  cues.forEach((c, i) => {
    const size = sizes.get(normalize(c.file));
    if (!size) return;
    if (c.w <= 0 || c.h <= 0 || c.x + c.w > size.width || c.y + c.h > size.height)
      problems.push(`cue ${i}: ${c.x},${c.y},${c.w},${c.h} is outside ${c.file} (${size.width}x${size.height})`);
    if (tile && (c.w !== tile.width || c.h !== tile.height || c.x % tile.width !== 0 || c.y % tile.height !== 0))
      problems.push(`cue ${i}: ${c.x},${c.y},${c.w},${c.h} is off the tile grid`);
  });
  const onDisk = (await readdir(join(dir, 'thumbnails'))).map((f) => `thumbnails/${f}`).sort();
  for (const f of onDisk) if (!sprites.includes(f)) problems.push(`${f} is used by no cue`);
  return { cues, sprites, problems };
}
