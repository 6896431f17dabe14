/**
 * What the integration tests need from the machine, and the one rule for a missing piece.
 *
 * ffmpeg and ffprobe are found the way the product finds them (src/ffmpeg/locate.ts, the same code):
 * STREAMKIT_FFMPEG / STREAMKIT_FFPROBE, then PATH, then ffmpeg-static (then ffprobe beside ffmpeg).
 * The servers and the browser that `.ci/run` installs are looked up on PATH and in their Debian
 * places.
 *
 * A test block that needs something says so with `describe.skipIf(unmet(need.ffmpeg, ...))`. When
 * it is missing:
 * - locally, the block is skipped and one line on stderr names what is missing and how to install it;
 * - under CI (CI set to anything but '' or 'false', as the CLI reads it), a failing test with the same
 *   message is added in its place, so a CI machine without ffmpeg cannot come out green.
 *
 * Skips that are right on every machine (no GPU, no ../shared clips, a codec the browser lacks) go
 * through `skipNoted(reason)` instead: skipped everywhere, with the reason printed.
 */
import { constants, existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { locateFfmpeg, locateFfprobe, type LocatedBinary } from '../../src/ffmpeg/locate.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The CLI's own reading of CI (src/cli/reporter.ts): set, and neither empty nor 'false'. */
const underCi = process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';

export interface Requirement {
  /** what it is, in a few words: 'ffmpeg and ffprobe', 'redis-server' */
  what: string;
  /** null when present; otherwise why it is missing and how to install it, in one line */
  missing: string | null;
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, then in `places` (sbin is often not on a user's PATH). */
async function findExecutable(name: string, places: readonly string[] = []): Promise<string | undefined> {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  for (const candidate of [...dirs.map((d) => join(d, name)), ...places]) if (await executable(candidate)) return candidate;
  return undefined;
}

async function locate(): Promise<{ located: { ffmpeg: LocatedBinary; ffprobe: LocatedBinary } | null; missing: string | null }> {
  try {
    const ffmpeg = await locateFfmpeg();
    const ffprobe = await locateFfprobe(ffmpeg);
    return { located: { ffmpeg, ffprobe }, missing: null };
  } catch (error) {
    const e = error as Error & { hint?: string };
    return { located: null, missing: `${e.message}${e.hint ? ` ${e.hint}` : ''}` };
  }
}

const found = await locate();

/** The ffmpeg and ffprobe the product itself would use here (path, source, reason), or null. */
export const located = found.located;
export const haveFfmpeg = located !== null;
/**
 * Paths of the located binaries. When there are none these are the bare names, which fail with
 * ENOENT if a test runs them anyway; every test that runs them is behind `unmet(need.ffmpeg)`.
 */
export const FFMPEG = located?.ffmpeg.path ?? 'ffmpeg';
export const FFPROBE = located?.ffprobe.path ?? 'ffprobe';

export const NGINX = await findExecutable('nginx', ['/usr/sbin/nginx', '/usr/bin/nginx']);
/** Debian's libnginx-mod-rtmp; push.test.ts loads it with `load_module`. */
export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
export const REDIS = await findExecutable('redis-server', ['/usr/bin/redis-server', '/usr/local/bin/redis-server']);
export const CHROMIUM = await findExecutable('chromium', ['/usr/bin/chromium']);
export const HLS_JS = join(REPO, 'node_modules', 'hls.js', 'dist', 'hls.min.js');
/** dash.js 5.x (the npm package `dashjs`), its UMD build that defines `dashjs` */
export const DASH_JS = join(REPO, 'node_modules', 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js');
/** Shaka Player 5.x, the compiled build that defines `shaka` */
export const SHAKA = join(REPO, 'node_modules', 'shaka-player', 'dist', 'shaka-player.compiled.js');

/** Everything `.ci/run` (or `npm ci`) installs: missing under CI is a failure, not a skip. */
export const need = {
  ffmpeg: { what: 'ffmpeg and ffprobe', missing: found.missing },
  nginxRtmp: {
    what: 'nginx with the RTMP module',
    missing: !NGINX
      ? 'nginx is not installed (Debian: apt-get install nginx libnginx-mod-rtmp).'
      : !existsSync(RTMP_MODULE)
        ? `${RTMP_MODULE} is missing (Debian: apt-get install libnginx-mod-rtmp).`
        : null,
  },
  redis: { what: 'redis-server', missing: REDIS ? null : 'redis-server is not installed (Debian: apt-get install redis-server).' },
  chromium: { what: 'Chromium', missing: CHROMIUM ? null : 'chromium is not on PATH nor at /usr/bin/chromium (Debian: apt-get install chromium).' },
  hlsJs: { what: 'hls.js', missing: existsSync(HLS_JS) ? null : `${HLS_JS} is missing (run npm ci).` },
  dashJs: { what: 'dash.js', missing: existsSync(DASH_JS) ? null : `${DASH_JS} is missing (run npm ci).` },
  shaka: { what: 'Shaka Player', missing: existsSync(SHAKA) ? null : `${SHAKA} is missing (run npm ci).` },
} satisfies Record<string, Requirement>;

/**
 * True when a requirement is missing, so the caller's block is skipped. Locally it also prints what
 * is missing; under CI it also adds a failing test that says the same, where it was called (at the top
 * of the file, or inside the describe that calls it). Call it once per file or block, not per test.
 */
export function unmet(...requirements: Requirement[]): boolean {
  const missing = requirements.filter((r) => r.missing !== null);
  if (missing.length === 0) return false;
  const whats = missing.map((r) => r.what).join(', ');
  const why = missing.map((r) => `${r.what}: ${r.missing}`).join(' / ');
  if (underCi) {
    it(`needs ${whats}`, () => {
      throw new Error(
        `missing ${why} Under CI (CI=${process.env['CI']}) a missing requirement fails instead of skipping the tests that need it; docs/testing.md lists what each test needs.`,
      );
    });
  } else {
    console.warn(`skipped, missing ${why} (Under CI=true this fails instead.)`);
  }
  return true;
}

/** For skips that are right on every machine: true (and the reason printed) when `reason` is a string. */
export function skipNoted(reason: string | false | null | undefined): boolean {
  if (typeof reason !== 'string') return false;
  console.warn(`skipped: ${reason}`);
  return true;
}
