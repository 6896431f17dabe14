import { createHash, type Hash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FMP4_INIT_NAME, segmentFileName } from '../plan.js';
import type { TsInspection } from './inspect.js';
import { joinBuffers, joinedTsInspection } from './join.js';
import { reusableFileReader, type FileRead } from './read-file.js';
import { initSegment, joinedFacts, segmentFacts, type InitSegment, type SegmentFacts, type SegmentFactsCache } from './segment-facts.js';

/** One HLS rendition folder ffmpeg is writing, relative to the package root. */
export interface WatchedRendition {
  dir: string;
  kind: 'video' | 'audio';
  container: 'ts' | 'fmp4';
}

/** Told of each segment measured, in order per rendition (`index` from 0), with its facts. */
export type SegmentListener = (rendition: WatchedRendition, index: number, facts: SegmentFacts) => void;

export interface SegmentWatcher {
  /** Stop watching; resolves once no read is in flight any more. */
  stop(): Promise<void>;
}

/**
 * Measure HLS segments while ffmpeg is still encoding, so that packaging after the encode reads only
 * the last segments. ffmpeg's HLS muxer, with `hls_flags temp_file` (args/command.ts), writes each
 * segment as NAME.tmp and renames it to NAME once it is complete, so a segment file that exists is
 * finished: it is read then, while still in the page cache, inspected and hashed into `facts`, one
 * segment after another per rendition. Every `intervalMs` each rendition is looked at; a segment
 * that cannot be read or inspected is left for packaging, which reports what is wrong with it.
 * Nothing here is trusted blindly: packaging uses an entry only when the file still has the size and
 * mtime it had when read (segment-facts.ts), so a wrong guess costs a second read, never a wrong
 * playlist or checksum.
 */
export interface WatchOptions {
  /** told of each segment once it is final (joined, with pieces) */
  onSegment?: SegmentListener | undefined;
  /**
   * ffmpeg cuts one-GOP pieces (plan.ts HlsPieces): the watcher joins each segment's pieces as soon as
   * the last of them is complete, and counts in `joined` (by rendition folder) the segments it made,
   * from the first on, for packaging (hls.ts joinPieces), which joins the rest after the encode
   */
  pieces?: { first: number; rest: number; joined: Map<string, number> } | null | undefined;
}

/**
 * Write MPEG-TS pieces end to end as `target` (a name ffmpeg no longer uses, or the first piece's
 * own), through a scratch name renamed into place, and remove the pieces. Each piece is read again
 * (from the page cache) into one reused buffer and written at once: joining in memory copied every
 * piece twice into fresh memory, which cost the Node process about 0.3 s of CPU per 10 s of a 4-rung
 * 1080p ladder (bench/RESULTS.md). The facts are composed from the pieces' inspections
 * (joinedTsInspection) and the SHA-256 taken as they came. A piece that changed since it was
 * inspected (another size) fails the join: the watcher then leaves joining to packaging.
 */
async function joinTsPieces(
  root: string,
  target: string,
  group: readonly { name: string; size: number; facts: SegmentFacts }[],
  sha256: string,
  read: (path: string) => Promise<FileRead>,
): Promise<SegmentFacts> {
  const scratch = join(root, `${target}.joining`);
  const out = await open(scratch, 'w');
  let size = 0;
  try {
    for (const p of group) {
      const { buf } = await read(join(root, p.name));
      if (buf.length !== p.size) throw new Error(`${p.name} changed while it was being joined`);
      for (let at = 0; at < buf.length; ) at += (await out.write(buf, at, buf.length - at)).bytesWritten;
      size += buf.length;
    }
  } catch (error) {
    await out.close();
    await rm(scratch, { force: true });
    throw error;
  }
  await out.close();
  await rename(scratch, join(root, target));
  for (const p of group) if (p.name !== target) await rm(join(root, p.name), { force: true });
  const inspection = joinedTsInspection(group.map((p) => ({ size: p.size, inspection: p.facts.inspection as TsInspection })));
  return { size, mtimeMs: statSync(join(root, target)).mtimeMs, sha256, inspection, initSha256: null };
}

export function watchSegments(root: string, renditions: readonly WatchedRendition[], facts: SegmentFactsCache, intervalMs = 1000, options: WatchOptions = {}): SegmentWatcher {
  const { onSegment, pieces } = options;
  const read = reusableFileReader();
  // a second buffer for joining MPEG-TS pieces: `read`'s holds the piece in hand meanwhile
  const reread = reusableFileReader();
  const state = renditions.map((r) => ({
    ...r,
    next: 0,
    init: null as InitSegment | null,
    /**
     * pieces mode: the segment being gathered and its pieces so far. fMP4 pieces keep a copy of their
     * bytes (the reader reuses its buffer); MPEG-TS pieces keep none: they are hashed as they come and
     * read again from the page cache when the segment is written (joinTsPieces)
     */
    segment: 0,
    pending: [] as { name: string; buf: Buffer | null; size: number; facts: SegmentFacts }[],
    hash: null as Hash | null,
    joining: pieces !== null && pieces !== undefined,
  }));

  /** Pieces mode: the piece just measured joins its segment; a complete segment is written and told. */
  const gather = async (r: (typeof state)[number], name: string, buf: Buffer, known: SegmentFacts): Promise<void> => {
    if (!pieces || !r.joining) {
      onSegment?.(r, r.next, known);
      return;
    }
    const size = r.segment === 0 ? pieces.first : pieces.rest;
    const single = size === 1 && r.next === r.segment;
    const ts = r.container === 'ts' && !single;
    if (ts) {
      r.hash ??= createHash('sha256');
      r.hash.update(buf);
    }
    r.pending.push({ name, buf: single || ts ? null : Buffer.from(buf), size: buf.length, facts: known });
    if (r.pending.length < size) return;
    const group = r.pending;
    r.pending = [];
    const target = join(r.dir, segmentFileName(r.container, r.segment));
    let final = known;
    if (ts) {
      const digest = r.hash!.digest('hex');
      r.hash = null;
      final = await joinTsPieces(root, target, group, digest, reread);
      for (const p of group) facts.delete(p.name);
      facts.set(target, final);
    } else if (!single) {
      const joined = joinBuffers(
        group.map((p) => p.buf!),
        r.container === 'fmp4',
      );
      await writeFile(join(root, target), joined);
      for (const p of group) {
        facts.delete(p.name);
        if (p.name !== target) await rm(join(root, p.name), { force: true });
      }
      final = joinedFacts(
        group.map((p) => ({ size: p.size, inspection: p.facts.inspection })),
        joined,
        statSync(join(root, target)).mtimeMs,
        r.init,
      );
      facts.set(target, final);
    }
    pieces.joined.set(r.dir, r.segment + 1);
    onSegment?.(r, r.segment, final);
    r.segment++;
  };
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  const loadInit = async (dir: string): Promise<InitSegment | null> => {
    try {
      return initSegment(await readFile(join(root, dir, FMP4_INIT_NAME)));
    } catch {
      return null;
    }
  };

  const look = async (): Promise<void> => {
    for (const r of state) {
      // the init segment is written before the first media segment: wait for that one to exist.
      // existsSync: one access() call; a failing asynchronous open or stat costs ~40 times the CPU
      // (~150 us each), which every rendition would pay every second of the encode
      if (r.container === 'fmp4' && !r.init) {
        if (!existsSync(join(root, r.dir, segmentFileName(r.container, 0)))) continue;
        r.init = await loadInit(r.dir);
        if (!r.init) continue;
      }
      while (!stopped) {
        const name = join(r.dir, segmentFileName(r.container, r.next));
        if (!existsSync(join(root, name))) break;
        try {
          const file = await read(join(root, name));
          const known = segmentFacts(file, r.init);
          facts.set(name, known);
          await gather(r, name, file.buf, known);
        } catch {
          // not readable as a segment (or not joinable): left for packaging, which reports what is
          // wrong with it; no more joining in this rendition, packaging joins from here on
          r.joining = false;
        }
        r.next++;
      }
      if (stopped) return;
    }
  };

  const schedule = (): void => {
    timer = setTimeout(() => {
      inFlight = look()
        .catch(() => undefined)
        .finally(() => {
          if (!stopped) schedule();
        });
    }, intervalMs);
    timer.unref();
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
