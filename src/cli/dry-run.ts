import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { shellQuote } from '../ffmpeg/shell-quote.js';
import { describeMedia } from '../media/probe.js';
import { formatRational } from '../media/rational.js';
import { encodingOf, groupOf, outputFolders } from '../plan.js';
import { buildSubtitleExtractArgs } from '../args/subtitles.js';
import { buildThumbnailPassArgs } from '../args/thumbnails.js';
import type { PlannedTranscode } from '../transcode.js';
import type { CommandContext } from './context.js';
import { kbps } from './format.js';
import { perTitleLines } from './per-title-lines.js';

/**
 * `transcode --dry-run`: the resolved ladder and the exact ffmpeg command, shell-quoted so that the
 * printed text runs as is in bash/sh (`mkdir -p` of the folders ffmpeg's HLS muxer will not create,
 * then ffmpeg). With --json: one `plan` event.
 */
export function printDryRun(ctx: CommandContext, planned: PlannedTranscode, input: string): void {
  const io = ctx.io;
  const plan = planned.plan;
  // output paths in the argv are relative (ffmpeg runs inside the package folder), so the binary must not be
  const command = [resolve(planned.toolchain.ffmpeg.path), '-hide_banner', '-nostdin', ...planned.argv];
  // ffmpeg's muxers do not create folders: the pasted command needs them first
  const folders = [...outputFolders(plan).map((dir) => join(planned.output, dir))];
  const exists = existsSync(planned.output);
  if (ctx.mode === 'json') {
    ctx.reporter.event({
      type: 'plan',
      input,
      output: planned.output,
      outputExists: exists,
      preset: planned.preset.name,
      encoder: planned.hardware.encoder,
      hardware: planned.hardware.hardware,
      hardwareReason: planned.hardware.reason,
      frameRate: formatRational(plan.ladder.frameRate),
      gopFrames: plan.ladder.gopFrames,
      ladder: plan.ladder.rungs.map((r) => ({ ...r, codec: encodingOf(plan, r).codec, encoder: encodingOf(plan, r).encoder })),
      audio: plan.audioRenditions,
      subtitles: plan.subtitles ?? [],
      ...(plan.hls && plan.subtitles?.length ? { subtitlesCommand: [resolve(planned.toolchain.ffmpeg.path), '-hide_banner', '-nostdin', ...buildSubtitleExtractArgs(plan)] } : {}),
      notes: plan.notes,
      ...(planned.perTitle ? { perTitle: planned.perTitle } : {}),
      folders,
      command,
    });
    return;
  }
  const w = (line: string): void => void io.out.write(`${line}\n`);
  w(`# ${describeMedia(plan.media)}`);
  w(
    `# preset ${planned.preset.name}: ${planned.hardware.encoder} on ${planned.hardware.hardware} (${planned.hardware.reason}), ${formatRational(plan.ladder.frameRate)} fps, keyframe every ${plan.ladder.gopFrames} frames`,
  );
  if (planned.perTitle) for (const l of perTitleLines(planned.perTitle)) w(`# ${l}`);
  const nameWidth = Math.max(8, ...plan.ladder.rungs.map((r) => r.name.length));
  for (const r of plan.ladder.rungs) {
    // a multi-codec plan: each rung's own encoder and speed
    const e = plan.encodings ? encodingOf(plan, r) : null;
    const by = e ? ` ${e.encoder}${e.speed !== undefined ? ` ${e.speed}` : ''} ${e.mode}` : '';
    w(`#   ${r.name.padEnd(nameWidth)} ${`${r.width}x${r.height}`.padEnd(10)} ${kbps(r.bitrate)} (max ${kbps(r.maxrate)})${by}${r.fromSource ? '  [source height]' : ''}`);
  }
  for (const a of plan.audioRenditions)
    w(`#   ${a.dir.padEnd(8)} ${a.surround?.codec ?? 'aac'} ${a.channels} ch "${a.name}"${a.language ? ` [${a.language}]` : ''}${a.surround ? ` (group ${groupOf(a)})` : ''}`);
  for (const s of plan.subtitles ?? [])
    w(`#   ${s.dir.padEnd(8)} webvtt "${s.name}"${s.language ? ` [${s.language}]` : ''}${s.default ? ' default' : ''}${s.forced ? ' forced' : ''}`);
  for (const n of plan.notes) w(`# note: ${n}`);
  w(`# output: ${planned.output}`);
  w('# streamkit itself encodes into a staging folder beside the output and moves it into place when');
  w('# complete; this command writes into the output folder directly (overwriting files there, -y),');
  w('# and leaves out what streamkit adds afterwards: master.m3u8, measured BANDWIDTH/CODECS, the');
  w('# rewritten media playlists, I-frame playlists and the decode check.');
  if (plan.dash) w('# manifest.mpd (DASH) is written afterwards from the measured segments: the same fMP4 files the HLS playlists list.');
  if (plan.thumbnails?.pass === 'encode') w('# The poster and sprite sheets are two more outputs of this command; streamkit writes thumbnails.vtt afterwards.');
  if (plan.thumbnails?.pass === 'separate')
    w(
      `# The poster and sprite sheets come from a CPU pass after this command (NVENC keeps frames on the GPU): ${shellQuote([resolve(planned.toolchain.ffmpeg.path), '-hide_banner', '-nostdin', ...buildThumbnailPassArgs(plan)])}`,
    );
  if (plan.hls && plan.subtitles?.length)
    w(
      `# The subtitles are converted to WebVTT after this command (demuxing only), then cut on the video's segments: ${shellQuote([resolve(planned.toolchain.ffmpeg.path), '-hide_banner', '-nostdin', ...buildSubtitleExtractArgs(plan)])}`,
    );
  if (exists) w(`# note: ${planned.output} already exists; a real run needs --force.`);
  w(`mkdir -p ${shellQuote(folders)} && cd ${shellQuote([planned.output])} && \\`);
  w(`${shellQuote(command)}`);
}
