import { rational, type Rational } from './rational.js';

/**
 * Interlaced sources: detected from the container's field order, confirmed by ffmpeg's `idet` on a
 * sample of decoded frames (containers lie: a progressive encode flagged interlaced, or the reverse),
 * and deinterlaced with `bwdif` (motion-adaptive, better than yadif at the same cost) unless the
 * preset says otherwise. Pure: the probe (probe.ts probeInterlace) fills InterlaceFacts.
 */

/** ffprobe's field_order: progressive, tt / bb (top / bottom field first), tb / bt (coded and displayed in opposite orders). */
export type FieldOrder = 'progressive' | 'tt' | 'bb' | 'tb' | 'bt' | 'unknown';

/** What `idet` (multiple-frame detection) said of the sampled frames. */
export interface IdetCounts {
  tff: number;
  bff: number;
  progressive: number;
  undetermined: number;
}

export interface InterlaceFacts {
  /** the container's (or bitstream's) claim */
  fieldOrder: FieldOrder;
  /** idet on a sample; null when it was not run (a progressive claim is trusted) or could not run */
  idet: IdetCounts | null;
}

/** `video.deinterlace` in a preset: auto (one frame per frame when interlaced), off, or forced per frame / per field. */
export type DeinterlaceMode = 'auto' | 'off' | 'frame' | 'field';

export interface DeinterlacePlan {
  /** bwdif's parity and output: one frame per frame (25i -> 25p) or one per field (25i -> 50p) */
  parity: 'tff' | 'bff' | 'auto';
  rate: 'frame' | 'field';
}

/** Count idet's per-frame verdicts (`lavfi.idet.multiple.current_frame=tff` lines from the metadata filter). */
export function countIdet(text: string): IdetCounts {
  const counts: IdetCounts = { tff: 0, bff: 0, progressive: 0, undetermined: 0 };
  for (const m of text.matchAll(/lavfi\.idet\.multiple\.current_frame=(\w+)/g)) {
    const v = m[1] as keyof IdetCounts;
    if (v in counts) counts[v]++;
  }
  return counts;
}

/** Interlaced by idet: more than a fifth of the decided frames are field-based (telecined film shows about two in five). */
function idetSaysInterlaced(c: IdetCounts): boolean {
  const fields = c.tff + c.bff;
  const decided = fields + c.progressive;
  return decided > 0 && fields / decided > 0.2;
}

const claimed = (o: FieldOrder): boolean => o === 'tt' || o === 'bb' || o === 'tb' || o === 'bt';

/**
 * Decide. `auto`: deinterlace (one frame per frame) what idet confirms interlaced, whatever the
 * container says; trust a progressive claim (idet is not run on those: it costs a decode of the
 * sample, and most files are progressive). `frame` / `field`: deinterlace whenever the source is
 * interlaced by claim or by idet. `off`: never, said so when the source is interlaced.
 */
export function planDeinterlace(facts: InterlaceFacts | undefined, mode: DeinterlaceMode = 'auto'): { plan: DeinterlacePlan | null; notes: string[] } {
  if (!facts) return { plan: null, notes: [] };
  const { fieldOrder, idet } = facts;
  const byIdet = idet ? idetSaysInterlaced(idet) : null;
  const interlaced = byIdet ?? claimed(fieldOrder);
  const counted = idet
    ? ` (idet: ${idet.tff} top-field-first, ${idet.bff} bottom-field-first, ${idet.progressive} progressive of ${idet.tff + idet.bff + idet.progressive + idet.undetermined} sampled frames)`
    : '';
  const claim = claimed(fieldOrder)
    ? `flagged ${fieldOrder === 'tt' || fieldOrder === 'tb' ? 'top' : 'bottom'} field first`
    : fieldOrder === 'unknown'
      ? 'no field order in the stream'
      : 'flagged progressive';
  if (!interlaced) {
    if (claimed(fieldOrder)) return { plan: null, notes: [`The source is ${claim} but its frames are progressive${counted}: not deinterlaced.`] };
    return { plan: null, notes: [] };
  }
  if (mode === 'off') return { plan: null, notes: [`The source is interlaced${counted}; video.deinterlace: off keeps the fields as they are (combing on progressive screens).`] };
  const parity: DeinterlacePlan['parity'] =
    idet && idet.tff !== idet.bff
      ? idet.tff > idet.bff
        ? 'tff'
        : 'bff'
      : fieldOrder === 'tt' || fieldOrder === 'tb'
        ? 'tff'
        : fieldOrder === 'bb' || fieldOrder === 'bt'
          ? 'bff'
          : 'auto';
  const rate = mode === 'field' ? 'field' : 'frame';
  const what = rate === 'field' ? 'one frame per field (double frame rate)' : 'one frame per frame';
  return {
    plan: { parity, rate },
    notes: [
      `Interlaced source (${claim}${counted}) deinterlaced with bwdif, ${parity === 'auto' ? 'field order from each frame' : parity === 'tff' ? 'top field first' : 'bottom field first'}, ${what}.`,
    ],
  };
}

/** The frame rate after deinterlacing: doubled when every field becomes a frame. */
export function deinterlacedRate(rate: Rational, plan: DeinterlacePlan | null): Rational {
  return plan?.rate === 'field' ? rational(rate.num * 2, rate.den) : rate;
}

/** The bwdif filter for a plan (every frame is deinterlaced: the per-frame flags are what containers get wrong). */
export function deinterlaceFilter(plan: DeinterlacePlan): string {
  return `bwdif=mode=${plan.rate === 'field' ? 'send_field' : 'send_frame'}:parity=${plan.parity}:deint=all`;
}

/** Codecs that can carry interlaced pictures: a missing field order is checked with idet for these only. */
export const INTERLACE_CAPABLE = new Set(['mpeg2video', 'mpeg1video', 'h264', 'hevc', 'vc1', 'wmv3', 'mpeg4', 'dvvideo', 'prores', 'mjpeg', 'dnxhd', 'ffv1', 'rawvideo', 'v210']);
