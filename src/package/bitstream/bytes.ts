/**
 * Low-level byte/bit helpers shared by the MP4 and MPEG-TS parsers.
 *
 * Everything here is pure except {@link BitReader}, which keeps a cursor.
 */

/** MSB-first bit reader over a byte array (as used by H.264/HEVC/AV1 headers). */
export class BitReader {
  private readonly data: Uint8Array;
  /** Absolute bit position from the start of `data`. */
  private pos: number;
  private readonly endBit: number;

  /**
   * @param data bytes to read
   * @param byteOffset first byte to read (default 0)
   * @param byteEnd one past the last readable byte (default `data.length`)
   */
  constructor(data: Uint8Array, byteOffset = 0, byteEnd = data.length) {
    if (byteOffset < 0 || byteEnd > data.length || byteOffset > byteEnd) {
      throw new Error(`BitReader: invalid range [${byteOffset}, ${byteEnd}) for ${data.length} bytes`);
    }
    this.data = data;
    this.pos = byteOffset * 8;
    this.endBit = byteEnd * 8;
  }

  /** Bits consumed since the start of `data` (not since byteOffset). */
  get bitPosition(): number {
    return this.pos;
  }

  /** Bits still available. */
  get bitsLeft(): number {
    return this.endBit - this.pos;
  }

  /** Reads `n` (0..53) bits as an unsigned integer, MSB first. */
  readBits(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > 53) {
      throw new Error(`BitReader: cannot read ${n} bits at once (0..53 supported)`);
    }
    if (n > this.bitsLeft) {
      throw new Error(`BitReader: read of ${n} bits at bit ${this.pos} runs past end of data (${this.bitsLeft} bits left)`);
    }
    let value = 0;
    let remaining = n;
    while (remaining > 0) {
      const byte = this.data[this.pos >> 3] as number;
      const bitInByte = this.pos & 7;
      const take = Math.min(8 - bitInByte, remaining);
      const shift = 8 - bitInByte - take;
      const bits = (byte >> shift) & ((1 << take) - 1);
      // multiplication instead of << keeps values above 2^31 exact
      value = value * (1 << take) + bits;
      this.pos += take;
      remaining -= take;
    }
    return value;
  }

  /** Reads one bit. */
  readBit(): number {
    return this.readBits(1);
  }

  /** Reads one bit as a boolean. */
  readFlag(): boolean {
    return this.readBits(1) === 1;
  }

  /** Skips `n` bits. */
  skip(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`BitReader: invalid skip of ${n} bits`);
    if (n > this.bitsLeft) {
      throw new Error(`BitReader: skip of ${n} bits at bit ${this.pos} runs past end of data (${this.bitsLeft} bits left)`);
    }
    this.pos += n;
  }

  /** Unsigned exp-Golomb code ue(v). */
  readUE(): number {
    let leadingZeros = 0;
    while (this.readBits(1) === 0) {
      leadingZeros++;
      if (leadingZeros > 32) {
        throw new Error(`BitReader: exp-Golomb code with more than 32 leading zeros at bit ${this.pos}`);
      }
    }
    if (leadingZeros === 0) return 0;
    return 2 ** leadingZeros - 1 + this.readBits(leadingZeros);
  }

  /** Signed exp-Golomb code se(v). */
  readSE(): number {
    const k = this.readUE();
    if (k === 0) return 0;
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  /** AV1 uvlc(). */
  readUvlc(): number {
    let leadingZeros = 0;
    while (this.readBits(1) === 0) {
      leadingZeros++;
      if (leadingZeros >= 32) return 2 ** 32 - 1;
    }
    if (leadingZeros === 0) return 0;
    return 2 ** leadingZeros - 1 + this.readBits(leadingZeros);
  }

  /** Advances to the next byte boundary. */
  byteAlign(): void {
    const rem = this.pos & 7;
    if (rem !== 0) this.skip(8 - rem);
  }
}

/**
 * Removes emulation-prevention bytes (the 0x03 in 00 00 03) from an H.264/HEVC NAL unit,
 * giving the RBSP. Returns a new Buffer; the input is not modified.
 */
export function removeEmulationPrevention(nal: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let o = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i] as number;
    if (zeros >= 2 && b === 0x03) {
      // drop the emulation prevention byte
      zeros = 0;
      continue;
    }
    out[o++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, o);
}

/**
 * Splits an Annex B byte stream (00 00 01 / 00 00 00 01 start codes) into NAL units
 * (without start codes; trailing zero bytes belonging to the next start code are trimmed).
 * Bytes before the first start code are ignored.
 */
export function splitAnnexB(data: Uint8Array): Buffer[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const nals: Buffer[] = [];
  let start = findStartCode(buf, 0);
  while (start !== -1) {
    const nalStart = start + 3;
    const next = findStartCode(buf, nalStart);
    let nalEnd = next === -1 ? buf.length : next;
    while (nalEnd > nalStart && buf[nalEnd - 1] === 0) nalEnd--;
    if (nalEnd > nalStart) nals.push(buf.subarray(nalStart, nalEnd));
    start = next;
  }
  return nals;
}

/** Index of the next 00 00 01 sequence at or after `from`, or -1. */
export function findStartCode(data: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 2 < data.length; i++) {
    if (data[i + 2] === 1) {
      if (data[i] === 0 && data[i + 1] === 0) return i;
    } else if ((data[i + 2] as number) > 1) {
      // neither of the next two positions can start 00 00 01 ending here; skip ahead
      i += 2;
    }
  }
  return -1;
}

/** Reads a big-endian unsigned 64-bit integer, throwing if it exceeds Number.MAX_SAFE_INTEGER. */
export function readUint64BE(buf: Buffer, offset: number, what = 'value'): number {
  const v = buf.readBigUInt64BE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(`${what} ${v} at offset ${offset} exceeds Number.MAX_SAFE_INTEGER`);
  }
  return Number(v);
}

/** Lower-case hex of `value`, zero padded to `digits`. */
export function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}
