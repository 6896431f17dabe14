import { FMP4_INIT_NAME, segmentFileName } from '../plan.js';
import type { SegmentFacts } from './segment-facts.js';
import type { WatchedRendition } from './segment-watcher.js';
import { decodeCheckPieces, decodeEarly, type DecodePiece } from './verify.js';

/**
 * The first end of the decode check, made while ffmpeg is still encoding. The decode check
 * (verify.ts) decodes each rendition's first keyframe (first segment for audio and fMP4) and its
 * last GOP. The first pieces exist as soon as every rendition's first segment is complete: they are
 * decoded then, all in one ffmpeg process, so that after the encode only the last pieces are left.
 * What decoded is told by piece identity (verify.ts pieceIdentity: the bytes it covered, by file size
 * and modification time), so a segment rewritten since (a short tail folded into it) is decoded
 * again; a piece that failed here is decoded again after the encode, and its failure reported then.
 */
export interface EarlyDecodes {
  /** for the segment watcher (segment-watcher.ts SegmentListener) */
  onSegment(rendition: WatchedRendition, index: number, facts: SegmentFacts): void;
  /** wait for a decode already running; the identities of the pieces that decoded */
  settle(): Promise<ReadonlySet<string>>;
}

/** The piece decodeCheckPieces makes of a rendition's first segment: the first of its pieces. */
export function firstPiece(rendition: WatchedRendition, facts: SegmentFacts): DecodePiece | null {
  const { inspection } = facts;
  const pieces = decodeCheckPieces([
    {
      kind: rendition.kind,
      dir: rendition.dir,
      mapUri: rendition.container === 'fmp4' ? FMP4_INIT_NAME : null,
      tsInitLength: 'initLength' in inspection ? inspection.initLength : null,
      // a second segment stands for "more follow": the first piece of a rendition of several
      // segments, which is what a rendition whose second segment is coming has
      segments: [0, 1].map((i) => ({ uri: segmentFileName(rendition.container, i), bytes: facts.size, keyframes: inspection.keyframes })),
    },
  ]);
  return pieces[0] ?? null;
}

export function earlyDecodes(ffmpeg: string, root: string, renditions: readonly WatchedRendition[], signal?: AbortSignal): EarlyDecodes {
  const first = new Map<string, DecodePiece | null>();
  let running: Promise<Set<string>> | null = null;
  return {
    onSegment(rendition, index, facts) {
      if (index !== 0 || running) return;
      first.set(rendition.dir, firstPiece(rendition, facts));
      if (first.size < renditions.length) return;
      const pieces = [...first.values()].filter((p): p is DecodePiece => p !== null);
      running = decodeEarly(ffmpeg, root, pieces, signal);
    },
    settle: async () => running ?? new Set(),
  };
}
