/**
 * Independent checks of a package's DASH side (manifest.mpd), against the MPEG-DASH schema, the bytes
 * on disk and ffprobe, never against what streamkit says about itself (it does not call the product's
 * checkDashPackage, nor its box readers): the MPD validates against DASH-MPD.xsd (xmllint-wasm); every
 * init and media segment a SegmentTemplate addresses exists and nothing in a rendition folder is left
 * unaddressed; the very files the HLS playlists list (no second copy); init segments are CMAF (`cmfc`
 * brand, one track); each S@t is its segment's earliest presentation time and each S@d reaches the
 * next one (the last: its own samples), read here from tfdt/trun, so the timeline adds up to the
 * media; `codecs` is what the init segment says (the HLS CODECS checks of hls-check.ts); and the
 * bandwidth rule of ISO/IEC 23009-1 5.3.5.2, simulated: a client receiving at @bandwidth from any
 * segment start, playing after MPD@minBufferTime, never waits for a segment.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { expect } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { checkAv1, expectedAvc, expectedHevc, type ProbeStream } from './hls-check.js';
import { ffprobeJson } from './media.js';
import { REPO } from './requirements.js';

const SCHEMA_DIR = join(REPO, 'test', 'fixtures', 'dash-schema');

/** The schema errors of an MPD (xmllint's messages, with line numbers); empty when it validates. */
export async function mpdSchemaErrors(xml: string): Promise<string[]> {
  const [schema, xlink] = await Promise.all([readFile(join(SCHEMA_DIR, 'DASH-MPD.xsd'), 'utf8'), readFile(join(SCHEMA_DIR, 'xlink.xsd'), 'utf8')]);
  const r = await validateXML({
    xml: [{ fileName: 'manifest.mpd', contents: xml }],
    schema: [{ fileName: 'DASH-MPD.xsd', contents: schema }],
    preload: [{ fileName: 'xlink.xsd', contents: xlink }],
  });
  return r.valid ? [] : r.errors.map((e) => e.rawMessage);
}

// ---------------------------------------------------------------- ISO BMFF, read here

interface Box {
  type: string;
  /** offset of the payload */
  body: number;
  end: number;
}

function boxesIn(buf: Buffer, from = 0, to = buf.length): Box[] {
  const out: Box[] = [];
  for (let at = from; at + 8 <= to; ) {
    let size = buf.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = to - at;
    if (size < header || at + size > to) throw new Error(`a box at ${at} runs past its parent (${size} bytes)`);
    out.push({ type: buf.toString('latin1', at + 4, at + 8), body: at + header, end: at + size });
    at += size;
  }
  return out;
}

const childrenOf = (buf: Buffer, b: Box): Box[] => boxesIn(buf, b.body, b.end);
const one = (list: Box[], type: string, where: string): Box => {
  const found = list.filter((b) => b.type === type);
  expect(found.length, `one ${type} in ${where}`).toBe(1);
  return found[0]!;
};

export interface InitFacts {
  majorBrand: string;
  brands: string[];
  tracks: number;
  trackId: number;
  handler: string;
  timescale: number;
  /** trex defaults */
  defaultDuration: number;
  defaultFlags: number;
}

/** ftyp brands, the track count, and the one track's id, handler, timescale and trex defaults. */
function readInit(buf: Buffer, where: string): InitFacts {
  const top = boxesIn(buf);
  const ftyp = one(top, 'ftyp', where);
  const brands: string[] = [];
  for (let at = ftyp.body + 8; at + 4 <= ftyp.end; at += 4) brands.push(buf.toString('latin1', at, at + 4));
  const moov = one(top, 'moov', where);
  const inMoov = childrenOf(buf, moov);
  const traks = inMoov.filter((b) => b.type === 'trak');
  const trak = traks[0]!;
  const tkhd = one(childrenOf(buf, trak), 'tkhd', where);
  const trackId = buf.readUInt32BE(tkhd.body + (buf[tkhd.body] === 1 ? 20 : 12));
  const mdia = childrenOf(buf, one(childrenOf(buf, trak), 'mdia', where));
  const mdhd = one(mdia, 'mdhd', where);
  const timescale = buf.readUInt32BE(mdhd.body + (buf[mdhd.body] === 1 ? 20 : 12));
  const hdlr = one(mdia, 'hdlr', where);
  const trex = childrenOf(buf, one(inMoov, 'mvex', where)).find((b) => b.type === 'trex' && buf.readUInt32BE(b.body + 4) === trackId);
  expect(trex, `${where}: a trex for track ${trackId}`).toBeDefined();
  return {
    majorBrand: buf.toString('latin1', ftyp.body, ftyp.body + 4),
    brands,
    tracks: traks.length,
    trackId,
    handler: buf.toString('latin1', hdlr.body + 8, hdlr.body + 12),
    timescale,
    defaultDuration: buf.readUInt32BE(trex!.body + 12),
    defaultFlags: buf.readUInt32BE(trex!.body + 20),
  };
}

export interface SegmentTimes {
  /** the smallest decode time + composition offset of its samples, in ticks */
  earliest: number;
  /** the first tfdt */
  decodeStart: number;
  /** decode time just past its last sample */
  decodeEnd: number;
  /** the sum of its samples' durations */
  duration: number;
  samples: number;
  firstIsSync: boolean;
  /** the most frequent sample duration */
  typicalDuration: number;
  /** some sample has a composition offset other than the first sample's (frames reordered: B-frames) */
  reordered: boolean;
}

/** Every sample of a media segment's one track, from its moof boxes (tfhd, tfdt, trun), in ticks. */
function readSegmentTimes(buf: Buffer, init: InitFacts, where: string): SegmentTimes {
  let earliest = Number.POSITIVE_INFINITY;
  let decodeStart: number | null = null;
  let dts = 0;
  let duration = 0;
  let samples = 0;
  let firstIsSync: boolean | null = null;
  let firstCto: number | null = null;
  let reordered = false;
  const durations = new Map<number, number>();
  const moofs = boxesIn(buf).filter((b) => b.type === 'moof');
  expect(moofs.length, `${where}: moof boxes`).toBeGreaterThan(0);
  for (const moof of moofs) {
    const trafs = childrenOf(buf, moof).filter((b) => b.type === 'traf');
    expect(trafs.length, `${where}: one traf per moof (one track)`).toBe(1);
    const inTraf = childrenOf(buf, trafs[0]!);
    const tfhd = one(inTraf, 'tfhd', where);
    const tfhdFlags = buf.readUInt32BE(tfhd.body) & 0xffffff;
    expect(buf.readUInt32BE(tfhd.body + 4), `${where}: tfhd track_ID`).toBe(init.trackId);
    let at = tfhd.body + 8;
    if (tfhdFlags & 0x01) at += 8;
    if (tfhdFlags & 0x02) at += 4;
    let defaultDuration = init.defaultDuration;
    let defaultFlags = init.defaultFlags;
    if (tfhdFlags & 0x08) {
      defaultDuration = buf.readUInt32BE(at);
      at += 4;
    }
    if (tfhdFlags & 0x10) at += 4;
    if (tfhdFlags & 0x20) defaultFlags = buf.readUInt32BE(at);
    const tfdt = one(inTraf, 'tfdt', where);
    dts = buf[tfdt.body] === 1 ? Number(buf.readBigUInt64BE(tfdt.body + 4)) : buf.readUInt32BE(tfdt.body + 4);
    decodeStart ??= dts;
    for (const trun of inTraf.filter((b) => b.type === 'trun')) {
      const version = buf[trun.body]!;
      const flags = buf.readUInt32BE(trun.body) & 0xffffff;
      const count = buf.readUInt32BE(trun.body + 4);
      let p = trun.body + 8;
      if (flags & 0x01) p += 4;
      let firstFlags: number | null = null;
      if (flags & 0x04) {
        firstFlags = buf.readUInt32BE(p);
        p += 4;
      }
      for (let i = 0; i < count; i++) {
        let d = defaultDuration;
        let sampleFlags = i === 0 && firstFlags !== null ? firstFlags : defaultFlags;
        let cto = 0;
        if (flags & 0x100) {
          d = buf.readUInt32BE(p);
          p += 4;
        }
        if (flags & 0x200) p += 4;
        if (flags & 0x400) {
          sampleFlags = buf.readUInt32BE(p);
          p += 4;
        }
        if (flags & 0x800) {
          cto = version === 1 ? buf.readInt32BE(p) : buf.readUInt32BE(p);
          p += 4;
        }
        // sample_is_non_sync_sample
        firstIsSync ??= (sampleFlags & 0x10000) === 0;
        firstCto ??= cto;
        if (cto !== firstCto) reordered = true;
        earliest = Math.min(earliest, dts + cto);
        dts += d;
        duration += d;
        samples++;
        durations.set(d, (durations.get(d) ?? 0) + 1);
      }
    }
  }
  expect(samples, `${where}: samples`).toBeGreaterThan(0);
  const typicalDuration = [...durations.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return { earliest, decodeStart: decodeStart!, decodeEnd: dts, duration, samples, firstIsSync: firstIsSync!, typicalDuration, reordered };
}

// ---------------------------------------------------------------- the bandwidth rule, simulated

export interface TimedBytes {
  /** seconds */
  start: number;
  bytes: number;
}

/**
 * ISO/IEC 23009-1 5.3.5.2 played out: a client that starts receiving the Representation at
 * `bandwidth` bit/s at the start of segment j (any j), and starts playing minBufferTime seconds later,
 * needs segment i whole by the time playback reaches its start (minBufferTime + start_i - start_j
 * after it began receiving). Returns the first segment that arrives late, or null when none does.
 */
export function firstLateSegment(segments: readonly TimedBytes[], bandwidth: number, minBufferTime: number): { from: number; segment: number; lateBy: number } | null {
  for (let j = 0; j < segments.length; j++) {
    let clock = 0;
    for (let i = j; i < segments.length; i++) {
      clock += (segments[i]!.bytes * 8) / bandwidth;
      const due = minBufferTime + segments[i]!.start - segments[j]!.start;
      if (clock > due + 1e-9) return { from: j, segment: i, lateBy: clock - due };
    }
  }
  return null;
}

// ---------------------------------------------------------------- the MPD, parsed

// biome-ignore lint/suspicious/noExplicitAny: a parsed XML tree, read field by field
type Node = any;

const LISTS = ['Period', 'AdaptationSet', 'Representation', 'S', 'EssentialProperty', 'SupplementalProperty', 'Role', 'AudioChannelConfiguration', 'BaseURL'];

/** The MPD as a tree: attributes under `@name` (strings), the elements that may repeat always arrays. */
export function parseMpd(xml: string): Node {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseAttributeValue: false, parseTagValue: false, isArray: (n) => LISTS.includes(n) }).parse(
    xml,
    true,
  );
  expect(doc.MPD, 'an MPD root element').toBeDefined();
  return doc.MPD;
}

/** Seconds of an xs:duration (PnDTnHnMnS; no years or months in a VOD MPD). */
export function durationSeconds(d: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d);
  expect(m, `xs:duration ${d}`).not.toBeNull();
  return Number(m![1] ?? 0) * 86400 + Number(m![2] ?? 0) * 3600 + Number(m![3] ?? 0) * 60 + Number(m![4] ?? 0);
}

/** A SegmentTemplate URL for one segment: $RepresentationID$, $Number$, $Time$, $Bandwidth$ with an optional %0Nd, $$. */
export function expandTemplate(template: string, values: { id: string; number: number; time: number; bandwidth: number }): string {
  return template.replace(/\$(RepresentationID|Number|Time|Bandwidth|)(%0(\d+)d)?\$/g, (_, name: string, _f, width?: string) => {
    if (name === '') return '$';
    const v = name === 'RepresentationID' ? values.id : String(name === 'Number' ? values.number : name === 'Time' ? values.time : values.bandwidth);
    return width ? v.padStart(Number(width), '0') : v;
  });
}

export interface DashSegment {
  /** package-relative path */
  path: string;
  /** ticks, as the timeline says */
  t: number;
  d: number;
  bytes: number;
  times: SegmentTimes;
}

export interface DashRepresentation {
  id: string;
  contentType: 'video' | 'audio' | 'text';
  set: Node;
  rep: Node;
  bandwidth: number;
  codecs: string | undefined;
  /** package-relative; null for a text sidecar */
  init: string | null;
  initFacts: InitFacts | null;
  timescale: number;
  presentationTimeOffset: number;
  segments: DashSegment[];
  /** a text Representation's BaseURL (package-relative) */
  file: string | null;
  /** what ffprobe says of init + first segment (video, audio) */
  stream: ProbeStream | null;
}

export interface CheckedDash {
  mpd: Node;
  xml: string;
  minBufferTime: number;
  duration: number;
  representations: DashRepresentation[];
}

const codecString: Record<string, string> = { ac3: 'ac-3', eac3: 'ec-3' };

/** The codecs string of an init segment as read here (hls-check.ts for video; ffprobe's codec and profile for audio). */
function expectCodecs(codecs: string | undefined, stream: ProbeStream & { sample_rate?: string }, init: Buffer, where: string): void {
  expect(codecs, `${where} @codecs`).toBeDefined();
  if (stream.codec_name === 'h264') expect(codecs, `${where} @codecs`).toBe(expectedAvc(stream));
  else if (stream.codec_name === 'hevc') expect(codecs, `${where} @codecs`).toBe(expectedHevc(init, stream));
  else if (stream.codec_name === 'av1') checkAv1(codecs!, init, stream);
  else if (stream.codec_name === 'aac') expect(codecs, `${where} @codecs`).toBe(stream.profile === 'HE-AAC' ? 'mp4a.40.5' : 'mp4a.40.2');
  else expect(codecs, `${where} @codecs`).toBe(codecString[stream.codec_name]);
}

async function probeInit(file: string, kind: 'v' | 'a'): Promise<ProbeStream & { sample_rate?: string }> {
  const r = await ffprobeJson<{ streams: (ProbeStream & { sample_rate?: string })[] }>([
    '-select_streams',
    `${kind}:0`,
    '-show_data',
    '-show_entries',
    'stream=codec_type,codec_name,codec_tag_string,profile,level,width,height,pix_fmt,sample_aspect_ratio,channels,sample_rate,extradata',
    `file:${file}`,
  ]);
  expect(r.streams.length, `${file} has a ${kind} stream`).toBe(1);
  return r.streams[0]!;
}

const ratio = (v: string | undefined): number => {
  const [a, b] = String(v).split(/[:/]/).map(Number) as [number, number | undefined];
  return b === undefined ? a : a / b;
};

/** The files a media playlist addresses (its EXT-X-MAP and segments), package-relative. */
async function hlsAddressed(root: string, uri: string): Promise<string[]> {
  const text = await readFile(join(root, uri), 'utf8');
  const dir = posix.dirname(uri);
  const map = /#EXT-X-MAP:.*URI="([^"]+)"/.exec(text)?.[1];
  const segs = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return [...(map ? [map] : []), ...segs].map((f) => posix.join(dir, f));
}

/**
 * Every check above on the package in `root` (manifest.mpd beside master.m3u8); returns what was
 * read for case-specific assertions.
 */
export async function checkDash(root: string): Promise<CheckedDash> {
  const scratch = await mkdtemp(join(tmpdir(), 'streamkit-dash-check-'));
  try {
    return await checkDashIn(root, scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function checkDashIn(root: string, scratch: string): Promise<CheckedDash> {
  const xml = await readFile(join(root, 'manifest.mpd'), 'utf8');
  expect(await mpdSchemaErrors(xml), 'manifest.mpd validates against DASH-MPD.xsd').toEqual([]);
  const mpd = parseMpd(xml);
  expect(mpd['@type'], 'a static (VOD) MPD').toBe('static');
  expect(String(mpd['@profiles']).split(','), 'the isoff-live profile').toContain('urn:mpeg:dash:profile:isoff-live:2011');
  const minBufferTime = durationSeconds(mpd['@minBufferTime']);
  const duration = durationSeconds(mpd['@mediaPresentationDuration']);
  const maxSegment = mpd['@maxSegmentDuration'] ? durationSeconds(mpd['@maxSegmentDuration']) : Number.POSITIVE_INFINITY;
  expect(mpd.Period, 'one Period').toHaveLength(1);
  const period = mpd.Period[0];
  expect(durationSeconds(period['@start'] ?? 'PT0S'), 'the Period starts at 0').toBe(0);

  const representations: DashRepresentation[] = [];
  const setIds = new Set<string>();
  for (const set of period.AdaptationSet as Node[]) {
    const contentType = set['@contentType'] as DashRepresentation['contentType'];
    expect(['video', 'audio', 'text'], `AdaptationSet ${set['@id']} contentType`).toContain(contentType);
    expect(setIds.has(set['@id']), `AdaptationSet ids unique (${set['@id']})`).toBe(false);
    setIds.add(set['@id']);
    expect(set['@mimeType'], `AdaptationSet ${set['@id']} mimeType`).toBe(contentType === 'text' ? 'text/vtt' : `${contentType}/mp4`);
    for (const rep of set.Representation as Node[]) {
      const id = String(rep['@id']);
      const where = `Representation ${id}`;
      expect(
        representations.some((r) => r.id === id),
        `${where}: ids unique`,
      ).toBe(false);
      const bandwidth = Number(rep['@bandwidth']);
      expect(Number.isInteger(bandwidth) && bandwidth > 0, `${where} @bandwidth ${rep['@bandwidth']}`).toBe(true);
      if (contentType === 'text') {
        expect(rep.BaseURL, `${where}: a sidecar BaseURL`).toHaveLength(1);
        const file = String(rep.BaseURL[0]);
        expect(existsSync(join(root, file)), `${where}: ${file} exists`).toBe(true);
        expect((await readFile(join(root, file), 'utf8')).startsWith('WEBVTT'), `${file} is WebVTT`).toBe(true);
        representations.push({
          id,
          contentType,
          set,
          rep,
          bandwidth,
          codecs: rep['@codecs'],
          init: null,
          initFacts: null,
          timescale: 1,
          presentationTimeOffset: 0,
          segments: [],
          file,
          stream: null,
        });
        continue;
      }
      const tpl = rep.SegmentTemplate ?? set.SegmentTemplate;
      expect(tpl, `${where}: a SegmentTemplate`).toBeDefined();
      const timescale = Number(tpl['@timescale'] ?? 1);
      const pto = Number(tpl['@presentationTimeOffset'] ?? 0);
      const values = { id, number: 0, time: 0, bandwidth };
      const init = expandTemplate(String(tpl['@initialization']), values);
      expect(existsSync(join(root, init)), `${where}: init segment ${init} exists`).toBe(true);
      const initBuf = await readFile(join(root, init));
      const initFacts = readInit(initBuf, init);
      // CMAF (ISO/IEC 23000-19): the cmfc brand, one track per file, in the track's own timescale
      expect(initFacts.brands, `${init}: compatible brands ${initFacts.brands.join(' ')}`).toContain('cmfc');
      expect(initFacts.tracks, `${init}: one track`).toBe(1);
      expect(initFacts.handler, `${init}: handler`).toBe(contentType === 'video' ? 'vide' : 'soun');
      expect(timescale, `${where}: @timescale is the track's (mdhd)`).toBe(initFacts.timescale);

      // the timeline expanded: every S, with its @r, numbered from @startNumber
      const entries = (tpl.SegmentTimeline?.S ?? []) as Node[];
      expect(entries.length, `${where}: a SegmentTimeline`).toBeGreaterThan(0);
      expect(entries[0]['@t'], `${where}: the first S has @t`).toBeDefined();
      const listed: { path: string; t: number; d: number }[] = [];
      let number = Number(tpl['@startNumber'] ?? 1);
      let t = 0;
      for (const s of entries) {
        if (s['@t'] !== undefined) {
          expect(Number(s['@t']), `${where}: S@t never goes back`).toBeGreaterThanOrEqual(t);
          t = Number(s['@t']);
        }
        const d = Number(s['@d']);
        const r = Number(s['@r'] ?? 0);
        expect(r >= 0, `${where}: S@r ${r} (a VOD timeline has no open-ended repeat)`).toBe(true);
        for (let k = 0; k <= r; k++) {
          listed.push({ path: expandTemplate(String(tpl['@media']), { ...values, number, time: t }), t, d });
          t += d;
          number++;
        }
      }
      // the segment after the last: absent (the timeline covers every file)
      expect(existsSync(join(root, expandTemplate(String(tpl['@media']), { ...values, number, time: t }))), `${where}: nothing after the timeline's end`).toBe(false);

      const segments: DashSegment[] = [];
      for (const [i, x] of listed.entries()) {
        expect(existsSync(join(root, x.path)), `${where}: ${x.path} exists`).toBe(true);
        const buf = await readFile(join(root, x.path));
        const times = readSegmentTimes(buf, initFacts, x.path);
        expect(times.earliest, `${x.path}: S@t is the segment's earliest presentation time`).toBe(x.t);
        if (contentType === 'video') expect(times.firstIsSync, `${x.path} starts with a sync sample (startWithSAP)`).toBe(true);
        const next = listed[i + 1];
        if (next) {
          expect(x.d, `${x.path}: S@d reaches the next segment's start`).toBe(next.t - x.t);
          // no gap and no overlap in decode time either
          expect(times.decodeEnd, `${x.path}: its samples end where the next segment's begin`).toBe(
            readSegmentTimes(await readFile(join(root, next.path)), initFacts, next.path).decodeStart,
          );
        } else {
          expect(x.d, `${x.path}: the last S@d is its own samples' duration`).toBe(times.duration);
        }
        expect(x.d / timescale, `${x.path}: within maxSegmentDuration`).toBeLessThanOrEqual(maxSegment + 0.0005);
        segments.push({ ...x, bytes: buf.length, times });
      }
      // the timeline adds up to the media: every sample of every segment, no more, no less
      const media = segments.reduce((a, s) => a + s.times.duration, 0);
      const span = segments.reduce((a, s) => a + s.d, 0);
      expect(span, `${where}: the SegmentTimeline's durations add up to the media's (${media} ticks)`).toBe(media);

      // codecs and the other attributes, from the bitstream
      const probeFile = join(scratch, `${id}.mp4`);
      await writeFile(probeFile, Buffer.concat([initBuf, await readFile(join(root, segments[0]!.path))]));
      const stream = await probeInit(probeFile, contentType === 'video' ? 'v' : 'a');
      expectCodecs(rep['@codecs'], stream, initBuf, where);
      if (contentType === 'video') {
        expect(`${rep['@width']}x${rep['@height']}`, `${where} @width x @height`).toBe(`${stream.width}x${stream.height}`);
        expect(['1:1', undefined, 'N/A', '0:1'], `${where}: square pixels`).toContain(stream.sample_aspect_ratio);
        expect(rep['@sar'] ?? set['@sar'] ?? '1:1', `${where} @sar`).toBe('1:1');
        const fr = rep['@frameRate'] ?? set['@frameRate'];
        expect(fr, `${where} @frameRate`).toBeDefined();
        const measured = timescale / segments[0]!.times.typicalDuration;
        expect(Math.abs(ratio(fr) - measured) / measured, `${where} @frameRate ${fr} vs ${measured.toFixed(3)} from the samples`).toBeLessThan(0.001);
        // @par is the whole set's picture aspect ratio; a rung's even-rounded size is within 1% of it
        if (set['@par']) {
          const aspect = Number(rep['@width']) / Number(rep['@height']);
          expect(Math.abs(aspect - ratio(set['@par'])) / ratio(set['@par']), `${where} ${rep['@width']}x${rep['@height']} vs @par ${set['@par']}`).toBeLessThan(0.01);
        }
        if (set['@maxWidth']) expect(Number(rep['@width']), `${where} <= @maxWidth`).toBeLessThanOrEqual(Number(set['@maxWidth']));
        if (set['@maxHeight']) expect(Number(rep['@height']), `${where} <= @maxHeight`).toBeLessThanOrEqual(Number(set['@maxHeight']));
      } else {
        expect(Number(rep['@audioSamplingRate'] ?? set['@audioSamplingRate']), `${where} @audioSamplingRate`).toBe(Number(stream.sample_rate));
        const channels = (rep.AudioChannelConfiguration ?? set.AudioChannelConfiguration) as Node[] | undefined;
        expect(channels, `${where}: AudioChannelConfiguration`).toHaveLength(1);
        const c = channels![0];
        if (c['@schemeIdUri'] === 'urn:mpeg:mpegB:cicp:ChannelConfiguration') {
          // ISO/IEC 23091-3 ChannelConfiguration: 1 mono, 2 stereo, 6 = 5.1
          expect(c['@value'], `${where}: CICP channel configuration of ${stream.channels} channels`).toBe(String(stream.channels));
        } else {
          expect(c['@schemeIdUri']).toBe('tag:dolby.com,2014:dash:audio_channel_configuration:2011');
          expect(c['@value'], `${where}: Dolby channel mask of ${stream.channels} channels`).toBe({ 1: '4000', 2: 'A000', 6: 'F801' }[stream.channels ?? 0]);
        }
      }

      // ISO/IEC 23009-1 5.3.5.2, on the real sizes and the timeline's own times
      const timed = segments.map((s) => ({ start: s.t / timescale, bytes: s.bytes }));
      const late = firstLateSegment(timed, bandwidth, minBufferTime);
      expect(late, `${where}: at @bandwidth ${bandwidth} with minBufferTime ${minBufferTime} s no segment arrives late`).toBeNull();
      // and no more than the worst segment needs on its own: its peak bitrate, or with a minBufferTime
      // shorter than the longest segment, that much more (a segment must then arrive faster than it plays)
      const peak = Math.max(...segments.map((s) => (s.bytes * 8) / (s.d / timescale)));
      const longest = Math.max(...segments.map((s) => s.d / timescale));
      const bound = Math.ceil(peak * Math.max(1, longest / minBufferTime));
      expect(
        bandwidth,
        `${where} @bandwidth ${bandwidth} <= the peak segment bitrate ${Math.round(peak)} (x ${Math.max(1, longest / minBufferTime).toFixed(2)})`,
      ).toBeLessThanOrEqual(bound);
      representations.push({ id, contentType, set, rep, bandwidth, codecs: rep['@codecs'], init, initFacts, timescale, presentationTimeOffset: pto, segments, file: null, stream });
    }
    // segmentAlignment: the same segment boundaries in every Representation of the set
    if (set['@segmentAlignment'] === 'true') {
      const reps = representations.filter((r) => r.set === set);
      const starts = (r: DashRepresentation): number[] => r.segments.map((s) => Math.round((s.t / r.timescale) * 1000));
      for (const r of reps) expect(starts(r), `${r.id}: aligned with ${reps[0]!.id}`).toEqual(starts(reps[0]!));
    }
  }

  // the Period's timeline: every Representation starts at the Period's start (audio: within its priming,
  // one coded frame), the presentation lasts until the last of them ends, and none ends much before it
  const media = representations.filter((r) => r.contentType !== 'text');
  expect(representations.filter((r) => r.contentType === 'video').length, 'video Representations').toBeGreaterThan(0);
  const end = (r: DashRepresentation): number => (r.segments.at(-1)!.t + r.segments.at(-1)!.d - r.presentationTimeOffset) / r.timescale;
  for (const r of media) {
    const start = (r.segments[0]!.t - r.presentationTimeOffset) / r.timescale;
    if (r.contentType === 'video') expect(start, `${r.id} starts at the Period's start`).toBeCloseTo(0, 3);
    else expect(Math.abs(start), `${r.id} starts at the Period's start`).toBeLessThan(0.05);
    expect(duration - end(r), `${r.id} ends (${end(r)} s) with the presentation (${duration} s)`).toBeLessThan(0.1);
  }
  const last = Math.max(...media.map(end));
  expect(Math.abs(duration - last), `mediaPresentationDuration ${duration} is when the last Representation ends (${last} s)`).toBeLessThan(0.0015);

  // the very files the HLS playlists address, and nothing in a rendition folder left unaddressed
  const hlsMaster = await readFile(join(root, 'master.m3u8'), 'utf8');
  const playlists = [
    ...new Set([...hlsMaster.matchAll(/^([^#\s][^\s]*\/index\.m3u8)$/gm)].map((m) => m[1]!).concat([...hlsMaster.matchAll(/TYPE=AUDIO[^\n]*URI="([^"]+)"/g)].map((m) => m[1]!))),
  ];
  const hls = new Map<string, string[]>();
  for (const p of playlists) hls.set(posix.dirname(p), await hlsAddressed(root, p));
  const dashByFolder = new Map<string, string[]>();
  for (const r of representations.filter((x) => x.contentType !== 'text')) {
    const folder = posix.dirname(r.init!);
    expect(dashByFolder.has(folder), `${r.id}: a folder of its own`).toBe(false);
    dashByFolder.set(folder, [r.init!, ...r.segments.map((s) => s.path)]);
  }
  expect([...dashByFolder.keys()].sort(), 'the MPD and master.m3u8 address the same renditions').toEqual([...hls.keys()].sort());
  for (const [folder, files] of dashByFolder) {
    expect(files, `${folder}: the MPD addresses exactly the files its HLS playlist lists`).toEqual(hls.get(folder));
    const present = (await readdir(join(root, folder))).map((f) => posix.join(folder, f));
    const extra = present.filter((f) => !files.includes(f) && !/\/(index|iframes)\.m3u8$/.test(f));
    expect(extra, `${folder}: nothing unaddressed`).toEqual([]);
  }
  // no media file anywhere outside what both manifests address
  const all = (await readdir(root, { recursive: true })).map(String);
  const addressed = new Set([...dashByFolder.values()].flat());
  expect(
    all.filter((f) => /\.(m4s|mp4)$/.test(f) && dirname(f) !== 'mp4' && !addressed.has(f)),
    'every fMP4 file is addressed by the MPD',
  ).toEqual([]);
  // text: the sidecar the MPD addresses beside the HLS subtitle segments, nothing else
  for (const r of representations.filter((x) => x.contentType === 'text')) {
    const folder = posix.dirname(r.file!);
    const listedHls = [...hls.keys()].includes(folder) ? hls.get(folder)! : await hlsAddressed(root, posix.join(folder, 'index.m3u8'));
    const present = (await readdir(join(root, folder))).map((f) => posix.join(folder, f));
    expect(
      present.filter((f) => f !== r.file && !listedHls.includes(f) && !f.endsWith('/index.m3u8')),
      `${folder}: nothing unaddressed`,
    ).toEqual([]);
    expect((await stat(join(root, r.file!))).size, `${r.file} is not empty`).toBeGreaterThan(0);
  }
  return { mpd, xml, minBufferTime, duration, representations };
}
