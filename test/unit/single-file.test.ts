import { describe, expect, it } from 'vitest';
import { buildSidx, iterateBoxes, parseSidx } from '../../src/package/bitstream/mp4.js';
import { parseMediaPlaylist, writeMediaPlaylist } from '../../src/package/playlist.js';

describe('sidx (single-file layout)', () => {
  it('writes a version-1 sidx that parses back to the same references', () => {
    const sidx = {
      referenceId: 1,
      timescale: 12800,
      earliestPresentationTime: 2 ** 33 + 5,
      firstOffset: 0,
      references: [
        { size: 127524, duration: 12800, startsWithSap: true },
        { size: 209521, duration: 25600, startsWithSap: true },
        { size: 10, duration: 1, startsWithSap: false },
      ],
    };
    const buf = buildSidx(sidx);
    expect(buf.length).toBe(40 + 12 * 3);
    const [box] = iterateBoxes(buf);
    expect(box?.type).toBe('sidx');
    expect(box?.size).toBe(buf.length);
    expect(parseSidx(buf, box!)).toEqual(sidx);
    // reference_type 0, starts_with_SAP 1 and SAP_type 1 in the first reference's third word
    expect(buf.readUInt32BE(40) >>> 31).toBe(0);
    expect(buf.readUInt32BE(48)).toBe(0x90000000);
  });

  it('refuses references it cannot hold', () => {
    expect(() =>
      buildSidx({ referenceId: 1, timescale: 1, earliestPresentationTime: 0, firstOffset: 0, references: [{ size: 2 ** 31, duration: 1, startsWithSap: true }] }),
    ).toThrow(/2 GiB/);
    const truncated = buildSidx({ referenceId: 1, timescale: 1, earliestPresentationTime: 0, firstOffset: 0, references: [{ size: 1, duration: 1, startsWithSap: true }] });
    truncated.writeUInt16BE(5, 38);
    expect(() => parseSidx(truncated, iterateBoxes(truncated)[0]!)).toThrow(/truncated/);
  });
});

describe('byte-range media playlists', () => {
  it('writes EXT-X-MAP BYTERANGE and EXT-X-BYTERANGE, and parses them back (with and without @offset)', () => {
    const text = writeMediaPlaylist({
      segments: [
        { uri: 'media.mp4', duration: 2, byteRange: { offset: 881, length: 1000 } },
        { uri: 'media.mp4', duration: 1.5, byteRange: { offset: 1881, length: 500 } },
      ],
      mapUri: 'media.mp4',
      mapByteRange: { offset: 0, length: 793 },
    });
    expect(text).toContain('#EXT-X-MAP:URI="media.mp4",BYTERANGE="793@0"');
    expect(text).toContain('#EXT-X-BYTERANGE:1000@881\nmedia.mp4');
    const parsed = parseMediaPlaylist(text);
    expect(parsed.segments.map((s) => s.byteRange)).toEqual([
      { offset: 881, length: 1000 },
      { offset: 1881, length: 500 },
    ]);
    const implicit = parseMediaPlaylist('#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:10@5\na.mp4\n#EXTINF:1,\n#EXT-X-BYTERANGE:7\na.mp4\n#EXT-X-ENDLIST\n');
    expect(implicit.segments[1]?.byteRange).toEqual({ offset: 15, length: 7 });
    expect(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-BYTERANGE:x@1\n')).toThrow(/EXT-X-BYTERANGE/);
  });
});
