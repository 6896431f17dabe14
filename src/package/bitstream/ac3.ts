/**
 * AC-3 and E-AC-3 sync frame headers (ATSC A/52:2018, 5.3 and E.1.2): enough to read a frame's
 * channel count (acmod + lfeon), the check that a surround rendition really is 5.1.
 */
import { BitReader } from './bytes.js';

/** Full-bandwidth channels per acmod (0: 1+1 dual mono). */
const ACMOD_CHANNELS = [2, 1, 2, 3, 3, 4, 4, 5] as const;

export interface Ac3FrameInfo {
  /** 'ac-3' (bsid <= 10) or 'ec-3' (bsid 11..16) */
  codec: 'ac-3' | 'ec-3';
  acmod: number;
  lfeon: boolean;
  /** full-bandwidth channels plus the LFE */
  channels: number;
}

/** The header of the sync frame at the start of `frame` (0x0B77 first); throws when there is none. */
export function parseAc3Frame(frame: Uint8Array): Ac3FrameInfo {
  if (frame.length < 8 || frame[0] !== 0x0b || frame[1] !== 0x77) throw new Error('no AC-3 sync word (0x0B77) at the start of the frame');
  // bsid sits at the same place in both syntaxes: byte 5, top 5 bits
  const bsid = (frame[5] as number) >> 3;
  const r = new BitReader(frame, 2);
  let acmod: number;
  let lfeon: boolean;
  if (bsid <= 10) {
    r.skip(16 + 2 + 6 + 5 + 3); // crc1, fscod, frmsizecod, bsid, bsmod
    acmod = r.readBits(3);
    if ((acmod & 1) !== 0 && acmod !== 1) r.skip(2); // cmixlev
    if ((acmod & 4) !== 0) r.skip(2); // surmixlev
    if (acmod === 2) r.skip(2); // dsurmod
    lfeon = r.readFlag();
  } else if (bsid <= 16) {
    r.skip(2 + 3 + 11 + 2 + 2); // strmtyp, substreamid, frmsiz, fscod, numblkscod / fscod2
    acmod = r.readBits(3);
    lfeon = r.readFlag();
  } else {
    throw new Error(`AC-3 frame with bsid ${bsid}: neither AC-3 nor E-AC-3`);
  }
  return { codec: bsid <= 10 ? 'ac-3' : 'ec-3', acmod, lfeon, channels: ACMOD_CHANNELS[acmod]! + (lfeon ? 1 : 0) };
}
