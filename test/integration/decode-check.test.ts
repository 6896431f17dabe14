/**
 * The decode check after packaging decodes only the ends of every rendition (first keyframe of the
 * first segment, last GOP of the last segment), cut out of the real segments by byte range. These
 * tests run it on real packages: a clean package passes, and damage in either checked piece fails it.
 */
import { cp, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureRendition } from '../../src/package/hls.js';
import { earlyDecodes, firstPiece } from '../../src/package/early-decode.js';
import { initSegment, segmentFacts } from '../../src/package/segment-facts.js';
import type { WatchedRendition } from '../../src/package/segment-watcher.js';
import { decodeCheck, decodeCheckPieces, pieceIdentity } from '../../src/package/verify.js';
import { reusableFileReader } from '../../src/package/read-file.js';
import { transcode } from '../../src/transcode.js';
import { FFMPEG, FFPROBE, makeSource, need, unmet, writeFastPreset } from '../helpers/index.js';

/** Overwrite the payload (not the 4-byte headers, so the demuxer stays in sync) of `packets` TS packets from `offset`. */
function damageTs(buf: Buffer, offset: number, packets: number): Buffer {
  const out = Buffer.from(buf);
  for (let p = 0; p < packets; p++) {
    const at = offset + p * 188;
    for (let i = at + 12; i < at + 188 && i < out.length; i++) out[i] = (i * 131) & 0xff;
  }
  return out;
}

describe.skipIf(unmet(need.ffmpeg))('decode check of a package', () => {
  let dir = '';
  let h264 = '';
  let hevc = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-decode-check-'));
    // 8 s at 30 fps, 1 s GOPs, 3 s segments (the first one too): three segments of 3, 3 and 2 GOPs
    const source = await makeSource(join(dir, 'clip.mp4'), { duration: 8, rate: '30' });
    const ts = await writeFastPreset(dir, 'ts', { codec: 'h264', rungs: [180], segmentDuration: 3, firstSegmentDuration: 3, keyframeInterval: 1 });
    const fmp4 = await writeFastPreset(dir, 'fmp4', { codec: 'hevc', rungs: [180], segmentDuration: 3, firstSegmentDuration: 3, keyframeInterval: 1 });
    h264 = join(dir, 'pkg-h264');
    hevc = join(dir, 'pkg-hevc');
    await transcode({ input: source, preset: ts, output: h264, hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    await transcode({ input: source, preset: fmp4, output: hevc, hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('MPEG-TS: checks the first keyframe and the last GOP (each with its PAT/PMT) of the video, both audio ends, and they decode', async () => {
    const video = await measureRendition(h264, '180p', 'video');
    const audio = await measureRendition(h264, 'audio-1', 'audio');
    expect(video.segments).toHaveLength(3);
    expect(video.segments[0]!.keyframes).toHaveLength(3);
    const pieces = decodeCheckPieces([video, audio]);
    const first = video.segments[0]!;
    const last = video.segments[2]!;
    expect(pieces[0]!.parts).toEqual([{ file: `180p/${first.uri}`, start: 0, end: first.keyframes[0]!.offset + first.keyframes[0]!.length }]);
    expect(pieces[1]!.parts).toEqual([
      { file: `180p/${last.uri}`, start: 0, end: video.tsInitLength },
      { file: `180p/${last.uri}`, start: last.keyframes[last.keyframes.length - 1]!.offset, end: null },
    ]);
    expect(pieces.slice(2).map((p) => p.parts.map((r) => r.file))).toEqual([[`audio-1/${audio.segments[0]!.uri}`], [`audio-1/${audio.segments[2]!.uri}`]]);
    await expect(decodeCheck(FFMPEG, h264, pieces)).resolves.toBeUndefined();
  });

  for (const which of ['first', 'last'] as const) {
    for (const processes of [1, 2]) {
      it(`MPEG-TS: damage in the ${which} checked keyframe fails the check with VERIFY_FAILED naming that piece (${processes} ffmpeg process${processes > 1 ? 'es' : ''}), and leaves no scratch file`, async () => {
        const copy = join(dir, `damaged-${which}-${processes}`);
        await cp(h264, copy, { recursive: true });
        const video = await measureRendition(copy, '180p', 'video');
        const audio = await measureRendition(copy, 'audio-1', 'audio');
        const seg = which === 'first' ? video.segments[0]! : video.segments[video.segments.length - 1]!;
        const key = which === 'first' ? seg.keyframes[0]! : seg.keyframes[seg.keyframes.length - 1]!;
        const file = join(copy, '180p', seg.uri);
        // inside the keyframe's slice data (past the access unit delimiter, SPS, PPS and x264's SEI)
        expect(key.length).toBeGreaterThan(16 * 188);
        await writeFile(file, damageTs(await readFile(file), key.offset + 8 * 188, 4));
        const pieces = decodeCheckPieces([video, audio]);
        const damaged = pieces[which === 'first' ? 0 : 1]!.what;
        expect(damaged).toContain(`${which === 'first' ? 'first keyframe' : 'last GOP'} of ${seg.uri}`);
        const failure = await decodeCheck(FFMPEG, copy, pieces, undefined, processes).then(
          () => null,
          (error: unknown) => error as { code?: string; details?: { checked?: string[] } },
        );
        expect(failure?.code).toBe('VERIFY_FAILED');
        expect(failure?.details?.checked).toContain(damaged);
        const { readdir } = await import('node:fs/promises');
        expect((await readdir(join(copy, '180p'))).filter((f) => f.startsWith('.verify-'))).toEqual([]);
      });
    }
  }

  /** What the segment watcher would tell early-decode.ts of each rendition's first segment, from the finished package. */
  async function firstSegmentsSeen(root: string, renditions: WatchedRendition[]): Promise<Set<string>> {
    const early = earlyDecodes(FFMPEG, root, renditions);
    for (const r of renditions) {
      const name = r.container === 'ts' ? 'seg_00000.ts' : 'seg_00000.m4s';
      const init = r.container === 'fmp4' ? initSegment(await readFile(join(root, r.dir, 'init.mp4'))) : null;
      early.onSegment(r, 0, segmentFacts(await reusableFileReader()(join(root, r.dir, name)), init));
    }
    return new Set(await early.settle());
  }

  it('while encoding: the first pieces are decoded as soon as every first segment exists, and the check after the encode skips exactly those', async () => {
    const copy = join(dir, 'early-ts');
    await cp(h264, copy, { recursive: true });
    const renditions: WatchedRendition[] = [
      { dir: '180p', kind: 'video', container: 'ts' },
      { dir: 'audio-1', kind: 'audio', container: 'ts' },
    ];
    const decoded = await firstSegmentsSeen(copy, renditions);
    const pieces = decodeCheckPieces([await measureRendition(copy, '180p', 'video'), await measureRendition(copy, 'audio-1', 'audio')]);
    // the first piece of each rendition, as the check after the encode cuts it
    expect([...decoded].sort()).toEqual([pieceIdentity(copy, pieces[0]!), pieceIdentity(copy, pieces[2]!)].sort());
    // damage in the last GOP is still found: only the first pieces were skipped
    const video = await measureRendition(copy, '180p', 'video');
    const last = video.segments[video.segments.length - 1]!;
    const key = last.keyframes[last.keyframes.length - 1]!;
    await writeFile(join(copy, '180p', last.uri), damageTs(await readFile(join(copy, '180p', last.uri)), key.offset + 8 * 188, 4));
    await expect(decodeCheck(FFMPEG, copy, pieces, undefined, 1, decoded)).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
  });

  it('while encoding: a first segment that does not decode is left for the check after the encode, which reports it', async () => {
    const copy = join(dir, 'early-damaged');
    await cp(h264, copy, { recursive: true });
    const video = await measureRendition(copy, '180p', 'video');
    const first = video.segments[0]!;
    await writeFile(join(copy, '180p', first.uri), damageTs(await readFile(join(copy, '180p', first.uri)), first.keyframes[0]!.offset + 8 * 188, 4));
    const decoded = await firstSegmentsSeen(copy, [{ dir: '180p', kind: 'video', container: 'ts' }]);
    expect(decoded.size).toBe(0);
    const pieces = decodeCheckPieces([await measureRendition(copy, '180p', 'video')]);
    await expect(decodeCheck(FFMPEG, copy, pieces, undefined, 1, decoded)).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
  });

  it('while encoding, fMP4: the first frame with the init segment; a segment rewritten since is decoded again', async () => {
    const copy = join(dir, 'early-fmp4');
    await cp(hevc, copy, { recursive: true });
    const r: WatchedRendition = { dir: '180p', kind: 'video', container: 'fmp4' };
    const video = await measureRendition(copy, '180p', 'video');
    const init = initSegment(await readFile(join(copy, '180p', 'init.mp4')));
    const piece = firstPiece(r, segmentFacts(await reusableFileReader()(join(copy, '180p', video.segments[0]!.uri)), init));
    expect(piece).toMatchObject({ parts: [{ file: '180p/init.mp4' }, { file: `180p/${video.segments[0]!.uri}` }], frames: 1 });
    const decoded = await firstSegmentsSeen(copy, [r]);
    const pieces = decodeCheckPieces([video]);
    expect([...decoded]).toEqual([pieceIdentity(copy, pieces[0]!)]);
    // the same bytes written again (a fold rewrites the file): another modification time, decoded again
    const file = join(copy, '180p', video.segments[0]!.uri);
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect(decoded.has(pieceIdentity(copy, pieces[0]!)!)).toBe(false);
  });

  it('an interruption reaches every process with its reason (INTERRUPTED), and leaves no scratch file', async () => {
    const video = await measureRendition(h264, '180p', 'video');
    const audio = await measureRendition(h264, 'audio-1', 'audio');
    const pieces = decodeCheckPieces([video, audio]);
    await expect(decodeCheck(FFMPEG, h264, pieces, AbortSignal.abort('SIGINT'), 2)).rejects.toMatchObject({ code: 'INTERRUPTED', details: { signal: 'SIGINT' } });
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(join(h264, '180p'))).filter((f) => f.startsWith('.verify-'))).toEqual([]);
  });

  it('fMP4: whole first and last segments with the init segment; the first stops after one frame', async () => {
    const video = await measureRendition(hevc, '180p', 'video');
    expect(video.mapUri).toBe('init.mp4');
    const pieces = decodeCheckPieces([video]);
    expect(pieces.map((p) => [p.parts.map((r) => r.file), p.frames])).toEqual([
      [['180p/init.mp4', `180p/${video.segments[0]!.uri}`], 1],
      [['180p/init.mp4', `180p/${video.segments[video.segments.length - 1]!.uri}`], null],
    ]);
    await expect(decodeCheck(FFMPEG, hevc, pieces)).resolves.toBeUndefined();
  });

  it('a source one frame past a GOP boundary (x264 with B-frames): the lone last IDR is checked on its own', async () => {
    // 8 s + 1 frame, the last one black (as films end): ffmpeg cuts a one-frame segment that
    // packaging folds into the last one, and that IDR is a few TS packets
    const source = await makeSource(join(dir, 'plus-one.mp4'), {
      duration: 9,
      rate: '30',
      vf: "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='gte(n,240)'",
      extra: ['-frames:v', '241'],
    });
    const preset = join(dir, 'bframes.yaml');
    await writeFile(
      preset,
      [
        'extends: h264-ladder',
        'name: bframes',
        'video:',
        '  encoder:',
        '    cpu: { name: libx264, preset: veryfast }',
        '  keyframeInterval: 1',
        '  rungs:',
        '    - { name: 180p, height: 180, bitrate: 300k }',
        'packaging:',
        '  hls: { segmentDuration: 3 }',
      ].join('\n'),
    );
    const out = join(dir, 'pkg-plus-one');
    await transcode({ input: source, preset, output: out, hw: 'cpu', ffmpeg: FFMPEG, ffprobe: FFPROBE });
    const video = await measureRendition(out, '180p', 'video');
    const last = video.segments[video.segments.length - 1]!;
    const keys = last.keyframes;
    expect(keys[keys.length - 1]!.pts - keys[keys.length - 2]!.pts).toBeCloseTo(1, 2);
    const pieces = decodeCheckPieces([video]);
    // the end piece is the PAT/PMT and the lone IDR, a few packets. Whether ffmpeg's format probe
    // would take such a piece for an MPEG program stream depends on its bytes (it did on the Sintel
    // trailer's black last frame: "could not find codec parameters"), so the demuxer is always named;
    // test/unit/decode-pieces.test.ts checks the argv, this checks the piece decodes
    const lone = keys[keys.length - 1]!;
    expect(pieces[1]!.parts).toEqual([
      { file: `180p/${last.uri}`, start: 0, end: video.tsInitLength },
      { file: `180p/${last.uri}`, start: lone.offset, end: null },
    ]);
    expect(lone.length).toBeLessThan(10 * 188);
    await expect(decodeCheck(FFMPEG, out, pieces)).resolves.toBeUndefined();
  }, 60_000);
});
