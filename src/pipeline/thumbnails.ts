import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StreamkitError } from '../errors.js';
import { buildDecodeCheckArgs } from '../args/command.js';
import { buildPosterScanArgs, buildThumbnailPassArgs } from '../args/thumbnails.js';
import { runCapture, runFfmpeg } from '../ffmpeg/run.js';
import { jpegSize, spriteCount, spriteSize, thumbnailsVtt, type ThumbnailsReport } from '../package/thumbnails.js';
import { POSTER_NAME, spriteFile, THUMBNAILS_DIR, THUMBNAILS_VTT, type TranscodePlan } from '../plan.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';
import type { Source } from './probe.js';

function fail(message: string, details: Record<string, unknown>): StreamkitError {
  return new StreamkitError('VERIFY_FAILED', `Thumbnails: ${message}`, { details });
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await readFile(path)).length > 0;
  } catch {
    return false;
  }
}

/** The poster when the encode's window gave none: a look over the whole title, then (all dark) its first frame. */
async function scanForPoster(ctx: JobContext, ffmpeg: string, plan: TranscodePlan): Promise<'title' | 'black'> {
  for (const skipDark of [true, false]) {
    await runFfmpeg(ffmpeg, buildPosterScanArgs(plan, skipDark), { what: 'choosing a poster', cwd: ctx.workDir, signal: ctx.signal });
    if (await exists(join(ctx.workDir, POSTER_NAME))) return skipDark ? 'title' : 'black';
  }
  throw fail('ffmpeg wrote no poster', { poster: POSTER_NAME });
}

/**
 * Stage 6b: the poster and thumbnail sprites. The encode wrote them (branches of its graph), or, for
 * NVENC with frames in GPU memory, a CPU pass of their own writes them now. Then: the sheets are the
 * ones the plan expects (count, size read from each JPEG's header), every image decodes, the poster
 * is not black where the title has anything else, and thumbnails.vtt is written from the plan with
 * the title's duration: contiguous cues from 0, each on a tile that exists.
 */
export async function makeThumbnails(ctx: JobContext, source: Source, encoded: Encoded): Promise<ThumbnailsReport | null> {
  const { plan } = encoded;
  const t = plan.thumbnails;
  if (!t) return null;
  const ffmpeg = source.toolchain.ffmpeg.path;
  if (t.pass === 'separate') await runFfmpeg(ffmpeg, buildThumbnailPassArgs(plan), { what: 'making thumbnails', cwd: ctx.workDir, signal: ctx.signal });

  const expected = Array.from({ length: spriteCount(t) }, (_, i) => spriteFile(i + 1));
  const written = (await readdir(join(ctx.workDir, THUMBNAILS_DIR))).map((f) => `${THUMBNAILS_DIR}/${f}`).sort();
  if (written.join('\n') !== expected.join('\n')) throw fail(`expected ${expected.length} sprite sheet(s), ffmpeg wrote ${written.length}`, { expected, written });
  const size = spriteSize(t);
  for (const f of expected) {
    const got = jpegSize(await readFile(join(ctx.workDir, f)));
    if (!got || got.width !== size.width || got.height !== size.height)
      throw fail(`${f} is ${got ? `${got.width}x${got.height}` : 'not a JPEG'}, expected ${size.width}x${size.height}`, { file: f, expected: size, got });
  }

  let posterFrom: ThumbnailsReport['posterFrom'] = 'window';
  if (!(await exists(join(ctx.workDir, POSTER_NAME)))) {
    await rm(join(ctx.workDir, POSTER_NAME), { force: true });
    posterFrom = await scanForPoster(ctx, ffmpeg, plan);
    if (posterFrom === 'title')
      ctx.emit({ type: 'warning', message: `poster: the first ${Math.round(t.poster.end)} s of the title are dark; the poster was chosen from the whole title` });
    else ctx.emit({ type: 'warning', message: 'poster: every frame looked at is dark (the title looks black throughout); poster.jpg is black' });
  }
  const poster = jpegSize(await readFile(join(ctx.workDir, POSTER_NAME)));
  if (!poster || poster.width !== t.poster.width || poster.height !== t.poster.height)
    throw fail(`${POSTER_NAME} is ${poster ? `${poster.width}x${poster.height}` : 'not a JPEG'}, expected ${t.poster.width}x${t.poster.height}`, { poster, expected: t.poster });

  // every image decodes (one process; -xerror: any error is fatal)
  const check = await runCapture(ffmpeg, buildDecodeCheckArgs([...expected, POSTER_NAME].map((f) => ({ file: join(ctx.workDir, f), frames: null }))), {
    timeoutMs: 120_000,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (check.exitCode !== 0) throw fail('a sprite sheet or the poster does not decode', { stderr: check.stderr.trim().split('\n').slice(-5) });

  await writeFile(join(ctx.workDir, THUMBNAILS_VTT), thumbnailsVtt(t));
  let sizeBytes = 0;
  for (const f of [POSTER_NAME, THUMBNAILS_VTT, ...expected]) sizeBytes += (await stat(join(ctx.workDir, f))).size;
  return {
    poster: POSTER_NAME,
    posterFrom,
    vtt: THUMBNAILS_VTT,
    sprites: expected,
    count: t.count,
    intervalSeconds: t.intervalMs / 1000,
    durationSeconds: t.durationMs / 1000,
    width: t.width,
    height: t.height,
    columns: t.columns,
    rows: t.rows,
    sizeBytes,
    pass: t.pass,
  };
}
