import { iterateBoxes } from './bitstream/mp4.js';
import type { KeyframeRange, TsInspection } from './inspect.js';

/**
 * Joining segment files end to end: ffmpeg's one-GOP pieces into the package's segments (a short
 * first segment, plan.ts HlsPieces), during the encode (segment-watcher.ts) and after it (hls.ts
 * joinPieces), and a too-short tail into the segment before it (hls.ts foldShortTail).
 */

/** fMP4 segment bytes without the given top-level boxes (moof/mdat pairs stay; ffmpeg's trun offsets are relative to their moof). */
export function withoutBoxes(buf: Buffer, types: readonly string[]): Buffer {
  return Buffer.concat(
    iterateBoxes(buf)
      .filter((b) => !types.includes(b.type))
      .map((b) => buf.subarray(b.start, b.end)),
  );
}

/**
 * Segment files as one: MPEG-TS pieces concatenate as they are (one muxer wrote them: continuity
 * counters run on; each repeats PAT/PMT, which is allowed); for fMP4 the moof/mdat pairs of the later
 * pieces are appended and every sidx is dropped (it would index only the first fragment).
 */
export function joinBuffers(bufs: readonly Buffer[], fmp4: boolean): Buffer {
  return fmp4 ? Buffer.concat(bufs.map((b, i) => withoutBoxes(b, i === 0 ? ['sidx'] : ['styp', 'sidx']))) : Buffer.concat(bufs);
}

/**
 * The pieces (indexes into ffmpeg's playlist) joined into each segment: `first` pieces, then `rest`
 * at a time; the last segment takes what is left.
 */
export function pieceGroups(count: number, first: number, rest: number): number[][] {
  const groups: number[][] = [];
  let start = 0;
  while (start < count) {
    const size = Math.min(groups.length === 0 ? first : rest, count - start);
    groups.push(Array.from({ length: size }, (_, i) => start + i));
    start += size;
  }
  return groups;
}

/**
 * What inspecting MPEG-TS pieces joined end to end would find, from each piece's own inspection and
 * size: keyframe offsets move by the bytes before their piece; the start (first keyframe, first PTS,
 * PAT/PMT length) is the first piece's; frames add up; codecs are those of the pieces, in order. The
 * one difference from reading the joined bytes: a keyframe that is the last video frame of its piece
 * (a one-frame piece) keeps its length to its piece's end, not to the next video frame (past the next
 * piece's PAT/PMT); its whole frame is still inside.
 */
export function joinedTsInspection(pieces: readonly { size: number; inspection: TsInspection }[]): TsInspection {
  const first = pieces[0]!.inspection;
  const keyframes: KeyframeRange[] = [];
  const codecs: string[] = [];
  let offset = 0;
  let videoFrames = 0;
  for (const p of pieces) {
    for (const k of p.inspection.keyframes) keyframes.push({ ...k, offset: k.offset + offset });
    for (const c of p.inspection.codecs) if (!codecs.includes(c)) codecs.push(c);
    videoFrames += p.inspection.videoFrames;
    offset += p.size;
  }
  return { keyframes, startsWithKeyframe: first.startsWithKeyframe, firstPts: first.firstPts, videoFrames, initLength: first.initLength, codecs };
}
