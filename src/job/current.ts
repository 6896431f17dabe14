import { stat } from 'node:fs/promises';
import { StreamkitError } from '../errors.js';
import { checkManifestCurrent, loadManifest, MANIFEST_NAME, type Manifest } from '../package/manifest.js';

/**
 * What is at a job's destination, judged against the job's key:
 * - absent: nothing there;
 * - current: a streamkit package of this very job (streamkit.json with the same key, every file
 *   there at its recorded size) -- the job is done;
 * - outdated: a streamkit package, but of other work (input, preset or options changed) or with
 *   files missing or changed -- streamkit may replace it;
 * - foreign: something that is not a streamkit package: a file, a folder without streamkit.json, or
 *   one whose streamkit.json is broken or of another manifest version -- not streamkit's to replace
 *   unless forced.
 */
export type PackageState =
  | { state: 'absent' }
  | { state: 'current'; manifest: Manifest }
  | { state: 'outdated'; reason: string; manifest: Manifest }
  | { state: 'foreign'; reason: string };

export async function packageState(dest: string, key: string): Promise<PackageState> {
  const st = await stat(dest).catch((error: NodeJS.ErrnoException) => {
    // ENOTDIR: a file is where a parent folder should be; nothing can be at dest (writing it fails later, with its own error)
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
    throw new StreamkitError('OUTPUT_UNWRITABLE', `Cannot look at the output ${dest}: ${error.code ?? error.message}.`, {
      hint: 'Choose another output, or fix the permissions of its folder.',
      details: { output: dest },
      cause: error,
    });
  });
  if (st === null) return { state: 'absent' };
  if (!st.isDirectory()) return { state: 'foreign', reason: 'it is a file, not a folder' };
  const read = await loadManifest(dest);
  if (read.status === 'missing') return { state: 'foreign', reason: `no ${MANIFEST_NAME}` };
  if (read.status === 'invalid') return { state: 'foreign', reason: read.reason };
  const check = await checkManifestCurrent(dest, read.manifest, key);
  return check.current ? { state: 'current', manifest: read.manifest } : { state: 'outdated', reason: check.reason, manifest: read.manifest };
}

/** Total size of a package's files, from its manifest. */
export function packageSize(manifest: Manifest): number {
  return manifest.outputs.reduce((a, o) => a + o.size, 0);
}
