import { StreamkitError } from '../errors.js';
import type { Manifest } from '../package/manifest.js';
import type { PackageState } from './current.js';

/**
 * What a job does with its destination, from what is there (current.ts) and whether the job is
 * forced (batch --force, queue add --force):
 *
 * | there    | not forced                      | forced                 |
 * | absent   | create                          | create                 |
 * | current  | skip                            | replace                |
 * | outdated | replace (the reason is why)     | replace                |
 * | foreign  | refuse (OUTPUT_EXISTS, exit 2)  | replace                |
 *
 * Replacing is always atomic (the old folder stays until the new package is complete).
 */
export type DestinationDecision =
  | { action: 'skip'; reason: string; manifest: Manifest }
  | { action: 'create'; why: string }
  | { action: 'replace'; why: string }
  | { action: 'refuse'; error: StreamkitError };

export function decideDestination(dest: string, there: PackageState, force: boolean): DestinationDecision {
  switch (there.state) {
    case 'absent':
      return { action: 'create', why: 'new' };
    case 'current':
      return force ? { action: 'replace', why: 'forced (--force)' } : { action: 'skip', reason: `up to date (made ${there.manifest.createdAt})`, manifest: there.manifest };
    case 'outdated':
      return { action: 'replace', why: force ? 'forced (--force)' : there.reason };
    case 'foreign':
      if (force) return { action: 'replace', why: `forced (--force): replacing a folder that is not a streamkit package (${there.reason})` };
      return {
        action: 'refuse',
        error: new StreamkitError('OUTPUT_EXISTS', `Output ${dest} exists and is not a streamkit package (${there.reason}).`, {
          hint: 'Choose another output, remove it, or use --force to replace it (the old folder stays until the new package is complete).',
          details: { output: dest, reason: there.reason },
        }),
      };
  }
}
