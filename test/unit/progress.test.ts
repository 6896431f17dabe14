import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProgressParser, parseOutTime, parseProgress, progressEta, progressPercent, type ProgressSnapshot } from '../../src/ffmpeg/progress.js';

/*
 * Fixtures are real `-progress pipe:1` output of the system ffmpeg 5.1.9
 * (Debian 12), recorded with `-hide_banner -nostats -progress pipe:1 -stats_period P`:
 *  x264-video-null.txt        -f lavfi -i testsrc2=size=1280x720:rate=30 -t 10 -c:v libx264 -preset veryfast -f null -
 *  x264-aac-mp4.txt           testsrc2 960x540 + sine, -t 6, libx264 + aac, -f mp4
 *  multi-output.txt           testsrc2 720p + sine -> 540p x264+aac mpegts (-t 6) AND 360p x264 mp4 (-t 6)
 *  multi-output-uneven.txt    testsrc2 360p -> x264 mpegts -t 2 AND 180p x264 mp4 -t 5
 *  unknown-duration-pipe.txt  cat src.h264 | ffmpeg -f h264 -i pipe:0 -c:v libx264 -preset medium -f mpegts
 *                             (raw elementary stream: "Duration: N/A"; 240 frames)
 *  audio-only-aac.txt         -f lavfi -i sine -t 20 -c:a aac -f adts
 *  subtitle-only.txt          -i sub.srt -f ass
 *  copyts-negative-start.txt  -re -copyts -i av.ts -c copy -f mpegts (MPEG-TS source starting at 1.4 s)
 */
const FIXTURES = fileURLToPath(new URL('../fixtures/progress/', import.meta.url));
const fixture = (name: string): string => readFileSync(FIXTURES + name, 'utf8');
const fixtureNames = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.txt'))
  .sort();

const last = (snaps: ProgressSnapshot[]): ProgressSnapshot => {
  const s = snaps.at(-1);
  if (!s) throw new Error('no snapshots');
  return s;
};

const feedChunked = (text: string, size: number): ProgressSnapshot[] => {
  const parser = new ProgressParser();
  const out: ProgressSnapshot[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
  out.push(...parser.flush());
  return out;
};

const snap = (over: Partial<ProgressSnapshot>): ProgressSnapshot => ({
  frame: null,
  fps: null,
  bitrateKbps: null,
  totalSizeBytes: null,
  outTimeSeconds: null,
  dupFrames: null,
  dropFrames: null,
  speed: null,
  done: false,
  ...over,
});

describe('recorded ffmpeg 5.1 -progress fixtures', () => {
  it('has the fixtures', () => {
    expect(fixtureNames.length).toBeGreaterThanOrEqual(8);
  });

  describe.each(fixtureNames)('%s', (name) => {
    const text = fixture(name);
    const snaps = parseProgress(text);

    it('yields one snapshot per progress= line, only the last one done', () => {
      const blocks = text.split('\n').filter((l) => l.startsWith('progress=')).length;
      expect(snaps).toHaveLength(blocks);
      expect(last(snaps).done).toBe(true);
      expect(snaps.slice(0, -1).every((s) => !s.done)).toBe(true);
    });

    it('has a monotonic (non-decreasing) out time', () => {
      const times = snaps.map((s) => s.outTimeSeconds).filter((t): t is number => t !== null);
      expect(times.length).toBeGreaterThan(0);
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] ?? 0);
      expect(last(snaps).outTimeSeconds).not.toBeNull();
    });

    it('agrees with the out_time= string to the microsecond', () => {
      const outTimes = text
        .split('\n')
        .filter((l) => l.startsWith('out_time='))
        .map((l) => parseOutTime(l.slice('out_time='.length)));
      expect(outTimes).toHaveLength(snaps.length);
      snaps.forEach((s, i) => {
        const t = outTimes[i] ?? null;
        if (t === null || t < 0) expect(s.outTimeSeconds).toBeNull();
        else expect(s.outTimeSeconds).toBeCloseTo(t, 6);
      });
    });

    it.each([1, 7, 100])('gives the same result fed in %i-byte chunks', (size) => {
      expect(feedChunked(text, size)).toEqual(snaps);
    });

    it('gives the same result with CRLF line endings, whole or chunked', () => {
      const crlf = text.replace(/\n/g, '\r\n');
      expect(parseProgress(crlf)).toEqual(snaps);
      expect(feedChunked(crlf, 1)).toEqual(snaps);
      expect(feedChunked(crlf, 7)).toEqual(snaps);
    });

    it('parses without the trailing newline', () => {
      expect(parseProgress(text.replace(/\n$/, ''))).toEqual(snaps);
    });
  });

  it('x264 to null: 300 frames, 9.933333 s, N/A bitrate/size, speed N/A then numeric', () => {
    const snaps = parseProgress(fixture('x264-video-null.txt'));
    expect(snaps).toHaveLength(76);
    expect(snaps[0]).toEqual(snap({ frame: 1, fps: 0, outTimeSeconds: 0, dupFrames: 0, dropFrames: 0, speed: null }));
    expect(snaps[1]?.speed).toBe(0); // 'speed=   0x'
    expect(last(snaps)).toEqual(snap({ frame: 300, fps: 12.34, outTimeSeconds: 9.933333, dupFrames: 0, dropFrames: 0, speed: 0.408, done: true }));
    const frames = snaps.map((s) => s.frame ?? -1);
    expect([...frames].sort((a, b) => a - b)).toEqual(frames);
  });

  it('x264 + aac to mp4: padded bitrate, total size, 180 frames', () => {
    const snaps = parseProgress(fixture('x264-aac-mp4.txt'));
    expect(snaps[0]?.totalSizeBytes).toBe(48); // mp4 ftyp written
    expect(snaps[0]?.bitrateKbps).toBeNull();
    expect(last(snaps)).toEqual(
      snap({
        frame: 180,
        fps: 22.28,
        bitrateKbps: 1481.4,
        totalSizeBytes: 1114021,
        outTimeSeconds: 6.016,
        dupFrames: 0,
        dropFrames: 0,
        speed: 0.745,
        done: true,
      }),
    );
  });

  it('multiple outputs: still one block per report', () => {
    const text = fixture('multi-output.txt');
    const snaps = parseProgress(text);
    expect(snaps).toHaveLength(10);
    expect(text.match(/^stream_\d+_\d+_q=/gm)).toHaveLength(20); // one per video output stream
    expect(last(snaps)).toMatchObject({ frame: 180, outTimeSeconds: 6.016, speed: 2.7, bitrateKbps: 1155.5, done: true });
    expect(snaps[6]?.bitrateKbps).toBe(603.1); // 'bitrate= 603.1kbits/s'
  });

  it('multiple outputs: frame= is the first output, out_time the longest one', () => {
    const snaps = parseProgress(fixture('multi-output-uneven.txt'));
    expect(snaps.map((s) => s.frame)).toEqual([1, 60, 60]);
    expect(last(snaps).outTimeSeconds).toBeCloseTo(4.900065, 6);
  });

  it('unknown input duration: parses, but no percent/ETA without a duration', () => {
    const snaps = parseProgress(fixture('unknown-duration-pipe.txt'));
    expect(last(snaps)).toMatchObject({ frame: 240, outTimeSeconds: 7.900011, bitrateKbps: 833.1, done: true });
    for (const s of snaps) {
      expect(progressPercent(s, null)).toBeNull();
      expect(progressEta(s, null)).toBeNull();
    }
    // and with a duration known from elsewhere: monotonic percentages ending at 100
    const pct = snaps.map((s) => progressPercent(s, 8) ?? -1);
    expect(pct.every((p) => p >= 0 && p <= 100)).toBe(true);
    expect([...pct].sort((a, b) => a - b)).toEqual(pct);
    expect(pct.at(-1)).toBe(100);
  });

  it('audio-only output has no frame/fps lines', () => {
    const snaps = parseProgress(fixture('audio-only-aac.txt'));
    expect(snaps.every((s) => s.frame === null && s.fps === null)).toBe(true);
    expect(last(snaps)).toMatchObject({ outTimeSeconds: 20.010667, bitrateKbps: 72, totalSizeBytes: 180203, speed: 65.2 });
  });

  it('subtitle-only output: speed printed with %g exponent', () => {
    const snaps = parseProgress(fixture('subtitle-only.txt'));
    expect(snaps.map((s) => s.speed)).toEqual([null, 23800]); // 'speed=2.38e+04x'
    expect(snaps.map((s) => s.outTimeSeconds)).toEqual([1, 3]);
  });

  it('-copyts: negative out time at start becomes null, as do -0.0 bitrate and N/A speed', () => {
    const text = fixture('copyts-negative-start.txt');
    expect(text).toContain('out_time_us=-1400011\n');
    expect(text).toContain('out_time=-00:00:01.400011\n');
    const snaps = parseProgress(text);
    expect(snaps[0]).toMatchObject({ frame: 1, outTimeSeconds: null, bitrateKbps: null, speed: null, totalSizeBytes: 0 });
    expect(snaps.slice(1).every((s) => s.outTimeSeconds !== null && s.outTimeSeconds > 0)).toBe(true);
    expect(last(snaps)).toMatchObject({ frame: 180, outTimeSeconds: 6.082656, done: true });
  });
});

describe('ProgressParser (synthetic edge cases)', () => {
  const block = (extra: string, progress = 'continue'): string =>
    `frame=10\nfps=25.00\nstream_0_0_q=28.0\nbitrate= 500.0kbits/s\ntotal_size=1000\n${extra}dup_frames=1\ndrop_frames=2\nspeed=1.5x\nprogress=${progress}\n`;

  it('returns nothing until a block is complete, then exactly that block', () => {
    const p = new ProgressParser();
    const text = block('out_time_us=2000000\nout_time_ms=2000000\nout_time=00:00:02.000000\n');
    const cut = text.indexOf('progress=') + 4;
    expect(p.push(text.slice(0, cut))).toEqual([]);
    expect(p.push(text.slice(cut))).toEqual([snap({ frame: 10, fps: 25, bitrateKbps: 500, totalSizeBytes: 1000, outTimeSeconds: 2, dupFrames: 1, dropFrames: 2, speed: 1.5 })]);
    expect(p.flush()).toEqual([]);
  });

  it('returns several snapshots from one chunk', () => {
    const p = new ProgressParser();
    expect(p.push(block('out_time_us=1\n') + block('out_time_us=2\n', 'end'))).toHaveLength(2);
  });

  it('splits keys and values anywhere, including between CR and LF', () => {
    const p = new ProgressParser();
    expect(p.push('out_ti')).toEqual([]);
    expect(p.push('me_us=1500')).toEqual([]);
    expect(p.push('000\r')).toEqual([]);
    expect(p.push('\nspeed=2')).toEqual([]);
    expect(p.push('x\r\nprogress=e')).toEqual([]);
    expect(p.push('nd\r')).toEqual([]);
    expect(p.push('\n')).toEqual([snap({ outTimeSeconds: 1.5, speed: 2, done: true })]);
  });

  it('fields do not leak from one block into the next', () => {
    const [a, b] = parseProgress('frame=5\nout_time_us=100\nprogress=continue\nspeed=1x\nprogress=end\n');
    expect(a).toEqual(snap({ frame: 5, outTimeSeconds: 0.0001 }));
    expect(b).toEqual(snap({ speed: 1, done: true }));
  });

  it('final block without trailing newline: push keeps it pending, flush/parseProgress complete it', () => {
    const text = 'out_time_us=3000000\nprogress=end';
    const p = new ProgressParser();
    expect(p.push(text)).toEqual([]);
    expect(p.flush()).toEqual([snap({ outTimeSeconds: 3, done: true })]);
    expect(parseProgress(text)).toEqual([snap({ outTimeSeconds: 3, done: true })]);
  });

  it('discards a block cut off before its progress= line', () => {
    expect(parseProgress('out_time_us=1\nprogress=continue\nframe=3\nout_time_us=2')).toEqual([snap({ outTimeSeconds: 0.000001 })]);
  });

  it('out time: N/A, negative and INT64_MIN+1 are null; out_time= is the fallback; out_time_ms is ignored', () => {
    const t = (lines: string): number | null => parseProgress(`${lines}progress=continue\n`)[0]?.outTimeSeconds ?? null;
    expect(t('out_time_us=N/A\nout_time_ms=N/A\nout_time=N/A\n')).toBeNull();
    expect(t('out_time_us=-33000\nout_time_ms=-33000\nout_time=-00:00:00.033000\n')).toBeNull();
    expect(t('out_time_us=-9223372036854775807\nout_time=-2562047:47:16.854775\n')).toBeNull();
    expect(t('out_time=01:02:03.250000\n')).toBe(3723.25);
    expect(t('out_time_us=garbage\nout_time=00:00:04.500000\n')).toBe(4.5);
    expect(t('out_time_ms=5000000\n')).toBeNull();
    expect(t('out_time_us=0\n')).toBe(0);
    expect(t('out_time_us=-0\n')).toBe(0);
    expect(t('')).toBeNull();
  });

  it('number formats: N/A, padding, exponent, negative', () => {
    const s = (lines: string): ProgressSnapshot | undefined => parseProgress(`${lines}progress=continue\n`)[0];
    expect(s('bitrate=N/A\nspeed=N/A\ntotal_size=N/A\nframe=N/A\n')).toEqual(snap({}));
    expect(s('bitrate=  -0.0kbits/s\n')?.bitrateKbps).toBeNull();
    expect(s('bitrate=   9.2kbits/s\n')?.bitrateKbps).toBe(9.2);
    expect(s('bitrate=12345.6kbits/s\n')?.bitrateKbps).toBe(12345.6);
    expect(s('bitrate=1000\n')?.bitrateKbps).toBeNull(); // no unit: not what ffmpeg prints
    expect(s('speed=   0x\n')?.speed).toBe(0);
    expect(s('speed= 2.7x\n')?.speed).toBe(2.7);
    expect(s('speed=1.02e+03x\n')?.speed).toBe(1020);
    expect(s('speed=4.5e-05x\n')?.speed).toBeCloseTo(0.000045, 10);
    expect(s('speed=inf\n')?.speed).toBeNull();
    expect(s('frame=12.5\n')?.frame).toBeNull();
    expect(s('fps=nan\n')?.fps).toBeNull();
  });

  it('ignores unknown keys, blank and garbage lines', () => {
    const text = '\n\nhello\n=value\nstream_0_0_q=23.0\nstream_0_0_psnr_y=40.00\nframe=7\nsomething_new=1\nprogress=continue\n';
    expect(parseProgress(text)).toEqual([snap({ frame: 7 })]);
  });

  it('drops an absurdly long line instead of buffering it forever', () => {
    const p = new ProgressParser();
    expect(p.push('x'.repeat(70_000))).toEqual([]);
    expect(p.push('\nframe=1\nprogress=end\n')).toEqual([snap({ frame: 1, done: true })]);
  });

  it('an empty text gives no snapshots', () => {
    expect(parseProgress('')).toEqual([]);
  });
});

describe('progressPercent', () => {
  it('is out time over duration, clamped to 0..100', () => {
    expect(progressPercent(snap({ outTimeSeconds: 5 }), 10)).toBe(50);
    expect(progressPercent(snap({ outTimeSeconds: 0 }), 10)).toBe(0);
    expect(progressPercent(snap({ outTimeSeconds: 12 }), 10)).toBe(100);
  });

  it('is null when the duration or out time is unknown', () => {
    expect(progressPercent(snap({ outTimeSeconds: 5 }), null)).toBeNull();
    expect(progressPercent(snap({ outTimeSeconds: 5 }), 0)).toBeNull();
    expect(progressPercent(snap({ outTimeSeconds: 5 }), -1)).toBeNull();
    expect(progressPercent(snap({ outTimeSeconds: 5 }), Number.NaN)).toBeNull();
    expect(progressPercent(snap({ outTimeSeconds: 5 }), Number.POSITIVE_INFINITY)).toBeNull();
    expect(progressPercent(snap({ outTimeSeconds: null }), 10)).toBeNull();
  });

  it('is 100 once done (the last out time is often a frame short)', () => {
    expect(progressPercent(snap({ outTimeSeconds: 9.933333, done: true }), 10)).toBe(100);
    expect(progressPercent(snap({ done: true }), null)).toBeNull();
  });
});

describe('progressEta', () => {
  it('is remaining media time divided by speed', () => {
    expect(progressEta(snap({ outTimeSeconds: 4, speed: 2 }), 10)).toBe(3);
    expect(progressEta(snap({ outTimeSeconds: 4, speed: 0.5 }), 10)).toBe(12);
    expect(progressEta(snap({ outTimeSeconds: 11, speed: 1 }), 10)).toBe(0);
  });

  it('is null without duration, out time or a positive speed', () => {
    expect(progressEta(snap({ outTimeSeconds: 4, speed: 2 }), null)).toBeNull();
    expect(progressEta(snap({ outTimeSeconds: 4, speed: 2 }), 0)).toBeNull();
    expect(progressEta(snap({ outTimeSeconds: null, speed: 2 }), 10)).toBeNull();
    expect(progressEta(snap({ outTimeSeconds: 4, speed: null }), 10)).toBeNull();
    expect(progressEta(snap({ outTimeSeconds: 4, speed: 0 }), 10)).toBeNull();
  });

  it('is 0 once done', () => {
    expect(progressEta(snap({ outTimeSeconds: 9.9, speed: 0.4, done: true }), 10)).toBe(0);
  });
});
