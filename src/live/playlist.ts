import { targetDuration } from '../package/playlist.js';

/**
 * A live media playlist (RFC 8216 section 6.2.2), pure. The window holds the newest segments;
 * EXT-X-MEDIA-SEQUENCE is the sequence number of its first segment (it only grows), and
 * EXT-X-DISCONTINUITY-SEQUENCE counts the discontinuities of the segments that already left the
 * window, so a player that reloads keeps its timeline across a publisher's reconnect. Every segment
 * carries its EXT-X-PROGRAM-DATE-TIME; a segment that starts a new publisher session carries
 * EXT-X-DISCONTINUITY. `ended`: the event is over (EXT-X-ENDLIST), the playlist stays as VOD-like.
 */
export interface LiveSegment {
  /** media sequence number */
  seq: number;
  uri: string;
  duration: number;
  /** wall-clock time of the segment's first frame, ms since the epoch */
  programDateTime: number;
  /** first segment of a publisher session after an earlier one */
  discontinuity: boolean;
}

export interface LiveMediaPlaylist {
  segments: readonly LiveSegment[];
  /** discontinuities of segments no longer listed */
  discontinuitySequence: number;
  /** the configured segment duration: the target duration is never below it, so it does not change as segments come */
  segmentDuration: number;
  ended: boolean;
  /** every segment is kept (no window): EXT-X-PLAYLIST-TYPE:EVENT */
  event: boolean;
}

export function writeLiveMediaPlaylist(p: LiveMediaPlaylist): string {
  const first = p.segments[0];
  const out = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${targetDuration([p.segmentDuration, ...p.segments.map((s) => s.duration)])}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.seq ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`,
    ...(p.event ? ['#EXT-X-PLAYLIST-TYPE:EVENT'] : []),
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  for (const s of p.segments) {
    // a listed segment keeps its tag; the sequence counts only the tags of segments removed (RFC 8216 6.2.2)
    if (s.discontinuity) out.push('#EXT-X-DISCONTINUITY');
    out.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`, `#EXTINF:${s.duration.toFixed(6)},`, s.uri);
  }
  if (p.ended) out.push('#EXT-X-ENDLIST');
  out.push('');
  return out.join('\n');
}
