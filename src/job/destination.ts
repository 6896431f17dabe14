import { StreamkitError } from '../errors.js';
import type { Manifest } from '../package/manifest.js';
import type { PackageState } from './current.js';

/**
 * What a job does with its destination, from what is there (current.ts) and whether the job is
 * forced (batch --force, queue add --force, transcode --force); batch and the queue `update`:
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

/**
 * What to do with a destination that holds something: `update` (batch, queue: the table above) or
 * `refuse` (`streamkit transcode`: anything there is refused unless forced, as `cp` without -f).
 */
export type ExistingOutput = 'update' | 'refuse';

export function decideDestination(dest: string, there: PackageState, force: boolean, existing: ExistingOutput = 'update'): DestinationDecision {
  if (existing === 'refuse' && there.state !== 'absent') {
    if (force) return { action: 'replace', why: 'forced (--force)' };
    return {
      action: 'refuse',
      error: new StreamkitError('OUTPUT_EXISTS', `Output ${dest} already exists.`, {
        hint: 'Use --force to replace it (the old package stays until the new one is complete), or choose another --output.',
        details: { output: dest },
      }),
    };
  }
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
