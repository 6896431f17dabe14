import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildSubtitleExtractArgs, fullVttPath } from '../args/subtitles.js';
import { StreamkitError } from '../errors.js';
import { runFfmpeg } from '../ffmpeg/run.js';
import type { HlsPackage } from '../package/hls.js';
import { parseMediaPlaylist, writeMediaPlaylist } from '../package/playlist.js';
import { cutCues, mpegtsAtZero, parseVtt, segmentVtt, subtitleSegmentName, withSubtitles, type SubtitleReport, type VttCue } from '../package/subtitles.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';
import type { Source } from './probe.js';

/** The whole WebVTT of a subtitle rendition kept for the DASH manifest, in the rendition's folder. */
export const DASH_VTT_NAME = 'subtitles.vtt';

function fail(message: string, details: Record<string, unknown>): StreamkitError {
  return new StreamkitError('VERIFY_FAILED', `Subtitles: ${message}`, { details });
}

/**
 * Stage 5b (after the HLS package is written): the subtitle renditions. One ffmpeg process converts
 * every text subtitle stream and sidecar file to a whole WebVTT (demuxing only: nothing is decoded
 * but the subtitles); each is cut into one WebVTT file per video segment, on the segment boundaries
 * of the video as packaged (the first rung's playlist: the short first segment included), each file
 * with X-TIMESTAMP-MAP placing time 0 where the package's timeline puts the input's start (measured); then a media playlist per
 * rendition and the renditions in master.m3u8. Null when the plan has none.
 */
export async function makeSubtitles(ctx: JobContext, source: Source, encoded: Encoded, pkg: HlsPackage | null): Promise<SubtitleReport[] | null> {
  const { plan } = encoded;
  const subs = plan.subtitles ?? [];
  if (subs.length === 0 || !pkg || !plan.hls) return null;
  for (const s of subs) await mkdir(join(ctx.workDir, s.dir), { recursive: true });
  await runFfmpeg(source.toolchain.ffmpeg.path, buildSubtitleExtractArgs(plan), { what: 'converting subtitles to WebVTT', cwd: ctx.workDir, signal: ctx.signal });

  // the video's segments as packaged: boundaries on the WebVTT clock (0 = the input's start, where the video starts at videoStart)
  const video = pkg.rungs[0]!;
  const playlist = parseMediaPlaylist(await readFile(join(ctx.workDir, video.dir, 'index.m3u8'), 'utf8'));
  const durations = playlist.segments.map((s) => s.duration);
  const starts: number[] = [];
  let t = plan.timeline.videoStart;
  for (const d of durations) {
    starts.push(t);
    t += d;
  }
  // the measured first PTS of the first rung (av-sync.ts), else the planned timeline offset
  const measured = pkg.sync.renditions.find((r) => r.kind === 'video' && r.dir === video.dir);
  const mpegts = measured ? mpegtsAtZero(measured.start, plan.timeline.videoStart) : mpegtsAtZero(plan.timeline.offset, 0);

  const reports: SubtitleReport[] = [];
  for (const s of subs) {
    const full = join(ctx.workDir, fullVttPath(s));
    let cues: VttCue[];
    try {
      cues = parseVtt(await readFile(full, 'utf8'));
    } catch (error) {
      throw fail(`ffmpeg's WebVTT for ${s.dir} is missing or unreadable: ${(error as Error).message}`, { file: fullVttPath(s) });
    }
    // DASH: the whole WebVTT as a sidecar (its times are the title's, which is the Period's timeline); HLS only: not kept
    const sidecar = plan.dash ? `${s.dir}/${DASH_VTT_NAME}` : null;
    if (sidecar) await rename(full, join(ctx.workDir, sidecar));
    else await rm(full);
    const perSegment = cutCues(cues, starts);
    let sizeBytes = sidecar ? (await stat(join(ctx.workDir, sidecar))).size : 0;
    for (const [k, list] of perSegment.entries()) {
      const text = segmentVtt(list, mpegts);
      await writeFile(join(ctx.workDir, s.dir, subtitleSegmentName(k)), text);
      sizeBytes += Buffer.byteLength(text);
    }
    const index = writeMediaPlaylist({ segments: durations.map((duration, k) => ({ uri: subtitleSegmentName(k), duration })), mapUri: null });
    await writeFile(join(ctx.workDir, s.dir, 'index.m3u8'), index);
    sizeBytes += (await stat(join(ctx.workDir, s.dir, 'index.m3u8'))).size;
    const from = s.source.kind === 'stream' ? `stream #${s.source.index} (${s.source.codec})` : basename(s.source.path);
    if (cues.length === 0) ctx.emit({ type: 'warning', message: `subtitles: ${s.dir} (${from}) has no cues; its WebVTT files are empty` });
    reports.push({
      dir: s.dir,
      name: s.name,
      language: s.language,
      default: s.default,
      forced: s.forced,
      from,
      cues: cues.length,
      segments: durations.length,
      mpegts,
      sizeBytes,
      ...(sidecar ? { sidecar } : {}),
    });
  }
  const masterFile = join(ctx.workDir, 'master.m3u8');
  await writeFile(masterFile, withSubtitles(await readFile(masterFile, 'utf8'), subs));
  return reports;
}
