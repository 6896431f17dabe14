import { statSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { FfmpegError, StreamkitError } from '../errors.js';
import { buildDecodeCheckArgs } from '../args/command.js';
import { runFfmpeg } from '../ffmpeg/run.js';
import { readFileRange } from './read-file.js';

/**
 * Did the whole input make it through? ffmpeg exits 0 on an input cut short (a download that
 * stopped half way, with the index at the front): it encodes what is there and stops. Checked
 * twice with the same rule: what ffmpeg reports it encoded against the container's announced
 * duration (`what: 'encoded'`), and the packaged video against the video stream's own duration
 * (`what: 'packaged'`). The tolerance (10% plus half a second) leaves room for variable-frame-rate
 * ends and container rounding, not for a missing part. Exit code 3: the input is at fault.
 */
export function checkNotTruncated(input: string, expected: number | null | undefined, actual: number | null | undefined, what: 'encoded' | 'packaged'): void {
  if (!expected || !Number.isFinite(expected) || expected <= 0 || actual === null || actual === undefined || !Number.isFinite(actual)) return;
  if (expected - actual <= expected * 0.1 + 0.5) return;
  const got = what === 'encoded' ? `ffmpeg encoded ${actual.toFixed(2)} s` : `the package holds ${actual.toFixed(2)} s of video`;
  throw new StreamkitError('INPUT_UNREADABLE', `${input} ended early: ${got} of the ${expected.toFixed(2)} s it announces. The file is truncated or damaged.`, {
    hint: 'Use a complete copy of the file; `ffmpeg -v error -i FILE -f null -` shows where decoding stops.',
    details: { input, announcedSeconds: expected, [what === 'encoded' ? 'encodedSeconds' : 'packagedSeconds']: actual },
  });
}

/** A byte range of a file in the package; `end` null: to the end of the file. */
export interface ByteRange {
  file: string;
  start: number;
  end: number | null;
}

/** One thing to decode: the concatenation of `parts` (relative to the package root), at most `frames` video frames of it. */
export interface DecodePiece {
  what: string;
  parts: ByteRange[];
  frames: number | null;
}

/** The measured facts about a rendition that the decode check needs (see package/hls.ts). */
export interface CheckedRendition {
  kind: 'video' | 'audio';
  dir: string;
  mapUri: string | null;
  tsInitLength: number | null;
  segments: readonly { uri: string; bytes: number; keyframes: readonly { offset: number; length: number }[] }[];
}

const whole = (file: string): ByteRange => ({ file, start: 0, end: null });

/**
 * What to decode to prove the package plays from its first frame to its last, without decoding it
 * all: per video rendition the first keyframe of the first segment and the last GOP of the last
 * segment; per audio rendition its first and last segments. Every segment was already read and
 * parsed while packaging (keyframe positions, sizes, durations, the codec from the parameter sets);
 * decoding these ends checks what parsing cannot. The first keyframe proves the stream opens and its
 * parameter sets decode; the last GOP is decoded from a random access point, as a player that seeks
 * there would, through the final frame, so it also proves every frame after a keyframe decodes
 * without what came before it (closed GOPs). The rest of the first GOP would add nothing the last
 * one does not check, at about half the check's time (bench/RESULTS.md).
 *
 * MPEG-TS: the first keyframe is the bytes up to the next video frame (PAT and PMT included); the
 * last GOP is the segment's PAT/PMT followed by the bytes from its last keyframe's first packet (an
 * I-frame playlist entry with its map), however short (a film that ends one frame past a GOP
 * boundary ends in a lone IDR of a few packets: buildDecodeCheckArgs names the demuxer, so such a
 * piece is not mistaken for another format). fMP4 segments are single fragments, so they are
 * decoded whole, with the init segment; the first one stops after its first frame (unless it is also
 * the last one).
 */
export function decodeCheckPieces(renditions: readonly CheckedRendition[]): DecodePiece[] {
  const pieces: DecodePiece[] = [];
  for (const r of renditions) {
    const at = (uri: string): string => `${r.dir}/${uri}`;
    const first = r.segments[0];
    const last = r.segments[r.segments.length - 1];
    if (!first || !last) continue;
    if (r.kind === 'audio' || r.mapUri) {
      const init = r.mapUri ? [whole(at(r.mapUri))] : [];
      // a single segment is decoded whole: it is also the last one
      pieces.push({ what: `${r.dir}: ${first.uri}`, parts: [...init, whole(at(first.uri))], frames: r.kind === 'video' && last !== first ? 1 : null });
      if (last !== first) pieces.push({ what: `${r.dir}: ${last.uri}`, parts: [...init, whole(at(last.uri))], frames: null });
      continue;
    }
    const firstKey = first.keyframes[0];
    const firstCut = firstKey !== undefined && firstKey.offset + firstKey.length < first.bytes;
    pieces.push({
      what: `${r.dir}: first keyframe of ${first.uri}`,
      parts: [firstCut ? { file: at(first.uri), start: 0, end: firstKey.offset + firstKey.length } : whole(at(first.uri))],
      frames: null,
    });
    const lastKey = last.keyframes[last.keyframes.length - 1];
    if (lastKey && r.tsInitLength && lastKey.offset > r.tsInitLength) {
      pieces.push({
        what: `${r.dir}: last GOP of ${last.uri}`,
        parts: [
          { file: at(last.uri), start: 0, end: r.tsInitLength },
          { file: at(last.uri), start: lastKey.offset, end: null },
        ],
        frames: null,
      });
    } else if (last !== first || firstCut) {
      // the last segment is a single GOP, or its end cannot be cut out: all of it
      pieces.push({ what: `${r.dir}: ${last.uri}`, parts: [whole(at(last.uri))], frames: null });
    }
  }
  return pieces;
}

/**
 * How many ffmpeg processes the decode check runs side by side: one per core, at most 4. One
 * process decodes its inputs one after another, so the processes are what keeps the cores busy.
 * With frame-threaded decoders, two processes took the check of the benchmark's 4-rung 1080p package
 * from 0.91 to 0.79 s on 2 cores; with one thread per decoder (decodeCheckThreads) to about 0.69 s,
 * with about 13% less CPU (bench/RESULTS.md).
 */
export function decodeCheckProcesses(cpus: number): number {
  return Math.max(1, Math.min(4, Math.floor(cpus)));
}

/**
 * Threads per decoder in the decode check: the cores each of its processes has to itself. One on up
 * to 4 cores (a frame-threaded decoder costs more CPU for the same frames, and the other processes
 * keep the other cores busy); more where there are more cores than processes, so that a large last
 * GOP (4K, HEVC) does not decode on one core of many.
 */
export function decodeCheckThreads(cpus: number, processes: number): number {
  return Math.max(1, Math.floor(Math.floor(cpus) / Math.max(1, processes)));
}

/**
 * Share `items` among at most `n` groups so that the heaviest group is as light as this simple rule
 * gets it: heaviest item first, each into the group that is lightest so far. Items keep their
 * relative order inside a group; empty groups are left out.
 */
export function balanceGroups<T>(items: readonly T[], weight: (item: T) => number, n: number): T[][] {
  const groups = Array.from({ length: Math.max(1, n) }, () => ({ load: 0, at: [] as number[] }));
  const order = items.map((item, i) => ({ i, w: Math.max(0, weight(item)) })).sort((a, b) => b.w - a.w || a.i - b.i);
  for (const { i, w } of order) {
    const lightest = groups.reduce((min, g) => (g.load < min.load ? g : min));
    lightest.load += w;
    lightest.at.push(i);
  }
  return groups.filter((g) => g.at.length > 0).map((g) => g.at.sort((a, b) => a - b).map((i) => items[i]!));
}

/** What a piece limited to a few frames is likely to cost, in bytes decoded: about one large keyframe. */
const FRAME_LIMITED_WEIGHT = 256 * 1024;

interface DecodeInput {
  file: string;
  frames: number | null;
  what: string;
  /** bytes to decode, the measure used to share the inputs among processes */
  weight: number;
}

/**
 * Never trust ffmpeg's exit code alone: decode the given pieces, shared by size among
 * `processes` ffmpeg processes that run side by side (decodeCheckProcesses). A piece that is a whole
 * file is read in place; any other is written to a scratch file beside its first part (removed
 * afterwards). Any decode error fails the package; the first failure stops the other processes.
 */
export async function decodeCheck(
  ffmpeg: string,
  root: string,
  pieces: readonly DecodePiece[],
  signal?: AbortSignal,
  processes = decodeCheckProcesses(availableParallelism()),
  /** pieces already decoded without error, by pieceIdentity (checked while ffmpeg encoded: early-decode.ts) */
  decoded: ReadonlySet<string> = new Set(),
): Promise<void> {
  const todo = pieces.filter((p) => !decoded.has(pieceIdentity(root, p) ?? ''));
  await decodePieces(ffmpeg, root, todo, signal, processes, decodeCheckThreads(availableParallelism(), processes), '.verify-');
}

/**
 * Which bytes a piece decodes: its ranges, and the size and modification time each file has now.
 * ffmpeg renames each segment into place complete and never writes it again, and the one later change
 * (a short tail folded into the segment before it, package/hls.ts) rewrites the file: a piece with
 * the same identity as one decoded earlier decodes the same bytes. Null when a file cannot be read.
 */
export function pieceIdentity(root: string, piece: DecodePiece): string | null {
  const parts: string[] = [];
  for (const r of piece.parts) {
    try {
      const st = statSync(join(root, r.file));
      parts.push(`${r.file}:${r.start}-${r.end ?? ''}:${st.size}:${st.mtimeMs}`);
    } catch {
      return null;
    }
  }
  return `${parts.join('|')}#${piece.frames ?? 'all'}`;
}

/**
 * Decode `pieces` in one process and say which decoded without error, by pieceIdentity (taken before
 * decoding): none when any failed or the check was stopped. For checks made while ffmpeg is still
 * encoding: a failure here is not reported, the piece is decoded again after the encode, where its
 * failure is reported like any other.
 */
export async function decodeEarly(ffmpeg: string, root: string, pieces: readonly DecodePiece[], signal?: AbortSignal): Promise<Set<string>> {
  const ids = pieces.map((p) => pieceIdentity(root, p));
  if (pieces.length === 0 || ids.some((id) => id === null)) return new Set();
  try {
    // one process, one thread: it runs beside the encode, which has the cores
    await decodePieces(ffmpeg, root, pieces, signal, 1, 1, '.verify-early-');
  } catch {
    return new Set();
  }
  return new Set(ids as string[]);
}

async function decodePieces(
  ffmpeg: string,
  root: string,
  pieces: readonly DecodePiece[],
  signal: AbortSignal | undefined,
  processes: number,
  threads: number,
  scratchPrefix: string,
): Promise<void> {
  const inputs: DecodeInput[] = [];
  const scratch: string[] = [];
  try {
    for (const [i, p] of pieces.entries()) {
      const only = p.parts.length === 1 ? p.parts[0]! : null;
      let file: string;
      let bytes: number;
      if (only && only.start === 0 && only.end === null) {
        file = join(root, only.file);
        bytes = (await stat(file)).size;
      } else {
        const firstPart = p.parts[0]!.file;
        const ext = extname(p.parts[p.parts.length - 1]!.file) === '.ts' ? '.ts' : '.mp4';
        file = join(root, dirname(firstPart), `${scratchPrefix}${i}${ext}`);
        scratch.push(file);
        // just the ranges, not the whole segments: a 1080p segment is megabytes, a GOP's tail much less
        const data = Buffer.concat(await Promise.all(p.parts.map((r) => readFileRange(join(root, r.file), r.start, r.end))));
        await writeFile(file, data);
        bytes = data.length;
      }
      inputs.push({ file, frames: p.frames, what: p.what, weight: p.frames === null ? bytes : Math.min(bytes, FRAME_LIMITED_WEIGHT) });
    }
    if (inputs.length === 0) return;
    const groups = balanceGroups(inputs, (i) => i.weight, processes);
    // the caller's abort (its reason is what the interruption error tells the user) or the first
    // failure stops every process
    const failed = new AbortController();
    const stop = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
    let failure: unknown = null;
    await Promise.all(
      groups.map(async (group) => {
        try {
          await decodeGroup(ffmpeg, group, threads, stop);
        } catch (error) {
          // the first failure is the real one; the others are the processes it stopped
          if (failure === null) failure = error;
          failed.abort('another part of the decode check failed');
        }
      }),
    );
    if (failure !== null) throw failure;
  } finally {
    await Promise.all(scratch.map((f) => rm(f, { force: true })));
  }
}

/** One ffmpeg process decoding `inputs`; any error line, or a failed exit, is VERIFY_FAILED naming what it checked. */
async function decodeGroup(ffmpeg: string, inputs: readonly DecodeInput[], threads: number, signal: AbortSignal): Promise<void> {
  const checked = inputs.map((i) => i.what);
  try {
    const r = await runFfmpeg(ffmpeg, buildDecodeCheckArgs(inputs, threads), { what: 'decoding the output to check it', signal });
    if (r.stderrTail.length > 0) {
      throw new StreamkitError('VERIFY_FAILED', `The output does not decode cleanly: ${r.stderrTail[r.stderrTail.length - 1]}`, { details: { stderrTail: r.stderrTail, checked } });
    }
  } catch (error) {
    if (error instanceof FfmpegError) {
      throw new StreamkitError('VERIFY_FAILED', 'The output does not decode cleanly; ffmpeg reported errors while decoding it.', {
        details: { command: error.command, stderrTail: error.stderrTail, checked },
        cause: error,
      });
    }
    throw error;
  }
}
