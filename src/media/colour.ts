import { videoLadders, type Codec, type Preset } from '../preset/schema.js';

/**
 * Colour and HDR: what a source says about its colour, and what every rung of a ladder made from it
 * says. Pure: the probe fills ColourDescription and HdrMetadata (probe.ts), planColour decides, the
 * argument builders (args/, encoder/profiles.ts) and the master playlist (VIDEO-RANGE) follow.
 *
 * Names are ffmpeg's (`-color_primaries bt2020`, `-color_trc smpte2084`, `-colorspace bt2020nc`,
 * `-color_range tv`), which are also ffprobe's and the H.273 code points' usual names.
 */

/** A stream's colour description as ffprobe reports it; null where the stream says nothing (unspecified). */
export interface ColourDescription {
  primaries: string | null;
  transfer: string | null;
  matrix: string | null;
  range: 'tv' | 'pc' | null;
}

/** SMPTE ST 2086 mastering display: CIE 1931 xy chromaticities, luminance in cd/m². */
export interface MasteringDisplay {
  red: readonly [number, number];
  green: readonly [number, number];
  blue: readonly [number, number];
  whitePoint: readonly [number, number];
  maxLuminance: number;
  minLuminance: number;
}

/** CTA-861.3 content light level, cd/m². */
export interface ContentLight {
  maxCll: number;
  maxFall: number;
}

/** HDR facts beyond the transfer function, from the source's stream or first frame side data. */
export interface HdrMetadata {
  masteringDisplay: MasteringDisplay | null;
  contentLight: ContentLight | null;
  /** a Dolby Vision configuration record: streamkit uses the base layer and writes no RPU */
  dolbyVision: { profile: number | null } | null;
}

/** The dynamic range of a stream, as HLS's VIDEO-RANGE names it. */
export type VideoRange = 'SDR' | 'PQ' | 'HLG';

export function videoRangeOf(transfer: string | null | undefined): VideoRange {
  if (transfer === 'smpte2084') return 'PQ';
  if (transfer === 'arib-std-b67') return 'HLG';
  return 'SDR';
}

/** What the preset asks for an HDR source: keep it HDR where the codec can carry it, or make SDR. */
export type HdrPolicy = 'keep' | 'sdr' | 'both';

/**
 * How HDR becomes SDR: zscale to linear light with HDR reference white (ITU-R BT.2408: 203 cd/m²) as
 * 1.0, ffmpeg's `tonemap` with the mobius operator (linear below its knee, so everything up to about
 * reference white keeps its level and saturation; only what is brighter is compressed, towards the
 * source's peak), then zscale to BT.709. Hable (the usual recipe) darkens mid-tones: on a PQ source
 * made from an SDR master it measured 21.0 dB PSNR against that master where mobius measured 27.6
 * dB, the same as converting without any tone mapping (the source's own coding loss).
 */
export interface ToneMapping {
  from: 'PQ' | 'HLG';
  /** ffmpeg's tonemap filter operator */
  operator: 'mobius';
  /** HDR reference white, mapped to SDR white, cd/m² (zscale npl) */
  nominalPeak: number;
  /** the brightest the source gets, cd/m²: PQ from MaxCLL, else the mastering display, else 1000; HLG: its nominal peak (relative) */
  sourcePeak: number;
}

export interface ColourPlan {
  /** the range every rung is encoded in (VIDEO-RANGE in the master playlist) */
  range: VideoRange;
  /** 8 or 10 bits per sample handed to the encoders */
  bitDepth: 8 | 10;
  /** HDR to SDR before the split, or null */
  toneMap: ToneMapping | null;
  /** the colour description written on every rung; null: none (the source has none either) */
  tags: ColourDescription | null;
  /** HDR10 static metadata written into every rung's bitstream (PQ kept as HDR) */
  hdr10: { masteringDisplay: MasteringDisplay | null; contentLight: ContentLight | null } | null;
  /** video.hdr: both: every HDR rung gets an SDR copy, tone-mapped this way (8-bit, BT.709) */
  sdrCopies?: ToneMapping | null;
  /** one sentence per decision, for the run's notes, the JSON events and streamkit.json */
  notes: string[];
}

const BT709: ColourDescription = { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', range: 'tv' };

/** The brightest an HDR source gets, cd/m²: PQ from MaxCLL, else the mastering display, else 1000; HLG is relative (its reference white). */
function peakOf(range: 'PQ' | 'HLG', hdr: HdrMetadata | null | undefined): number {
  return peakSource(range, hdr).nits;
}

/** peakOf, and where it comes from, in words. */
function peakSource(range: 'PQ' | 'HLG', hdr: HdrMetadata | null | undefined): { nits: number; from: string } {
  if (range === 'HLG') return { nits: REFERENCE_WHITE, from: 'HLG is relative' };
  if (hdr?.contentLight?.maxCll) return { nits: hdr.contentLight.maxCll, from: 'MaxCLL' };
  if (hdr?.masteringDisplay?.maxLuminance) return { nits: hdr.masteringDisplay.maxLuminance, from: 'mastering display' };
  return { nits: DEFAULT_PQ_PEAK, from: 'no MaxCLL or mastering display: assumed' };
}

/** HDR reference (diffuse) white, ITU-R BT.2408: where SDR white goes in HDR, and back. */
const REFERENCE_WHITE = 203;
/** A PQ source's peak when it declares none: the usual 1000 cd/m² mastering display. */
const DEFAULT_PQ_PEAK = 1000;

/**
 * Decide the colour of every rung.
 *
 * - PQ or HLG source, HEVC or AV1 ladder, policy `keep`: 10-bit, the source's BT.2020 description on
 *   every rung; for PQ, its mastering display and content light level carried (HDR10).
 * - PQ or HLG source with an H.264 ladder (no HDR H.264 in Apple's HLS authoring spec) or policy
 *   `sdr`: tone-mapped to SDR BT.709 (ToneMapping) and tagged BT.709.
 * - Policy `both` (HEVC/AV1): as `keep`, plus an SDR copy of every rung (sdrCopies; the plan adds the
 *   rungs, `NAME-sdr`), as Apple's HLS authoring spec asks of HDR packages.
 * - SDR source: 8-bit, its colour description carried as it is; an untagged source stays untagged.
 */
/**
 * The codec whose rules decide the colour of every rung: the preset's, or in a multi-codec preset
 * H.264 when one of its ladders is H.264 (one colour pipeline feeds every encoder, and H.264 is SDR:
 * tone mapping once before the split is cheap, a second pipeline for the HEVC/AV1 rungs is not).
 */
export function colourCodecOf(preset: Preset): Codec {
  return videoLadders(preset).some((l) => l.codec === 'h264') ? 'h264' : preset.video.codec;
}

export function planColour(
  video: { colour?: ColourDescription | undefined; hdr?: HdrMetadata | null | undefined; bitDepth: number },
  codec: Codec,
  policy: HdrPolicy = 'keep',
): ColourPlan {
  const source = video.colour ?? { primaries: null, transfer: null, matrix: null, range: null };
  const range = videoRangeOf(source.transfer);
  const notes: string[] = [];
  const dv = video.hdr?.dolbyVision;
  if (dv) {
    notes.push(
      `Dolby Vision source${dv.profile !== null ? ` (profile ${dv.profile})` : ''}: its base layer is encoded${range === 'SDR' ? '' : ` as ${range}`}; no Dolby Vision metadata (RPU) is written, so players show the ${range === 'SDR' ? 'SDR' : 'HDR10/HLG'} base layer.`,
    );
  }
  if (range !== 'SDR') {
    const name = range === 'PQ' ? 'HDR10 (PQ)' : 'HLG';
    if (codec === 'h264' || policy === 'sdr') {
      const why = codec === 'h264' ? 'H.264 ladders are SDR (HLS carries HDR in HEVC and AV1 only)' : 'the preset asks for SDR (video.hdr: sdr)';
      const { nits: sourcePeak, from: peakWhy } = peakSource(range, video.hdr);
      notes.push(
        `${name} source tone-mapped to SDR BT.709 (tonemap=mobius, reference white ${REFERENCE_WHITE} cd/m² to SDR white, peak ${Math.round(sourcePeak)} cd/m² (${peakWhy})): ${why}.`,
      );
      return {
        range: 'SDR',
        bitDepth: 8,
        toneMap: { from: range, operator: 'mobius', nominalPeak: REFERENCE_WHITE, sourcePeak },
        tags: BT709,
        hdr10: null,
        notes,
      };
    }
    // every rung is limited range (args/command.ts converts a full-range source)
    const tags: ColourDescription = { primaries: source.primaries ?? 'bt2020', transfer: source.transfer, matrix: source.matrix ?? 'bt2020nc', range: 'tv' };
    let hdr10: ColourPlan['hdr10'] = null;
    if (range === 'PQ') {
      const md = video.hdr?.masteringDisplay ?? null;
      const cl = video.hdr?.contentLight ?? null;
      hdr10 = { masteringDisplay: md, contentLight: cl };
      const carried = [md ? 'mastering display' : null, cl ? `MaxCLL ${cl.maxCll} / MaxFALL ${cl.maxFall} cd/m²` : null].filter(Boolean);
      notes.push(
        `${name} source kept as HDR on every rung: 10-bit, ${tags.primaries}/${tags.transfer}/${tags.matrix}, ${carried.length > 0 ? `${carried.join(' and ')} carried` : 'no static HDR metadata in the source, none written'}.`,
      );
    } else {
      notes.push(`${name} source kept as HDR on every rung: 10-bit, ${tags.primaries}/${tags.transfer}/${tags.matrix}.`);
    }
    if (policy === 'both') {
      const sdrCopies: ToneMapping = { from: range, operator: 'mobius', nominalPeak: REFERENCE_WHITE, sourcePeak: peakOf(range, video.hdr) };
      notes.push(
        `video.hdr: both: every rung also gets an SDR copy (NAME-sdr: 8-bit BT.709, tone-mapped with mobius, peak ${Math.round(sdrCopies.sourcePeak)} cd/m²), listed without VIDEO-RANGE, for players and screens without HDR.`,
      );
      return { range, bitDepth: 10, toneMap: null, tags, hdr10, sdrCopies, notes };
    }
    return { range, bitDepth: 10, toneMap: null, tags, hdr10, notes };
  }
  const described = source.primaries !== null || source.transfer !== null || source.matrix !== null;
  if (!described) {
    notes.push('The source has no colour description; the rungs carry none either (players assume BT.709 for HD and BT.601 for SD, as they would for the source).');
  }
  if (video.bitDepth > 8) notes.push(`${video.bitDepth}-bit SDR source encoded in 8 bits per sample, as every SDR rung of the ladder.`);
  // every rung is limited range, as players expect (args/command.ts converts a full-range source)
  return { range: 'SDR', bitDepth: 8, toneMap: null, tags: described || source.range !== null ? { ...source, range: 'tv' } : null, hdr10: null, notes };
}

/** The filters that tone-map HDR to SDR BT.709, at the source size, before the split. */
export function toneMapFilters(t: ToneMapping, source: ColourDescription): string[] {
  const tin = t.from === 'PQ' ? 'smpte2084' : 'arib-std-b67';
  const min = source.matrix ?? 'bt2020nc';
  const pin = source.primaries ?? 'bt2020';
  const rin = source.range ?? 'tv';
  return [
    `zscale=tin=${tin}:min=${min}:pin=${pin}:rin=${rin}:t=linear:npl=${t.nominalPeak}`,
    'format=gbrpf32le',
    'zscale=p=bt709',
    `tonemap=tonemap=${t.operator}:peak=${Number(Math.max(1, t.sourcePeak / t.nominalPeak).toFixed(4))}:desat=0`,
    'zscale=t=bt709:m=bt709:r=tv',
  ];
}

/** ffmpeg's per-stream colour options for the tags (only those the plan has). */
export function colourTagArgs(tags: ColourDescription | null): string[] {
  if (!tags) return [];
  return [
    ...(tags.primaries ? ['-color_primaries', tags.primaries] : []),
    ...(tags.transfer ? ['-color_trc', tags.transfer] : []),
    ...(tags.matrix ? ['-colorspace', tags.matrix] : []),
    ...(tags.range ? ['-color_range', tags.range] : []),
  ];
}

const chroma = (n: number, scale: number): number => Math.round(n * scale);

/** x265's `master-display` (chromaticities in 0.00002 units, luminance in 0.0001 cd/m²) and `max-cll`. */
export function x265Hdr10Params(h: NonNullable<ColourPlan['hdr10']>): string[] {
  const out = ['hdr10=1'];
  const m = h.masteringDisplay;
  if (m) {
    const xy = (p: readonly [number, number]): string => `(${chroma(p[0], 50000)},${chroma(p[1], 50000)})`;
    out.push(`master-display=G${xy(m.green)}B${xy(m.blue)}R${xy(m.red)}WP${xy(m.whitePoint)}L(${Math.round(m.maxLuminance * 10000)},${Math.round(m.minLuminance * 10000)})`);
  }
  if (h.contentLight) out.push(`max-cll=${h.contentLight.maxCll},${h.contentLight.maxFall}`);
  return out;
}

/** SVT-AV1's `mastering-display` (decimal chromaticities and cd/m²) and `content-light`. */
export function svtAv1Hdr10Params(h: NonNullable<ColourPlan['hdr10']>): string[] {
  const out: string[] = [];
  const m = h.masteringDisplay;
  const d = (n: number): string => String(Number(n.toFixed(5)));
  if (m) {
    const xy = (p: readonly [number, number]): string => `(${d(p[0])},${d(p[1])})`;
    out.push(`mastering-display=G${xy(m.green)}B${xy(m.blue)}R${xy(m.red)}WP${xy(m.whitePoint)}L(${d(m.maxLuminance)},${d(m.minLuminance)})`);
  }
  if (h.contentLight) out.push(`content-light=${h.contentLight.maxCll},${h.contentLight.maxFall}`);
  return out;
}

/** One line for people: `bt2020/smpte2084/bt2020nc tv, HDR10 (PQ): mastering display 1000 cd/m², MaxCLL 1000 / MaxFALL 400`. */
export function describeColour(video: { colour?: ColourDescription | undefined; hdr?: HdrMetadata | null | undefined }): string {
  const c = video.colour;
  const desc =
    c && (c.primaries || c.transfer || c.matrix) ? `${c.primaries ?? '?'}/${c.transfer ?? '?'}/${c.matrix ?? '?'}${c.range ? ` ${c.range}` : ''}` : 'no colour description';
  const range = videoRangeOf(c?.transfer);
  const facts: string[] = [];
  const h = video.hdr;
  if (h?.masteringDisplay) facts.push(`mastering display ${Math.round(h.masteringDisplay.maxLuminance)} cd/m²`);
  if (h?.contentLight) facts.push(`MaxCLL ${h.contentLight.maxCll} / MaxFALL ${h.contentLight.maxFall}`);
  if (h?.dolbyVision) facts.push(`Dolby Vision${h.dolbyVision.profile !== null ? ` profile ${h.dolbyVision.profile}` : ''}`);
  const kind = range === 'PQ' ? 'HDR10 (PQ)' : range === 'HLG' ? 'HLG' : 'SDR';
  return `${desc}, ${kind}${facts.length > 0 ? `: ${facts.join(', ')}` : ''}`;
}

/**
 * Pictures made from a ladder kept HDR (poster, thumbnails: JPEG is SDR) need the same tone mapping
 * an SDR ladder would get; none for SDR ladders (their frames are SDR already, tone-mapped or not).
 */
export function previewToneMap(plan: ColourPlan, source: ColourDescription | undefined): string[] {
  if (plan.range === 'SDR') return [];
  const h = plan.hdr10;
  const sourcePeak = peakOf(plan.range, h ? { ...h, dolbyVision: null } : null);
  const desc = source ?? plan.tags ?? { primaries: null, transfer: null, matrix: null, range: null };
  return toneMapFilters({ from: plan.range, operator: 'mobius', nominalPeak: REFERENCE_WHITE, sourcePeak }, desc);
}
