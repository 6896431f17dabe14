import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FfmpegError, StreamkitError } from '../errors.js';
import { versionAtLeast, type Capabilities } from '../ffmpeg/capabilities.js';
import { buildFileCheckArgs } from '../args/command.js';
import { runCapture, runFfmpeg } from '../ffmpeg/run.js';
import type { Ladder } from '../media/ladder.js';
import { filePath, type AudioRendition, type FileKind, type FileTarget } from '../plan.js';
import type { Codec, Preset } from '../preset/schema.js';

/**
 * Progressive files (MP4 with the moov in front, FLV): which rungs get one, whether this ffmpeg
 * can write them, and the checks run on what was written (never trust ffmpeg's exit code alone).
 */

/** Which rungs of the fitted ladder get each file target. Rungs named in the preset but dropped for this source are skipped with a note. */
export function selectFileTargets(preset: Preset, ladder: Pick<Ladder, 'rungs'>, audio: readonly AudioRendition[]): { files: FileTarget[]; notes: string[] } {
  const files: FileTarget[] = [];
  const notes: string[] = [];
  for (const kind of ['mp4', 'flv'] as const) {
    const spec = preset.packaging[kind];
    if (!spec) continue;
    let indexes: number[];
    if (spec.rungs === 'top') indexes = [0];
    else if (spec.rungs === 'all') indexes = ladder.rungs.map((_, i) => i);
    else {
      indexes = [];
      for (const name of spec.rungs) {
        const i = ladder.rungs.findIndex((r) => r.name === name);
        if (i >= 0) indexes.push(i);
        else notes.push(`${kind}: no ${name} file, that rung is not in the ladder for this source`);
      }
      if (indexes.length === 0) {
        indexes = [0];
        notes.push(`${kind}: none of the rungs named in packaging.${kind}.rungs fit this source; writing the top rung (${ladder.rungs[0]!.name}) instead`);
      }
    }
    for (const i of indexes) {
      const rung = ladder.rungs[i]!.name;
      files.push({
        kind,
        rung,
        rungIndex: i,
        // FLV carries one audio track; MP4 carries every rendition (players pick the default one)
        audio: kind === 'flv' ? audio.slice(0, 1).map((_, j) => j) : audio.map((_, j) => j),
        path: filePath(kind, rung),
      });
    }
  }
  return { files, notes };
}

/**
 * Classic FLV/RTMP carries H.264 (and AAC) only. HEVC and AV1 travel in enhanced FLV/RTMP, which
 * ffmpeg can mux from version 6.1 on; older versions cannot, so say so before anything is encoded.
 */
export function requireFlvSupport(caps: Capabilities, codec: Codec, purpose: 'FLV files' | 'RTMP publishing'): void {
  if (!caps.muxers.includes('flv')) {
    throw new StreamkitError('FEATURE_UNAVAILABLE', `${caps.path} has no FLV muxer, needed for ${purpose}.`, {
      hint: 'Install a full ffmpeg build (Debian: apt-get install ffmpeg) or point --ffmpeg at one.',
      details: { ffmpeg: caps.path, version: caps.version.raw },
    });
  }
  if (codec === 'h264' || versionAtLeast(caps, 6, 1)) return;
  const name = codec === 'hevc' ? 'HEVC' : 'AV1';
  throw new StreamkitError(
    'FEATURE_UNAVAILABLE',
    `${purpose} with ${name} need enhanced FLV, which ffmpeg muxes from version 6.1 on; this ffmpeg is ${caps.version.raw || 'of unknown version'}.`,
    {
      hint: `Point --ffmpeg (or STREAMKIT_FFMPEG) at ffmpeg 6.1 or later, use an H.264 preset for ${purpose === 'FLV files' ? 'FLV' : 'RTMP'}, or remove packaging.flv from the preset.`,
      details: { ffmpeg: caps.path, version: caps.version.raw, codec, needs: 'ffmpeg >= 6.1 (enhanced FLV)' },
    },
  );
}

/** Muxers a plan with file targets needs besides the codec rule above. */
export function requireFileMuxers(caps: Capabilities, files: readonly FileTarget[]): void {
  const needed = new Set<string>();
  for (const f of files) needed.add(f.kind === 'mp4' ? 'mp4' : 'flv');
  if (files.length > 0) needed.add('tee');
  const missing = [...needed].filter((m) => !caps.muxers.includes(m));
  if (missing.length > 0) {
    throw new StreamkitError('FEATURE_UNAVAILABLE', `${caps.path} lacks the ${missing.join(', ')} muxer${missing.length > 1 ? 's' : ''} needed for the preset's file targets.`, {
      hint: 'Install a full ffmpeg build (Debian: apt-get install ffmpeg) or point --ffmpeg at one.',
      details: { ffmpeg: caps.path, missing },
    });
  }
}

export interface TopLevelBox {
  type: string;
  offset: number;
  size: number;
}

/**
 * The top-level boxes of an MP4 file, read header by header (16 bytes each), never the whole file:
 * a download rendition can be gigabytes.
 */
export async function readTopLevelBoxes(file: string): Promise<TopLevelBox[]> {
  const fh = await open(file, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    const boxes: TopLevelBox[] = [];
    const head = Buffer.alloc(16);
    let offset = 0;
    while (offset < fileSize) {
      const { bytesRead } = await fh.read(head, 0, 16, offset);
      if (bytesRead < 8) throw new Error(`truncated box header at byte ${offset}`);
      let size = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (size === 1) {
        if (bytesRead < 16) throw new Error(`truncated 64-bit box header at byte ${offset}`);
        size = Number(head.readBigUInt64BE(8));
      } else if (size === 0) {
        size = fileSize - offset;
      }
      if (size < 8 || offset + size > fileSize) throw new Error(`box "${type}" at byte ${offset} has an impossible size ${size} (file is ${fileSize} bytes)`);
      boxes.push({ type, offset, size });
      offset += size;
    }
    return boxes;
  } finally {
    await fh.close();
  }
}

/** moov before mdat ("+faststart"): a player can start before the whole file has arrived. */
export function isFaststart(boxes: readonly TopLevelBox[]): boolean {
  const moov = boxes.findIndex((b) => b.type === 'moov');
  const mdat = boxes.findIndex((b) => b.type === 'mdat');
  return moov >= 0 && mdat >= 0 && moov < mdat;
}

export interface FlvHeader {
  version: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

/** The 9-byte FLV file header: "FLV", version, flags (4 = audio, 1 = video), header size. */
export function parseFlvHeader(buf: Buffer): FlvHeader {
  if (buf.length < 9 || buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV file (no "FLV" signature)');
  const flags = buf[4]!;
  return { version: buf[3]!, hasAudio: (flags & 4) !== 0, hasVideo: (flags & 1) !== 0 };
}

export interface WrittenFile {
  kind: FileKind;
  rung: string;
  /** relative to the package folder */
  path: string;
  width: number;
  height: number;
  videoCodec: string;
  audioCodecs: string[];
  durationSeconds: number;
  sizeBytes: number;
  /** bit/s over the whole file */
  bitrate: number;
}

interface ProbeStreams {
  format?: { duration?: string; format_name?: string };
  streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number }[];
}

function fail(message: string, details: Record<string, unknown>): never {
  throw new StreamkitError('VERIFY_FAILED', message, { details, hint: 'This is a bug or an ffmpeg problem; rerun with --verbose and report it with the ffmpeg version.' });
}

const ffprobeCodec: Record<Codec, string> = { h264: 'h264', hevc: 'hevc', av1: 'av1' };

export interface FileExpectations {
  codec: Codec;
  /** a multi-codec plan: each rung's codec by name (rungs not in it are `codec`) */
  rungCodecs?: ReadonlyMap<string, Codec>;
  /** rung sizes by name */
  sizes: ReadonlyMap<string, { width: number; height: number }>;
  /** seconds the encode produced (the source's duration); null when unknown */
  durationSeconds: number | null;
}

/**
 * Check every progressive file: the container's own structure (MP4: moov before mdat, not
 * fragmented; FLV: header flags), what ffprobe sees (codecs, size, audio tracks, duration), and
 * that its first and last second decode without errors.
 */
export async function verifyFiles(
  tools: { ffmpeg: string; ffprobe: string },
  root: string,
  files: readonly FileTarget[],
  expect: FileExpectations,
  signal?: AbortSignal,
): Promise<WrittenFile[]> {
  const out: WrittenFile[] = [];
  for (const f of files) {
    const abs = join(root, f.path);
    let sizeBytes: number;
    try {
      sizeBytes = (await stat(abs)).size;
    } catch {
      fail(`ffmpeg wrote no ${f.path}.`, { file: f.path });
    }
    if (sizeBytes === 0) fail(`${f.path} is empty.`, { file: f.path });
    if (f.kind === 'mp4') {
      let boxes: TopLevelBox[];
      try {
        boxes = await readTopLevelBoxes(abs);
      } catch (error) {
        fail(`${f.path} is not a complete MP4 file: ${(error as Error).message}.`, { file: f.path });
      }
      if (boxes[0]?.type !== 'ftyp') fail(`${f.path} does not start with an ftyp box.`, { file: f.path, boxes: boxes.map((b) => b.type) });
      if (!isFaststart(boxes)) fail(`${f.path} has its moov box after the media data: not a progressive (faststart) MP4.`, { file: f.path, boxes: boxes.map((b) => b.type) });
      if (boxes.some((b) => b.type === 'moof')) fail(`${f.path} is fragmented; expected a progressive MP4.`, { file: f.path });
    } else {
      const fh = await open(abs, 'r');
      const head = Buffer.alloc(9);
      try {
        await fh.read(head, 0, 9, 0);
      } finally {
        await fh.close();
      }
      let h: FlvHeader;
      try {
        h = parseFlvHeader(head);
      } catch (error) {
        fail(`${f.path}: ${(error as Error).message}.`, { file: f.path });
      }
      if (!h.hasVideo || h.hasAudio !== f.audio.length > 0) fail(`${f.path} has the wrong FLV header flags (video ${h.hasVideo}, audio ${h.hasAudio}).`, { file: f.path });
    }
    const r = await runCapture(tools.ffprobe, ['-v', 'error', '-protocol_whitelist', 'file', '-print_format', 'json', '-show_format', '-show_streams', '-i', `file:${abs}`], {
      timeoutMs: 120_000,
      ...(signal ? { signal } : {}),
    });
    let json: ProbeStreams = {};
    try {
      json = JSON.parse(r.stdout || '{}') as ProbeStreams;
    } catch {
      /* reported below */
    }
    if (r.exitCode !== 0 || !json.format) fail(`ffprobe cannot read ${f.path}.`, { file: f.path, stderrTail: r.stderr.split('\n').slice(-5) });
    const streams = json.streams ?? [];
    const video = streams.filter((s) => s.codec_type === 'video');
    const audio = streams.filter((s) => s.codec_type === 'audio');
    const want = expect.sizes.get(f.rung);
    const v = video[0];
    if (video.length !== 1 || !v) fail(`${f.path} has ${video.length} video streams; expected 1.`, { file: f.path });
    const codec = expect.rungCodecs?.get(f.rung) ?? expect.codec;
    if (v.codec_name !== ffprobeCodec[codec]) fail(`${f.path} carries ${v.codec_name ?? 'unknown'} video; expected ${ffprobeCodec[codec]}.`, { file: f.path });
    if (want && (v.width !== want.width || v.height !== want.height)) fail(`${f.path} is ${v.width}x${v.height}; expected ${want.width}x${want.height}.`, { file: f.path });
    if (audio.length !== f.audio.length || audio.some((a) => a.codec_name !== 'aac')) {
      fail(`${f.path} has ${audio.length} audio stream(s) (${audio.map((a) => a.codec_name).join(', ') || 'none'}); expected ${f.audio.length} AAC.`, { file: f.path });
    }
    const duration = Number(json.format.duration);
    if (!Number.isFinite(duration) || duration <= 0) fail(`${f.path} has no duration: ffmpeg stopped early.`, { file: f.path });
    if (expect.durationSeconds !== null && Math.abs(duration - expect.durationSeconds) > Math.max(1, expect.durationSeconds * 0.01)) {
      fail(`${f.path} lasts ${duration.toFixed(2)} s but the source lasts ${expect.durationSeconds.toFixed(2)} s.`, { file: f.path });
    }
    out.push({
      kind: f.kind,
      rung: f.rung,
      path: f.path,
      width: v.width ?? 0,
      height: v.height ?? 0,
      videoCodec: v.codec_name ?? 'unknown',
      audioCodecs: audio.map((a) => a.codec_name ?? 'unknown'),
      durationSeconds: duration,
      sizeBytes,
      bitrate: Math.round((sizeBytes * 8) / duration),
    });
  }
  if (files.length > 0) {
    const paths = files.map((f) => join(root, f.path));
    try {
      const r = await runFfmpeg(tools.ffmpeg, buildFileCheckArgs(paths), { what: 'decoding the files to check them', ...(signal ? { signal } : {}) });
      if (r.stderrTail.length > 0) fail(`A written file does not decode cleanly: ${r.stderrTail[r.stderrTail.length - 1]}`, { stderrTail: r.stderrTail });
    } catch (error) {
      if (error instanceof FfmpegError) {
        throw new StreamkitError('VERIFY_FAILED', 'A written file does not decode cleanly; ffmpeg reported errors while decoding its first and last second.', {
          details: { command: error.command, stderrTail: error.stderrTail },
          cause: error,
        });
      }
      throw error;
    }
  }
  return out;
}
