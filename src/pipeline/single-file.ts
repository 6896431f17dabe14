import type { HlsPackage } from '../package/hls.js';
import { toSingleFiles, type SingleFileIndex } from '../package/single-file.js';
import type { JobContext } from './context.js';
import type { Encoded } from './encode.js';

/**
 * Stage 5c (packaging.hls.layout: single-file; after every check on the segments): each rendition's
 * init and media segments become one file indexed by a sidx, and its playlists address it by byte
 * ranges (package/single-file.ts). Null with the default layout.
 */
export async function layoutSingleFiles(ctx: JobContext, encoded: Encoded, pkg: HlsPackage | null): Promise<Map<string, SingleFileIndex> | null> {
  if (encoded.plan.hls?.layout !== 'single-file' || !pkg) return null;
  return toSingleFiles(ctx.workDir, pkg.measured);
}
