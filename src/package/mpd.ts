/**
 * The MPEG-DASH Media Presentation Description, pure: a value whose names follow ISO/IEC 23009-1
 * (MPD, Period, AdaptationSet, Representation, SegmentTemplate, SegmentTimeline, S), written as XML in
 * the element and attribute order of the standard's schema (DASH-MPD.xsd), which validates it.
 * Nothing here reads files or decides values: package/dash.ts builds the value from what was measured.
 */

/** A descriptor element (Role, EssentialProperty, SupplementalProperty, AudioChannelConfiguration). */
export interface Descriptor {
  schemeIdUri: string;
  value: string;
}

/** One S element: `d` ticks, repeated `r` more times, starting at `t` when given (else right after the previous one). */
export interface TimelineEntry {
  t?: number;
  d: number;
  r?: number;
}

export interface SegmentTemplate {
  timescale: number;
  /** $Number$ template of the media segments, relative to the MPD */
  media: string;
  initialization: string;
  startNumber: number;
  /** ticks: the media time that is the Period's start */
  presentationTimeOffset: number;
  timeline: TimelineEntry[];
}

/** One file per Representation, indexed by its sidx (single-file layout; the isoff-on-demand profile). */
export interface SegmentBase {
  timescale: number;
  presentationTimeOffset: number;
  /** bytes of the sidx, `first-last` inclusive */
  indexRange: string;
  /** bytes of the init segment (ftyp+moov), `first-last` inclusive */
  initializationRange: string;
}

export interface Representation {
  id: string;
  /** bit/s: with MPD@minBufferTime, the rate at which playback never stalls (ISO/IEC 23009-1 5.3.5.2) */
  bandwidth: number;
  codecs?: string;
  width?: number;
  height?: number;
  /** e.g. 25 or 30000/1001 */
  frameRate?: string;
  sar?: string;
  audioSamplingRate?: number;
  audioChannelConfiguration?: Descriptor[];
  /** a single file (a sidecar WebVTT), relative to the MPD */
  baseUrl?: string;
  segmentTemplate?: SegmentTemplate;
  segmentBase?: SegmentBase;
}

export interface AdaptationSet {
  id: number;
  contentType: 'video' | 'audio' | 'text';
  mimeType: string;
  /** BCP 47 */
  lang?: string;
  par?: string;
  maxWidth?: number;
  maxHeight?: number;
  maxFrameRate?: string;
  segmentAlignment?: boolean;
  startWithSAP?: number;
  /** single-file layout: the sidx's subsegments, aligned across Representations and starting with a SAP */
  subsegmentAlignment?: boolean;
  subsegmentStartsWithSAP?: number;
  essentialProperties?: Descriptor[];
  supplementalProperties?: Descriptor[];
  roles?: Descriptor[];
  representations: Representation[];
}

export interface Period {
  id: string;
  /** seconds */
  start: number;
  adaptationSets: AdaptationSet[];
}

export interface Mpd {
  profiles: string[];
  /** seconds */
  mediaPresentationDuration: number;
  /** seconds */
  minBufferTime: number;
  /** seconds */
  maxSegmentDuration: number;
  periods: Period[];
}

export const MPD_NAMESPACE = 'urn:mpeg:dash:schema:mpd:2011';
export const PROFILE_ISOFF_LIVE = 'urn:mpeg:dash:profile:isoff-live:2011';
export const PROFILE_ISOFF_ON_DEMAND = 'urn:mpeg:dash:profile:isoff-on-demand:2011';
export const ROLE_SCHEME = 'urn:mpeg:dash:role:2011';

/** xs:duration with millisecond precision: PT12.345S (seconds only, as DASH-IF's examples write it). */
export function isoDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const whole = Math.floor(ms / 1000);
  const frac = ms % 1000;
  return `PT${whole}${frac ? `.${String(frac).padStart(3, '0').replace(/0+$/, '')}` : ''}S`;
}

function escapeXml(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

type Attr = [string, string | number | boolean | undefined];

function tag(name: string, attrs: Attr[], children: string[] | null, indent: string): string {
  const a = attrs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
  if (!children || children.length === 0) return `${indent}<${name}${a}/>`;
  return `${indent}<${name}${a}>\n${children.join('\n')}\n${indent}</${name}>`;
}

function descriptors(name: string, list: readonly Descriptor[] | undefined, indent: string): string[] {
  return (list ?? []).map((d) =>
    tag(
      name,
      [
        ['schemeIdUri', d.schemeIdUri],
        ['value', d.value],
      ],
      null,
      indent,
    ),
  );
}

function segmentTemplate(s: SegmentTemplate, indent: string): string {
  const entries = s.timeline.map((e) =>
    tag(
      'S',
      [
        ['t', e.t],
        ['d', e.d],
        ['r', e.r || undefined],
      ],
      null,
      `${indent}    `,
    ),
  );
  return tag(
    'SegmentTemplate',
    [
      ['media', s.media],
      ['initialization', s.initialization],
      ['timescale', s.timescale],
      ['presentationTimeOffset', s.presentationTimeOffset || undefined],
      ['startNumber', s.startNumber],
    ],
    [tag('SegmentTimeline', [], entries, `${indent}  `)],
    indent,
  );
}

function segmentBase(s: SegmentBase, indent: string): string {
  return tag(
    'SegmentBase',
    [
      ['timescale', s.timescale],
      ['presentationTimeOffset', s.presentationTimeOffset || undefined],
      ['indexRange', s.indexRange],
    ],
    [tag('Initialization', [['range', s.initializationRange]], null, `${indent}  `)],
    indent,
  );
}

function representation(r: Representation, indent: string): string {
  const inner = `${indent}  `;
  const children = [
    ...descriptors('AudioChannelConfiguration', r.audioChannelConfiguration, inner),
    ...(r.baseUrl ? [`${inner}<BaseURL>${escapeXml(r.baseUrl)}</BaseURL>`] : []),
    ...(r.segmentBase ? [segmentBase(r.segmentBase, inner)] : []),
    ...(r.segmentTemplate ? [segmentTemplate(r.segmentTemplate, inner)] : []),
  ];
  return tag(
    'Representation',
    [
      ['id', r.id],
      ['bandwidth', r.bandwidth],
      ['width', r.width],
      ['height', r.height],
      ['sar', r.sar],
      ['frameRate', r.frameRate],
      ['audioSamplingRate', r.audioSamplingRate],
      ['codecs', r.codecs],
    ],
    children,
    indent,
  );
}

function adaptationSet(a: AdaptationSet, indent: string): string {
  const inner = `${indent}  `;
  // RepresentationBaseType's elements first (EssentialProperty, SupplementalProperty), then Role, then the Representations
  const children = [
    ...descriptors('EssentialProperty', a.essentialProperties, inner),
    ...descriptors('SupplementalProperty', a.supplementalProperties, inner),
    ...descriptors('Role', a.roles, inner),
    ...a.representations.map((r) => representation(r, inner)),
  ];
  return tag(
    'AdaptationSet',
    [
      ['id', a.id],
      ['contentType', a.contentType],
      ['lang', a.lang],
      ['par', a.par],
      ['maxWidth', a.maxWidth],
      ['maxHeight', a.maxHeight],
      ['maxFrameRate', a.maxFrameRate],
      ['segmentAlignment', a.segmentAlignment],
      ['subsegmentAlignment', a.subsegmentAlignment],
      ['mimeType', a.mimeType],
      ['startWithSAP', a.startWithSAP],
      ['subsegmentStartsWithSAP', a.subsegmentStartsWithSAP],
    ],
    children,
    indent,
  );
}

/** The MPD as XML (UTF-8, one element per line). */
export function writeMpd(mpd: Mpd): string {
  const periods = mpd.periods.map((p) =>
    tag(
      'Period',
      [
        ['id', p.id],
        ['start', isoDuration(p.start)],
      ],
      p.adaptationSets.map((a) => adaptationSet(a, '    ')),
      '  ',
    ),
  );
  const root = tag(
    'MPD',
    [
      ['xmlns', MPD_NAMESPACE],
      ['profiles', mpd.profiles.join(',')],
      ['type', 'static'],
      ['mediaPresentationDuration', isoDuration(mpd.mediaPresentationDuration)],
      ['maxSegmentDuration', isoDuration(mpd.maxSegmentDuration)],
      ['minBufferTime', isoDuration(mpd.minBufferTime)],
    ],
    periods,
    '',
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`;
}

/**
 * The S elements of a timeline from each segment's start and duration (ticks): runs of equal
 * durations become one S with @r; @t is written on the first and wherever a segment does not start
 * where the one before it ended.
 */
export function timelineEntries(segments: readonly { start: number; duration: number }[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let end: number | null = null;
  for (const s of segments) {
    const last = out.at(-1);
    const contiguous = end === s.start;
    if (last && contiguous && last.d === s.duration) last.r = (last.r ?? 0) + 1;
    else out.push({ ...(contiguous ? {} : { t: s.start }), d: s.duration });
    end = s.start + s.duration;
  }
  return out;
}
