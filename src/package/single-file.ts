import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StreamkitError } from '../errors.js';
import { buildSidx } from './bitstream/mp4.js';
import { timedSegments } from './dash.js';
import { iframesOf, type MeasuredRendition } from './hls.js';
import { inspectFmp4Init } from './inspect.js';
import { writeIFramePlaylist, writeMediaPlaylist } from './playlist.js';

/**
 * The single-file layout (packaging.hls.layout: single-file), for CDNs that prefer few objects: each
 * rendition's init segment and media segments become one file, `media.mp4` = ftyp+moov, one sidx
 * indexing every segment, then the segments' moof/mdat pairs (their styp and per-segment sidx left
 * out; trun offsets are relative to their moof, so the fragments move unchanged). HLS addresses it with
 * EXT-X-MAP BYTERANGE and EXT-X-BYTERANGE, DASH with SegmentBase (indexRange = the sidx). Done after
 * every check on the segments, from the measured renditions; the per-segment files are removed.
 */

export const SINGLE_FILE_NAME = 'media.mp4';

/** Where each part of a rendition's single file lies, in bytes. */
export interface SingleFileIndex {
  /** relative to the package folder */
  file: string;
  initLength: number;
  /** the sidx: [sidxOffset, sidxOffset + sidxLength) */
  sidxOffset: number;
  sidxLength: number;
  segments: { offset: number; length: number }[];
  /** the track's timescale and earliest presentation time (ticks), as the sidx states them */
  timescale: number;
  earliest: number;
}

function fail(message: string, details: Record<string, unknown>): never {
  throw new StreamkitError('VERIFY_FAILED', `single-file layout: ${message}`, { details });
}

/** The top-level boxes of a file, from their headers alone (positional reads, no whole-file buffer). */
async function topLevelBoxes(path: string): Promise<{ type: string; start: number; size: number }[]> {
  const fh = await open(path, 'r');
  try {
    const { size: total } = await fh.stat();
    const out: { type: string; start: number; size: number }[] = [];
    const head = Buffer.alloc(16);
    for (let p = 0; p < total; ) {
      const { bytesRead } = await fh.read(head, 0, 16, p);
      if (bytesRead < 8) throw new Error(`truncated box header at ${p}`);
      let size = head.readUInt32BE(0);
      if (size === 1) size = Number(head.readBigUInt64BE(8));
      else if (size === 0) size = total - p;
      if (size < 8 || p + size > total) throw new Error(`bad box size ${size} at ${p}`);
      out.push({ type: head.toString('latin1', 4, 8), start: p, size });
      p += size;
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** Copy byte ranges of `from` to the end of the open file `to`, in bounded chunks. */
async function appendRanges(to: Awaited<ReturnType<typeof open>>, from: string, ranges: readonly { start: number; size: number }[]): Promise<void> {
  const src = await open(from, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (const r of ranges) {
      for (let done = 0; done < r.size; ) {
        const n = Math.min(chunk.length, r.size - done);
        const { bytesRead } = await src.read(chunk, 0, n, r.start + done);
        if (bytesRead !== n) throw new Error(`short read of ${from}`);
        await to.write(chunk, 0, n);
        done += n;
      }
    }
  } finally {
    await src.close();
  }
}

/** Make one rendition's single file, rewrite its playlists, remove its segment files. */
async function joinRendition(root: string, r: MeasuredRendition): Promise<SingleFileIndex> {
  const dir = join(root, r.dir);
  if (!r.mapUri) fail(`${r.dir} has no init segment (MPEG-TS?)`, { dir: r.dir });
  const init = await readFile(join(dir, r.mapUri));
  const trackId = inspectFmp4Init(init).tracks[0]?.trackId ?? fail(`${r.dir}: its init segment has no track`, { dir: r.dir });
  const timed = timedSegments(r);
  // each segment without its styp and sidx: what the single file keeps of it, and where each kept box moves
  const kept: { ranges: { start: number; size: number }[]; length: number }[] = [];
  for (const s of r.segments) {
    let boxes: Awaited<ReturnType<typeof topLevelBoxes>>;
    try {
      boxes = await topLevelBoxes(join(dir, s.uri));
    } catch (error) {
      fail(`${r.dir}/${s.uri}: ${(error as Error).message}`, { dir: r.dir });
    }
    const ranges = boxes.filter((b) => b.type !== 'styp' && b.type !== 'sidx');
    kept.push({ ranges, length: ranges.reduce((a, b) => a + b.size, 0) });
  }
  const sidx = buildSidx({
    referenceId: trackId,
    timescale: timed.timescale,
    earliestPresentationTime: timed.segments[0]!.start,
    firstOffset: 0,
    references: timed.segments.map((t, i) => ({ size: kept[i]!.length, duration: t.duration, startsWithSap: true })),
  });
  const file = join(dir, SINGLE_FILE_NAME);
  const segments: SingleFileIndex['segments'] = [];
  const out = await open(file, 'w');
  try {
    await out.write(init);
    await out.write(sidx);
    let offset = init.length + sidx.length;
    for (const [i, s] of r.segments.entries()) {
      await appendRanges(out, join(dir, s.uri), kept[i]!.ranges);
      segments.push({ offset, length: kept[i]!.length });
      offset += kept[i]!.length;
    }
  } finally {
    await out.close();
  }
  // a byte offset inside segment i's file -> its offset in the single file (only kept boxes are addressed)
  const moved = (i: number, old: number): number => {
    let at = segments[i]!.offset;
    for (const b of kept[i]!.ranges) {
      if (old >= b.start && old < b.start + b.size) return at + (old - b.start);
      at += b.size;
    }
    return fail(`${r.dir}/${r.segments[i]!.uri}: byte ${old} is not in a kept box`, { dir: r.dir });
  };
  const byUri = new Map(r.segments.map((s, i) => [s.uri, i]));
  await writeFile(
    join(dir, 'index.m3u8'),
    writeMediaPlaylist({
      segments: r.segments.map((s, i) => ({ uri: SINGLE_FILE_NAME, duration: s.duration, byteRange: segments[i]! })),
      mapUri: SINGLE_FILE_NAME,
      mapByteRange: { offset: 0, length: init.length },
    }),
  );
  if (r.kind === 'video') {
    const frames = iframesOf(r).map((f) => {
      const i = byUri.get(f.uri)!;
      return { ...f, uri: SINGLE_FILE_NAME, offset: moved(i, f.offset) };
    });
    await writeFile(join(dir, 'iframes.m3u8'), writeIFramePlaylist({ frames, map: { uri: SINGLE_FILE_NAME, byteRange: { offset: 0, length: init.length } } }));
  }
  for (const s of r.segments) await rm(join(dir, s.uri));
  await rm(join(dir, r.mapUri));
  return {
    file: `${r.dir}/${SINGLE_FILE_NAME}`,
    initLength: init.length,
    sidxOffset: init.length,
    sidxLength: sidx.length,
    segments,
    timescale: timed.timescale,
    earliest: timed.segments[0]!.start,
  };
}

/** Every HLS rendition of a measured package as one file; returns each one's index by folder. */
export async function toSingleFiles(root: string, measured: { videos: readonly MeasuredRendition[]; audios: readonly MeasuredRendition[] }): Promise<Map<string, SingleFileIndex>> {
  const out = new Map<string, SingleFileIndex>();
  for (const r of [...measured.videos, ...measured.audios]) out.set(r.dir, await joinRendition(root, r));
  return out;
}
