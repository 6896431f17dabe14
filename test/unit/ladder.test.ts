import { describe, expect, it } from 'vitest';
import { buildLadder, cappedFrameRate, even, type Ladder } from '../../src/media/ladder.js';
import { displaySize, type VideoInfo } from '../../src/media/probe.js';
import { formatRational, parseRational, rational, toNumber, type Rational } from '../../src/media/rational.js';
import { presetSchema, type Preset, type PresetInput } from '../../src/preset/schema.js';

/** A preset with the built-in H.264 ladder's rungs (Apple's table), overridable. */
function preset(video: Partial<PresetInput['video']> = {}): Preset {
  return presetSchema.parse({
    video: {
      codec: 'h264',
      encoder: { cpu: { name: 'libx264' } },
      rateControl: { mode: 'vbr', maxrateRatio: 1.5, bufsizeRatio: 2 },
      keyframeInterval: 2,
      maxFrameRate: 60,
      rungs: [
        { name: '1080p', height: 1080, bitrate: '7800k' },
        { name: '720p', height: 720, bitrate: '4500k' },
        { name: '540p', height: 540, bitrate: '2000k' },
        { name: '360p', height: 360, bitrate: '365k' },
        { name: '234p', height: 234, bitrate: '145k' },
      ],
      ...video,
    },
  });
}

/** The `video` part of a MediaInfo, display size computed the way probeMedia does. */
function video(width: number, height: number, opts: { sar?: Rational; rotation?: 0 | 90 | 180 | 270; fps?: string } = {}): { video: VideoInfo } {
  const sar = opts.sar ?? rational(1, 1);
  const rotation = opts.rotation ?? 0;
  const d = displaySize(width, height, sar, rotation);
  return {
    video: {
      index: 0,
      codec: 'h264',
      width,
      height,
      sar,
      rotation,
      displayWidth: d.width,
      displayHeight: d.height,
      frameRate: parseRational(opts.fps ?? '25')!,
      variableFrameRate: false,
      pixelFormat: 'yuv420p',
      bitDepth: 8,
    },
  };
}

const sizes = (l: Ladder): string[] => l.rungs.map((r) => `${r.name} ${r.width}x${r.height}`);

describe('even()', () => {
  it('rounds to the nearest even number, at least 2', () => {
    expect(even(415.35)).toBe(416);
    expect(even(853)).toBe(854);
    expect(even(213.33)).toBe(214);
    expect(even(0.4)).toBe(2);
    expect(even(640)).toBe(640);
  });
});

describe('displaySize()', () => {
  it('applies the sample aspect ratio to the width', () => {
    expect(displaySize(720, 576, rational(16, 15), 0)).toEqual({ width: 768, height: 576 });
    expect(displaySize(720, 576, rational(64, 45), 0)).toEqual({ width: 1024, height: 576 });
    expect(displaySize(720, 480, rational(8, 9), 0)).toEqual({ width: 640, height: 480 });
  });
  it('swaps the sides for quarter-turn rotations, not for 180', () => {
    expect(displaySize(1920, 1080, rational(1, 1), 90)).toEqual({ width: 1080, height: 1920 });
    expect(displaySize(1920, 1080, rational(1, 1), 270)).toEqual({ width: 1080, height: 1920 });
    expect(displaySize(1920, 1080, rational(1, 1), 180)).toEqual({ width: 1920, height: 1080 });
    // SAR first (stretch the stored width), then rotate
    expect(displaySize(720, 576, rational(64, 45), 90)).toEqual({ width: 576, height: 1024 });
  });
});

describe('buildLadder: never upscale', () => {
  it('keeps every rung for a 1080p source and adds nothing', () => {
    const l = buildLadder(preset(), video(1920, 1080));
    expect(sizes(l)).toEqual(['1080p 1920x1080', '720p 1280x720', '540p 960x540', '360p 640x360', '234p 416x234']);
    expect(l.rungs.every((r) => !r.fromSource)).toBe(true);
    expect(l.notes).toEqual([]);
  });

  it('drops rungs taller than the source (and says so)', () => {
    const l = buildLadder(preset(), video(1280, 720));
    expect(sizes(l)).toEqual(['720p 1280x720', '540p 960x540', '360p 640x360', '234p 416x234']);
    expect(l.notes.join('\n')).toMatch(/dropped 1080p/);
    for (const r of l.rungs) expect(r.height).toBeLessThanOrEqual(720);
  });

  it('no rung is ever larger than the source in either dimension', () => {
    for (const [w, h] of [
      [1920, 1080],
      [1280, 720],
      [426, 240],
      [320, 180],
      [1600, 900],
      [1316, 740],
      [800, 332],
      [160, 90],
    ] as const) {
      for (const r of buildLadder(preset(), video(w, h)).rungs) {
        expect(r.width, `${w}x${h} ${r.name}`).toBeLessThanOrEqual(w + 1);
        expect(r.height, `${w}x${h} ${r.name}`).toBeLessThanOrEqual(h);
      }
    }
  });
});

describe('buildLadder: a source between two rungs (rule at the top of src/media/ladder.ts)', () => {
  it('adds a rung at the source height in place of the dropped rung above, bitrate scaled by pixels', () => {
    const l = buildLadder(preset(), video(1600, 900));
    expect(sizes(l)).toEqual(['900p 1600x900', '720p 1280x720', '540p 960x540', '360p 640x360', '234p 416x234']);
    const top = l.rungs[0]!;
    expect(top.fromSource).toBe(true);
    // 7800k x (900/1080)^2
    expect(top.bitrate).toBe(Math.round(7_800_000 * (900 / 1080) ** 2));
    expect(Math.abs(top.maxrate - top.bitrate * 1.5)).toBeLessThanOrEqual(1);
    expect(l.notes.join('\n')).toMatch(/added 900p/);
  });

  it('does not add one when the source is within 10% of the highest kept rung', () => {
    const l = buildLadder(preset(), video(1316, 740));
    expect(sizes(l)[0]).toBe('720p 1280x720');
    expect(l.rungs.some((r) => r.fromSource)).toBe(false);
    // just above 10%: 800 > 792
    expect(sizes(buildLadder(preset(), video(1422, 800)))[0]).toBe('800p 1422x800');
  });

  it('a source exactly at a rung height gets that rung, not a duplicate', () => {
    const l = buildLadder(preset(), video(960, 540));
    expect(sizes(l)).toEqual(['540p 960x540', '360p 640x360', '234p 416x234']);
  });

  it('a source smaller than every rung gets one rung at its own size, scaled from the smallest', () => {
    const l = buildLadder(preset(), video(160, 90));
    expect(sizes(l)).toEqual(['90p 160x90']);
    expect(l.rungs[0]!.fromSource).toBe(true);
    expect(l.rungs[0]!.bitrate).toBe(Math.round(145_000 * (90 / 234) ** 2));
  });

  it('an odd source height becomes an even rung', () => {
    const l = buildLadder(preset(), video(640, 425));
    expect(sizes(l)[0]).toBe('424p 638x424');
  });
});

describe('buildLadder: portrait and rotation use the short side', () => {
  it('a portrait source: the 720 rung is 720 wide', () => {
    const l = buildLadder(preset(), video(1080, 1920));
    expect(sizes(l)).toEqual(['1080p 1080x1920', '720p 720x1280', '540p 540x960', '360p 360x640', '234p 234x416']);
  });

  it('a landscape-stored phone clip with rotation 90 is laid out portrait', () => {
    const l = buildLadder(preset(), video(1280, 720, { rotation: 90 }));
    expect(sizes(l)).toEqual(['720p 720x1280', '540p 540x960', '360p 360x640', '234p 234x416']);
  });

  it('rotation 180 keeps landscape', () => {
    expect(sizes(buildLadder(preset(), video(1280, 720, { rotation: 180 })))[0]).toBe('720p 1280x720');
  });
});

describe('buildLadder: odd sample aspect ratios keep the display aspect ratio', () => {
  // 576 is within 10% of the 540 rung, so PAL sources get no extra source-height rung
  it('720x576 SAR 16:15 (4:3 PAL)', () => {
    const l = buildLadder(preset(), video(720, 576, { sar: rational(16, 15) }));
    expect(sizes(l)).toEqual(['540p 720x540', '360p 480x360', '234p 312x234']);
  });

  it('720x576 SAR 64:45 (16:9 PAL)', () => {
    const l = buildLadder(preset(), video(720, 576, { sar: rational(64, 45) }));
    expect(sizes(l)).toEqual(['540p 960x540', '360p 640x360', '234p 416x234']);
  });

  it('720x480 SAR 32:27 (16:9 NTSC, 853.3 wide): the added source-height rung is 854x480', () => {
    const l = buildLadder(preset(), video(720, 480, { sar: rational(32, 27) }));
    // 480 > 360 x 1.1: a 480p rung replaces the dropped 540p
    expect(sizes(l)).toEqual(['480p 854x480', '360p 640x360', '234p 416x234']);
    expect(l.rungs[0]!.fromSource).toBe(true);
  });

  it('720x480 SAR 8:9 (4:3 NTSC) shrinks the width', () => {
    expect(sizes(buildLadder(preset(), video(720, 480, { sar: rational(8, 9) })))).toEqual(['480p 640x480', '360p 480x360', '234p 312x234']);
  });

  it('SAR and rotation together', () => {
    const l = buildLadder(preset(), video(720, 576, { sar: rational(64, 45), rotation: 90 }));
    expect(sizes(l)).toEqual(['540p 540x960', '360p 360x640', '234p 234x416']);
  });

  it('every dimension of every rung is even and the aspect ratio is kept within one pixel', () => {
    const cases: [number, number, Rational, 0 | 90][] = [
      [720, 576, rational(16, 15), 0],
      [720, 576, rational(64, 45), 0],
      [720, 576, rational(64, 45), 90],
      [720, 480, rational(32, 27), 0],
      [720, 480, rational(8, 9), 0],
      [352, 288, rational(12, 11), 0],
      [800, 332, rational(1, 1), 0],
      [1442, 1080, rational(1, 1), 0],
      [426, 240, rational(1, 1), 0],
      [1918, 1078, rational(1, 1), 90],
    ];
    for (const [w, h, sar, rot] of cases) {
      const d = displaySize(w, h, sar, rot);
      const l = buildLadder(preset(), video(w, h, { sar, rotation: rot }));
      expect(l.rungs.length).toBeGreaterThan(0);
      for (const r of l.rungs) {
        const what = `${w}x${h} SAR ${sar.num}:${sar.den} rot ${rot}: ${r.name} ${r.width}x${r.height}`;
        expect(r.width % 2, what).toBe(0);
        expect(r.height % 2, what).toBe(0);
        // the long side computed from the short side deviates by at most the rounding to even
        if (d.width >= d.height) expect(Math.abs(r.width - (r.height * d.width) / d.height), what).toBeLessThanOrEqual(1.01);
        else expect(Math.abs(r.height - (r.width * d.height) / d.width), what).toBeLessThanOrEqual(1.01);
      }
    }
  });
});

describe('frame rate cap', () => {
  const fr = (s: string): Rational => parseRational(s)!;

  it('59.94 with a cap of 30 becomes exactly 30000/1001', () => {
    expect(formatRational(cappedFrameRate(fr('60000/1001'), 30))).toBe('30000/1001');
    expect(formatRational(cappedFrameRate(fr('59.94'), 30))).toBe('30000/1001');
  });

  it('50 -> 25, 60 -> 30, 120 -> 30, 100 -> 25, 48 -> 24', () => {
    expect(formatRational(cappedFrameRate(fr('50'), 30))).toBe('25');
    expect(formatRational(cappedFrameRate(fr('60'), 30))).toBe('30');
    expect(formatRational(cappedFrameRate(fr('120'), 30))).toBe('30');
    expect(formatRational(cappedFrameRate(fr('100'), 30))).toBe('25');
    expect(formatRational(cappedFrameRate(fr('48'), 30))).toBe('24');
  });

  it('keeps exact NTSC rates under the cap', () => {
    expect(formatRational(cappedFrameRate(fr('30000/1001'), 30))).toBe('30000/1001');
    expect(formatRational(cappedFrameRate(fr('24000/1001'), 30))).toBe('24000/1001');
    expect(formatRational(cappedFrameRate(fr('29.97'), 30))).toBe('30000/1001');
    expect(formatRational(cappedFrameRate(fr('60000/1001'), 60))).toBe('60000/1001');
    expect(formatRational(cappedFrameRate(fr('12.5'), 30))).toBe('25/2');
  });

  it('buildLadder applies the cap and notes it; an uncapped rate is returned exactly', () => {
    const capped = buildLadder(preset({ maxFrameRate: 30 }), video(1280, 720, { fps: '60000/1001' }));
    expect(formatRational(capped.frameRate)).toBe('30000/1001');
    expect(capped.notes.join('\n')).toMatch(/frame rate capped from 59\.940 to 29\.970/);
    const kept = buildLadder(preset({ maxFrameRate: 30 }), video(1280, 720, { fps: '30000/1001' }));
    expect(kept.frameRate).toEqual({ num: 30000, den: 1001 });
    expect(kept.notes.some((n) => /frame rate/.test(n))).toBe(false);
    const fifty = buildLadder(preset({ maxFrameRate: 30 }), video(1280, 720, { fps: '50' }));
    expect(formatRational(fifty.frameRate)).toBe('25');
  });
});

describe('GOP length in frames', () => {
  const gop = (fps: string, keyframeInterval: number, maxFrameRate = 60): Ladder => buildLadder(preset({ keyframeInterval, maxFrameRate }), video(1280, 720, { fps }));

  it('is the keyframe interval times the output frame rate, rounded', () => {
    expect(gop('25', 2).gopFrames).toBe(50);
    expect(gop('30', 2).gopFrames).toBe(60);
    expect(gop('30000/1001', 2).gopFrames).toBe(60);
    expect(gop('30000/1001', 2).keyframeInterval).toBeCloseTo(2.002, 6);
    expect(gop('60000/1001', 2).gopFrames).toBe(120);
    expect(gop('25/2', 2).gopFrames).toBe(25);
    expect(gop('25/2', 2).keyframeInterval).toBe(2);
  });

  it('uses the capped rate', () => {
    const l = gop('60000/1001', 2, 30);
    expect(l.gopFrames).toBe(60);
    expect(l.keyframeInterval).toBeCloseTo(2.002, 6);
  });

  it('reports the real interval when the rate does not divide evenly', () => {
    const l = gop('25/2', 1);
    expect(l.gopFrames).toBe(13);
    expect(l.keyframeInterval).toBeCloseTo(13 / 12.5, 9);
    expect(toNumber(l.frameRate)).toBe(12.5);
  });
});

describe('rate control per rung', () => {
  it('derives maxrate and bufsize from the ratios unless a rung sets them', () => {
    const p = preset({
      rungs: [
        { height: 720, bitrate: '3000k' },
        { height: 360, bitrate: '800k', maxrate: '1000k', bufsize: '1500k' },
      ],
    });
    const l = buildLadder(p, video(1280, 720));
    expect(l.rungs[0]).toMatchObject({ name: '720p', bitrate: 3_000_000, maxrate: 4_500_000, bufsize: 9_000_000 });
    expect(l.rungs[1]).toMatchObject({ name: '360p', bitrate: 800_000, maxrate: 1_000_000, bufsize: 1_500_000 });
  });

  it('cbr: maxrate is the bitrate', () => {
    const p = preset({ rateControl: { mode: 'cbr', bufsizeRatio: 1 }, rungs: [{ height: 360, bitrate: '800k' }] });
    expect(buildLadder(p, video(640, 360)).rungs[0]).toMatchObject({ bitrate: 800_000, maxrate: 800_000, bufsize: 800_000 });
  });
});
