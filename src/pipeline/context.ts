import type { TranscodeEvent } from '../events.js';

/** What every stage after planning works with: where it writes, how it reports, when to stop. */
export interface JobContext {
  /** the input as the user gave it (for messages) */
  input: string;
  /** the staging folder: ffmpeg's working folder, the package until it is moved into place */
  workDir: string;
  emit: (event: TranscodeEvent) => void;
  signal?: AbortSignal | undefined;
}
