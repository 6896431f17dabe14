import { describe, expect, it } from 'vitest';
import { BitReader, findStartCode, removeEmulationPrevention, splitAnnexB } from '../../src/package/bitstream/bytes.js';
import {
  findBox,
  findBoxes,
  iterateBoxes,
  parseTfhd,
  parseTrun,
  TRUN_DATA_OFFSET,
  TRUN_FIRST_SAMPLE_FLAGS,
  TRUN_SAMPLE_COMPOSITION_TIME_OFFSET,
  TRUN_SAMPLE_FLAGS,
  TRUN_SAMPLE_SIZE,
} from '../../src/package/bitstream/mp4.js';
import {
  collectPesUnits,
  pesBytes,
  parseAdtsHeader,
  parsePat,
  parsePesHeader,
  parsePmt,
  parseTsPackets,
  readFirstPsiSection,
  readPesTimestamp,
} from '../../src/package/bitstream/ts.js';
import { type Fmp4Init, inspectFmp4Init, inspectFmp4Segment, inspectTsSegment } from '../../src/package/inspect.js';

const hexBuf = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u32 = (...values: number[]): Buffer => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, i * 4);
  });
  return b;
};
const box = (type: string, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length + 8, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
};
const fullBox = (type: string, version: number, flags: number, ...parts: Buffer[]): Buffer => box(type, u32(((version & 0xff) << 24) | (flags & 0xffffff)), ...parts);

describe('BitReader', () => {
  it('reads bit fields across byte boundaries', () => {
    const r = new BitReader(hexBuf('a5 ff 00 12 34 56 78'));
    expect(r.readBits(3)).toBe(0b101);
    expect(r.readBits(7)).toBe(0b0010111);
    expect(r.readFlag()).toBe(true);
    r.skip(5 + 8);
    expect(r.readBits(32)).toBe(0x12345678);
    expect(r.bitsLeft).toBe(0);
    expect(() => r.readBits(1)).toThrow(/past end/);
  });

  it('reads values wider than 31 bits exactly', () => {
    expect(new BitReader(hexBuf('ffffffffff')).readBits(40)).toBe(2 ** 40 - 1);
  });

  it('decodes unsigned and signed exp-Golomb codes', () => {
    // 1 | 010 | 011 | 00100 | 0001000 | 00111 -> ue: 0,1,2,3,7 ; then se of code 6 (-3)
    const bitsStr = '1' + '010' + '011' + '00100' + '0001000' + '00111';
    const padded = bitsStr.padEnd(Math.ceil(bitsStr.length / 8) * 8, '1');
    const bytes = Buffer.from(padded.match(/.{8}/g)?.map((b) => parseInt(b, 2)) ?? []);
    const r = new BitReader(bytes);
    expect([r.readUE(), r.readUE(), r.readUE(), r.readUE(), r.readUE()]).toEqual([0, 1, 2, 3, 7]);
    expect(r.readSE()).toBe(-3);
    const s = new BitReader(Buffer.from([0b01001110]));
    expect([s.readSE(), s.readSE(), s.readSE()]).toEqual([1, -1, 0]);
  });

  it('throws on an exp-Golomb code running past the end', () => {
    expect(() => new BitReader(Buffer.from([0x00])).readUE()).toThrow(/past end/);
  });

  it('honours a byte range', () => {
    const r = new BitReader(hexBuf('ff 0f f0 ff'), 1, 3);
    expect(r.readBits(16)).toBe(0x0ff0);
    expect(() => r.readBit()).toThrow(/past end/);
  });
});

describe('emulation prevention and Annex B', () => {
  it('removes 0x03 after two zero bytes only', () => {
    expect(removeEmulationPrevention(hexBuf('00 00 03 01 00 00 03 00 00 03 03 12 03')).toString('hex')).toBe('00000100000000031203'); // 00 00 03 00 00 03 03 -> 00 00 00 00 03
    expect(removeEmulationPrevention(hexBuf('00 03 00 00 00 03')).toString('hex')).toBe('0003000000');
    expect(removeEmulationPrevention(hexBuf('67 42 00 00 03 00 1f')).toString('hex')).toBe('67420000001f');
  });

  it('splits an Annex B stream with 3- and 4-byte start codes', () => {
    const es = hexBuf('00 00 00 01 09 f0 00 00 01 67 42 c0 0d 00 00 00 01 68 ce 00 00 01 65 88 84 00 00');
    expect(splitAnnexB(es).map((n) => n.toString('hex'))).toEqual(['09f0', '6742c00d', '68ce', '658884']);
    expect(findStartCode(es, 5)).toBe(6);
    expect(findStartCode(hexBuf('12 00 00 02 00 00 01'), 0)).toBe(4);
  });
});

describe('ISO BMFF boxes', () => {
  it('iterates boxes, handles 64-bit and to-end sizes, finds nested paths', () => {
    const large = Buffer.concat([u32(1), Buffer.from('free'), u32(0, 20), Buffer.alloc(4)]);
    const file = Buffer.concat([
      box('ftyp', Buffer.from('isom')),
      box('moov', box('trak', box('tkhd', Buffer.alloc(4))), box('trak', box('mdia'))),
      large,
      Buffer.concat([u32(0), Buffer.from('mdat'), Buffer.from('rest')]),
    ]);
    const boxes = iterateBoxes(file);
    expect(boxes.map((b) => `${b.type}:${b.size}:${b.headerSize}`)).toEqual(['ftyp:12:8', 'moov:44:8', 'free:20:16', 'mdat:12:8']);
    expect(findBoxes(file, ['moov', 'trak'])).toHaveLength(2);
    expect(findBox(file, ['moov', 'trak', 'mdia'])?.start).toBe(12 + 8 + 20 + 8);
    expect(findBox(file, ['moov', 'mvex'])).toBeUndefined();
  });

  it('rejects malformed boxes', () => {
    expect(() => iterateBoxes(Buffer.concat([u32(4), Buffer.from('free')]))).toThrow(/invalid size 4/);
    expect(() => iterateBoxes(Buffer.concat([u32(100), Buffer.from('free')]))).toThrow(/extends past the end/);
    expect(() => iterateBoxes(Buffer.from([0, 0, 0]))).toThrow(/truncated box header/);
  });

  it('parses tfhd and trun fields', () => {
    const tfhdBuf = fullBox('tfhd', 0, 0x020038, u32(1, 512, 100, 0x01010000));
    const tfhd = parseTfhd(tfhdBuf, iterateBoxes(tfhdBuf)[0]!);
    expect(tfhd).toMatchObject({ trackId: 1, defaultSampleDuration: 512, defaultSampleSize: 100, defaultSampleFlags: 0x01010000, defaultBaseIsMoof: true });
    expect(tfhd.baseDataOffset).toBeUndefined();
    const flags = TRUN_DATA_OFFSET | TRUN_FIRST_SAMPLE_FLAGS | TRUN_SAMPLE_SIZE | TRUN_SAMPLE_COMPOSITION_TIME_OFFSET;
    const trunBuf = fullBox('trun', 1, flags, u32(2, -8 >>> 0, 0x02000000, 10, -512 >>> 0, 20, 1024));
    const trun = parseTrun(trunBuf, iterateBoxes(trunBuf)[0]!);
    expect(trun).toMatchObject({ sampleCount: 2, dataOffset: -8, firstSampleFlags: 0x02000000 });
    expect(trun.samples).toEqual([
      { size: 10, compositionTimeOffset: -512 },
      { size: 20, compositionTimeOffset: 1024 },
    ]);
    const shortTrun = fullBox('trun', 0, TRUN_SAMPLE_SIZE | TRUN_SAMPLE_FLAGS, u32(3, 1, 2));
    expect(() => parseTrun(shortTrun, iterateBoxes(shortTrun)[0]!)).toThrow(/too short for 3 samples/);
  });
});

// ------------------------------------------------------------------------------------------------
// Synthetic fragmented MP4

const SYNC = 0x02000000;
const NON_SYNC = 0x01010000;

const visualEntry = (type: string, ...children: Buffer[]): Buffer => box(type, Buffer.alloc(78), ...children);
const audioEntry = (type: string, ...children: Buffer[]): Buffer => box(type, Buffer.alloc(28), ...children);

function trak(trackId: number, handler: string, timescale: number, entry: Buffer): Buffer {
  return box(
    'trak',
    fullBox('tkhd', 0, 3, u32(0, 0, trackId, 0, 0), Buffer.alloc(60)),
    box(
      'mdia',
      fullBox('mdhd', 0, 0, u32(0, 0, timescale, 0), Buffer.alloc(4)),
      fullBox('hdlr', 0, 0, u32(0), Buffer.from(handler), Buffer.alloc(13)),
      box('minf', box('stbl', fullBox('stsd', 0, 0, u32(1), entry))),
    ),
  );
}

const trex = (trackId: number, duration: number, size: number, flags: number): Buffer => fullBox('trex', 0, 0, u32(trackId, 1, duration, size, flags));

describe('inspectFmp4Init (synthetic)', () => {
  it('reads tracks, codecs and trex defaults, including encrypted entries', () => {
    const avcC = hexBuf('0164001fffe1000467640 01f01000468ee3c80'.replace(/ /g, ''));
    const esds = Buffer.concat([Buffer.alloc(4), hexBuf('03 16 000100 04 11 40 15 000000 00000000 00000000 05 02 2b09'.replace(/ /g, ''))]);
    const encv = visualEntry('encv', box('avcC', avcC), box('sinf', box('frma', Buffer.from('avc1'))));
    const initBuf = Buffer.concat([
      box('ftyp', Buffer.from('iso6')),
      box('moov', trak(1, 'vide', 90000, encv), trak(2, 'soun', 24000, audioEntry('mp4a', box('esds', esds))), box('mvex', trex(1, 3000, 0, NON_SYNC), trex(2, 1024, 0, 0))),
    ]);
    const init = inspectFmp4Init(initBuf);
    expect(init.codecs).toEqual(['avc1.64001f', 'mp4a.40.5']);
    expect(init.tracks).toEqual([
      { trackId: 1, handler: 'vide', timescale: 90000, sampleEntry: 'encv', codec: 'avc1.64001f', defaultSampleDuration: 3000, defaultSampleSize: 0, defaultSampleFlags: NON_SYNC },
      { trackId: 2, handler: 'soun', timescale: 24000, sampleEntry: 'mp4a', codec: 'mp4a.40.5', defaultSampleDuration: 1024, defaultSampleSize: 0, defaultSampleFlags: 0 },
    ]);
  });

  it('throws on a missing codec configuration box', () => {
    const initBuf = box('moov', trak(1, 'vide', 1000, visualEntry('hvc1')));
    expect(() => inspectFmp4Init(initBuf)).toThrow(/'hvc1' sample entry has no hvcC box/);
    expect(() => inspectFmp4Init(box('ftyp'))).toThrow(/missing 'moov' box/);
  });
});

interface TrafSpec {
  trackId: number;
  tfhdFlags: number;
  tfhdFields?: number[]; // after track_ID, in tfhd order (base offset given separately)
  baseDataOffset?: number;
  tfdt?: number;
  trunFlags: number;
  firstSampleFlags?: number;
  /** per-sample fields in trun order (duration, size, flags, cto) as present in trunFlags */
  samples: number[][];
  /** bytes of sample data this traf contributes to the mdat */
  dataSize: number;
}

/**
 * Builds moof+mdat. Truns with TRUN_DATA_OFFSET get offsets relative to the moof (default-base-is-moof),
 * placing each traf's data consecutively in the mdat. `fileOffset` is where the moof will start in the file
 * (for explicit base_data_offset).
 */
function fragment(seq: number, trafs: TrafSpec[], fileOffset: number): Buffer {
  const build = (moofSize: number): Buffer => {
    let dataPos = moofSize + 8;
    const trafBoxes = trafs.map((t) => {
      const base = t.baseDataOffset !== undefined ? [Math.floor(t.baseDataOffset / 2 ** 32), (fileOffset + moofSize + 8 + t.baseDataOffset) >>> 0] : [];
      const tfhd = fullBox('tfhd', 0, t.tfhdFlags, u32(t.trackId, ...base, ...(t.tfhdFields ?? [])));
      const tfdt = t.tfdt === undefined ? Buffer.alloc(0) : fullBox('tfdt', 1, 0, u32(0, t.tfdt));
      const head = [t.samples.length];
      if (t.trunFlags & TRUN_DATA_OFFSET) head.push(dataPos);
      if (t.trunFlags & TRUN_FIRST_SAMPLE_FLAGS) head.push(t.firstSampleFlags ?? 0);
      dataPos += t.dataSize;
      return box('traf', tfhd, tfdt, fullBox('trun', 0, t.trunFlags, u32(...head, ...t.samples.flat())));
    });
    return box('moof', fullBox('mfhd', 0, 0, u32(seq)), ...trafBoxes);
  };
  const moof = build(build(0).length);
  const dataSize = trafs.reduce((n, t) => n + t.dataSize, 0);
  return Buffer.concat([moof, box('mdat', Buffer.alloc(dataSize, 0xab))]);
}

describe('inspectFmp4Segment (synthetic)', () => {
  const init: Fmp4Init = {
    codecs: ['avc1.64001f', 'mp4a.40.2'],
    tracks: [
      { trackId: 1, handler: 'vide', timescale: 1000, sampleEntry: 'avc1', codec: 'avc1.64001f', defaultSampleFlags: NON_SYNC, defaultSampleDuration: 40, defaultSampleSize: 10 },
      { trackId: 2, handler: 'soun', timescale: 48000, sampleEntry: 'mp4a', codec: 'mp4a.40.2', defaultSampleFlags: 0, defaultSampleDuration: 1024, defaultSampleSize: 5 },
    ],
  };
  const BASE_IS_MOOF = 0x020000;
  const S = TRUN_SAMPLE_SIZE;
  const F = TRUN_SAMPLE_FLAGS;
  const C = TRUN_SAMPLE_COMPOSITION_TIME_OFFSET;
  const D = TRUN_DATA_OFFSET;

  // fragment 1: default-base-is-moof; sync via trun first_sample_flags, others from trex; audio traf after video
  const frag1 = (offset: number): Buffer =>
    fragment(
      1,
      [
        { trackId: 1, tfhdFlags: BASE_IS_MOOF, tfdt: 1000, trunFlags: D | TRUN_FIRST_SAMPLE_FLAGS | S, firstSampleFlags: SYNC, samples: [[100], [20], [20]], dataSize: 140 },
        { trackId: 2, tfhdFlags: BASE_IS_MOOF, tfdt: 48000, trunFlags: D, samples: [[], []], dataSize: 10 },
      ],
      offset,
    );
  // fragment 2: tfhd default flags say sync, but per-sample trun flags win: first sample non-sync, second sync
  const frag2 = (offset: number): Buffer =>
    fragment(
      2,
      [
        {
          trackId: 1,
          tfhdFlags: BASE_IS_MOOF | 0x20,
          tfhdFields: [SYNC],
          tfdt: 1120,
          trunFlags: D | S | F,
          samples: [
            [30, NON_SYNC],
            [40, SYNC],
          ],
          dataSize: 70,
        },
      ],
      offset,
    );
  // fragment 3: explicit base_data_offset, no data_offset in trun, no tfdt (continues), sync from tfhd default flags, composition offset
  const frag3 = (offset: number): Buffer =>
    fragment(3, [{ trackId: 1, tfhdFlags: 0x01 | 0x20, tfhdFields: [SYNC], baseDataOffset: 0, trunFlags: S | C, samples: [[50, 80]], dataSize: 50 }], offset);

  it('finds keyframes only at the start of fragments and applies flag precedence', () => {
    const styp = box('styp', Buffer.from('msdh'));
    const f1 = frag1(styp.length);
    const f2 = frag2(styp.length + f1.length);
    const f3 = frag3(styp.length + f1.length + f2.length);
    const seg = Buffer.concat([styp, f1, f2, f3]);
    const moofs = iterateBoxes(seg).filter((b) => b.type === 'moof');
    const result = inspectFmp4Segment(seg, init);
    expect(result.videoFrames).toBe(6);
    expect(result.startsWithKeyframe).toBe(true);
    expect(result.firstPts).toBe(1);
    // the earliest presentation is the first sample's (no composition offset), the decode end the last sample's end
    expect(result.ticks?.earliest).toBe(1000);
    expect(result.ticks?.decodeStart).toBe(1000);
    expect(result.keyframes).toEqual([
      { offset: moofs[0]!.start, length: moofs[0]!.size + 8 + 100, pts: 1 },
      { offset: moofs[2]!.start, length: moofs[2]!.size + 8 + 50, pts: (1120 + 40 + 40 + 80) / 1000 },
    ]);
  });

  it('reports startsWithKeyframe=false when the first fragment starts with a non-sync sample', () => {
    const seg = frag2(0);
    expect(inspectFmp4Segment(seg, init)).toEqual({
      keyframes: [],
      startsWithKeyframe: false,
      firstPts: 1.12,
      videoFrames: 2,
      ticks: { timescale: 1000, earliest: 1120, decodeStart: 1120, decodeEnd: 1200 },
    });
  });

  it('chains base data offsets between trafs when neither default-base-is-moof nor base_data_offset is set', () => {
    // audio traf first (data at moof start + data_offset), video traf with no data_offset continues after audio's data
    const buildSeg = (): Buffer => {
      const moofFor = (audioOffset: number): Buffer =>
        box(
          'moof',
          fullBox('mfhd', 0, 0, u32(1)),
          box('traf', fullBox('tfhd', 0, 0, u32(2)), fullBox('tfdt', 0, 0, u32(0)), fullBox('trun', 0, D, u32(2, audioOffset))),
          box('traf', fullBox('tfhd', 0, 0x20, u32(1, SYNC)), fullBox('tfdt', 0, 0, u32(2000)), fullBox('trun', 0, S, u32(1, 33))),
        );
      const moof = moofFor(moofFor(0).length + 8);
      return Buffer.concat([moof, box('mdat', Buffer.alloc(10 + 33))]);
    };
    const seg = buildSeg();
    const moofSize = iterateBoxes(seg)[0]!.size;
    expect(inspectFmp4Segment(seg, init).keyframes).toEqual([{ offset: 0, length: moofSize + 8 + 10 + 33, pts: 2 }]);
  });

  it('handles audio-only segments', () => {
    const audioInit: Fmp4Init = { codecs: ['mp4a.40.2'], tracks: [init.tracks[1]!] };
    const seg = fragment(1, [{ trackId: 2, tfhdFlags: BASE_IS_MOOF, tfdt: 96000, trunFlags: D, samples: [[], []], dataSize: 10 }], 0);
    expect(inspectFmp4Segment(seg, audioInit)).toEqual({
      keyframes: [],
      startsWithKeyframe: true,
      firstPts: 2,
      videoFrames: 0,
      ticks: { timescale: 48000, earliest: 96000, decodeStart: 96000, decodeEnd: 96000 + 2 * 1024 },
    });
  });

  it('throws when sample data lies outside the segment or a track is unknown', () => {
    const seg = frag1(0);
    expect(() => inspectFmp4Segment(seg.subarray(0, seg.length - 20), init)).toThrow();
    const truncatedMdat = Buffer.concat([seg.subarray(0, iterateBoxes(seg)[0]!.size), box('mdat', Buffer.alloc(10))]);
    expect(() => inspectFmp4Segment(truncatedMdat, init)).toThrow(/lies outside the segment/);
    const noAudio: Fmp4Init = { codecs: [], tracks: [init.tracks[0]!] };
    expect(() => inspectFmp4Segment(seg, noAudio)).toThrow(/track_ID 2, which is not in the init segment/);
  });
});

// ------------------------------------------------------------------------------------------------
// Synthetic MPEG-TS

/** firstChunk: payload bytes in the first packet (176 at most, the rest is adaptation-field stuffing) */
function tsPackets(pid: number, payload: Buffer, opts: { rai?: boolean; cc?: { n: number }; firstChunk?: number } = {}): Buffer[] {
  const packets: Buffer[] = [];
  const cc = opts.cc ?? { n: 0 };
  for (let off = 0, first = true; off < payload.length || first; first = false) {
    const chunk = payload.subarray(off, off + (first ? (opts.firstChunk ?? 176) : 176));
    off += chunk.length;
    const p = Buffer.alloc(188, 0xff);
    p[0] = 0x47;
    p[1] = (first ? 0x40 : 0) | (pid >> 8);
    p[2] = pid & 0xff;
    p[3] = 0x30 | (cc.n++ & 0x0f);
    const afLength = 183 - chunk.length;
    p[4] = afLength;
    p[5] = first && opts.rai ? 0x40 : 0x00;
    chunk.copy(p, 5 + afLength);
    packets.push(p);
  }
  return packets;
}

function psi(tableId: number, idExt: number, body: Buffer): Buffer {
  const sectionLength = 5 + body.length + 4;
  const head = Buffer.from([tableId, 0xb0 | (sectionLength >> 8), sectionLength & 0xff, idExt >> 8, idExt & 0xff, 0xc1, 0, 0]);
  return Buffer.concat([Buffer.from([0]), head, body, Buffer.alloc(4)]); // pointer_field, section, (unchecked) CRC
}

function pes(streamId: number, pts: number, es: Buffer): Buffer {
  const ts = Buffer.from([
    0x21 | (Math.floor(pts / 2 ** 30) << 1),
    Math.floor(pts / 2 ** 22) & 0xff,
    ((Math.floor(pts / 2 ** 15) & 0x7f) << 1) | 1,
    (pts >> 7) & 0xff,
    ((pts & 0x7f) << 1) | 1,
  ]);
  return Buffer.concat([Buffer.from([0, 0, 1, streamId, 0, 0, 0x80, 0x80, 5]), ts, es]);
}

describe('MPEG-TS', () => {
  const pat = psi(0x00, 1, hexBuf('0001 f000'));
  const pmt = psi(0x02, 1, hexBuf('e100 f000 1b e100 f000 0f e101 f006 0a04656e6700'));
  const sei = Buffer.concat([hexBuf('00000001 06 05 ff'), Buffer.alloc(400, 0x55), hexBuf('80')]);
  const sps = hexBuf('6764001facd9405005bb011000000300100000030320f18319 60');
  const idrAu = Buffer.concat([hexBuf('00000001 09f0'), sei, hexBuf('00000001'), sps, hexBuf('00000001 68ee3c80 00000001 65888400ff')]);
  const pAu = hexBuf('00000001 09f0 00000001 419a1c0d');
  const adts = hexBuf('fff14c80 0f 7f fc 2100');

  function segment(): { buf: Buffer; videoStarts: number[] } {
    const vcc = { n: 0 };
    const acc = { n: 0 };
    const parts: Buffer[][] = [
      tsPackets(0x11, psi(0x42, 1, Buffer.alloc(4))), // SDT-like section first
      tsPackets(0, pat),
      tsPackets(0x1000, pmt),
      tsPackets(0x100, pes(0xe0, 900000, idrAu), { rai: true, cc: vcc }), // IDR, RAI set
      tsPackets(0x101, pes(0xc0, 899000, adts), { rai: true, cc: acc }),
      tsPackets(0x100, pes(0xe0, 903000, pAu), { cc: vcc }), // P frame
      tsPackets(0x100, pes(0xe0, 906000, idrAu), { cc: vcc }), // IDR without RAI: found by NAL type
      tsPackets(0x101, pes(0xc0, 902000, adts), { rai: true, cc: acc }),
      tsPackets(0x100, pes(0xe0, 909000, pAu), { cc: vcc }),
    ];
    const videoStarts: number[] = [];
    let off = 0;
    parts.forEach((packets, i) => {
      if ([3, 5, 6, 8].includes(i)) videoStarts.push(off);
      off += packets.length * 188;
    });
    return { buf: Buffer.concat(parts.flat()), videoStarts };
  }

  it('decodes PTS and PES headers', () => {
    const p = pes(0xe0, 2 ** 33 - 1, Buffer.from([1]));
    expect(readPesTimestamp(p, 9)).toBe(2 ** 33 - 1);
    expect(parsePesHeader(p)).toEqual({ streamId: 0xe0, packetLength: 0, pts: 2 ** 33 - 1, payloadOffset: 14 });
    expect(() => parsePesHeader(hexBuf('000002e00000'))).toThrow(/start code prefix/);
  });

  it('parses packets, PAT, PMT and PES units', () => {
    const { buf, videoStarts } = segment();
    const packets = parseTsPackets(buf);
    expect(packets.count).toBe(buf.length / 188);
    const patSection = readFirstPsiSection(buf, packets, 0);
    expect(parsePat(patSection!.data)).toEqual([{ programNumber: 1, pmtPid: 0x1000 }]);
    const pmtSection = readFirstPsiSection(buf, packets, 0x1000);
    const pmtParsed = parsePmt(pmtSection!.data);
    expect(pmtParsed.pcrPid).toBe(0x100);
    expect(pmtParsed.streams.map((s) => [s.streamType, s.pid, s.kind])).toEqual([
      [0x1b, 0x100, 'video'],
      [0x0f, 0x101, 'audio'],
    ]);
    const units = collectPesUnits(packets, new Set([0x100, 0x101]));
    const video = units.get(0x100)!;
    expect(video.map((u) => u.randomAccess)).toEqual([true, false, false, false]);
    expect(video.map((u) => u.offset)).toEqual(videoStarts);
    expect(units.get(0x101)?.map((u) => u.randomAccess)).toEqual([true, true]);
    // the IDR PES spans 3 packets (~490 bytes in 176-byte chunks) and the P frame's PES follows an
    // audio PES: each PES's bytes are its own packets' payloads, whole and in order
    const idrPes = pes(0xe0, 900000, idrAu);
    expect(pesBytes(buf, packets, video[0]!)).toEqual(idrPes);
    expect(pesBytes(buf, packets, video[1]!)).toEqual(pes(0xe0, 903000, pAu));
    expect(pesBytes(buf, packets, units.get(0x101)![1]!)).toEqual(pes(0xc0, 902000, adts));
    // a prefix: whole packets until at least minBytes are there
    expect(pesBytes(buf, packets, video[0]!, 10)).toEqual(idrPes.subarray(0, 176));
    expect(pesBytes(buf, packets, video[0]!, 177)).toEqual(idrPes.subarray(0, 352));
  });

  it('parses ADTS headers', () => {
    expect(parseAdtsHeader(adts)).toMatchObject({ profile: 1, audioObjectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 2, frameLength: 123, protectionAbsent: true });
  });

  it('rejects non-TS data', () => {
    expect(() => parseTsPackets(Buffer.alloc(188))).toThrow(/sync byte 0x47 missing at offset 0/);
    expect(() => parseTsPackets(Buffer.alloc(100))).toThrow(/not a multiple of 188/);
    expect(() => inspectTsSegment(Buffer.concat(tsPackets(0x100, Buffer.alloc(10))))).toThrow(/no complete PAT/);
  });

  it('inspects a synthetic segment', () => {
    const { buf, videoStarts } = segment();
    const r = inspectTsSegment(buf);
    expect(r.initLength).toBe(3 * 188);
    expect(r.codecs).toEqual(['avc1.64001f', 'mp4a.40.2']);
    expect(r.videoFrames).toBe(4);
    expect(r.startsWithKeyframe).toBe(true);
    expect(r.firstPts).toBe(10);
    expect(r.keyframes).toEqual([
      { offset: videoStarts[0], length: videoStarts[1]! - videoStarts[0]!, pts: 10 },
      { offset: videoStarts[2], length: videoStarts[3]! - videoStarts[2]!, pts: 906000 / 90000 },
    ]);
  });

  it('finds the first slice and the SPS wherever they lie in a video PES', () => {
    // An IDR access unit without random_access_indicator (only its slice type makes it a keyframe),
    // whose PES header is split between its first two packets (5 bytes in the first), and whose SEI
    // pushes the SPS across the end of the first 4 KiB looked at (whole packets: 5 + 24 * 176 bytes):
    // the header, the slice and the whole SPS must still be found.
    const bigSei = Buffer.concat([hexBuf('00000001 06 05 ff'), Buffer.alloc(4188, 0x55), hexBuf('80')]);
    const au = Buffer.concat([hexBuf('00000001 09f0'), bigSei, hexBuf('00000001'), sps, hexBuf('00000001 68ee3c80 00000001 65888400ff')]);
    const idr = pes(0xe0, 900000, au);
    const lookEnd = 5 + 24 * 176;
    expect(idr.indexOf(sps)).toBeLessThan(lookEnd);
    expect(idr.indexOf(sps) + sps.length).toBeGreaterThan(lookEnd);
    const vcc = { n: 0 };
    const parts = [tsPackets(0, pat), tsPackets(0x1000, pmt), tsPackets(0x100, idr, { cc: vcc, firstChunk: 5 }), tsPackets(0x100, pes(0xe0, 903000, pAu), { cc: vcc })];
    const buf = Buffer.concat(parts.flat());
    const r = inspectTsSegment(buf);
    expect(r.codecs).toEqual(['avc1.64001f']);
    expect(r.videoFrames).toBe(2);
    expect(r.startsWithKeyframe).toBe(true);
    expect(r.keyframes).toEqual([{ offset: 2 * 188, length: (2 + parts[2]!.length) * 188 - 2 * 188, pts: 10 }]);
  });
});
