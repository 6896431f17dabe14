import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FMP4_INIT_NAME, segmentFileName } from '../plan.js';
import type { TsInspection } from './inspect.js';
import { joinBuffers, joinedTsInspection } from './join.js';
import { reusableFileReader } from './read-file.js';
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
 * A segment being joined from MPEG-TS pieces as they come: each piece is appended to a scratch file
 * beside the target and hashed from the bytes in hand (the watcher's read), so no piece is copied in
 * memory or read twice. Joining in memory copied every piece twice into fresh memory, about 0.3 s of
 * the Node process's CPU per 10 s of a 4-rung 1080p ladder in this VM (bench/RESULTS.md). The pieces
 * stay until the segment is complete and renamed into place: a join left unfinished (the watcher
 * stopped, a write failed) is abandoned and its pieces joined by packaging, as without the watcher.
 */
interface TsJoin {
  add(buf: Buffer): Promise<void>;
  /** close, rename into place as `target`; the joined file's SHA-256 and size */
  finish(target: string): Promise<{ sha256: string; size: number }>;
  /** close and remove the scratch file */
  abandon(): Promise<void>;
}

async function startTsJoin(scratch: string): Promise<TsJoin> {
  const out = await open(scratch, 'w');
  const hash = createHash('sha256');
  let size = 0;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await out.close();
  };
  return {
    async add(buf) {
      for (let at = 0; at < buf.length; ) at += (await out.write(buf, at, buf.length - at)).bytesWritten;
      hash.update(buf);
      size += buf.length;
    },
    async finish(target) {
      await close();
      await rename(scratch, target);
      return { sha256: hash.digest('hex'), size };
    },
    async abandon() {
      await close().catch(() => undefined);
      await rm(scratch, { force: true });
    },
  };
}

export function watchSegments(root: string, renditions: readonly WatchedRendition[], facts: SegmentFactsCache, intervalMs = 1000, options: WatchOptions = {}): SegmentWatcher {
  const { onSegment, pieces } = options;
  const read = reusableFileReader();
  const state = renditions.map((r) => ({
    ...r,
    next: 0,
    init: null as InitSegment | null,
    /**
     * pieces mode: the segment being gathered and its pieces so far. fMP4 pieces keep a copy of their
     * bytes (the reader reuses its buffer); MPEG-TS pieces keep none: they are written as they come (`ts`)
     */
    segment: 0,
    pending: [] as { name: string; buf: Buffer | null; size: number; facts: SegmentFacts }[],
    ts: null as TsJoin | null,
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
    const target = join(r.dir, segmentFileName(r.container, r.segment));
    const ts = r.container === 'ts' && !single;
    if (ts) {
      r.ts ??= await startTsJoin(join(root, `${target}.joining`));
      await r.ts.add(buf);
    }
    r.pending.push({ name, buf: single || ts ? null : Buffer.from(buf), size: buf.length, facts: known });
    if (r.pending.length < size) return;
    const group = r.pending;
    r.pending = [];
    let final = known;
    if (ts && r.ts) {
      const joined = await r.ts.finish(join(root, target));
      r.ts = null;
      for (const p of group) {
        facts.delete(p.name);
        if (p.name !== target) await rm(join(root, p.name), { force: true });
      }
      const inspection = joinedTsInspection(group.map((p) => ({ size: p.size, inspection: p.facts.inspection as TsInspection })));
      final = { ...joined, mtimeMs: statSync(join(root, target)).mtimeMs, inspection, initSha256: null };
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
          await abandonJoin(r);
        }
        r.next++;
      }
      if (stopped) return;
    }
  };

  /** a segment half joined is left to packaging, which joins it from its pieces (still there) */
  const abandonJoin = async (r: (typeof state)[number]): Promise<void> => {
    const half = r.ts;
    r.ts = null;
    await half?.abandon().catch(() => undefined);
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
      for (const r of state) await abandonJoin(r);
    },
  };
}
