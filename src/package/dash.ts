import { existsSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { StreamkitError } from '../errors.js';
import { formatRational } from '../media/rational.js';
import { segmentFileName, type TranscodePlan } from '../plan.js';
import type { HlsPackage, MeasuredRendition } from './hls.js';
import { PROFILE_ISOFF_LIVE, PROFILE_ISOFF_ON_DEMAND, ROLE_SCHEME, timelineEntries, writeMpd, type AdaptationSet, type Descriptor, type Mpd, type Representation } from './mpd.js';
import { initSegment, stillTrue, type InitSegment, type SegmentFactsCache } from './segment-facts.js';
import type { SingleFileIndex } from './single-file.js';
import { findBox, parseSidx } from './bitstream/mp4.js';

/**
 * The DASH side of a CMAF package: manifest.mpd addressing the very init and media segments the HLS
 * playlists list (no second copy), written from what was measured: `codecs` from the init segments'
 * sample entries, a SegmentTimeline from each segment's earliest presentation time and duration in
 * its track's own timescale, @bandwidth from the real segment sizes (dashBandwidth). One Period; one
 * video AdaptationSet per codec family and dynamic range; one audio AdaptationSet per rendition; each
 * subtitle rendition as a sidecar WebVTT AdaptationSet. checkDashPackage reads it back.
 */

/** A subtitle rendition's whole WebVTT (cue times from the title's start: the Period's timeline), for DASH. */
export interface DashSubtitle {
  dir: string;
  /** relative to the package folder */
  file: string;
  language: string | null;
  default: boolean;
  forced: boolean;
  sizeBytes: number;
}

export interface DashReport {
  manifest: string;
  /** seconds */
  minBufferTime: number;
  representations: { id: string; contentType: 'video' | 'audio' | 'text'; codecs: string | null; bandwidth: number }[];
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new StreamkitError('VERIFY_FAILED', `DASH: ${message}`, { details, hint: 'This is a bug in streamkit; rerun with --verbose and report it with the ffmpeg version.' });
}

/**
 * The least @bandwidth (bit/s) for which ISO/IEC 23009-1 5.3.5.2 holds with `minBufferTime`: a client
 * that receives the Representation at @bandwidth from the start of any segment j, and starts playing
 * after minBufferTime, has every later segment i whole before it is due, at minBufferTime + (start_i
 * - start_j). So bandwidth >= bits(j..i) / (minBufferTime + start_i - start_j) for every j <= i. Whole
 * segments (not frames) make it a little stricter than the standard asks, never looser.
 */
export function dashBandwidth(segments: readonly { start: number; bytes: number }[], minBufferTime: number): number {
  let worst = 0;
  for (let j = 0; j < segments.length; j++) {
    let bits = 0;
    const from = segments[j]!.start;
    for (let i = j; i < segments.length; i++) {
      bits += segments[i]!.bytes * 8;
      worst = Math.max(worst, bits / (minBufferTime + segments[i]!.start - from));
    }
  }
  return Math.ceil(worst);
}

interface TimedSegment {
  uri: string;
  bytes: number;
  /** ticks */
  start: number;
  duration: number;
}

/** Each segment's earliest presentation time and its duration up to the next one's (the last: its own decode duration), in ticks. */
export function timedSegments(r: MeasuredRendition): { timescale: number; segments: TimedSegment[] } {
  const ticks = r.segments.map((s) => s.ticks ?? fail(`segment ${r.dir}/${s.uri} has no fMP4 timing (is it MPEG-TS?)`, { dir: r.dir }));
  const timescale = ticks[0]?.timescale ?? fail(`${r.dir} has no segments`);
  const segments = r.segments.map((s, i) => {
    const t = ticks[i]!;
    if (t.timescale !== timescale) fail(`segment ${r.dir}/${s.uri} changes timescale`, { dir: r.dir });
    const next = ticks[i + 1];
    const duration = next ? next.earliest - t.earliest : t.decodeEnd - t.decodeStart;
    if (duration <= 0) fail(`segment ${r.dir}/${s.uri} does not end after it starts`, { dir: r.dir });
    return { uri: s.uri, bytes: s.bytes, start: t.earliest, duration };
  });
  return { timescale, segments };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

const CICP = 'urn:mpeg:mpegB:cicp:ChannelConfiguration';
const DOLBY_CHANNELS = 'tag:dolby.com,2014:dash:audio_channel_configuration:2011';

/**
 * AudioChannelConfiguration (DASH-IF IOP): AAC by its MPEG-4 ChannelConfiguration (ISO/IEC 23001-8,
 * 1 mono, 2 stereo, 6 for 5.1); AC-3 and E-AC-3 by Dolby's channel mask in hex (L R C LFE Ls Rs = F801).
 */
export function channelConfiguration(codec: string, channels: number): Descriptor {
  if (codec === 'ac-3' || codec === 'ec-3') return { schemeIdUri: DOLBY_CHANNELS, value: channels === 1 ? '4000' : channels === 2 ? 'A000' : 'F801' };
  return { schemeIdUri: CICP, value: String(channels === 8 ? 12 : channels) };
}

/** Video codec family of a CODECS string, in the order AdaptationSets are listed: the most widely decoded first. */
function family(codec: string): { key: string; order: number } {
  const fourcc = codec.split('.')[0]!;
  if (fourcc === 'avc1' || fourcc === 'avc3') return { key: 'avc', order: 0 };
  if (fourcc === 'hvc1' || fourcc === 'hev1') return { key: 'hevc', order: 1 };
  if (fourcc === 'av01') return { key: 'av1', order: 2 };
  return { key: fourcc, order: 3 };
}

/** HDR signalling of a video AdaptationSet (DASH-IF IOP: H.273 code points; PQ is essential, since an SDR-only client must not pick it). */
function rangeProperties(range: string): Pick<AdaptationSet, 'essentialProperties' | 'supplementalProperties'> {
  const bt2020: Descriptor[] = [
    { schemeIdUri: 'urn:mpeg:mpegB:cicp:ColourPrimaries', value: '9' },
    { schemeIdUri: 'urn:mpeg:mpegB:cicp:MatrixCoefficients', value: '9' },
  ];
  if (range === 'PQ') return { essentialProperties: [{ schemeIdUri: 'urn:mpeg:mpegB:cicp:TransferCharacteristics', value: '16' }], supplementalProperties: bt2020 };
  if (range === 'HLG') return { supplementalProperties: [{ schemeIdUri: 'urn:mpeg:mpegB:cicp:TransferCharacteristics', value: '18' }, ...bt2020] };
  return {};
}

/** How a Representation's media is addressed: a $Number$ template over the segment files, or (single-file layout) its one file and sidx. */
function addressing(
  r: MeasuredRendition,
  timed: { timescale: number; segments: TimedSegment[] },
  offsetSeconds: number,
  single: SingleFileIndex | undefined,
): Pick<Representation, 'segmentTemplate' | 'segmentBase' | 'baseUrl'> {
  if (single) {
    return {
      baseUrl: single.file,
      segmentBase: {
        timescale: timed.timescale,
        presentationTimeOffset: Math.round(offsetSeconds * timed.timescale),
        indexRange: `${single.sidxOffset}-${single.sidxOffset + single.sidxLength - 1}`,
        initializationRange: `0-${single.initLength - 1}`,
      },
    };
  }
  return { segmentTemplate: template(r, timed, offsetSeconds) };
}

function template(r: MeasuredRendition, timed: { timescale: number; segments: TimedSegment[] }, offsetSeconds: number): Representation['segmentTemplate'] {
  timed.segments.forEach((s, i) => {
    if (s.uri !== segmentFileName('fmp4', i))
      fail(`segment ${i} of ${r.dir} is named ${s.uri}, not ${segmentFileName('fmp4', i)}: a $Number$ template cannot address it`, { dir: r.dir });
  });
  if (!r.mapUri) fail(`${r.dir} has no init segment`, { dir: r.dir });
  return {
    timescale: timed.timescale,
    media: `${r.dir}/seg_$Number%05d$.m4s`,
    initialization: `${r.dir}/${r.mapUri}`,
    startNumber: 0,
    presentationTimeOffset: Math.round(offsetSeconds * timed.timescale),
    timeline: timelineEntries(timed.segments),
  };
}

/** The MPD of a measured package. */
export function buildMpd(
  plan: TranscodePlan,
  pkg: Pick<HlsPackage, 'measured'>,
  subtitles: readonly DashSubtitle[],
  /** single-file layout: each rendition's file, by folder */
  singleFiles: ReadonlyMap<string, SingleFileIndex> | null = null,
): Mpd {
  const aligned = singleFiles ? { subsegmentAlignment: true, subsegmentStartsWithSAP: 1 } : { segmentAlignment: true, startWithSAP: 1 };
  const offset = plan.timeline.offset;
  // single-file layout: each subsegment's bytes are the fragments alone (the segment files' styp and sidx were left out)
  const timedOf = (r: MeasuredRendition): { timescale: number; segments: TimedSegment[] } => {
    const timed = timedSegments(r);
    const single = singleFiles?.get(r.dir);
    return single ? { ...timed, segments: timed.segments.map((t, i) => ({ ...t, bytes: single.segments[i]!.length })) } : timed;
  };
  const videos = pkg.measured.videos.map((r) => ({ r, timed: timedOf(r) }));
  const audios = pkg.measured.audios.map((r) => ({ r, timed: timedOf(r) }));
  const seconds = (t: { timescale: number; segments: TimedSegment[] }): { start: number; bytes: number; duration: number }[] =>
    t.segments.map((s) => ({ start: s.start / t.timescale, bytes: s.bytes, duration: s.duration / t.timescale }));
  const longest = Math.max(...[...videos, ...audios].flatMap((x) => seconds(x.timed).map((s) => s.duration)));
  const minBufferTime = Math.ceil((plan.dash?.minBufferTime ?? longest) * 1000) / 1000;
  const bandwidth = (t: { timescale: number; segments: TimedSegment[] }): number => dashBandwidth(seconds(t), minBufferTime);
  const frameRate = formatRational(plan.ladder.frameRate);
  const v = plan.media.video;
  const g = gcd(v.displayWidth, v.displayHeight) || 1;
  const par = `${v.displayWidth / g}:${v.displayHeight / g}`;

  // one AdaptationSet per codec family and dynamic range (an SDR copy of an HDR ladder is its own)
  const sets = new Map<string, { order: number; range: string; reps: Representation[]; widths: number[]; heights: number[] }>();
  videos.forEach(({ r, timed }, i) => {
    const rung = plan.ladder.rungs[i]!;
    const codec = r.codecs.find((c) => !c.startsWith('mp4a')) ?? fail(`${r.dir} has no video codec`);
    const range = rung.sdr ? 'SDR' : (plan.colour?.range ?? 'SDR');
    const f = family(codec);
    const key = `${f.key}/${range}`;
    const set = sets.get(key) ?? { order: f.order, range, reps: [], widths: [], heights: [] };
    sets.set(key, set);
    set.widths.push(rung.width);
    set.heights.push(rung.height);
    // lowest bandwidth first, as players list them
    set.reps.push({
      id: r.dir,
      bandwidth: bandwidth(timed),
      codecs: codec,
      width: rung.width,
      height: rung.height,
      sar: '1:1',
      frameRate,
      ...addressing(r, timed, offset, singleFiles?.get(r.dir)),
    });
  });
  const adaptationSets: AdaptationSet[] = [];
  for (const set of [...sets.values()].sort((a, b) => a.order - b.order)) {
    adaptationSets.push({
      id: adaptationSets.length,
      contentType: 'video',
      mimeType: 'video/mp4',
      par,
      maxWidth: Math.max(...set.widths),
      maxHeight: Math.max(...set.heights),
      maxFrameRate: frameRate,
      ...aligned,
      ...rangeProperties(set.range),
      representations: set.reps.sort((a, b) => a.bandwidth - b.bandwidth),
    });
  }
  audios.forEach(({ r, timed }, i) => {
    const a = plan.audioRenditions[i]!;
    const codec = r.codecs[0] ?? fail(`${r.dir} has no audio codec`);
    adaptationSets.push({
      id: adaptationSets.length,
      contentType: 'audio',
      mimeType: 'audio/mp4',
      // DASH-IF IOP: audio carries @lang; `und` (undetermined) where the source says nothing, as HLS's LANGUAGE does
      lang: a.language ?? 'und',
      ...aligned,
      roles: [{ schemeIdUri: ROLE_SCHEME, value: a.default ? 'main' : 'alternate' }],
      representations: [
        {
          id: r.dir,
          bandwidth: bandwidth(timed),
          codecs: codec,
          audioSamplingRate: plan.audio?.sampleRate ?? 48000,
          audioChannelConfiguration: [channelConfiguration(codec, a.channels)],
          ...addressing(r, timed, offset, singleFiles?.get(r.dir)),
        },
      ],
    });
  });
  // the presentation lasts until the last media of any Representation ends: AAC's whole frames run the
  // audio a few ms past the video, and a Period that ends before its audio makes a player reach the
  // Period's end before the media element's (dash.js then seeks there and pauses: no `ended`, and
  // now and then a jump back; seen in test/integration/dash-playback.test.ts)
  const duration = Math.max(...[...videos, ...audios].map(({ timed }) => (timed.segments.at(-1)!.start + timed.segments.at(-1)!.duration) / timed.timescale - offset));
  for (const s of subtitles) {
    adaptationSets.push({
      id: adaptationSets.length,
      contentType: 'text',
      mimeType: 'text/vtt',
      ...(s.language ? { lang: s.language } : {}),
      roles: [{ schemeIdUri: ROLE_SCHEME, value: s.forced ? 'forced-subtitle' : 'subtitle' }],
      representations: [{ id: s.dir, bandwidth: Math.max(1, Math.ceil((s.sizeBytes * 8) / Math.max(duration, 1e-3))), baseUrl: s.file }],
    });
  }
  return {
    profiles: [singleFiles ? PROFILE_ISOFF_ON_DEMAND : PROFILE_ISOFF_LIVE],
    mediaPresentationDuration: duration,
    minBufferTime,
    maxSegmentDuration: longest,
    periods: [{ id: '0', start: 0, adaptationSets }],
  };
}

/** Write manifest.mpd into `root`; returns what streamkit.json and the summary say of it. */
export async function writeDash(root: string, name: string, mpd: Mpd): Promise<{ xml: string; report: DashReport }> {
  const xml = writeMpd(mpd);
  await writeFile(join(root, name), xml);
  const representations = mpd.periods.flatMap((p) =>
    p.adaptationSets.flatMap((a) => a.representations.map((r) => ({ id: r.id, contentType: a.contentType, codecs: r.codecs ?? null, bandwidth: r.bandwidth }))),
  );
  return { xml, report: { manifest: name, minBufferTime: mpd.minBufferTime, representations } };
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Seconds of an xs:duration of the form streamkit writes (PTnS, PTnMnS, PTnHnMnS). */
export function parseIsoDuration(d: string): number {
  const m = /^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(d);
  if (!m) throw new Error(`not an xs:duration streamkit writes: ${d}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/**
 * Read the written MPD back, as a player would, and check it against the files: it parses; every
 * init and media segment a template addresses exists and is the file that was measured (segment
 * facts still true); each S matches that segment's measured start and duration, so the timeline
 * adds up to the media; `codecs` equals the init segment's; and the bandwidth rule holds on the real
 * sizes. Text Representations' files exist.
 */
export async function checkDashPackage(root: string, xml: string, facts: SegmentFactsCache): Promise<void> {
  let doc: Record<string, unknown>;
  try {
    doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseAttributeValue: false,
      isArray: (n) => ['Period', 'AdaptationSet', 'Representation', 'S'].includes(n),
    }).parse(xml, true);
  } catch (error) {
    fail(`manifest.mpd is not well-formed XML: ${(error as Error).message}`);
  }
  // biome-ignore lint/suspicious/noExplicitAny: a parsed XML tree, checked field by field below
  const mpd = (doc as any).MPD;
  if (!mpd) fail('manifest.mpd has no MPD element');
  const minBufferTime = parseIsoDuration(mpd['@minBufferTime']);
  for (const period of asArray(mpd.Period)) {
    // biome-ignore lint/suspicious/noExplicitAny: as above
    for (const set of asArray<any>(period.AdaptationSet)) {
      // biome-ignore lint/suspicious/noExplicitAny: as above
      for (const rep of asArray<any>(set.Representation)) {
        const id = String(rep['@id']);
        if (rep.BaseURL !== undefined && rep.SegmentBase === undefined) {
          try {
            await readFile(join(root, String(rep.BaseURL)));
          } catch {
            fail(`${id}: ${rep.BaseURL} is missing`, { id });
          }
          continue;
        }
        if (rep.SegmentBase !== undefined) {
          await checkSingleFile(root, id, rep, minBufferTime);
          continue;
        }
        const tpl = rep.SegmentTemplate ?? fail(`${id} has no SegmentTemplate`, { id });
        const timescale = Number(tpl['@timescale']);
        let init: InitSegment;
        try {
          init = initSegment(await readFile(join(root, tpl['@initialization'])));
        } catch (error) {
          fail(`${id}: init segment ${tpl['@initialization']} is missing or unreadable: ${(error as Error).message}`, { id });
        }
        if (init.init.codecs[0] !== rep['@codecs']) fail(`${id}: codecs="${rep['@codecs']}" but its init segment says ${init.init.codecs[0]}`, { id });
        if (init.init.tracks[0]?.timescale !== timescale) fail(`${id}: timescale ${timescale} but its init segment's is ${init.init.tracks[0]?.timescale}`, { id });
        // the timeline expanded: each addressed segment with the start and duration the MPD gives it
        const listed: { rel: string; t: number; d: number }[] = [];
        let number = Number(tpl['@startNumber'] ?? 1);
        let t = 0;
        for (const s of asArray<Record<string, string>>(tpl.SegmentTimeline?.S)) {
          if (s['@t'] !== undefined) t = Number(s['@t']);
          const d = Number(s['@d']);
          for (let k = 0; k <= Number(s['@r'] ?? 0); k++) {
            listed.push({ rel: String(tpl['@media']).replace('$Number%05d$', String(number).padStart(5, '0')), t, d });
            t += d;
            number++;
          }
        }
        if (listed.length === 0) fail(`${id}: the SegmentTimeline is empty`, { id });
        const sized: { start: number; bytes: number }[] = [];
        for (const [i, x] of listed.entries()) {
          const known = facts.get(x.rel);
          if (!known || !stillTrue(known, join(root, x.rel), init)) fail(`${id}: segment ${x.rel} is missing or changed since it was measured`, { id, segment: x.rel });
          const ticks = known.inspection.ticks;
          if (!ticks || ticks.earliest !== x.t) fail(`${id}: segment ${x.rel} starts at ${ticks?.earliest} but the timeline says ${x.t}`, { id, segment: x.rel });
          // each S's duration reaches the next segment's measured start (checked above); the last one's is its own media
          if (i === listed.length - 1 && ticks.decodeEnd - ticks.decodeStart !== x.d) {
            fail(`${id}: the last segment ${x.rel} lasts ${ticks.decodeEnd - ticks.decodeStart} ticks but the timeline says ${x.d}`, { id, segment: x.rel });
          }
          sized.push({ start: x.t / timescale, bytes: known.size });
        }
        // nothing the template would address past the timeline's end (on disk: what the files are, not what was measured)
        const next = String(tpl['@media']).replace('$Number%05d$', String(number).padStart(5, '0'));
        if (existsSync(join(root, next))) fail(`${id}: segment ${next} exists but the timeline ends before it`, { id });
        const needed = dashBandwidth(sized, minBufferTime);
        if (Number(rep['@bandwidth']) < needed)
          fail(`${id}: bandwidth ${rep['@bandwidth']} is below the ${needed} bit/s its segments need with minBufferTime ${minBufferTime} s`, { id });
      }
    }
  }
}

/** `first-last` (inclusive) -> [first, last + 1) */
function byteRange(r: string, id: string): { start: number; end: number } {
  const m = /^(\d+)-(\d+)$/.exec(r);
  if (!m || Number(m[2]) < Number(m[1])) fail(`${id}: bad byte range "${r}"`, { id });
  return { start: Number(m[1]), end: Number(m[2]) + 1 };
}

/**
 * A single-file Representation (SegmentBase): its Initialization range is a parseable init segment
 * with the stated codecs and timescale; its indexRange is exactly one sidx whose references tile the
 * rest of the file (each starting with a SAP) and meet the bandwidth rule.
 */
// biome-ignore lint/suspicious/noExplicitAny: a parsed XML element, checked field by field
async function checkSingleFile(root: string, id: string, rep: any, minBufferTime: number): Promise<void> {
  const file = join(root, String(rep.BaseURL));
  const base = rep.SegmentBase;
  const init = byteRange(String(base.Initialization?.['@range']), id);
  const index = byteRange(String(base['@indexRange']), id);
  // the head of the file (init segment and sidx) and its size: the media is not read again
  let buf: Buffer;
  let fileSize: number;
  try {
    const fh = await open(file, 'r');
    try {
      fileSize = (await fh.stat()).size;
      buf = Buffer.alloc(Math.min(index.end, fileSize));
      await fh.read(buf, 0, buf.length, 0);
    } finally {
      await fh.close();
    }
  } catch {
    fail(`${id}: ${rep.BaseURL} is missing`, { id });
  }
  let codecs: string[];
  let timescale: number | undefined;
  try {
    const parsed = initSegment(buf.subarray(init.start, init.end)).init;
    codecs = parsed.codecs;
    timescale = parsed.tracks[0]?.timescale;
  } catch (error) {
    fail(`${id}: bytes ${init.start}-${init.end - 1} of ${rep.BaseURL} are not an init segment: ${(error as Error).message}`, { id });
  }
  if (codecs[0] !== rep['@codecs']) fail(`${id}: codecs="${rep['@codecs']}" but its init segment says ${codecs[0]}`, { id });
  if (timescale !== Number(base['@timescale'])) fail(`${id}: timescale ${base['@timescale']} but its init segment's is ${timescale}`, { id });
  const sidxBox = findBox(buf.subarray(0, index.end), ['sidx']);
  if (!sidxBox || sidxBox.start !== index.start || sidxBox.end !== index.end) fail(`${id}: indexRange ${base['@indexRange']} is not the file's sidx`, { id });
  const sidx = parseSidx(buf, sidxBox);
  let at = index.end + sidx.firstOffset;
  let t = sidx.earliestPresentationTime;
  const sized: { start: number; bytes: number }[] = [];
  for (const ref of sidx.references) {
    if (!ref.startsWithSap) fail(`${id}: a subsegment at byte ${at} does not start with a SAP`, { id });
    sized.push({ start: t / sidx.timescale, bytes: ref.size });
    at += ref.size;
    t += ref.duration;
  }
  if (at !== fileSize) fail(`${id}: the sidx covers ${at} bytes of ${rep.BaseURL}, which has ${fileSize}`, { id });
  const needed = dashBandwidth(sized, minBufferTime);
  if (Number(rep['@bandwidth']) < needed)
    fail(`${id}: bandwidth ${rep['@bandwidth']} is below the ${needed} bit/s its subsegments need with minBufferTime ${minBufferTime} s`, { id });
}
