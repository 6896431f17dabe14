import { probeCapabilities, type Capabilities } from '../ffmpeg/capabilities.js';
import { locateFfmpeg, locateFfprobe, type LocatedBinary } from '../ffmpeg/locate.js';

/** The ffmpeg and ffprobe a job runs, and what that ffmpeg can do. */
export interface Toolchain {
  ffmpeg: LocatedBinary;
  ffprobe: LocatedBinary;
  caps: Capabilities;
}

/** Stage 1: find ffmpeg and ffprobe (--ffmpeg, STREAMKIT_FFMPEG, PATH, ffmpeg-static) and ask ffmpeg what it can do. */
export async function resolveToolchain(options: { ffmpeg?: string | undefined; ffprobe?: string | undefined } = {}): Promise<Toolchain> {
  const ffmpeg = await locateFfmpeg(options);
  const ffprobe = await locateFfprobe(ffmpeg, options);
  const caps = await probeCapabilities(ffmpeg.path);
  return { ffmpeg, ffprobe, caps };
}
