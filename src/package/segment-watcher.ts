import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FMP4_INIT_NAME, segmentFileName } from '../plan.js';
import { reusableFileReader } from './read-file.js';
import { initSegment, segmentFacts, type InitSegment, type SegmentFacts, type SegmentFactsCache } from './segment-facts.js';

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
export function watchSegments(root: string, renditions: readonly WatchedRendition[], facts: SegmentFactsCache, intervalMs = 1000, onSegment?: SegmentListener): SegmentWatcher {
  const read = reusableFileReader();
  const state = renditions.map((r) => ({ ...r, next: 0, init: null as InitSegment | null }));
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
          const known = segmentFacts(await read(join(root, name)), r.init);
          facts.set(name, known);
          onSegment?.(r, r.next, known);
        } catch {
          // not readable as a segment: left for packaging, which reports what is wrong with it
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
