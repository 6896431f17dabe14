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

type DiskCache = { version: number; entries: Record<string, Capabilities>; facts?: Record<string, unknown> };

async function readDisk(file: string): Promise<DiskCache> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as DiskCache;
    if (parsed.version === CACHE_VERSION && typeof parsed.entries === 'object') return parsed;
  } catch {
    /* no cache yet, or unreadable: probe again */
  }
  return { version: CACHE_VERSION, entries: {} };
}

/**
 * The cache as this process last read or wrote it, by file: a job looks things up in it several
 * times (the capabilities, ffprobe's demuxers, a remembered NVENC trial), and it is read and parsed
 * once. What another process adds meanwhile is only missed (and computed again), never wrong: every
 * entry is keyed by its binary's path, size and mtime.
 */
const lookups = new Map<string, Promise<DiskCache>>();

function lookupDisk(): Promise<DiskCache> {
  const file = cacheFile();
  let disk = lookups.get(file);
  if (!disk) {
    disk = readDisk(file);
    lookups.set(file, disk);
  }
  return disk;
}

/** Read-modify-write from the file itself (other processes may have added entries), then keep what was written for lookups. */
async function writeDisk(update: (disk: DiskCache) => void): Promise<void> {
  const file = cacheFile();
  try {
    const disk = await readDisk(file);
    update(disk);
    await mkdir(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(disk));
    await rename(tmp, file);
    lookups.set(file, Promise.resolve(disk));
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
  const disk = (await lookupDisk()).entries[key];
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
  await writeDisk((disk) => {
    disk.entries[key] = caps;
  });
  return caps;
}

/** path|size|mtime: a replaced or updated binary gets a new key. */
async function binaryKey(binary: string): Promise<string | null> {
  try {
    const st = await stat(binary);
    return `${binary}|${st.size}|${st.mtimeMs}`;
  } catch {
    return null;
  }
}

/** A fact kept on disk about `binary` (cachedBinaryFact), as long as the binary is unchanged; undefined when none. */
export async function recallBinaryFact<T>(binary: string, fact: string): Promise<T | undefined> {
  const key = await binaryKey(binary);
  return key ? ((await lookupDisk()).facts?.[`${fact}|${key}`] as T | undefined) : undefined;
}

/** Keep a fact about `binary` on disk, under its path, size and mtime (a cache that cannot be written is no error). */
export async function rememberBinaryFact(binary: string, fact: string, value: unknown): Promise<void> {
  const key = await binaryKey(binary);
  if (!key) return;
  await writeDisk((disk) => {
    disk.facts = { ...disk.facts, [`${fact}|${key}`]: value };
  });
}

const facts = new Map<string, Promise<unknown>>();

/**
 * Something asked of a binary that only changes with the binary (ffprobe's demuxer list, say):
 * computed once, then kept in memory and in the same disk cache as the capabilities, under the
 * binary's path, size and mtime. A failed computation is not kept.
 */
export function cachedBinaryFact<T>(binary: string, fact: string, compute: () => Promise<T>): Promise<T> {
  const mem = `${fact}|${binary}`;
  let p = facts.get(mem) as Promise<T> | undefined;
  if (!p) {
    p = (async () => {
      const hit = await recallBinaryFact<T>(binary, fact);
      if (hit !== undefined) return hit;
      const value = await compute();
      await rememberBinaryFact(binary, fact, value);
      return value;
    })();
    p.catch(() => facts.delete(mem));
    facts.set(mem, p);
  }
  return p;
}

export function hasEncoder(caps: Capabilities, name: string): boolean {
  return caps.encoders.some((e) => e.name === name);
}

/** Is this ffmpeg at least major.minor? Git builds (no numeric version) are assumed recent. */
export function versionAtLeast(caps: Pick<Capabilities, 'version'>, major: number, minor = 0): boolean {
  const v = caps.version;
  if (v.major === null) return true;
  return v.major > major || (v.major === major && (v.minor ?? 0) >= minor);
}

/** The option that sets how frames are timed at an output: `-fps_mode` from ffmpeg 5.1, `-vsync` before. */
export function fpsModeOption(caps: Pick<Capabilities, 'version'>): '-fps_mode' | '-vsync' {
  return versionAtLeast(caps, 5, 1) ? '-fps_mode' : '-vsync';
}
