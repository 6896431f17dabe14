/**
 * The pure parts of the DASH side: the MPD model and its XML writer (src/package/mpd.ts), the
 * SegmentTimeline's @r/@t compression, and dashBandwidth (src/package/dash.ts), the least @bandwidth
 * for which ISO/IEC 23009-1 5.3.5.2 holds, checked against the test's own simulation of a client
 * (test/helpers/dash-check.ts firstLateSegment) rather than against its own formula.
 */
import { describe, expect, it } from 'vitest';
import { channelConfiguration, dashBandwidth, parseIsoDuration } from '../../src/package/dash.js';
import { isoDuration, MPD_NAMESPACE, timelineEntries, writeMpd, type Mpd } from '../../src/package/mpd.js';
import { durationSeconds, expandTemplate, firstLateSegment, mpdSchemaErrors, parseMpd } from '../helpers/index.js';

/** A small but complete MPD: an HDR video set with two Representations, an audio set, a text sidecar. */
function sample(): Mpd {
  const template = (dir: string, timescale: number) => ({
    timescale,
    media: `${dir}/seg_$Number%05d$.m4s`,
    initialization: `${dir}/init.mp4`,
    startNumber: 0,
    presentationTimeOffset: timescale,
    timeline: timelineEntries([
      { start: timescale, duration: timescale },
      { start: 2 * timescale, duration: 2 * timescale },
      { start: 4 * timescale, duration: 2 * timescale },
      { start: 6 * timescale, duration: timescale / 2 },
    ]),
  });
  return {
    profiles: ['urn:mpeg:dash:profile:isoff-live:2011'],
    mediaPresentationDuration: 5.5,
    minBufferTime: 2,
    maxSegmentDuration: 2,
    periods: [
      {
        id: '0',
        start: 0,
        adaptationSets: [
          {
            id: 0,
            contentType: 'video',
            mimeType: 'video/mp4',
            par: '16:9',
            maxWidth: 640,
            maxHeight: 360,
            maxFrameRate: '30000/1001',
            segmentAlignment: true,
            startWithSAP: 1,
            essentialProperties: [{ schemeIdUri: 'urn:mpeg:mpegB:cicp:TransferCharacteristics', value: '16' }],
            supplementalProperties: [{ schemeIdUri: 'urn:mpeg:mpegB:cicp:ColourPrimaries', value: '9' }],
            representations: [
              { id: '360p', bandwidth: 900000, codecs: 'hvc1.2.4.L90.B0', width: 640, height: 360, sar: '1:1', frameRate: '30000/1001', segmentTemplate: template('360p', 15360) },
              { id: '180p', bandwidth: 300000, codecs: 'hvc1.2.4.L60.B0', width: 320, height: 180, sar: '1:1', frameRate: '30000/1001', segmentTemplate: template('180p', 15360) },
            ],
          },
          {
            id: 1,
            contentType: 'audio',
            mimeType: 'audio/mp4',
            lang: 'fr',
            segmentAlignment: true,
            startWithSAP: 1,
            roles: [{ schemeIdUri: 'urn:mpeg:dash:role:2011', value: 'main' }],
            representations: [
              {
                id: 'audio-1',
                bandwidth: 130000,
                codecs: 'mp4a.40.2',
                audioSamplingRate: 48000,
                audioChannelConfiguration: [channelConfiguration('mp4a.40.2', 2)],
                segmentTemplate: template('audio-1', 48000),
              },
            ],
          },
          {
            id: 2,
            contentType: 'text',
            mimeType: 'text/vtt',
            lang: 'de',
            roles: [{ schemeIdUri: 'urn:mpeg:dash:role:2011', value: 'subtitle' }],
            representations: [{ id: 'subs-1', bandwidth: 100, baseUrl: 'subs-1/subtitles & more.vtt' }],
          },
        ],
      },
    ],
  };
}

describe('isoDuration / parseIsoDuration', () => {
  it('writes seconds with at most millisecond precision, no trailing zeros', () => {
    expect(isoDuration(0)).toBe('PT0S');
    expect(isoDuration(4)).toBe('PT4S');
    expect(isoDuration(2.0057)).toBe('PT2.006S');
    expect(isoDuration(2.05)).toBe('PT2.05S');
    expect(isoDuration(3725.5)).toBe('PT3725.5S');
    expect(isoDuration(0.0004)).toBe('PT0S');
  });

  it('reads back what it writes, and the H/M forms', () => {
    for (const s of [0, 1, 2.006, 59.999, 3725.5]) expect(parseIsoDuration(isoDuration(s))).toBeCloseTo(Math.round(s * 1000) / 1000, 9);
    expect(parseIsoDuration('PT1H2M3.5S')).toBe(3723.5);
    expect(parseIsoDuration('PT2M')).toBe(120);
    expect(() => parseIsoDuration('P1Y')).toThrow(/not an xs:duration/);
    // the test's own reader agrees
    expect(durationSeconds(isoDuration(3725.5))).toBe(3725.5);
  });
});

describe('timelineEntries: S elements with @r and @t', () => {
  it('one S per run of equal durations; @t only on the first', () => {
    expect(
      timelineEntries([
        { start: 1000, duration: 500 },
        { start: 1500, duration: 1000 },
        { start: 2500, duration: 1000 },
        { start: 3500, duration: 1000 },
        { start: 4500, duration: 300 },
      ]),
    ).toEqual([{ t: 1000, d: 500 }, { d: 1000, r: 2 }, { d: 300 }]);
  });

  it('a gap or an overlap starts a new S with its own @t, even with the same duration', () => {
    expect(
      timelineEntries([
        { start: 0, duration: 100 },
        { start: 100, duration: 100 },
        { start: 250, duration: 100 },
        { start: 340, duration: 100 },
        { start: 440, duration: 100 },
      ]),
    ).toEqual([
      { t: 0, d: 100, r: 1 },
      { t: 250, d: 100 },
      { t: 340, d: 100, r: 1 },
    ]);
  });

  it('expands back to the same starts and durations (every segment once)', () => {
    const segments = [0, 90, 180, 300, 420, 540, 600].map((start, i, all) => ({ start: start + 7, duration: (all[i + 1] ?? 640) - start }));
    const out: { start: number; duration: number }[] = [];
    let t = 0;
    for (const s of timelineEntries(segments)) {
      if (s.t !== undefined) t = s.t;
      for (let k = 0; k <= (s.r ?? 0); k++) {
        out.push({ start: t, duration: s.d });
        t += s.d;
      }
    }
    expect(out).toEqual(segments);
  });

  it('no segments: no S', () => {
    expect(timelineEntries([])).toEqual([]);
  });
});

describe('writeMpd', () => {
  it('validates against the MPEG-DASH schema (DASH-MPD.xsd), elements in the schema order', async () => {
    expect(await mpdSchemaErrors(writeMpd(sample()))).toEqual([]);
  });

  it('the schema check is not a formality: an element out of order or a missing @bandwidth is refused', async () => {
    const xml = writeMpd(sample());
    const roleAfterRepresentation = xml.replace(/(\s*<Role [^>]*\/>)([\s\S]*?<\/Representation>)/, '$2$1');
    expect(roleAfterRepresentation).not.toBe(xml);
    expect((await mpdSchemaErrors(roleAfterRepresentation)).join('\n')).toMatch(/Role/);
    expect((await mpdSchemaErrors(xml.replace(' bandwidth="300000"', ''))).join('\n')).toMatch(/bandwidth/);
  });

  it('writes what the model says: root attributes, the timeline, descriptors, the sidecar (escaped)', () => {
    const xml = writeMpd(sample());
    expect(MPD_NAMESPACE).toBe('urn:mpeg:dash:schema:mpd:2011');
    expect(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<MPD xmlns="${MPD_NAMESPACE}"`)).toBe(true);
    const mpd = parseMpd(xml);
    expect(mpd['@type']).toBe('static');
    expect(mpd['@mediaPresentationDuration']).toBe('PT5.5S');
    expect(mpd['@minBufferTime']).toBe('PT2S');
    const [video, audio, text] = mpd.Period[0].AdaptationSet;
    expect(video['@segmentAlignment']).toBe('true');
    expect(video['@maxFrameRate']).toBe('30000/1001');
    expect(video.EssentialProperty).toEqual([{ '@schemeIdUri': 'urn:mpeg:mpegB:cicp:TransferCharacteristics', '@value': '16' }]);
    const tpl = video.Representation[0].SegmentTemplate;
    expect(tpl['@presentationTimeOffset']).toBe('15360');
    expect(tpl['@startNumber']).toBe('0');
    expect(tpl.SegmentTimeline.S).toEqual([{ '@t': '15360', '@d': '15360' }, { '@d': '30720', '@r': '1' }, { '@d': '7680' }]);
    expect(audio['@lang']).toBe('fr');
    expect(audio.Representation[0].AudioChannelConfiguration).toEqual([{ '@schemeIdUri': 'urn:mpeg:mpegB:cicp:ChannelConfiguration', '@value': '2' }]);
    expect(text.Representation[0].BaseURL).toEqual(['subs-1/subtitles & more.vtt']);
    expect(xml).toContain('<BaseURL>subs-1/subtitles &amp; more.vtt</BaseURL>');
  });

  it('leaves out a zero presentationTimeOffset and @r', () => {
    const m = sample();
    const tpl = m.periods[0]!.adaptationSets[0]!.representations[0]!.segmentTemplate!;
    tpl.presentationTimeOffset = 0;
    tpl.timeline = [{ t: 0, d: 10, r: 0 }];
    const xml = writeMpd(m);
    expect(xml).toContain('<S t="0" d="10"/>');
    expect(xml).not.toMatch(/presentationTimeOffset="0"/);
  });

  it('the test template expander reads $Number%05d$ the way the writer means it', () => {
    expect(expandTemplate('180p/seg_$Number%05d$.m4s', { id: '180p', number: 7, time: 0, bandwidth: 1 })).toBe('180p/seg_00007.m4s');
    expect(expandTemplate('$RepresentationID$/$Time$-$Bandwidth$$$.m4s', { id: 'a', number: 1, time: 42, bandwidth: 9 })).toBe('a/42-9$.m4s');
  });
});

describe('channelConfiguration', () => {
  it('AAC by its MPEG-4 channel configuration, AC-3 / E-AC-3 by the Dolby channel mask', () => {
    expect(channelConfiguration('mp4a.40.2', 1)).toEqual({ schemeIdUri: 'urn:mpeg:mpegB:cicp:ChannelConfiguration', value: '1' });
    expect(channelConfiguration('mp4a.40.2', 6).value).toBe('6');
    expect(channelConfiguration('mp4a.40.2', 8).value).toBe('12');
    expect(channelConfiguration('ec-3', 6)).toEqual({ schemeIdUri: 'tag:dolby.com,2014:dash:audio_channel_configuration:2011', value: 'F801' });
    expect(channelConfiguration('ac-3', 2).value).toBe('A000');
  });
});

describe('dashBandwidth: ISO/IEC 23009-1 5.3.5.2 on the real segment sizes', () => {
  /** segments of `seconds` each, with these sizes */
  const even = (seconds: number, bytes: number[]): { start: number; bytes: number }[] => bytes.map((b, i) => ({ start: i * seconds, bytes: b }));

  it('constant segments with minBufferTime = one segment: exactly their bitrate', () => {
    const segs = even(2, [250_000, 250_000, 250_000, 250_000]);
    expect(dashBandwidth(segs, 2)).toBe(1_000_000);
  });

  it('a big segment late in the title: spread over the buffer and the segments before it', () => {
    // from j=0: (1+1+4) Mbit by 2+4 s = 1 Mbit/s; from j=2: 4 Mbit by 2 s = 2 Mbit/s
    const segs = even(2, [125_000, 125_000, 500_000]);
    expect(dashBandwidth(segs, 2)).toBe(2_000_000);
    // a longer buffer lowers it: 4 Mbit by 4 s
    expect(dashBandwidth(segs, 4)).toBe(1_000_000);
  });

  const cases: [string, { start: number; bytes: number }[], number][] = [
    ['rising', even(2, [10_000, 40_000, 90_000, 160_000, 20_000]), 2],
    ['falling', even(2, [300_000, 100_000, 50_000, 10_000]), 2],
    ['uneven durations', [0, 1, 3, 5, 6.5].map((start, i) => ({ start, bytes: [90_000, 300_000, 120_000, 500_000, 40_000][i]! })), 2.006],
    ['a short buffer', even(4, [400_000, 100_000, 800_000, 100_000, 100_000, 900_000]), 1],
    ['one segment', [{ start: 0, bytes: 12_345 }], 1.5],
  ];
  for (const [name, segs, minBufferTime] of cases) {
    it(`${name}: the simulated client never waits at @bandwidth, and does 1% below it`, () => {
      const bandwidth = dashBandwidth(segs, minBufferTime);
      expect(firstLateSegment(segs, bandwidth, minBufferTime)).toBeNull();
      expect(firstLateSegment(segs, bandwidth * 0.99, minBufferTime)).not.toBeNull();
    });
  }

  it('minBufferTime at least the longest segment: never above the peak segment bitrate', () => {
    const starts = [0, 2, 3.5, 6, 8, 9];
    const bytes = [200_000, 50_000, 700_000, 10_000, 400_000, 90_000];
    const segs = starts.map((start, i) => ({ start, bytes: bytes[i]! }));
    const durations = starts.map((s, i) => (starts[i + 1] ?? 10) - s);
    const peak = Math.max(...bytes.map((b, i) => (b * 8) / durations[i]!));
    expect(dashBandwidth(segs, Math.max(...durations))).toBeLessThanOrEqual(Math.ceil(peak));
  });
});
