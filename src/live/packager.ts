import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectTsSegment, type TsInspection } from '../package/inspect.js';
import { parseMediaPlaylist, writeMasterPlaylist, type VariantStream } from '../package/playlist.js';
import { AUDIO_GROUP } from '../plan.js';
import { liveRenditions } from './command.js';
import type { LivePlan } from './plan.js';
import { writeLiveMediaPlaylist, type LiveSegment } from './playlist.js';

/**
 * streamkit's live packager: ffmpeg writes each publisher session's segments into a session folder
 * (`.live/sNNNN/<rendition>/seg_NNNNN.ts`, with its own playlists there); this module takes every
 * segment ffmpeg has finished (listed in ffmpeg's playlist: complete, renamed from .tmp), checks it
 * (a video segment must start with a keyframe, at the same time in every rung), renames it into the
 * rendition folder under the package's continuous numbering, and writes every playlist itself:
 *
 * - media playlists: a sliding window, a media sequence that only grows, EXT-X-PROGRAM-DATE-TIME on
 *   every segment, EXT-X-DISCONTINUITY on the first segment of each publisher session after the first,
 *   EXT-X-DISCONTINUITY-SEQUENCE for the ones that left the window;
 * - the master playlist: CODECS read from the segments' bitstream (SPS, ADTS), BANDWIDTH the peak
 *   of every segment listed so far (video + audio), AVERAGE-BANDWIDTH the mean; rewritten whenever a
 *   peak rises, so BANDWIDTH is never below a segment a player can fetch.
 *
 * Video segments of the same number are published together in every rung: a rung never runs ahead
 * of the others. A segment that left the window is deleted once `deleteAfterSeconds` more have
 * passed (a player that loaded the previous playlist may still fetch it). Every playlist is written
 * to a temporary file and renamed over the old one: a player or CDN never reads half a playlist.
 */

export type PublishedSequence = {
  seq: number;
  duration: number;
  programDateTime: number;
  discontinuity: boolean;
  /** bit/s of this segment, by rendition (video rungs, and `audio`) */
  bitrates: Record<string, number>;
};

export interface PackagerEvents {
  /** a video segment number published in every rung, once the playlists list it */
  onSequence?: (s: PublishedSequence) => void;
  onWarning?: (message: string) => void;
  /** the master playlist was written first, or rewritten with a higher BANDWIDTH or other CODECS */
  onMaster?: (variants: { name: string; bandwidth: number; averageBandwidth: number; codecs: string[] }[]) => void;
}

interface Listed extends LiveSegment {
  file: string;
  bytes: number;
}

interface RenditionState {
  name: string;
  kind: 'video' | 'audio';
  width: number;
  height: number;
  /** published segments still listed (the window) */
  listed: Listed[];
  nextSeq: number;
  discontinuitySequence: number;
  /** peak and totals over every segment published */
  peak: number;
  totalBytes: number;
  totalSeconds: number;
  codecs: string[] | null;
  /** this session: ffmpeg's segments taken, seconds published (for PDT) */
  taken: number;
  sessionSeconds: number;
  /** a session has published into this rendition before: the next session starts with a discontinuity */
  published: boolean;
  sessionStarted: boolean;
  /** what the playlist was last written as (skip identical rewrites) */
  written: string;
}

export interface LivePackagerOptions {
  /** segments listed in each media playlist; 0: every segment (an EVENT playlist, nothing deleted) */
  window: number;
  deleteAfterSeconds: number;
  /** names segments uniquely per run, so a CDN that cached an earlier run's segment never serves it for this one */
  runId: string;
  now?: () => number;
}

const SESSIONS_DIR = '.live';
const PLAYLIST = 'index.m3u8';
const MASTER = 'master.m3u8';

/** Write a file so that a reader sees the old content or the new, never a part: temporary file + rename. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const tmp = `${dir}.${path.slice(dir.length)}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export class LivePackager {
  private readonly renditions: RenditionState[];
  private readonly now: () => number;
  private session = 0;
  private sessionDir: string | null = null;
  /** wall-clock ms of the session's media time 0 (see noteProgress) */
  private anchor: number | null = null;
  /** the anchor the session's first segment was dated with: later segments follow it by their durations */
  private sessionAnchor: number | null = null;
  private sessionsPublished = 0;
  private readonly retired: { path: string; at: number }[] = [];
  private masterWritten = '';
  private masterSaid = '';
  private ended = false;

  constructor(
    private readonly root: string,
    private readonly plan: LivePlan,
    private readonly options: LivePackagerOptions,
    private readonly events: PackagerEvents = {},
  ) {
    this.now = options.now ?? Date.now;
    this.renditions = liveRenditions(plan).map((r) => {
      const rung = plan.rungs.find((x) => x.name === r.name);
      return {
        name: r.name,
        kind: r.kind,
        width: rung?.width ?? 0,
        height: rung?.height ?? 0,
        listed: [],
        nextSeq: 0,
        discontinuitySequence: 0,
        peak: 0,
        totalBytes: 0,
        totalSeconds: 0,
        codecs: null,
        taken: 0,
        sessionSeconds: 0,
        published: false,
        sessionStarted: false,
        written: '',
      };
    });
  }

  async init(): Promise<void> {
    await rm(join(this.root, SESSIONS_DIR), { recursive: true, force: true });
    for (const r of this.renditions) await mkdir(join(this.root, r.name), { recursive: true });
  }

  /** A new publisher session: ffmpeg will write into the returned folder (relative to the root). */
  async startSession(): Promise<string> {
    this.session++;
    this.sessionDir = `${SESSIONS_DIR}/s${String(this.session).padStart(4, '0')}`;
    await mkdir(join(this.root, this.sessionDir), { recursive: true });
    this.anchor = null;
    this.sessionAnchor = null;
    for (const r of this.renditions) {
      r.taken = 0;
      r.sessionSeconds = 0;
      r.sessionStarted = false;
    }
    return this.sessionDir;
  }

  /**
   * ffmpeg's progress: `outTimeSeconds` of media encoded at this moment. The session's media time 0
   * is taken as the earliest `now - outTime` seen (later reports only add the encoder's delay).
   */
  noteProgress(outTimeSeconds: number | null): void {
    if (outTimeSeconds === null || outTimeSeconds <= 0) return;
    const t = this.now() - outTimeSeconds * 1000;
    this.anchor = this.anchor === null ? t : Math.min(this.anchor, t);
  }

  /**
   * The wall-clock ms at which the publisher's media started to arrive (RTMP: the publish was let
   * through). Media time 0 of the session cannot be later than this.
   */
  noteIngestStart(ms: number): void {
    this.anchor = this.anchor === null ? ms : Math.min(this.anchor, ms);
  }

  /** Seconds the encode (at `mediaSeconds`) is behind the publisher's media as it arrived, or null before the first estimate. */
  behind(mediaSeconds: number): number | null {
    const anchor = this.sessionAnchor ?? this.anchor;
    return anchor === null ? null : Math.max(0, (this.now() - anchor) / 1000 - mediaSeconds);
  }

  /** Did the current session publish any segment? */
  sessionPublished(): boolean {
    return this.renditions.some((r) => r.sessionStarted);
  }

  /** Latest segment bit rate per video rung (for the progress line). */
  lastBitrates(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const r of this.renditions) {
      const last = r.listed[r.listed.length - 1];
      out[r.name] = last ? (last.bytes * 8) / last.duration : null;
    }
    return out;
  }

  /** The newest segment's end as wall-clock ms (the live edge), or null before the first. */
  liveEdge(): number | null {
    const r = this.renditions[0]!;
    const last = r.listed[r.listed.length - 1];
    return last ? last.programDateTime + last.duration * 1000 : null;
  }

  /** Take what ffmpeg has finished in the current session; `final`: ffmpeg has exited, take all. */
  async collect(final = false): Promise<void> {
    if (this.sessionDir === null) return;
    const lists = new Map<string, { uri: string; duration: number }[]>();
    for (const r of this.renditions) {
      try {
        lists.set(r.name, parseMediaPlaylist(await readFile(join(this.root, this.sessionDir, r.name, PLAYLIST), 'utf8')).segments);
      } catch {
        lists.set(r.name, []);
      }
    }
    const video = this.renditions.filter((r) => r.kind === 'video');
    const ready = Math.min(...video.map((r) => lists.get(r.name)!.length));
    if (final) {
      const most = Math.max(...video.map((r) => lists.get(r.name)!.length));
      if (most > ready) this.events.onWarning?.(`the last ${most - ready} segment(s) of the session were not written in every rung; left out so that the rungs stay aligned`);
    }
    const start = video[0]!.taken;
    // told once they are listed: after the playlists are written
    const published: PublishedSequence[] = [];
    for (let i = start; i < ready; i++) {
      // every rung's segment is read first: a segment number is published in all rungs or in none,
      // so the rungs keep the same numbering
      const reads = [];
      for (const r of video) reads.push(await this.read(r, lists.get(r.name)![i]!));
      if (reads.some((x) => x === null)) {
        this.events.onWarning?.(`segment ${i} of session ${this.session} left out of every rung, so that the rungs stay aligned`);
        continue;
      }
      const inspections: { r: RenditionState; seg: Listed; insp: TsInspection }[] = [];
      for (const [k, r] of video.entries()) inspections.push({ r, ...(await this.take(r, lists.get(r.name)![i]!, reads[k]!.buf, reads[k]!.insp)) });
      const [first] = inspections;
      if (!first) continue;
      for (const x of inspections) {
        if (!x.insp.startsWithKeyframe) this.events.onWarning?.(`segment ${x.seg.seq} of ${x.r.name} does not start with a keyframe`);
        if (x.insp.firstPts !== null && first.insp.firstPts !== null && Math.abs(x.insp.firstPts - first.insp.firstPts) > 0.001)
          this.events.onWarning?.(`segment ${x.seg.seq} starts at ${x.insp.firstPts.toFixed(3)} s in ${x.r.name} but at ${first.insp.firstPts.toFixed(3)} s in ${first.r.name}`);
      }
      const audio = this.renditions.find((r) => r.kind === 'audio');
      const bitrates: Record<string, number> = {};
      for (const x of inspections) bitrates[x.r.name] = (x.seg.bytes * 8) / x.seg.duration;
      const a = audio?.listed[audio.listed.length - 1];
      if (a) bitrates['audio'] = (a.bytes * 8) / a.duration;
      published.push({ seq: first.seg.seq, duration: first.seg.duration, programDateTime: first.seg.programDateTime, discontinuity: first.seg.discontinuity, bitrates });
    }
    for (const r of this.renditions.filter((x) => x.kind === 'audio')) {
      const list = lists.get(r.name)!;
      for (let i = r.taken; i < list.length; i++) {
        const got = await this.read(r, list[i]!);
        if (got) await this.take(r, list[i]!, got.buf, got.insp);
      }
    }
    await this.writePlaylists();
    for (const p of published) this.events.onSequence?.(p);
    await this.deleteExpired();
  }

  /** Check one of ffmpeg's finished segments and move it into the package. */
  /** Read and inspect one of ffmpeg's finished segments; null (with a warning) when it is not MPEG-TS. */
  private async read(r: RenditionState, entry: { uri: string; duration: number }): Promise<{ buf: Buffer; insp: TsInspection } | null> {
    r.taken++;
    try {
      const buf = await readFile(join(this.root, this.sessionDir!, r.name, entry.uri));
      return { buf, insp: inspectTsSegment(buf) };
    } catch (error) {
      this.events.onWarning?.(`segment ${entry.uri} of ${r.name} could not be read as MPEG-TS (${(error as Error).message}); left out`);
      return null;
    }
  }

  /** Move a checked segment into the package under the next number and list it. */
  private async take(r: RenditionState, entry: { uri: string; duration: number }, buf: Buffer, insp: TsInspection): Promise<{ seg: Listed; insp: TsInspection }> {
    const from = join(this.root, this.sessionDir!, r.name, entry.uri);
    const seq = r.nextSeq++;
    const file = `seg_${this.options.runId}_${String(seq).padStart(6, '0')}.ts`;
    await rename(from, join(this.root, r.name, file));
    // one anchor per session, so that dates follow the durations exactly
    if (this.sessionAnchor === null) {
      // media time 0 came in no later than `now` minus what this segment holds: ffmpeg encodes the
      // first seconds it buffered while probing faster than real time, which makes the progress
      // anchor late at first
      this.sessionAnchor = Math.min(this.anchor ?? Infinity, this.now() - (r.sessionSeconds + entry.duration) * 1000);
      this.sessionsPublished++;
    }
    const anchor = this.sessionAnchor;
    const seg: Listed = {
      seq,
      uri: file,
      file,
      duration: entry.duration,
      bytes: buf.length,
      programDateTime: Math.round(anchor + r.sessionSeconds * 1000),
      discontinuity: r.published && !r.sessionStarted,
    };
    r.sessionStarted = true;
    r.published = true;
    r.sessionSeconds += entry.duration;
    r.codecs ??= insp.codecs;
    const bitrate = (buf.length * 8) / Math.max(entry.duration, 0.001);
    r.peak = Math.max(r.peak, bitrate);
    r.totalBytes += buf.length;
    r.totalSeconds += entry.duration;
    r.listed.push(seg);
    const window = this.options.window;
    while (window > 0 && r.listed.length > window) {
      const gone = r.listed.shift()!;
      if (gone.discontinuity) r.discontinuitySequence++;
      this.retired.push({ path: join(this.root, r.name, gone.file), at: this.now() + this.options.deleteAfterSeconds * 1000 });
    }
    return { seg, insp };
  }

  private async writePlaylists(): Promise<void> {
    for (const r of this.renditions) {
      if (r.listed.length === 0) continue;
      const text = writeLiveMediaPlaylist({
        segments: r.listed,
        discontinuitySequence: r.discontinuitySequence,
        segmentDuration: this.plan.segmentDuration,
        ended: this.ended,
        event: this.options.window === 0,
      });
      if (text === r.written) continue;
      await writeAtomic(join(this.root, r.name, PLAYLIST), text);
      r.written = text;
    }
    await this.writeMaster();
  }

  private async writeMaster(): Promise<void> {
    // every rendition has a segment: only then can CODECS and BANDWIDTH be said for all of them
    if (this.renditions.some((r) => r.codecs === null)) return;
    const audio = this.renditions.find((r) => r.kind === 'audio');
    const audioAvg = audio ? (audio.totalBytes * 8) / audio.totalSeconds : 0;
    const variants: (VariantStream & { name: string })[] = this.renditions
      .filter((r) => r.kind === 'video')
      .map((r) => ({
        name: r.name,
        uri: `${r.name}/${PLAYLIST}`,
        bandwidth: Math.ceil(r.peak + (audio?.peak ?? 0)),
        averageBandwidth: Math.ceil((r.totalBytes * 8) / r.totalSeconds + audioAvg),
        codecs: [...new Set([...(r.codecs ?? []), ...(audio?.codecs ?? [])])],
        resolution: { width: r.width, height: r.height },
        frameRate: this.plan.fps,
        audioGroup: audio ? AUDIO_GROUP : null,
      }));
    const text = writeMasterPlaylist({
      version: 3,
      variants,
      iframes: [],
      audio: audio ? [{ groupId: AUDIO_GROUP, name: 'audio', language: null, default: true, channels: this.plan.audio?.channels ?? 2, uri: `audio/${PLAYLIST}` }] : [],
    });
    if (text === this.masterWritten) return;
    await writeAtomic(join(this.root, MASTER), text);
    this.masterWritten = text;
    // told when a peak or the codecs change (the averages move with every segment)
    const said = JSON.stringify(variants.map((v) => [v.bandwidth, v.codecs]));
    if (said === this.masterSaid) return;
    this.masterSaid = said;
    this.events.onMaster?.(variants.map((v) => ({ name: v.name, bandwidth: v.bandwidth, averageBandwidth: v.averageBandwidth, codecs: v.codecs })));
  }

  private async deleteExpired(all = false): Promise<void> {
    const now = this.now();
    while (this.retired.length > 0 && (all || this.retired[0]!.at <= now)) {
      const r = this.retired.shift()!;
      await rm(r.path, { force: true });
    }
  }

  /** The session's ffmpeg has exited: take its last segments, remove its folder. */
  async endSession(): Promise<void> {
    await this.collect(true);
    if (this.sessionDir) await rm(join(this.root, this.sessionDir), { recursive: true, force: true });
    this.sessionDir = null;
  }

  /** The event is over: every playlist gets EXT-X-ENDLIST; segments already out of the window go. */
  async finish(): Promise<void> {
    if (this.sessionDir) await this.endSession();
    this.ended = true;
    await this.writePlaylists();
    await this.deleteExpired(true);
    await rm(join(this.root, SESSIONS_DIR), { recursive: true, force: true });
  }

  /** Segments published so far (per video rung) and the publisher sessions that published any. */
  counts(): { segments: number; sessions: number } {
    return { segments: this.renditions[0]!.nextSeq, sessions: this.sessionsPublished };
  }
}
