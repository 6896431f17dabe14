import { describe, expect, it } from 'vitest';
import { fpsFilter } from '../../src/args/fps-filter.js';
import { countIdet, deinterlacedRate, deinterlaceFilter, planDeinterlace } from '../../src/media/interlace.js';

const idet = (tff: number, bff: number, progressive: number, undetermined = 0) => ({ tff, bff, progressive, undetermined });

describe('planDeinterlace', () => {
  it('auto: idet decides; a progressive claim is trusted (idet not run)', () => {
    expect(planDeinterlace({ fieldOrder: 'tt', idet: idet(90, 2, 8) }).plan).toEqual({ parity: 'tff', rate: 'frame' });
    expect(planDeinterlace({ fieldOrder: 'unknown', idet: idet(3, 70, 27) }).plan).toEqual({ parity: 'bff', rate: 'frame' });
    expect(planDeinterlace({ fieldOrder: 'progressive', idet: null })).toEqual({ plan: null, notes: [] });
  });

  it('a flag idet refutes: not deinterlaced, said so; an unconfirmed flag (idet could not run) is believed', () => {
    const r = planDeinterlace({ fieldOrder: 'bb', idet: idet(2, 1, 97) });
    expect(r.plan).toBeNull();
    expect(r.notes[0]).toMatch(
      /^The source is flagged bottom field first but its frames are progressive \(idet: 2 top-field-first, 1 bottom-field-first, 97 progressive of 100 sampled frames\)/,
    );
    expect(planDeinterlace({ fieldOrder: 'bb', idet: null }).plan).toEqual({ parity: 'bff', rate: 'frame' });
  });

  it('field doubles the rate; off keeps the fields and says so', () => {
    const field = planDeinterlace({ fieldOrder: 'tt', idet: idet(80, 0, 20) }, 'field');
    expect(field.plan).toEqual({ parity: 'tff', rate: 'field' });
    expect(deinterlacedRate({ num: 30000, den: 1001 }, field.plan)).toEqual({ num: 60000, den: 1001 });
    expect(deinterlacedRate({ num: 25, den: 1 }, { parity: 'tff', rate: 'frame' })).toEqual({ num: 25, den: 1 });
    const off = planDeinterlace({ fieldOrder: 'tt', idet: idet(80, 0, 20) }, 'off');
    expect(off.plan).toBeNull();
    expect(off.notes[0]).toMatch(/video\.deinterlace: off keeps the fields/);
  });

  it('bwdif comes first in the graph, before the frame rate is fixed', () => {
    expect(deinterlaceFilter({ parity: 'tff', rate: 'field' })).toBe('bwdif=mode=send_field:parity=tff:deint=all');
    const plan = { ladder: { frameRate: { num: 25, den: 1 } }, timeline: { videoStart: 0 }, deinterlace: { parity: 'bff' as const, rate: 'frame' as const } };
    expect(fpsFilter(plan as Parameters<typeof fpsFilter>[0])).toBe('bwdif=mode=send_frame:parity=bff:deint=all,fps=25:start_time=0');
  });

  it('counts idet verdicts from the metadata filter output', () => {
    expect(countIdet('frame:0\nlavfi.idet.multiple.current_frame=tff\nframe:1\nlavfi.idet.multiple.current_frame=progressive\nlavfi.idet.multiple.current_frame=tff\n')).toEqual(
      idet(2, 0, 1),
    );
  });
});
