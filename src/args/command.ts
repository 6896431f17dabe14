import { join } from 'node:path';
import { encoderProfiles, type RungEncodeSettings } from '../encoder/profiles.js';
import type { LadderRung } from '../media/ladder.js';
import { toneMapFilters } from '../media/colour.js';
import { protocolOptions } from '../media/probe.js';
import { formatBitrate } from '../preset/units.js';
import { encodingOf, filePath, FMP4_INIT_NAME, rungDir, SEGMENT_PATTERN, segmentExtension, type AudioRendition, type TranscodePlan } from '../plan.js';
import { versionAtLeast, type Capabilities } from '../ffmpeg/capabilities.js';
import { encoderTimeBaseArgs, fpsFilter } from './fps-filter.js';
import { gpuInputOptions, gpuVideoFilterGraph } from './gpu-graph.js';
import { movTextInputArgs, movTextSelect, movTextStreamArgs } from './subtitles.js';
import { thumbnailOutputArgs, withThumbnailBranches } from './thumbnails.js';

/**
 * Pure command building: TranscodePlan -> ffmpeg argv. No I/O, no process, tested without ffmpeg.
 *
 * One process per job: the source is decoded once; the frame rate is fixed once (constant frame
 * rate out of any input); the pixel format is converted once, before the split, at the source size;
 * every rung is then scaled straight from that frame; audio is encoded once per rendition, not once
 * per rung. On machines with many cores every scaler (and the pixel format conversion) runs on
 * `plan.scaleThreads` slice threads (scaleThreadsFor): ffmpeg 5.1 runs the whole filter graph on its
 * main thread, which also hands every frame to every encoder. Sliced scaling is bit-exact with
 * unthreaded scaling.
 *
 * Scaling each rung from the next larger rung instead (a cascade) was measured and dropped: with
 * libx264 the twice-scaled rungs came out up to 0.5 dB PSNR lower against the source than rungs
 * scaled once, and cost the encoder more CPU than the cascade saved in the scalers (bench/RESULTS.md).
 */

/** Below this many cores the scalers stay unthreaded (see scaleThreadsFor). */
const SCALE_THREADS_MIN_CPUS = 8;

/**
 * Slice threads per scaler. On a small machine the encoders keep every core busy once their
 * lookaheads are full, and extra scaler threads only compete with them: on 2 cores, threaded
 * scalers cost 3-5% more time over whole jobs (8 alternated pairs, bench/RESULTS.md), although they
 * shorten the first seconds, when ffmpeg 5.1's main thread (filter graph plus feeding every encoder)
 * is what the encoders wait for. That thread's share grows with the core count, so from
 * SCALE_THREADS_MIN_CPUS cores on, every scaler gets one slice thread per core, at most 8 (a
 * judgment, not measured: no such machine was available). Unthreaded before ffmpeg 5.0, whose
 * libswscale has no `threads` option.
 */
export function scaleThreadsFor(caps: Pick<Capabilities, 'version'>, cpus: number): number {
  if (!versionAtLeast(caps, 5, 0) || cpus < SCALE_THREADS_MIN_CPUS) return 1;
  return Math.min(8, Math.floor(cpus));
}

/** The pixel format the encoders get: the profile's 8-bit 4:2:0, or its 10-bit form for an HDR plan. */
function encoderPixelFormat(plan: Pick<TranscodePlan, 'encoder' | 'colour'>): string {
  const eight = encoderProfiles[plan.encoder].pixelFormat;
  if ((plan.colour?.bitDepth ?? 8) === 8) return eight;
  return eight === 'nv12' ? 'p010le' : 'yuv420p10le';
}

/**
 * video.hdr: both: the frames are split once after the frame rate is fixed, into the HDR rungs (10-bit)
 * and their SDR copies (tone-mapped once, 8-bit), each side split again into its rungs.
 */
function hdrAndSdrGraph(
  plan: TranscodePlan,
  sdr: NonNullable<NonNullable<TranscodePlan['colour']>['sdrCopies']>,
  branch: (r: LadderRung) => string,
): { graph: string; outputs: string[] } {
  const v = plan.media.video;
  const rungs = plan.ladder.rungs;
  const outputs = rungs.map((_, i) => `v${i}`);
  const sides = [
    { label: 'hdr', head: [`format=${encoderPixelFormat(plan)}`], items: rungs.map((r, i) => ({ r, i })).filter((x) => !x.r.sdr) },
    {
      label: 'sdr',
      head: [...toneMapFilters(sdr, v.colour ?? { primaries: null, transfer: null, matrix: null, range: null }), `format=${encoderProfiles[plan.encoder].pixelFormat}`],
      items: rungs.map((r, i) => ({ r, i })).filter((x) => x.r.sdr),
    },
  ];
  const parts = [`[0:${v.index}]${fpsFilter(plan)},split=2[hdr][sdr]`];
  for (const side of sides) {
    if (side.items.length === 1) {
      const { r, i } = side.items[0]!;
      parts.push(`[${side.label}]${[...side.head, branch(r)].join(',')}[${outputs[i]}]`);
      continue;
    }
    const pads = side.items.map(({ i }) => `[${side.label}${i}]`);
    parts.push(`[${side.label}]${side.head.join(',')},split=${side.items.length}${pads.join('')}`, ...side.items.map(({ r, i }, k) => `${pads[k]}${branch(r)}[${outputs[i]}]`));
  }
  return { graph: parts.join(';'), outputs };
}

/**
 * After the frame rate is fixed, before the split: the frames in the encoders' pixel format, at the
 * source size. HDR to SDR when the plan tone-maps (media/colour.ts); a full-range source to limited
 * range; else a plain conversion where the formats differ. Empty when nothing needs converting.
 */
export function pixelFormatFilters(plan: TranscodePlan): string[] {
  const v = plan.media.video;
  const pixelFormat = encoderPixelFormat(plan);
  const threads = (plan.scaleThreads ?? 1) > 1 ? `threads=${plan.scaleThreads}` : null;
  const toneMap = plan.colour?.toneMap;
  if (toneMap) return [...toneMapFilters(toneMap, v.colour ?? { primaries: null, transfer: null, matrix: null, range: null }), `format=${pixelFormat}`];
  // a full-range source flagged as such on a limited-range pixel format (yuvj* formats are converted by format=)
  if (v.colour?.range === 'pc' && !v.pixelFormat.startsWith('yuvj')) return [`scale=in_range=full:out_range=limited${threads ? `:${threads}` : ''}`, `format=${pixelFormat}`];
  // without an explicit scaler, ffmpeg inserts an unthreaded one for the conversion
  if (v.pixelFormat !== pixelFormat) return [...(threads ? [`scale=${threads}`] : []), `format=${pixelFormat}`];
  return [];
}

export function videoFilterGraph(plan: TranscodePlan): { graph: string; outputs: string[] } {
  const { ladder, media } = plan;
  const rungs = ladder.rungs;
  const outputs = rungs.map((_, i) => `v${i}`);
  const v = media.video;
  const threads = (plan.scaleThreads ?? 1) > 1 ? `threads=${plan.scaleThreads}` : null;
  const head: string[] = [fpsFilter(plan), ...pixelFormatFilters(plan)];
  const sameAsSource = (r: LadderRung): boolean => r.width === v.displayWidth && r.height === v.displayHeight && v.sar.num === v.sar.den;
  const scale = (r: LadderRung): string => `scale=${r.width}:${r.height}${threads ? `:${threads}` : ''}`;
  const branch = (r: LadderRung): string => [...(sameAsSource(r) ? [] : [scale(r)]), 'setsar=1'].join(',');
  const sdrCopies = plan.colour?.sdrCopies;
  if (sdrCopies && rungs.some((r) => r.sdr)) return hdrAndSdrGraph(plan, sdrCopies, branch);
  const source = `[0:${v.index}]`;
  // one scaler per distinct output size: rungs of equal size (a multi-codec plan's 720p for H.264 and
  // for HEVC) share it, and its frames are split to their encoders
  const sizes = [...new Set(rungs.map(branch))];
  const members = sizes.map((b) => rungs.flatMap((r, i) => (branch(r) === b ? [i] : [])));
  const fanOut = (m: number[]): string => (m.length === 1 ? `[${outputs[m[0]!]}]` : `,split=${m.length}${m.map((i) => `[${outputs[i]}]`).join('')}`);
  if (sizes.length === 1) return { graph: `${source}${[...head, sizes[0]!].join(',')}${fanOut(members[0]!)}`, outputs };
  const pads = sizes.map((_, k) => `[s${members[k]![0]}]`);
  const parts = [`${source}${head.join(',')},split=${sizes.length}${pads.join('')}`, ...sizes.map((b, k) => `${pads[k]}${b}${fanOut(members[k]!)}`)];
  return { graph: parts.join(';'), outputs };
}

export function rungEncodeSettings(plan: TranscodePlan, rung: LadderRung): RungEncodeSettings {
  const colour = plan.colour;
  const encoding = encodingOf(plan, rung);
  // an SDR copy (video.hdr: both) is 8-bit BT.709, without HDR metadata
  const sdrCopy = rung.sdr === true;
  const tags = sdrCopy ? { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', range: 'tv' as const } : colour?.tags;
  return {
    ...(tags ? { colour: tags } : {}),
    ...(colour?.hdr10 && !sdrCopy ? { hdr10: colour.hdr10 } : {}),
    ...(colour?.bitDepth === 10 && !sdrCopy ? { tenBit: true } : {}),
    mode: rung.mode ?? encoding.mode,
    bitrate: rung.bitrate,
    maxrate: rung.maxrate,
    bufsize: rung.bufsize,
    crf: rung.crf,
    gopFrames: plan.ladder.gopFrames,
    speed: encoding.speed,
    tune: encoding.tune,
    options: encoding.encoderOptions,
  };
}

/**
 * The HLS muxer's options for one rendition folder, as [option, value] pairs, and its playlist.
 * `dir` is the rendition's folder RELATIVE to the package folder, and ffmpeg runs with that folder as its
 * working folder: ffmpeg 5.1's hlsenc replaces `%d`/`%0Nd` anywhere in the segment file name and
 * copies `%%` literally, so a `%` in the user's output path can be neither kept nor escaped there.
 * Relative names contain only rung names (letters, digits, `_.-`).
 */
function hlsMuxer(plan: TranscodePlan, dir: string): { options: [string, string][]; file: string } {
  const hls = plan.hls!;
  const ext = segmentExtension(hls.container);
  return {
    options: [
      ['f', 'hls'],
      // a short first segment: ffmpeg cuts pieces that packaging joins (plan.ts HlsPieces)
      ['hls_time', (hls.pieces?.hlsTime ?? hls.hlsTime).toFixed(6)],
      ['hls_playlist_type', 'vod'],
      ['hls_list_size', '0'],
      ['hls_segment_type', hls.container === 'ts' ? 'mpegts' : 'fmp4'],
      ...(hls.container === 'fmp4' ? [['hls_fmp4_init_filename', FMP4_INIT_NAME] as [string, string]] : []),
      // temp_file: each segment is written as NAME.tmp and renamed when complete, so a segment file
      // that exists is finished (package/segment-watcher.ts measures them during the encode)
      ['hls_flags', 'independent_segments+temp_file'],
      ['hls_segment_filename', join(dir, `${SEGMENT_PATTERN}.${ext}`)],
      // one timeline for every rendition: nothing starts negative, so no muxer shifts its own (plan.ts Timeline)
      ['output_ts_offset', String(plan.timeline.offset)],
      // fMP4: the timeline goes into the decode times (tfdt), never into an edit list that players
      // such as hls.js ignore: no shifting (avoid_negative_ts), tfdt from each fragment's first DTS
      // (frag_discont), no edit list (use_editlist). CMAF: the `cmfc` brand (brand; one track per file
      // and aligned fragments are the package's own). Not movflags=+cmaf: its trun version 1 with
      // negative composition offsets is read by ffmpeg's own mov demuxer (ffprobe, ffmpeg-based
      // players) with every frame shifted by the largest negative offset: 80 ms late for x265's
      // B-pyramid, against audio that is not
      ...(hls.container === 'fmp4' ? [['hls_segment_options', 'avoid_negative_ts=disabled:movflags=+frag_discont:use_editlist=0:brand=cmfc'] as [string, string]] : []),
    ],
    file: join(dir, 'index.m3u8'),
  };
}

/**
 * The encoder options of one audio rendition, on an output of its own (`j` null) or for the tee
 * output's audio stream `j`: AAC at the preset's bitrate and channels, or the surround codec at
 * its bitrate in 5.1. A 5.1 or 5.1(side) source keeps its own layout (all three encoders take
 * either, and a remix between them would move the surrounds); other sources are remixed to 6
 * channels (7.1: ffmpeg's standard downmix to 5.1).
 */
function audioEncodeArgs(plan: TranscodePlan, a: AudioRendition, j: number | null): string[] {
  const spec = j === null ? '' : `:a:${j}`;
  const source = plan.media.audio[a.sourceOrder];
  const codec = a.surround?.codec ?? 'aac';
  const bitrate = a.surround?.bitrate ?? plan.audio!.bitrate;
  const channels = a.surround && (source?.channelLayout === '5.1' || source?.channelLayout === '5.1(side)') ? [] : [`-ac${spec}`, String(a.channels)];
  return [`-c:a${j === null ? '' : `:${j}`}`, codec, `-b:a${j === null ? '' : `:${j}`}`, formatBitrate(bitrate), ...channels, `-ar${spec}`, String(plan.audio!.sampleRate)];
}

function hlsOutputArgs(plan: TranscodePlan, dir: string): string[] {
  const m = hlsMuxer(plan, dir);
  return [...m.options.flatMap(([k, v]) => [`-${k}`, v]), m.file];
}

/**
 * Backslash-escape a string for ffmpeg's av_get_token(): the escape character itself, the quote
 * character ', whitespace (trimmed at the ends otherwise) and the given delimiters.
 */
export function escapeToken(value: string, delimiters: string): string {
  let out = '';
  for (const ch of value) out += ch === '\\' || ch === "'" || /\s/.test(ch) || delimiters.includes(ch) ? `\\${ch}` : ch;
  return out;
}

/**
 * One slave of ffmpeg's tee muxer: `[key=value:key=value]file`. Two levels of parsing happen in
 * libavformat/tee.c: the slave list is split on "|" (av_get_token), then each option value is read
 * up to ":" or "]" (av_get_token again); the file name is only unescaped by the first level.
 */
export function teeSlave(options: readonly (readonly [string, string])[], file: string): string {
  for (const [k] of options) if (!/^[A-Za-z0-9_.+-]+$/.test(k)) throw new Error(`invalid tee option name ${k}`);
  const opts = options.map(([k, v]) => `${k}=${escapeToken(v, ':]')}`).join(':');
  return escapeToken(`[${opts}]${file}`, '|');
}

/**
 * `-opt value` pairs meant for an output with a single stream, re-targeted at one stream of a
 * multi-stream output: `-preset x` -> `-preset:v:1 x`, `-b:v 3M` -> `-b:v:1 3M`.
 */
export function forStream(args: readonly string[], specifier: string): string[] {
  if (args.length % 2 !== 0) throw new Error(`expected option/value pairs, got ${args.join(' ')}`);
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i]!;
    if (!flag.startsWith('-')) throw new Error(`expected an option, got ${flag}`);
    out.push(`-${flag.slice(1).split(':')[0]}:${specifier}`, args[i + 1]!);
  }
  return out;
}

/*
 * NVENC hooks (plan.nvenc is set only when hardware is nvenc): decoder options before -i, the GPU
 * graph (modes gpu/upload; mode cpu keeps videoFilterGraph), B-frame references where supported.
 * Without plan.nvenc each returns exactly what the CPU path always used.
 */
function nvencInputOptions(plan: TranscodePlan): string[] {
  return plan.nvenc ? gpuInputOptions(plan.nvenc.mode) : [];
}

function videoGraphFor(plan: TranscodePlan): { graph: string; outputs: string[] } {
  return plan.nvenc && plan.nvenc.mode !== 'cpu' ? gpuVideoFilterGraph(plan, plan.nvenc) : videoFilterGraph(plan);
}

function encodeSettingsFor(plan: TranscodePlan, rung: LadderRung): RungEncodeSettings {
  const s = rungEncodeSettings(plan, rung);
  return plan.nvenc?.bFrameRefs ? { ...s, bFrameRefs: true } : s;
}

/** The part both layouts share: the one input (confined, demuxer pinned) and the video filter graph. */
function inputAndGraphArgs(plan: TranscodePlan): { args: string[]; outputs: string[] } {
  const { media } = plan;
  // poster and sprites: two more branches off the top rung (args/thumbnails.ts), outputs after all others
  const { graph, outputs } = withThumbnailBranches(plan, videoGraphFor(plan));
  const args = ['-loglevel', 'warning', '-y', ...protocolOptions(media.remote), ...media.inputOptions, ...nvencInputOptions(plan), '-i', media.url, '-filter_complex', graph];
  // sidecar subtitle files carried by MP4 files: inputs 1, 2... (args/subtitles.ts)
  args.push(...movTextInputArgs(plan));
  return { args, outputs };
}

/**
 * The whole ffmpeg argv (without the binary, without -progress: ffmpeg/run.ts adds that). Output
 * paths are relative: run it with the package (staging) folder as the working folder.
 */
export function buildTranscodeArgs(plan: TranscodePlan): string[] {
  if (plan.files.length > 0) return buildTeeTranscodeArgs(plan);
  const { args, outputs } = inputAndGraphArgs(plan);
  plan.ladder.rungs.forEach((rung, i) => {
    const profile = encoderProfiles[encodingOf(plan, rung).encoder];
    args.push('-map', `[${outputs[i]}]`, '-c:v', profile.name, ...profile.args(encodeSettingsFor(plan, rung)));
    // frames keep the times the fps filter gave them (fps-filter.ts); the default for HLS would re-time them from zero
    args.push(plan.fpsModeOption, 'passthrough', ...encoderTimeBaseArgs(plan, 'v'));
    args.push('-map_metadata', '-1', '-map_chapters', '-1');
    if (plan.hls) args.push(...hlsOutputArgs(plan, rungDir(rung.name)));
  });
  if (plan.audio) {
    for (const a of plan.audioRenditions) {
      args.push('-map', `0:a:${a.sourceOrder}`, ...audioEncodeArgs(plan, a, null), '-map_metadata', '-1', '-map_chapters', '-1');
      if (plan.hls) args.push(...hlsOutputArgs(plan, a.dir));
    }
  }
  args.push(...thumbnailOutputArgs(plan));
  return args;
}

/**
 * HLS + progressive files from one encode: a single output holding every encoded stream (each rung's
 * video once, each audio rendition once), fanned out by the tee muxer to one HLS muxer per rendition
 * and one MP4/FLV muxer per file target. Nothing is encoded twice and nothing is remuxed afterwards.
 * Encoders write global headers (parameter sets in extradata), as MP4 and FLV need; the MPEG-TS
 * muxer puts them back in front of every keyframe for TS segments.
 */
function buildTeeTranscodeArgs(plan: TranscodePlan): string[] {
  const { args, outputs } = inputAndGraphArgs(plan);
  plan.ladder.rungs.forEach((rung, i) => {
    const profile = encoderProfiles[encodingOf(plan, rung).encoder];
    args.push('-map', `[${outputs[i]}]`, `-c:v:${i}`, profile.name, ...forStream(profile.args(encodeSettingsFor(plan, rung)), `v:${i}`));
  });
  const audio = plan.audio ? plan.audioRenditions : [];
  audio.forEach((a, j) => {
    args.push('-map', `0:a:${a.sourceOrder}`, ...audioEncodeArgs(plan, a, j));
    if (a.language) args.push(`-metadata:s:a:${j}`, `language=${a.language}`);
  });
  // subtitles as mov_text tracks of the MP4 files (args/subtitles.ts)
  args.push(...movTextStreamArgs(plan));
  args.push('-flags', '+global_header', plan.fpsModeOption, 'passthrough', ...encoderTimeBaseArgs(plan, 'v'), '-map_metadata', '-1', '-map_chapters', '-1');
  const slaves: string[] = [];
  const abort: [string, string] = ['onfail', 'abort'];
  // a tee slave does not inherit the 0.7 s mux delay ffmpeg gives its outputs; without it the
  // MPEG-TS muxer writes every AAC frame in its own PES packet (about 50% overhead on audio)
  const muxDelay: [string, string] = ['max_delay', '700000'];
  if (plan.hls) {
    plan.ladder.rungs.forEach((rung, i) => {
      const m = hlsMuxer(plan, rungDir(rung.name));
      slaves.push(teeSlave([...m.options, muxDelay, ['select', `v:${i}`], abort], m.file));
    });
    audio.forEach((a, j) => {
      const m = hlsMuxer(plan, a.dir);
      slaves.push(teeSlave([...m.options, muxDelay, ['select', `a:${j}`], abort], m.file));
    });
  }
  for (const f of plan.files) {
    const select = [`v:${f.rungIndex}`, ...f.audio.map((j) => `a:${j}`), ...movTextSelect(plan, f.kind)].join(',');
    // MP4: moov moved in front once the file is complete; FLV: a keyframe index in the metadata so players (and the check below) can seek
    const muxer: [string, string][] =
      f.kind === 'mp4'
        ? [
            ['f', 'mp4'],
            ['movflags', '+faststart'],
          ]
        : [
            ['f', 'flv'],
            ['flvflags', 'add_keyframe_index'],
          ];
    slaves.push(teeSlave([...muxer, ['select', select], abort], filePath(f.kind, f.rung)));
  }
  args.push('-f', 'tee', slaves.join('|'), ...thumbnailOutputArgs(plan));
  return args;
}

/**
 * Decode the first and the last `seconds` of each progressive file (two inputs per file, one
 * process); -xerror makes any decode error fatal.
 */
export function buildFileCheckArgs(files: readonly string[], seconds = 1): string[] {
  const args = ['-loglevel', 'error', '-xerror', '-protocol_whitelist', 'file'];
  for (const f of files) args.push('-t', String(seconds), '-i', `file:${f}`, '-sseof', `-${seconds}`, '-i', `file:${f}`);
  // frames keep the container's own time base (FLV: milliseconds): re-timing them to 1/fps can round
  // two neighbours onto one tick after a seek, which the null muxer reports as an error
  // -sn: subtitle tracks (mov_text in MP4) have no encoder for the null muxer; they are not decoded here
  const sink = ['-sn', '-enc_time_base', '-1', '-f', 'null', '-'];
  files.forEach((_, i) => {
    args.push('-map', `${2 * i}`, ...sink, '-map', `${2 * i + 1}`, ...sink);
  });
  return args;
}

/**
 * Decode several files in one ffmpeg process, discarding the frames; -xerror makes any decode error
 * fatal. The in-loop deblocking filter is skipped (`-skip_loop_filter all`): it cannot fail, only
 * smooths pixels nobody looks at here, and is about an eighth of the check's time (H.264 and HEVC;
 * decoders without the option ignore it). Every bitstream error is still found. Each decoder gets
 * `threads` threads (`-threads`): the check runs one process per core up to 4 (package/verify.ts),
 * so on up to 4 cores one each: frame-threaded decoders spent about 15% more CPU on the same last
 * GOPs of the benchmark's package (1.5 against 1.3 s, bench/RESULTS.md); the frames decoded, and so
 * every error found, are the same.
 * The demuxer is named for the pieces streamkit cuts (`.ts`: mpegts; `.mp4`: mov), not guessed: a
 * piece of a few TS packets (a small keyframe) scores too low in ffmpeg's MPEG-TS probe, is taken
 * for an MPEG program stream and "could not find codec parameters".
 */
export function buildDecodeCheckArgs(list: readonly { file: string; frames: number | null }[], threads = 1): string[] {
  const args = ['-loglevel', 'error', '-xerror', '-protocol_whitelist', 'file'];
  for (const i of list) {
    const format = /\.ts$/i.test(i.file) ? 'mpegts' : /\.mp4$/i.test(i.file) ? 'mov' : null;
    args.push('-threads', String(Math.max(1, Math.floor(threads))), '-skip_loop_filter', 'all', ...(format ? ['-f', format] : []), '-i', `file:${i.file}`);
  }
  list.forEach((i, n) => {
    args.push('-map', `${n}`, ...(i.frames ? ['-frames:v', String(i.frames)] : []), '-f', 'null', '-');
  });
  return args;
}

/**
 * A short run of the real NVENC pipeline on the real input: same decoder options, same filter graph,
 * same encoder arguments for every rung (so as many NVENC sessions at once as the real encode), but
 * only `frames` frames per rung into the null muxer, no audio. Enough frames to fill NVENC's input
 * queue and the decoder's surface pool, so a pool too small fails here and not an hour into the job.
 */
export function buildNvencPipelineTrialArgs(plan: TranscodePlan, frames: number): string[] {
  const { media } = plan;
  const profile = encoderProfiles[plan.encoder];
  const args: string[] = ['-hide_banner', '-nostdin', '-loglevel', 'warning', ...protocolOptions(media.remote), ...media.inputOptions, ...nvencInputOptions(plan), '-i', media.url];
  const { graph, outputs } = videoGraphFor(plan);
  args.push('-filter_complex', graph);
  plan.ladder.rungs.forEach((rung, i) => {
    // timed as the real encode times its frames (the fps filter's times, in its time base)
    args.push(
      '-map',
      `[${outputs[i]}]`,
      '-c:v',
      profile.name,
      ...profile.args(encodeSettingsFor(plan, rung)),
      plan.fpsModeOption,
      'passthrough',
      ...encoderTimeBaseArgs(plan, 'v'),
    );
    args.push('-frames:v', String(frames), '-f', 'null', '-');
  });
  return args;
}
