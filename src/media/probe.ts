import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StreamkitError, lastLines } from '../errors.js';
import { runCapture } from '../ffmpeg/run.js';
import { countIdet, INTERLACE_CAPABLE, type FieldOrder, type InterlaceFacts } from './interlace.js';
import { videoRangeOf, type ColourDescription, type ContentLight, type HdrMetadata, type MasteringDisplay } from './colour.js';
import { cachedBinaryFact } from '../ffmpeg/capabilities.js';
import { shellQuoteArg } from '../ffmpeg/shell-quote.js';
import { formatRational, parseRational, toNumber, type Rational } from './rational.js';
import { isHttpUrl } from '../remote.js';

/** What streamkit knows about an input after ffprobe. */
export interface MediaInfo {
  /** the input as the user gave it */
  input: string;
  /** the ffmpeg/ffprobe input URL: `file:/abs/path` for local files, the URL for http(s) */
  url: string;
  remote: boolean;
  formatName: string;
  /** seconds; null when the container does not say (raw elementary streams) */
  duration: number | null;
  /** the input's first timestamp in seconds (ffprobe format start_time): ffmpeg moves it to zero; null when unknown */
  startTime?: number | null;
  sizeBytes: number | null;
  video: VideoInfo;
  audio: AudioInfo[];
  /** subtitle streams, text and bitmap (absent in hand-made MediaInfo: none) */
  subtitles?: SubtitleInfo[];
  /** demuxer options that must precede -i (e.g. -framerate for raw streams) */
  inputOptions: string[];
}

export interface VideoInfo {
  index: number;
  codec: string;
  /** coded (storage) size */
  width: number;
  height: number;
  sar: Rational;
  /** rotation in degrees from the display matrix, normalised to 0, 90, 180 or 270 */
  rotation: 0 | 90 | 180 | 270;
  /** the picture as displayed: rotation and SAR applied */
  displayWidth: number;
  displayHeight: number;
  /** seconds of the video stream itself (container stream duration, or Matroska's DURATION tag); null when unknown */
  duration?: number | null;
  /** the stream's first timestamp in seconds (ffprobe start_time); null when unknown (raw streams) */
  startTime?: number | null;
  /** the nominal frame rate (r_frame_rate), exact */
  frameRate: Rational;
  /** true when the average rate differs from the nominal one (variable frame rate) */
  variableFrameRate: boolean;
  pixelFormat: string;
  bitDepth: number;
  /** the stream's colour description (absent in hand-made MediaInfo: treated as none) */
  colour?: ColourDescription;
  /** HDR side data, probed for PQ and HLG sources only (probeHdrMetadata); null or absent otherwise */
  hdr?: HdrMetadata | null;
  /** the field order claimed, and idet's count where the claim is not "progressive" (probeInterlace) */
  interlace?: InterlaceFacts;
}

export interface AudioInfo {
  index: number;
  codec: string;
  channels: number;
  /** ffprobe's channel_layout (5.1, 5.1(side), 7.1, stereo...); null or absent when the source names none */
  channelLayout?: string | null;
  sampleRate: number;
  language: string | null;
  title: string | null;
  /** the stream's first timestamp in seconds (ffprobe start_time); null when unknown */
  startTime?: number | null;
}

export interface SubtitleInfo {
  index: number;
  codec: string;
  language: string | null;
  title: string | null;
  default: boolean;
  forced: boolean;
}

/** Demuxers that open other files or URLs named inside the input: refused for local inputs. */
const referencingFormats = new Set(['hls', 'applehttp', 'concat', 'dash', 'ffmetadata', 'tee', 'image2', 'sdp', 'rtsp', 'mpd', 'webm_dash_manifest', 'imf', 'mov_refs']);
const rawElementary = new Set(['h264', 'hevc', 'mpegvideo', 'm4v', 'av1', 'obu', 'vvc']);
/** Demuxers that turn text into pictures: a text file is not media. */
const textFormats = new Set(['tty', 'ansi']);
/** Input devices listed among the demuxers: never for a file (lavfi's movie= reads any file). */
const deviceFormats = new Set([
  'lavfi',
  'alsa',
  'fbdev',
  'kmsgrab',
  'pulse',
  'x11grab',
  'xcbgrab',
  'v4l2',
  'video4linux2',
  'oss',
  'jack',
  'openal',
  'iec61883',
  'libdc1394',
  'libcdio',
  'sndio',
  'decklink',
  'dshow',
  'gdigrab',
  'avfoundation',
  'android_camera',
]);

/**
 * Parse `ffprobe -demuxers` into the names allowed for local files: every demuxer except those that
 * open other files (playlists, concat, image sequences...), text renderers and capture devices.
 */
export function localDemuxerWhitelist(demuxersText: string): string[] {
  const out: string[] = [];
  let inList = false;
  for (const line of demuxersText.split(/\r?\n/)) {
    if (/^\s*--\s*$/.test(line)) {
      inList = true;
      continue;
    }
    const m = inList ? /^\s*D\S?\s+(\S+)/.exec(line) : null;
    if (!m) continue;
    const names = m[1]!.split(',');
    if (names.some((n) => referencingFormats.has(n) || textFormats.has(n) || deviceFormats.has(n))) continue;
    out.push(...names);
  }
  return out;
}

/**
 * ffprobe's demuxers minus the dangerous ones, asked once per binary (and cached on disk with the
 * ffmpeg capabilities). Given to ffprobe as -format_whitelist, so a playlist that slipped past the
 * content check (an MPD without an XML declaration, say) is refused right after detection, before
 * its demuxer opens anything it names.
 */
function demuxerWhitelist(ffprobe: string, signal?: AbortSignal): Promise<string[]> {
  return cachedBinaryFact(ffprobe, 'local-demuxers', async () => {
    const r = await runCapture(ffprobe, ['-hide_banner', '-demuxers'], { timeoutMs: 30_000, ...(signal ? { signal } : {}) });
    const list = r.exitCode === 0 ? localDemuxerWhitelist(r.stdout) : [];
    if (list.length === 0) {
      throw new StreamkitError('FFMPEG_NOT_FOUND', `${ffprobe} -demuxers listed no demuxers: is it really ffprobe?`, {
        details: { binary: ffprobe, tool: 'ffprobe', stderrTail: lastLines(r.stderr) },
      });
    }
    return list;
  });
}

export interface ProbeOptions {
  ffprobe: string;
  /** frame rate for raw elementary streams, e.g. "30000/1001" */
  frameRate?: string | undefined;
  signal?: AbortSignal;
}

export function isRemote(input: string): boolean {
  return isHttpUrl(input);
}

/**
 * The URL handed to ffmpeg/ffprobe for a user's input. Local paths become `file:` URLs of the
 * absolute path, so a name like `-y`, `concat:a|b` or `http:x` is always read as that file.
 */
export function inputUrl(input: string): string {
  return isRemote(input) ? input : `file:${resolve(input)}`;
}

/** ffmpeg options that confine what an input may open. */
export function protocolOptions(remote: boolean): string[] {
  return ['-protocol_whitelist', remote ? 'http,https,tcp,tls,crypto' : 'file'];
}

/**
 * A local input is a readable, non-empty regular file of media, not a playlist or script naming
 * other files; its size. Checked before anything opens it for real: opening a FIFO would block,
 * a folder or device is not an input. The errors name the input as the user gave it.
 */
export async function checkInputFile(input: string): Promise<number> {
  const path = resolve(input);
  let st;
  try {
    st = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StreamkitError('INPUT_MISSING', `Input not found: ${input}`, { hint: 'Check the path; quote names with spaces.', details: { input } });
    throw new StreamkitError('INPUT_UNREADABLE', `Cannot read input ${input}: ${code ?? String(error)}.`, { details: { input }, cause: error });
  }
  if (st.isDirectory())
    throw new StreamkitError('INPUT_UNREADABLE', `Input is a directory, not a media file: ${input}`, {
      hint: 'To process every file in a folder, use `streamkit batch`.',
      details: { input },
    });
  if (!st.isFile()) throw new StreamkitError('INPUT_UNREADABLE', `Input is not a regular file: ${input}`, { details: { input } });
  if (st.size === 0) throw new StreamkitError('INPUT_NOT_MEDIA', `Input is empty (0 bytes): ${input}`, { details: { input } });
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      head = Buffer.alloc(Math.min(64, st.size));
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StreamkitError('INPUT_UNREADABLE', `Cannot read input ${input}: ${code === 'EACCES' ? 'permission denied' : (code ?? String(error))}.`, {
      hint: code === 'EACCES' ? `Check the file's permissions (ls -l ${shellQuoteArg(input)}); streamkit runs as the user who started it.` : undefined,
      details: { input },
      cause: error,
    });
  }
  // Playlists and concat scripts make ffmpeg open other files named inside them (the well-known
  // local-file disclosure); they are refused before ffprobe ever sees them.
  const text = head
    .toString('latin1')
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
    .trimStart();
  if (text.startsWith('#EXTM3U') || text.startsWith('ffconcat') || /^<\?xml[^>]*>\s*<MPD/i.test(text) || text.startsWith(';FFMETADATA')) {
    throw new StreamkitError('INPUT_REFUSED', `Refusing ${input}: it is a playlist or script that references other files, not media.`, {
      hint: 'Give the media file itself. Remote HLS sources can be given as an explicit https:// URL.',
      details: { input },
    });
  }
  return st.size;
}

type ProbeJson = {
  format?: { format_name?: string; duration?: string; size?: string; start_time?: string };
  streams?: Array<{
    index: number;
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    sample_aspect_ratio?: string;
    r_frame_rate?: string;
    avg_frame_rate?: string;
    pix_fmt?: string;
    bits_per_raw_sample?: string;
    channels?: number;
    channel_layout?: string;
    sample_rate?: string;
    duration?: string;
    start_time?: string;
    disposition?: { attached_pic?: number; default?: number; forced?: number };
    tags?: Record<string, string>;
    side_data_list?: SideData[];
    color_primaries?: string;
    color_transfer?: string;
    color_space?: string;
    color_range?: string;
    field_order?: string;
  }>;
};

/** A side data entry of ffprobe's JSON (stream or frame): the fields streamkit reads. */
type SideData = {
  side_data_type?: string;
  rotation?: number;
  red_x?: string;
  red_y?: string;
  green_x?: string;
  green_y?: string;
  blue_x?: string;
  blue_y?: string;
  white_point_x?: string;
  white_point_y?: string;
  min_luminance?: string;
  max_luminance?: string;
  max_content?: number;
  max_average?: number;
  dv_profile?: number;
};

/**
 * When the first decoded sample of each of `streams` (indexes into media.audio) plays, in seconds:
 * the stream's start_time plus what the decoder drops at the start (AAC priming marked in the
 * container, Opus pre-skip); null where it could not be decoded. Only the A/V sync check needs it,
 * so the encode stage asks while ffmpeg runs, not before.
 */
export async function probeAudioStarts(media: MediaInfo, streams: readonly number[], options: ProbeOptions): Promise<Map<number, number | null>> {
  const times = await Promise.all(
    streams.map((i) => {
      const a = media.audio[i];
      return a ? firstFrameTime(options, [...protocolOptions(media.remote), ...media.inputOptions, '-select_streams', String(a.index)], media.url) : null;
    }),
  );
  return new Map(streams.map((i, n) => [i, times[n] ?? null]));
}

/**
 * The presentation time of the first frame the decoder returns for the selected stream (decoding a
 * few packets of that stream only): later than the stream's start_time where the decoder skips
 * samples at the start. Null when nothing decodes there.
 */
async function firstFrameTime(options: ProbeOptions, selection: readonly string[], url: string): Promise<number | null> {
  const args = ['-v', 'error', ...selection, '-show_frames', '-read_intervals', '%+#3', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', '-i', url];
  let stdout: string;
  try {
    const r = await runCapture(options.ffprobe, args, { timeoutMs: 60_000, ...(options.signal ? { signal: options.signal } : {}) });
    if (r.exitCode !== 0) return null;
    stdout = r.stdout;
  } catch (error) {
    // an interruption stays one; a stalled or failing look at one stream only leaves its time unknown
    if (options.signal?.aborted) throw error;
    return null;
  }
  // the first frame only: a later one's time would be off by a frame
  const first = stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return first === undefined || first.startsWith('N/A') ? null : startTimeOf(first.split(',')[0]);
}

function startTimeOf(value: string | undefined): number | null {
  const t = Number(value);
  return value !== undefined && Number.isFinite(t) ? t : null;
}

function normaliseRotation(deg: number): 0 | 90 | 180 | 270 {
  const r = (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
  return r as 0 | 90 | 180 | 270;
}

/** A stream's duration: ffprobe's seconds, else a Matroska "HH:MM:SS.nnnnnnnnn" DURATION tag. */
export function streamDuration(seconds: string | undefined, tag: string | undefined): number | null {
  const s = Number(seconds);
  if (seconds !== undefined && Number.isFinite(s) && s > 0) return s;
  const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(tag?.trim() ?? '');
  if (!m) return null;
  const t = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return t > 0 ? t : null;
}

function bitDepthOf(pixFmt: string, bitsPerRaw: string | undefined): number {
  const fromFmt = /p(\d{2})(?:le|be)?$/.exec(pixFmt);
  if (fromFmt) return Number(fromFmt[1]);
  const raw = Number(bitsPerRaw);
  return Number.isFinite(raw) && raw > 0 ? raw : 8;
}

/**
 * The picture as displayed: the sample aspect ratio stretches the width (storage height kept), then
 * a quarter-turn rotation swaps the sides. 720x576 SAR 16:15 -> 768x576; rotated 90 -> 576x768.
 */
export function displaySize(width: number, height: number, sar: Rational, rotation: 0 | 90 | 180 | 270): { width: number; height: number } {
  const sarW = Math.round((width * sar.num) / sar.den);
  const rotated = rotation === 90 || rotation === 270;
  return { width: rotated ? height : sarW, height: rotated ? sarW : height };
}

/** ffprobe an input into a MediaInfo. Errors are typed: missing, unreadable, not media, no video. */
export async function probeMedia(input: string, options: ProbeOptions): Promise<MediaInfo> {
  const remote = isRemote(input);
  const sizeBytes = remote ? null : await checkInputFile(input);
  const url = inputUrl(input);
  const inputOptions: string[] = [];
  if (options.frameRate) {
    if (!parseRational(options.frameRate)) {
      throw new StreamkitError('USAGE', `Invalid frame rate "${options.frameRate}".`, { hint: 'Use a number or fraction, e.g. 25, 29.97 or 30000/1001.' });
    }
    inputOptions.push('-framerate', options.frameRate);
  }
  const formats = remote ? [] : ['-format_whitelist', (await demuxerWhitelist(options.ffprobe, options.signal)).join(',')];
  const args = ['-v', 'error', ...protocolOptions(remote), ...formats, ...inputOptions, '-print_format', 'json', '-show_format', '-show_streams', '-i', url];
  const r = await runCapture(options.ffprobe, args, { timeoutMs: 120_000, ...(options.signal ? { signal: options.signal } : {}) });
  let json: ProbeJson = {};
  try {
    json = JSON.parse(r.stdout || '{}') as ProbeJson;
  } catch {
    /* handled below as not-media */
  }
  if (r.exitCode !== 0 || !json.format) {
    throw new StreamkitError('INPUT_NOT_MEDIA', `${input} is not a media file ffprobe can read.`, {
      hint: 'Check that it is a complete video file (not truncated, not a text or playlist file).',
      details: { input, tool: 'ffprobe', stderrTail: lastLines(r.stderr) },
    });
  }
  const formatName = json.format.format_name ?? 'unknown';
  if (!remote && formatName.split(',').some((f) => textFormats.has(f))) {
    throw new StreamkitError('INPUT_NOT_MEDIA', `${input} is a text file (ffmpeg would render it as ${formatName} "video"), not media.`, {
      hint: 'Give a video file.',
      details: { input, formatName },
    });
  }
  if (!remote && formatName.split(',').some((f) => referencingFormats.has(f))) {
    throw new StreamkitError('INPUT_REFUSED', `Refusing ${input}: format "${formatName}" reads other files named inside it.`, {
      hint: 'Give the media file itself, not a playlist, concat list or image pattern.',
      details: { input, formatName },
    });
  }
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v?.width || !v.height) {
    throw new StreamkitError('INPUT_NO_VIDEO', `${input} has no video stream${streams.some((s) => s.codec_type === 'audio') ? ' (it is audio only)' : ''}.`, {
      hint: 'streamkit builds video ladders; give a file with a video track.',
      details: { input, formatName },
    });
  }
  const isRaw = formatName.split(',').some((f) => rawElementary.has(f));
  if (!isRaw && options.frameRate) {
    throw new StreamkitError('USAGE', `--framerate is only for raw elementary streams (.h264, .hevc); ${input} is ${formatName}, which carries its own timing.`, {
      hint: 'Leave out --framerate for this input.',
      details: { input, formatName },
    });
  }
  if (isRaw && !options.frameRate) {
    throw new StreamkitError('USAGE', `${input} is a raw ${v.codec_name ?? 'video'} elementary stream with no timing; its frame rate must be given.`, {
      hint: 'Add --framerate, e.g. --framerate 30 or --framerate 30000/1001.',
      details: { input, formatName },
    });
  }
  // Pin the demuxer that was vetted here: the encode opens the file with exactly this one, never
  // with whatever the content might probe as later (a file replaced in between, a playlist).
  if (!remote) inputOptions.unshift('-f', formatName.split(',')[0]!);
  const rotationRaw = v.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? Number(v.tags?.['rotate'] ?? 0);
  const rotation = normaliseRotation(Number.isFinite(rotationRaw) ? rotationRaw : 0);
  const sar = parseRational(v.sample_aspect_ratio) ?? { num: 1, den: 1 };
  const nominal = (isRaw ? parseRational(options.frameRate) : null) ?? parseRational(v.r_frame_rate);
  const average = parseRational(v.avg_frame_rate);
  // r_frame_rate can be a timebase-like value (e.g. 90000/1) on VFR sources; the average is then the honest one
  let frameRate = nominal && toNumber(nominal) <= 240 ? nominal : average;
  if (!frameRate || toNumber(frameRate) <= 0) {
    throw new StreamkitError('INPUT_NOT_MEDIA', `Cannot tell the frame rate of ${input}.`, { hint: 'Give it with --framerate.', details: { input } });
  }
  const variableFrameRate = !!(average && nominal && Math.abs(toNumber(average) - toNumber(nominal)) / toNumber(nominal) > 0.01);
  if (variableFrameRate && average && nominal && toNumber(nominal) > 240) frameRate = average;
  const storageW = v.width;
  const storageH = v.height;
  const { width: displayWidth, height: displayHeight } = displaySize(storageW, storageH, sar, rotation);
  const durationRaw = Number(json.format.duration ?? v.duration);
  const videoDuration = streamDuration(v.duration, v.tags?.['DURATION'] ?? v.tags?.['duration']);
  const pixelFormat = v.pix_fmt ?? 'unknown';
  const audio: AudioInfo[] = streams
    .filter((s) => s.codec_type === 'audio' && (s.channels ?? 0) > 0)
    .map((s) => ({
      index: s.index,
      codec: s.codec_name ?? 'unknown',
      channels: s.channels ?? 2,
      channelLayout: s.channel_layout ?? null,
      sampleRate: Number(s.sample_rate ?? 48000),
      language: s.tags?.['language'] && s.tags['language'] !== 'und' ? s.tags['language'] : null,
      title: s.tags?.['title'] ?? null,
      startTime: startTimeOf(s.start_time),
    }));
  const subtitles: SubtitleInfo[] = streams
    .filter((s) => s.codec_type === 'subtitle')
    .map((s) => ({
      index: s.index,
      codec: s.codec_name ?? 'unknown',
      language: s.tags?.['language'] && s.tags['language'] !== 'und' ? s.tags['language'] : null,
      title: s.tags?.['title'] ?? null,
      default: s.disposition?.default === 1,
      forced: s.disposition?.forced === 1,
    }));
  return {
    input,
    url,
    remote,
    formatName,
    duration: Number.isFinite(durationRaw) && durationRaw > 0 ? durationRaw : null,
    startTime: isRaw ? null : startTimeOf(json.format.start_time),
    sizeBytes,
    video: {
      index: v.index,
      codec: v.codec_name ?? 'unknown',
      width: storageW,
      height: storageH,
      sar,
      rotation,
      displayWidth,
      displayHeight,
      duration: isRaw ? null : videoDuration,
      startTime: isRaw ? null : startTimeOf(v.start_time),
      frameRate,
      variableFrameRate,
      pixelFormat,
      bitDepth: bitDepthOf(pixelFormat, v.bits_per_raw_sample),
      colour: colourOf(v),
      hdr: hdrFromSideData(v.side_data_list ?? []),
      interlace: { fieldOrder: fieldOrderOf(v.field_order), idet: null },
    },
    audio,
    subtitles,
    inputOptions,
  };
}

/** ffprobe's "unknown"/"unspecified"/"reserved" are no description. */
function colourName(v: string | undefined): string | null {
  return v && !['unknown', 'unspecified', 'reserved'].includes(v) ? v : null;
}

function colourOf(v: { color_primaries?: string; color_transfer?: string; color_space?: string; color_range?: string }): ColourDescription {
  const range = colourName(v.color_range);
  return {
    primaries: colourName(v.color_primaries),
    transfer: colourName(v.color_transfer),
    matrix: colourName(v.color_space),
    range: range === 'tv' || range === 'pc' ? range : null,
  };
}

/** "34000/50000" -> 0.68; null when absent or not a number. */
function ratio(v: string | undefined): number | null {
  if (v === undefined) return null;
  const [n, d] = v.split('/').map(Number);
  const r = d === undefined ? n! : n! / d;
  return Number.isFinite(r) ? r : null;
}

/** HDR facts from side data entries (a stream's, or its first frame's); null when there are none. */
function hdrFromSideData(list: readonly SideData[]): HdrMetadata | null {
  let masteringDisplay: MasteringDisplay | null = null;
  let contentLight: ContentLight | null = null;
  let dolbyVision: HdrMetadata['dolbyVision'] = null;
  for (const sd of list) {
    const type = sd.side_data_type ?? '';
    if (/mastering display/i.test(type)) {
      const xy = (x: string | undefined, y: string | undefined): [number, number] | null => {
        const a = ratio(x);
        const b = ratio(y);
        return a === null || b === null ? null : [a, b];
      };
      const red = xy(sd.red_x, sd.red_y);
      const green = xy(sd.green_x, sd.green_y);
      const blue = xy(sd.blue_x, sd.blue_y);
      const whitePoint = xy(sd.white_point_x, sd.white_point_y);
      const maxLuminance = ratio(sd.max_luminance);
      const minLuminance = ratio(sd.min_luminance);
      if (red && green && blue && whitePoint && maxLuminance !== null && minLuminance !== null) masteringDisplay = { red, green, blue, whitePoint, maxLuminance, minLuminance };
    } else if (/content light level/i.test(type) && typeof sd.max_content === 'number' && typeof sd.max_average === 'number') {
      contentLight = { maxCll: sd.max_content, maxFall: sd.max_average };
    } else if (/dovi configuration/i.test(type)) {
      dolbyVision = { profile: typeof sd.dv_profile === 'number' ? sd.dv_profile : null };
    }
  }
  return masteringDisplay || contentLight || dolbyVision ? { masteringDisplay, contentLight, dolbyVision } : null;
}

/**
 * HDR10 static metadata is often only in the bitstream (HEVC SEI), not in the container: for a PQ or
 * HLG source, the first frame's side data is read too (one frame decoded; SDR sources never pay for
 * it) and merged with what the stream had.
 */
export async function probeHdrMetadata(media: MediaInfo, options: ProbeOptions): Promise<HdrMetadata | null> {
  const v = media.video;
  const fromStream = v.hdr ?? null;
  if (videoRangeOf(v.colour?.transfer) === 'SDR') return fromStream;
  if (fromStream?.masteringDisplay && fromStream.contentLight) return fromStream;
  // biome-ignore format: ffprobe flag/value pairs, one pair per line
  const args = [
    '-v', 'error',
    ...protocolOptions(media.remote),
    ...media.inputOptions,
    '-select_streams', String(v.index),
    '-read_intervals', '%+#1',
    '-show_frames',
    '-show_entries', 'frame=side_data_list',
    '-print_format', 'json',
    '-i', media.url,
  ];
  let frames: { side_data_list?: SideData[] }[] = [];
  try {
    const r = await runCapture(options.ffprobe, args, { timeoutMs: 60_000, ...(options.signal ? { signal: options.signal } : {}) });
    frames = (JSON.parse(r.stdout || '{}') as { frames?: { side_data_list?: SideData[] }[] }).frames ?? [];
  } catch (error) {
    // an interruption stays one; a first frame that cannot be read leaves what the stream said
    if (options.signal?.aborted) throw error;
    return fromStream;
  }
  const fromFrame = hdrFromSideData(frames[0]?.side_data_list ?? []);
  if (!fromFrame) return fromStream;
  return {
    masteringDisplay: fromStream?.masteringDisplay ?? fromFrame.masteringDisplay,
    contentLight: fromStream?.contentLight ?? fromFrame.contentLight,
    dolbyVision: fromStream?.dolbyVision ?? fromFrame.dolbyVision,
  };
}

function fieldOrderOf(v: string | undefined): FieldOrder {
  return v === 'progressive' || v === 'tt' || v === 'bb' || v === 'tb' || v === 'bt' ? v : 'unknown';
}

/** Frames idet looks at: enough for a verdict (about 10 s at 25 fps), little enough to cost a fraction of a second. */
const IDET_FRAMES = 250;

/**
 * Confirm (or refute) a field order that is not "progressive" with ffmpeg's idet on IDET_FRAMES
 * frames a quarter into the source (openings are often static, where idet cannot decide). A
 * progressive claim is trusted: checking every source would cost every job a decode. The verdicts
 * come from idet's per-frame metadata, printed by the metadata filter to stdout, not from its log.
 */
export async function probeInterlace(media: MediaInfo, options: { ffmpeg: string; signal?: AbortSignal }): Promise<MediaInfo> {
  const v = media.video;
  const facts = v.interlace;
  if (!facts || facts.fieldOrder === 'progressive') return media;
  // VP8, VP9, AV1...: no interlaced pictures, whatever the container leaves unsaid
  if (facts.fieldOrder === 'unknown' && !INTERLACE_CAPABLE.has(v.codec)) return media;
  const start = media.duration ? Math.max(0, media.duration / 4 - 2) : 0;
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error',
    ...protocolOptions(media.remote), ...media.inputOptions,
    ...(start > 0 ? ['-ss', start.toFixed(3)] : []),
    '-i', media.url,
    '-map', `0:${v.index}`,
    '-frames:v', String(IDET_FRAMES),
    '-vf', 'idet,metadata=print:key=lavfi.idet.multiple.current_frame:file=pipe\\\\:1',
    '-f', 'null', '-',
  ];
  try {
    const r = await runCapture(options.ffmpeg, args, { timeoutMs: 120_000, ...(options.signal ? { signal: options.signal } : {}) });
    const idet = countIdet(r.stdout);
    // no verdict (nothing decoded): the container's claim stands
    if (r.exitCode !== 0 || idet.tff + idet.bff + idet.progressive + idet.undetermined === 0) return media;
    return { ...media, video: { ...v, interlace: { ...facts, idet } } };
  } catch (error) {
    // an interruption stays one; a sample that cannot be decoded leaves the container's claim
    if (options.signal?.aborted) throw error;
    return media;
  }
}

export function describeMedia(m: MediaInfo): string {
  const v = m.video;
  const dur = m.duration === null ? 'unknown duration' : `${m.duration.toFixed(2)} s`;
  return `${m.formatName}, ${v.codec} ${v.displayWidth}x${v.displayHeight} @ ${formatRational(v.frameRate)} fps${v.variableFrameRate ? ' (VFR)' : ''}, ${m.audio.length} audio stream(s), ${dur}`;
}
