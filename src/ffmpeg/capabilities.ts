import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StreamkitError } from '../errors.js';
import { parseEncoders, parseFilters, parseHwaccels, parseMuxers, parseVersion, type EncoderEntry, type VersionInfo } from './capabilities-parse.js';
import { runCapture } from './run.js';

/** What one ffmpeg binary can do, asked of the binary itself. */
export interface Capabilities {
  path: string;
  version: VersionInfo;
  encoders: EncoderEntry[];
  muxers: string[];
  filters: string[];
  hwaccels: string[];
}

const CACHE_VERSION = 1;
const memory = new Map<string, Capabilities>();

function cacheFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'streamkit', 'capabilities.json');
}

type DiskCache = { version: number; entries: Record<string, Capabilities> };

async function readDisk(): Promise<DiskCache> {
  try {
    const parsed = JSON.parse(await readFile(cacheFile(), 'utf8')) as DiskCache;
    if (parsed.version === CACHE_VERSION && typeof parsed.entries === 'object') return parsed;
  } catch {
    /* no cache yet, or unreadable: probe again */
  }
  return { version: CACHE_VERSION, entries: {} };
}

async function writeDisk(key: string, caps: Capabilities): Promise<void> {
  try {
    const disk = await readDisk();
    disk.entries[key] = caps;
    const file = cacheFile();
    await mkdir(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(disk));
    await rename(tmp, file);
  } catch {
    /* a cache that cannot be written only costs a re-probe */
  }
}

/**
 * Probe an ffmpeg binary once: version, encoders, muxers, filters, hwaccels. Cached in memory and on
 * disk (~/.cache/streamkit) by path, size and mtime, so a replaced binary is probed again.
 */
export async function probeCapabilities(ffmpeg: string): Promise<Capabilities> {
  let key: string;
  try {
    const st = await stat(ffmpeg);
    key = `${ffmpeg}|${st.size}|${st.mtimeMs}`;
  } catch (error) {
    throw new StreamkitError('FFMPEG_NOT_FOUND', `Cannot read ${ffmpeg}.`, { cause: error, details: { binary: ffmpeg } });
  }
  const cached = memory.get(key);
  if (cached) return cached;
  const disk = (await readDisk()).entries[key];
  if (disk) {
    memory.set(key, disk);
    return disk;
  }
  const ask = async (flag: string): Promise<string> => {
    const r = await runCapture(ffmpeg, ['-hide_banner', flag], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) {
      throw new StreamkitError('FFMPEG_NOT_FOUND', `${ffmpeg} ${flag} failed with exit code ${r.exitCode}: is it really ffmpeg?`, {
        details: { binary: ffmpeg, stderrTail: r.stderr.split('\n').slice(-10) },
      });
    }
    return r.stdout;
  };
  const [versionText, encodersText, muxersText, filtersText, hwaccelsText] = await Promise.all([
    ask('-version'),
    ask('-encoders'),
    ask('-muxers'),
    ask('-filters'),
    ask('-hwaccels'),
  ]);
  const caps: Capabilities = {
    path: ffmpeg,
    version: parseVersion(versionText),
    encoders: parseEncoders(encodersText),
    muxers: parseMuxers(muxersText),
    filters: parseFilters(filtersText),
    hwaccels: parseHwaccels(hwaccelsText),
  };
  memory.set(key, caps);
  await writeDisk(key, caps);
  return caps;
}

export function hasEncoder(caps: Capabilities, name: string): boolean {
  return caps.encoders.some((e) => e.name === name);
}

export function describeVersion(caps: Capabilities): string {
  return caps.version.raw || 'unknown version';
}

/** Is this ffmpeg at least major.minor? Git builds (no numeric version) are assumed recent. */
export function versionAtLeast(caps: Pick<Capabilities, 'version'>, major: number, minor = 0): boolean {
  const v = caps.version;
  if (v.major === null) return true;
  return v.major > major || (v.major === major && (v.minor ?? 0) >= minor);
}
