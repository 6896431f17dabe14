import { z } from 'zod';
import { parseBitrate } from './units.js';

/**
 * The preset file format. Every object is strict (unknown keys are errors) so that a typo never
 * silently falls back to a default. Cross-field rules live in `superRefine` below so their messages
 * can name the exact key path.
 */

export const codecs = ['h264', 'hevc', 'av1'] as const;
export type Codec = (typeof codecs)[number];

export const hardwareKinds = ['cpu', 'nvenc'] as const;
export type HardwareKind = (typeof hardwareKinds)[number];

const bitrate = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bps = parseBitrate(v);
  if (bps === null) {
    ctx.addIssue({ code: 'custom', message: `expected a bitrate such as 2500k, 6M or 128000 (bits/s), got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  if (bps <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a positive bitrate, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return bps;
});

/** Extra encoder options: a flat map of option -> value, checked against the encoder's allowlist later. */
const extraOptions = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

const encoderChoice = z.strictObject({
  /** ffmpeg encoder name, e.g. libx264 */
  name: z.string().min(1),
  /** encoder speed preset: x264/x265 names (medium, slow...), svt-av1 0..13, nvenc p1..p7 */
  preset: z.union([z.string(), z.number()]).optional(),
  tune: z.string().optional(),
  /** extra options, allowlisted per encoder */
  options: extraOptions.optional(),
});

const rung = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, "_", "." or "-" (it becomes a folder name)')
    .optional(),
  /** picture height in pixels (the shorter side for portrait sources) */
  height: z.number().int().min(64).max(4320),
  /** target average bitrate (vbr, cbr) or the nominal bitrate the cap derives from (crf) */
  bitrate,
  maxrate: bitrate.optional(),
  bufsize: bitrate.optional(),
  /** quality for rate control mode crf (encoder's own scale) */
  crf: z.number().min(0).max(63).optional(),
  /** this rung's rate control in place of rateControl.mode (a per-title ladder's rung held at the fixed ladder's bitrate is vbr in a crf ladder) */
  mode: z.enum(['crf', 'vbr', 'cbr']).optional(),
});

const rateControl = z.strictObject({
  /** crf: capped CRF (quality target, capped by maxrate/bufsize); vbr: constrained VBR; cbr: constant bitrate */
  mode: z.enum(['crf', 'vbr', 'cbr']),
  crf: z.number().min(0).max(63).optional(),
  /** maxrate = bitrate x maxrateRatio where a rung gives no maxrate */
  maxrateRatio: z.number().min(1).max(4).default(1.5),
  /** bufsize = maxrate x bufsizeRatio where a rung gives no bufsize */
  bufsizeRatio: z.number().min(0.1).max(10).default(2),
});

/**
 * Per-title ladders (`video.perTitle`, or `--per-title`): the rungs this title needs, found by encoding
 * samples at candidate resolutions and qualities and scoring them with VMAF at the display size
 * (docs/per-title.md). The preset's own rungs are the candidate resolutions and the bitrate ceilings.
 */
export const perTitleSchema = z.strictObject({
  /** VMAF of the top rung (0-100); the fixed ladder's top rung is used instead when the title cannot reach this within its bitrate */
  target: z.number().min(30).max(100).default(95),
  /** VMAF between neighbouring rungs; rungs closer than this are merged */
  spacing: z.number().min(1).max(30).default(6),
  minRungs: z.number().int().min(1).max(12).default(3),
  maxRungs: z.number().int().min(1).max(12).default(6),
  /** how far (VMAF) a rung's measured quality may fall below its prediction before streamkit says so */
  margin: z.number().min(0).max(20).default(1.5),
  /** candidate quality settings (the encoder's crf/cq scale); default per encoder (docs/per-title.md) */
  crf: z.array(z.number().min(0).max(63)).min(2).max(8).optional(),
});

export type PerTitleSpec = z.output<typeof perTitleSchema>;

/** Whether a preset asks for a per-title ladder itself (`video.perTitle: true` or its options), without --per-title. */
export function asksForPerTitle(preset: { video: { perTitle?: boolean | PerTitleSpec | undefined } }): boolean {
  const key = preset.video.perTitle;
  return key !== undefined && key !== false;
}

const videoLadder = z.strictObject({
  codec: z.enum(codecs),
  encoder: z
    .strictObject({ cpu: encoderChoice.optional(), nvenc: encoderChoice.optional() })
    .refine((e) => e.cpu !== undefined || e.nvenc !== undefined, 'expected at least one of cpu, nvenc'),
  rateControl,
  /** seconds between keyframes (IDR); every segment starts with one */
  keyframeInterval: z.number().positive().max(20).default(2),
  /** output frame rate cap in frames/s; sources above it are divided by the smallest whole factor that fits */
  maxFrameRate: z.number().positive().max(240).default(60),
  /** an HDR (PQ/HLG) source: kept HDR on HEVC/AV1 ladders (`keep`, the default), tone-mapped to SDR (`sdr`), or both (`both`: the HDR ladder plus an SDR copy of every rung, `NAME-sdr`); H.264 is always SDR */
  hdr: z.enum(['keep', 'sdr', 'both']).optional(),
  /** interlaced sources: deinterlaced when confirmed (`auto`, the default), never (`off`), or one frame per frame / per field (`frame`, `field`: 50i -> 50p) */
  deinterlace: z.enum(['auto', 'off', 'frame', 'field']).optional(),
  rungs: z.array(rung).min(1),
  /** per-title ladder: true for the defaults, or its options; absent: the fixed ladder (unless --per-title) */
  perTitle: z.union([z.literal(true), z.literal(false), perTitleSchema]).optional(),
});

/**
 * `video`: one ladder, or a list of ladders (one per codec, e.g. H.264 + HEVC + AV1) encoded from one
 * decode into one package. In a list, keyframeInterval, maxFrameRate, hdr and deinterlace must be
 * equal (one frame pipeline feeds every encoder), and a rung without a name is called CODEC-HEIGHTp.
 */
const video = z.union([videoLadder, z.array(videoLadder).min(1)]);

export type VideoLadderSpec = z.output<typeof videoLadder>;

/** The folder name of a preset rung: its name, else HEIGHTp (one ladder) or CODEC-HEIGHTp (a list of ladders). */
export function presetRungName(r: { name?: string | undefined; height: number }, codec: Codec, multi: boolean): string {
  return r.name ?? (multi ? `${codec}-${r.height}p` : `${r.height}p`);
}

/**
 * A multichannel rendition beside the stereo one, for sources with 6 or more channels (5.1, 5.1(side),
 * 6.1, 7.1: the latter downmixed to 5.1). E-AC-3 or AC-3 (Apple's HLS authoring spec for 5.1; both
 * ffmpeg encoders), or AAC 5.1. Its own audio group, so players that cannot decode it (Chromium and
 * E-AC-3) pick the AAC stereo group. false: stereo only.
 */
const surround = z.strictObject({
  codec: z.enum(['eac3', 'ac3', 'aac']).default('eac3'),
  bitrate: bitrate.default(384000),
});

const audio = z.strictObject({
  codec: z.literal('aac').default('aac'),
  bitrate: bitrate.default(128000),
  channels: z.number().int().min(1).max(8).default(2),
  sampleRate: z.union([z.literal(32000), z.literal(44100), z.literal(48000)]).default(48000),
  /** which source audio streams become renditions: the first one or all of them */
  streams: z.enum(['first', 'all']).default('all'),
  /** a 5.1 rendition in its own group beside the stereo one, for multichannel sources; default: E-AC-3 at 384 kb/s */
  surround: z.union([surround, z.literal(false)]).default(() => surround.parse({})),
});

const hls = z.strictObject({
  segmentDuration: z.number().positive().max(60).default(6),
  /**
   * The first segment's duration, a whole multiple of the keyframe interval, at most segmentDuration.
   * Default: one keyframe interval (one GOP), so a player fetches less before its first frame.
   */
  firstSegmentDuration: z.number().positive().max(60).optional(),
  /** ts (MPEG-TS) is only valid for h264; fmp4 for every codec. Default: ts for h264, fmp4 otherwise */
  container: z.enum(['ts', 'fmp4']).optional(),
  /**
   * segments: one file per segment (the default); single-file: one file per rendition (init, a sidx,
   * every fragment), addressed by byte ranges (EXT-X-BYTERANGE; DASH SegmentBase), for CDNs that
   * prefer fewer objects. fmp4 only
   */
  layout: z.enum(['segments', 'single-file']).optional(),
});

/** Which ladder rungs a file target is written for: rung names, or "top" / "all" (after the ladder is fitted to the source). */
const rungSelection = z.union([z.enum(['top', 'all']), z.array(z.string().min(1)).min(1)]).default('top');

/** Progressive MP4 (moov before mdat, "+faststart"): DIR/mp4/<rung>.mp4, video + every audio rendition. */
const mp4 = z.strictObject({
  rungs: rungSelection,
});

/** FLV file: DIR/flv/<rung>.flv, video + the first audio rendition. H.264 + AAC (HEVC/AV1 need enhanced FLV, ffmpeg >= 6.1). */
const flv = z.strictObject({
  rungs: rungSelection,
});

/**
 * Poster and thumbnail sprites (DIR/poster.jpg, DIR/thumbnails.vtt, DIR/thumbnails/sprite-NNNN.jpg).
 * Absent: made for every preset that is not `live`; false: none.
 */
const thumbnails = z.strictObject({
  /** seconds between thumbnails (one VTT cue each); auto: 2 s for short titles up to 10 s for long ones */
  interval: z.union([z.literal('auto'), z.number().min(0.5).max(600)]).default('auto'),
  /** width of one thumbnail in pixels (at most the top rung's); the height follows the picture's shape */
  width: z.number().int().min(32).max(640).default(160),
  /** thumbnails per sprite sheet: columns x rows */
  columns: z.number().int().min(1).max(20).default(10),
  rows: z.number().int().min(1).max(20).default(10),
});

/**
 * An MPEG-DASH manifest (DIR/manifest.mpd) over the HLS package's own fMP4 (CMAF) segments: no second
 * copy of the media. Needs packaging.hls with container fmp4 (the default when dash is set).
 */
const dash = z.strictObject({
  /**
   * MPD@minBufferTime in seconds; auto: the longest segment. Each Representation's @bandwidth is then
   * the least rate at which a client that buffered this long never stalls (ISO/IEC 23009-1 5.3.5.2)
   */
  minBufferTime: z.union([z.literal('auto'), z.number().positive().max(60)]).default('auto'),
});

const packaging = z
  .strictObject({
    hls: hls.optional(),
    dash: dash.optional(),
    mp4: mp4.optional(),
    flv: flv.optional(),
    thumbnails: z.union([thumbnails, z.literal(false)]).optional(),
    /** text subtitle streams and --subtitles files as WebVTT renditions of the HLS package; default true */
    subtitles: z.boolean().optional(),
  })
  .refine((p) => p.hls !== undefined || p.mp4 !== undefined || p.flv !== undefined, 'expected at least one packaging target (hls, mp4, flv)');

export const presetSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    /** base preset: a built-in name or a path relative to this file; removed once resolved */
    extends: z.string().optional(),
    /** live: meant for `streamkit push` (paced to the source clock, published over RTMP); push refuses presets without it */
    live: z.boolean().default(false),
    video,
    /** false: no audio even if the source has some */
    audio: z.union([audio, z.literal(false)]).default(() => audio.parse({})),
    packaging: packaging.default(() => ({ hls: hls.parse({}) })),
  })
  .superRefine((p, ctx) => {
    const multi = Array.isArray(p.video);
    const ladders = Array.isArray(p.video) ? p.video : [p.video];
    const at = (k: number): (string | number)[] => (multi ? ['video', k] : ['video']);
    const lead = ladders[0]!;
    const names: string[] = [];
    const namePaths: (string | number)[][] = [];
    ladders.forEach((l, k) => {
      const rc = l.rateControl;
      const keyPath = at(k)
        .map((x) => (typeof x === 'number' ? `[${x}]` : x))
        .join('');
      l.rungs.forEach((r, i) => {
        const path = [...at(k), 'rungs', i];
        if (r.maxrate !== undefined && r.maxrate < r.bitrate) {
          ctx.addIssue({ code: 'custom', path: [...path, 'maxrate'], message: `expected maxrate >= bitrate (${r.bitrate} bit/s), got ${r.maxrate} bit/s` });
        }
        const mode = r.mode ?? rc.mode;
        if (mode === 'cbr' && r.maxrate !== undefined && r.maxrate !== r.bitrate) {
          ctx.addIssue({ code: 'custom', path: [...path, 'maxrate'], message: 'expected maxrate equal to bitrate (or none) with rateControl.mode cbr' });
        }
        if (mode === 'crf' && r.crf === undefined && rc.crf === undefined) {
          ctx.addIssue({ code: 'custom', path: [...path, 'crf'], message: `expected a crf value here or in ${keyPath}.rateControl.crf for rateControl.mode crf` });
        }
        names.push(presetRungName(r, l.codec, multi));
        namePaths.push([...path, 'name']);
      });
      const pt = l.perTitle;
      if (pt && pt !== true && pt.minRungs > pt.maxRungs) {
        ctx.addIssue({ code: 'custom', path: [...at(k), 'perTitle', 'minRungs'], message: `expected minRungs <= maxRungs (${pt.maxRungs}), got ${pt.minRungs}` });
      }
      if (multi && l.perTitle) {
        ctx.addIssue({
          code: 'custom',
          path: [...at(k), 'perTitle'],
          message: 'expected no perTitle in a preset with several video ladders (the analysis fits one ladder; run one preset per codec)',
        });
      }
      if (k === 0) return;
      // one decode, one frame rate, one GOP for every codec: the keys that shape the frames must agree
      for (const key of ['keyframeInterval', 'maxFrameRate', 'hdr', 'deinterlace'] as const) {
        if (l[key] !== lead[key]) {
          ctx.addIssue({
            code: 'custom',
            path: [...at(k), key],
            message: `expected the same ${key} as video[0] (${JSON.stringify(lead[key] ?? null)}) in every ladder (one decode and aligned keyframes for all codecs), got ${JSON.stringify(l[key] ?? null)}`,
          });
        }
      }
    });
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: 'custom', path: namePaths[i]!, message: `expected unique rung names; "${n}" is used twice (give rungs of equal height a name)` });
    });
    if (p.live && ladders.some((l) => l.perTitle)) {
      ctx.addIssue({ code: 'custom', path: ['video', 'perTitle'], message: 'expected no perTitle in a live preset (the analysis needs the whole title before encoding)' });
    }
    if (multi && p.live) {
      ctx.addIssue({ code: 'custom', path: ['video'], message: 'expected one video ladder for a live preset (RTMP carries one video stream), got a list' });
    }
    for (const target of ['mp4', 'flv'] as const) {
      const sel = p.packaging[target]?.rungs;
      if (Array.isArray(sel)) {
        sel.forEach((n, i) => {
          if (!names.includes(n))
            ctx.addIssue({ code: 'custom', path: ['packaging', target, 'rungs', i], message: `expected one of the rung names (${names.join(', ')}), got ${JSON.stringify(n)}` });
          else if (sel.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['packaging', target, 'rungs', i], message: `expected each rung once; "${n}" is listed twice` });
        });
      }
    }
    const h = p.packaging.hls;
    if (p.packaging.dash && !h) {
      ctx.addIssue({
        code: 'custom',
        path: ['packaging', 'dash'],
        message: "expected packaging.hls beside packaging.dash (the DASH manifest addresses the HLS package's fMP4 segments); add `hls: { container: fmp4 }`",
      });
    }
    if (h) {
      const ki = lead.keyframeInterval;
      if (h.segmentDuration < ki) {
        ctx.addIssue({
          code: 'custom',
          path: ['packaging', 'hls', 'segmentDuration'],
          message: `expected a segment duration of at least the keyframe interval (${ki} s), got ${h.segmentDuration} s`,
        });
      } else if (Math.abs(h.segmentDuration / ki - Math.round(h.segmentDuration / ki)) > 1e-6) {
        ctx.addIssue({
          code: 'custom',
          path: ['packaging', 'hls', 'segmentDuration'],
          message: `expected a whole multiple of the keyframe interval (${ki} s) so that every segment starts with a keyframe, got ${h.segmentDuration} s`,
        });
      }
      const first = h.firstSegmentDuration;
      if (first !== undefined) {
        if (first < ki || Math.abs(first / ki - Math.round(first / ki)) > 1e-6) {
          ctx.addIssue({
            code: 'custom',
            path: ['packaging', 'hls', 'firstSegmentDuration'],
            message: `expected a whole multiple of the keyframe interval (${ki} s) so that the first segment ends on a keyframe, got ${first} s`,
          });
        } else if (first > h.segmentDuration + 1e-6) {
          ctx.addIssue({
            code: 'custom',
            path: ['packaging', 'hls', 'firstSegmentDuration'],
            message: `expected at most the segment duration (${h.segmentDuration} s), got ${first} s`,
          });
        }
      }
      if (h.container === 'ts' && h.layout === 'single-file') {
        ctx.addIssue({ code: 'custom', path: ['packaging', 'hls', 'layout'], message: 'expected container fmp4 with layout single-file (a sidx indexes fMP4 fragments), got ts' });
      }
      if (h.container === 'ts' && p.packaging.dash) {
        ctx.addIssue({
          code: 'custom',
          path: ['packaging', 'hls', 'container'],
          message: 'expected fmp4 with packaging.dash (the DASH manifest addresses the same fMP4 segments as the HLS playlists), got ts',
        });
      }
      const other = ladders.find((l) => l.codec !== 'h264');
      if (h.container === 'ts' && other) {
        ctx.addIssue({
          code: 'custom',
          path: ['packaging', 'hls', 'container'],
          message: `expected fmp4 for ${other.codec} (Apple's HLS rules allow HEVC and AV1 only in fragmented MP4), got ts`,
        });
      } else if (h.container === 'ts' && multi) {
        ctx.addIssue({ code: 'custom', path: ['packaging', 'hls', 'container'], message: 'expected fmp4 for a preset with several video ladders, got ts' });
      }
    }
  })
  // the first ladder stays `video` (what single-ladder code reads: keyframeInterval, maxFrameRate, hdr...);
  // a list of ladders is kept whole in `ladders` (see videoLadders)
  .transform(({ video: v, ...rest }) => (Array.isArray(v) ? { ...rest, video: v[0]!, ladders: v } : { ...rest, video: v }));

export type PresetInput = z.input<typeof presetSchema>;
export type Preset = z.output<typeof presetSchema>;

/** Every video ladder of a preset: one, or the list a multi-codec preset gives (the first is `video`). */
export function videoLadders(p: Pick<Preset, 'video'> & { ladders?: VideoLadderSpec[] | undefined }): VideoLadderSpec[] {
  return p.ladders ?? [p.video];
}

export type AudioSpec = Exclude<Preset['audio'], false>;

/**
 * The preset as a document the schema reads again (what `presets show` prints, what queue jobs carry):
 * a multi-ladder preset's `ladders` go back into `video` as the list it was written as.
 */
export function presetDocument(p: Preset): Record<string, unknown> {
  if (!('ladders' in p)) return p;
  // key order kept: `video` where it was, `ladders` gone
  return Object.fromEntries(Object.entries(p).flatMap(([k, v]) => (k === 'ladders' ? [] : [[k, k === 'video' ? p.ladders : v]])));
}
