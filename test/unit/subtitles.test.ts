import { describe, expect, it } from 'vitest';
import { buildSubtitleExtractArgs, movTextInputArgs, movTextSelect, movTextStreamArgs } from '../../src/args/subtitles.js';
import type { FileTarget } from '../../src/plan.js';
import type { MediaInfo, SubtitleInfo } from '../../src/media/probe.js';
import { parseSubtitlesArg, planSubtitles } from '../../src/media/subtitles.js';
import { parseMasterPlaylist } from '../../src/package/playlist.js';
import { cutCues, mpegtsAtZero, parseVtt, segmentVtt, withSubtitles, type VttCue } from '../../src/package/subtitles.js';

const cue = (start: number, end: number, text = `${start}-${end}`): VttCue => ({ start, end, id: null, settings: '', text });

function sub(over: Partial<SubtitleInfo> = {}): SubtitleInfo {
  return { index: 2, codec: 'subrip', language: 'eng', title: null, default: false, forced: false, ...over };
}

describe('parseVtt', () => {
  it('reads cues with ids, settings, hour-less times and multi-line payloads; skips NOTE blocks', () => {
    const text = 'WEBVTT\n\nNOTE a comment\n\n1\n00:00.523 --> 00:01.723 align:start\nHello <i>one</i>\nsecond line\n\n01:02:03.004 --> 01:02:05.000\nTwo\n';
    expect(parseVtt(text)).toEqual([
      { start: 0.523, end: 1.723, id: '1', settings: 'align:start', text: 'Hello <i>one</i>\nsecond line' },
      { start: 3723.004, end: 3725, id: null, settings: '', text: 'Two' },
    ]);
  });
  it('refuses a file without the WEBVTT header', () => {
    expect(() => parseVtt('1\n00:00:01,000 --> 00:00:02,000\nx\n')).toThrow(/WEBVTT/);
  });
  it('an empty WebVTT has no cues', () => {
    expect(parseVtt('WEBVTT\n\n')).toEqual([]);
  });
});

describe('cutCues', () => {
  // a 1 s first segment, then 2 s ones, the video starting at 0.023 s
  const starts = [0.023, 1.023, 3.023, 5.023];
  it('puts each cue in the segments it overlaps; a cue spanning a boundary is in both', () => {
    const cues = [cue(0.5, 1.7), cue(2.9, 4.3), cue(5, 5.8)];
    expect(cutCues(cues, starts).map((l) => l.map((c) => c.text))).toEqual([['0.5-1.7'], ['0.5-1.7', '2.9-4.3'], ['2.9-4.3', '5-5.8'], ['5-5.8']]);
  });
  it('a cue ending exactly on a boundary stays out of the next segment; one starting on it is in the next only', () => {
    expect(cutCues([cue(0.1, 1.023), cue(1.023, 2)], starts).map((l) => l.map((c) => c.text))).toEqual([['0.1-1.023'], ['1.023-2'], [], []]);
  });
  it('cues before the first segment go into it, cues after the last start into the last; empty segments stay (valid files)', () => {
    const cut = cutCues([cue(0, 0.01), cue(9, 10)], starts);
    expect(cut.map((l) => l.length)).toEqual([1, 0, 0, 1]);
    expect(segmentVtt(cut[1]!, 90000)).toBe('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\n');
  });
  it('a zero-length cue belongs to the segment its time falls in', () => {
    expect(cutCues([cue(3.5, 3.5)], starts).map((l) => l.length)).toEqual([0, 0, 1, 0]);
  });
});

describe('segmentVtt and X-TIMESTAMP-MAP', () => {
  it("maps WebVTT time 0 to the measured first video PTS less the video's own start, in 90 kHz ticks", () => {
    // TS: offset 1 s + the MPEG-TS muxer's 1.4 s; a video starting 0.023 s after the input
    expect(mpegtsAtZero(2.423, 0.023)).toBe(216000);
    expect(mpegtsAtZero(1, 0)).toBe(90000);
  });
  it('writes the header, then every cue with its original times, id and settings', () => {
    const text = segmentVtt([{ start: 61.5, end: 3725, id: 'x', settings: 'line:90%', text: 'Hi' }], 90000);
    expect(text).toBe('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\n\nx\n00:01:01.500 --> 01:02:05.000 line:90%\nHi\n');
    expect(parseVtt(text)).toEqual([{ start: 61.5, end: 3725, id: 'x', settings: 'line:90%', text: 'Hi' }]);
  });
});

describe('planSubtitles', () => {
  const on = { enabled: true, hls: true };
  it('text streams become renditions with language, name and dispositions; at most one DEFAULT', () => {
    const { renditions, notes } = planSubtitles(
      { subtitles: [sub({ default: true }), sub({ index: 3, language: 'fre', forced: true, default: true }), sub({ index: 4, codec: 'ass', language: null, title: 'Signs' })] },
      [],
      on,
    );
    expect(renditions.map((r) => [r.dir, r.name, r.language, r.default, r.forced, r.autoselect])).toEqual([
      ['subs-1', 'English', 'en', true, false, true],
      ['subs-2', 'Français', 'fr', false, true, true],
      ['subs-3', 'Signs', null, false, false, true],
    ]);
    expect(renditions.map((r) => r.source)).toEqual([
      { kind: 'stream', order: 0, index: 2, codec: 'subrip' },
      { kind: 'stream', order: 1, index: 3, codec: 'subrip' },
      { kind: 'stream', order: 2, index: 4, codec: 'ass' },
    ]);
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(/stream #2 \(subrip, eng\) -> subs-1 WebVTT "English" \[en\], default/);
  });
  it('bitmap and unknown subtitle streams are left out with a note each; stream order still counts them', () => {
    const { renditions, notes } = planSubtitles(
      { subtitles: [sub({ codec: 'hdmv_pgs_subtitle' }), sub({ index: 3, codec: 'dvb_teletext' }), sub({ index: 4, language: 'ger' })] },
      [],
      on,
    );
    expect(renditions.map((r) => [r.dir, r.language, r.source.kind === 'stream' ? r.source.order : -1])).toEqual([['subs-1', 'de', 2]]);
    expect(notes[0]).toMatch(/#2 \(hdmv_pgs_subtitle, eng\) left out: bitmap subtitles cannot become WebVTT/);
    expect(notes[1]).toMatch(/#3 \(dvb_teletext, eng\) left out: dvb_teletext is not a text subtitle format/);
  });
  it('sidecars follow the streams; names are made unique', () => {
    const { renditions } = planSubtitles({ subtitles: [sub()] }, [{ path: '/x/a.srt', format: 'srt', language: 'en' }], on);
    expect(renditions.map((r) => [r.dir, r.name, r.default])).toEqual([
      ['subs-1', 'English', false],
      ['subs-2', 'English 2', false],
    ]);
    expect(renditions[1]!.source).toEqual({ kind: 'file', path: '/x/a.srt', format: 'srt' });
  });
  it('turned off by the preset or without HLS: nothing, and one note naming what was left out', () => {
    expect(planSubtitles({ subtitles: [sub()] }, [], { enabled: false, hls: true })).toEqual({
      renditions: [],
      notes: ['subtitles: left out (packaging.subtitles is false): subtitle stream #2 (subrip, eng)'],
    });
    expect(planSubtitles({ subtitles: [sub()] }, [], { enabled: true, hls: false, flv: true }).notes[0]).toMatch(/no HLS or MP4 target/);
    expect(planSubtitles({}, [], on)).toEqual({ renditions: [], notes: [] });
  });
  it('MP4 files carry them (said in each note), FLV files cannot (one note); an MP4-only package still has them', () => {
    const both = planSubtitles({ subtitles: [sub()] }, [], { ...on, mp4: true, flv: true });
    expect(both.notes).toEqual([
      'subtitles: subtitle stream #2 (subrip, eng) -> subs-1 WebVTT + mov_text in the MP4 files "English" [en]',
      'subtitles: the FLV files carry no subtitles (FLV has no subtitle track)',
    ]);
    const mp4Only = planSubtitles({ subtitles: [sub()] }, [], { enabled: true, hls: false, mp4: true });
    expect(mp4Only.renditions).toHaveLength(1);
    expect(mp4Only.notes[0]).toMatch(/-> subs-1 mov_text in the MP4 files/);
    expect(planSubtitles({ subtitles: [sub({ codec: 'dvd_subtitle' })] }, [], { ...on, flv: true }).notes).toHaveLength(1);
  });
});

describe('parseSubtitlesArg', () => {
  it('splits a language tag off the end, canonical BCP 47', () => {
    expect(parseSubtitlesArg('movie.srt:fre')).toEqual({ file: 'movie.srt', language: 'fr', iso639: 'fre' });
    expect(parseSubtitlesArg('a/b.vtt:pt-BR')).toEqual({ file: 'a/b.vtt', language: 'pt-BR', iso639: null });
    expect(parseSubtitlesArg('movie.srt:en')).toEqual({ file: 'movie.srt', language: 'en', iso639: null });
    expect(parseSubtitlesArg('movie.srt')).toEqual({ file: 'movie.srt', language: null, iso639: null });
    expect(parseSubtitlesArg('C:\\subs\\x.srt')).toEqual({ file: 'C:\\subs\\x.srt', language: null, iso639: null });
  });
  it('refuses a suffix that looks like a tag but is none', () => {
    expect(() => parseSubtitlesArg('movie.srt:und')).toThrow(/not a language tag/);
  });
});

describe('buildSubtitleExtractArgs', () => {
  const media = { url: 'file:/in/movie.mkv', remote: false, inputOptions: ['-f', 'matroska'] } as unknown as MediaInfo;
  it('one demux-only process: the source confined with its demuxer pinned, sidecars as file: with their demuxer named', () => {
    const { renditions } = planSubtitles({ subtitles: [sub(), sub({ index: 3 })] }, [{ path: '/s/-y.srt', format: 'srt', language: null }], { enabled: true, hls: true });
    // biome-ignore format: argv
    expect(buildSubtitleExtractArgs({ media, subtitles: renditions })).toEqual([
      '-loglevel', 'error', '-y',
      '-protocol_whitelist', 'file', '-f', 'matroska', '-i', 'file:/in/movie.mkv',
      '-protocol_whitelist', 'file', '-f', 'srt', '-i', 'file:/s/-y.srt',
      '-map', '0:s:0', '-c:s', 'webvtt', '-map_metadata', '-1', '-f', 'webvtt', 'subs-1/full.vtt',
      '-map', '0:s:1', '-c:s', 'webvtt', '-map_metadata', '-1', '-f', 'webvtt', 'subs-2/full.vtt',
      '-map', '1:s:0', '-c:s', 'webvtt', '-map_metadata', '-1', '-f', 'webvtt', 'subs-3/full.vtt',
    ]);
  });
  it('sidecars only: the source is not opened', () => {
    const { renditions } = planSubtitles({}, [{ path: '/s/a.vtt', format: 'webvtt', language: 'en' }], { enabled: true, hls: true });
    const args = buildSubtitleExtractArgs({ media, subtitles: renditions });
    expect(args).not.toContain('file:/in/movie.mkv');
    expect(args.slice(-3)).toEqual(['-f', 'webvtt', 'subs-1/full.vtt']);
    expect(args).toContain('0:s:0');
  });
});

describe('mov_text in MP4 files', () => {
  const mp4: FileTarget = { kind: 'mp4', rung: '720p', rungIndex: 0, audio: [0], path: 'mp4/720p.mp4' };
  const flv: FileTarget = { kind: 'flv', rung: '720p', rungIndex: 0, audio: [0], path: 'flv/720p.flv' };
  const { renditions } = planSubtitles(
    { subtitles: [sub({ default: true }), sub({ index: 3, language: 'fre', forced: true })] },
    [
      { path: '/s/a.srt', format: 'srt', language: 'de', iso639: 'ger' },
      { path: '/s/b.vtt', format: 'webvtt', language: 'en', iso639: null },
    ],
    { enabled: true, hls: true, mp4: true },
  );
  it('sidecars are inputs 1, 2... of the encode; every rendition a mov_text stream with its ISO 639-2 code and dispositions', () => {
    const plan = { files: [mp4, flv], subtitles: renditions };
    // biome-ignore format: argv
    expect(movTextInputArgs(plan)).toEqual(['-protocol_whitelist', 'file', '-f', 'srt', '-i', 'file:/s/a.srt', '-protocol_whitelist', 'file', '-f', 'webvtt', '-i', 'file:/s/b.vtt']);
    // biome-ignore format: argv
    expect(movTextStreamArgs(plan)).toEqual([
      '-map', '0:s:0', '-c:s:0', 'mov_text', '-disposition:s:0', 'default', '-metadata:s:s:0', 'language=eng', '-metadata:s:s:0', 'title=English',
      '-map', '0:s:1', '-c:s:1', 'mov_text', '-disposition:s:1', 'forced', '-metadata:s:s:1', 'language=fre', '-metadata:s:s:1', 'title=Français',
      '-map', '1:s:0', '-c:s:2', 'mov_text', '-disposition:s:2', '0', '-metadata:s:s:2', 'language=ger', '-metadata:s:s:2', 'title=Deutsch',
      '-map', '2:s:0', '-c:s:3', 'mov_text', '-disposition:s:3', '0', '-metadata:s:s:3', 'language=und', '-metadata:s:s:3', 'title=English 2',
    ]);
    expect(movTextSelect(plan, 'mp4')).toEqual(['s:0', 's:1', 's:2', 's:3']);
    expect(movTextSelect(plan, 'flv')).toEqual([]);
  });
  it('without MP4 files: no inputs, no streams', () => {
    const plan = { files: [flv], subtitles: renditions };
    expect([...movTextInputArgs(plan), ...movTextStreamArgs(plan)]).toEqual([]);
  });
});

describe('withSubtitles', () => {
  const master = [
    '#EXTM3U',
    '#EXT-X-VERSION:5',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Main",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-1/index.m3u8"',
    '#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1,CODECS="avc1.42c00b,mp4a.40.2",RESOLUTION=160x90,FRAME-RATE=24.000,AUDIO="audio"',
    '90p/index.m3u8',
    '#EXT-X-STREAM-INF:BANDWIDTH=2,AVERAGE-BANDWIDTH=1,CODECS="avc1.42c00b,mp4a.40.2",RESOLUTION=320x180,FRAME-RATE=24.000,AUDIO="audio"',
    '180p/index.m3u8',
    '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1,CODECS="avc1.42c00b",RESOLUTION=160x90,URI="90p/iframes.m3u8"',
    '',
  ].join('\n');
  it('adds one EXT-X-MEDIA per rendition and SUBTITLES= on every variant, not on I-frame streams', () => {
    const { renditions } = planSubtitles({ subtitles: [sub({ default: true }), sub({ index: 3, language: 'fra', forced: true })] }, [], { enabled: true, hls: true });
    const parsed = parseMasterPlaylist(withSubtitles(master, renditions));
    const subs = parsed.media.filter((m) => m['TYPE'] === 'SUBTITLES');
    expect(subs).toEqual([
      { TYPE: 'SUBTITLES', 'GROUP-ID': 'subs', NAME: 'English', LANGUAGE: 'en', DEFAULT: 'YES', AUTOSELECT: 'YES', FORCED: 'NO', URI: 'subs-1/index.m3u8' },
      { TYPE: 'SUBTITLES', 'GROUP-ID': 'subs', NAME: 'Français', LANGUAGE: 'fr', DEFAULT: 'NO', AUTOSELECT: 'YES', FORCED: 'YES', URI: 'subs-2/index.m3u8' },
    ]);
    expect(parsed.variants.map((v) => v.attrs['SUBTITLES'])).toEqual(['subs', 'subs']);
    expect(parsed.iframes.every((f) => f['SUBTITLES'] === undefined)).toBe(true);
    expect(parsed.variants.map((v) => v.uri)).toEqual(['90p/index.m3u8', '180p/index.m3u8']);
  });
  it('no renditions: the master is unchanged', () => {
    expect(withSubtitles(master, [])).toBe(master);
  });
});
