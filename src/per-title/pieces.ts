import { isAbsolute, join } from 'node:path';
import { writeMediaPlaylist, type MediaPlaylist } from '../package/playlist.js';

/**
 * One sample of an encoded rendition as a playlist of its own: the segments that cover the sample
 * (by their EXTINF durations from the start of the title, where the first segment starts), with
 * absolute URIs, and how far the sample starts into the first of them. Pure. Decoding that playlist
 * whole and trimming `skip` seconds gives exactly the sample's frames, without trusting the HLS
 * demuxer to seek.
 */
export function samplePlaylist(playlist: MediaPlaylist, dir: string, sample: { start: number; duration: number }): { text: string; skip: number } {
  const abs = (uri: string): string => (isAbsolute(uri) ? uri : join(dir, uri));
  let t = 0;
  let first = -1;
  let last = -1;
  let firstStart = 0;
  const end = sample.start + sample.duration;
  playlist.segments.forEach((s, i) => {
    const from = t;
    const to = t + s.duration;
    t = to;
    // a sample that starts on a segment boundary (within a millisecond) starts in the later segment
    if (first < 0 && sample.start < to - 1e-3) {
      first = i;
      firstStart = from;
    }
    if (first >= 0 && last < 0 && end <= to + 1e-3) last = i;
  });
  if (first < 0) throw new Error(`the sample at ${sample.start} s lies after the rendition's end (${t.toFixed(3)} s)`);
  if (last < 0) last = playlist.segments.length - 1;
  const segments = playlist.segments.slice(first, last + 1).map((s) => ({ ...s, uri: abs(s.uri) }));
  return { text: writeMediaPlaylist({ segments, mapUri: playlist.mapUri ? abs(playlist.mapUri) : null }), skip: Math.max(0, sample.start - firstStart) };
}
