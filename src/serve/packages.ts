/**
 * The packages under the served folder: every folder holding a `master.m3u8` (the folder itself may
 * be one), found a few levels deep without following symlinks or entering hidden folders, with what
 * the index and player pages show about each: its preset (streamkit.json), rungs and audio/subtitle
 * renditions (master.m3u8), duration (the first rung's playlist), and the optional companions
 * (`manifest.mpd`, `poster.jpg`, `thumbnails.vtt`).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadManifest } from '../package/manifest.js';
import { parseMasterPlaylist, parseMediaPlaylist } from '../package/playlist.js';

/** How deep under the served folder packages are looked for (pkgs/show/season/episode). */
const MAX_DEPTH = 4;
/** Folders looked into at most, so that serving a huge tree by mistake does not stall the index. */
const MAX_FOLDERS = 2000;

export interface Rung {
  resolution: string | null;
  bandwidth: number | null;
  codecs: string | null;
}

export interface PackageInfo {
  /** path segments below the served folder; [] when the folder itself is the package */
  path: string[];
  name: string;
  preset: string | null;
  /** why streamkit.json was not used, when it is missing or invalid */
  manifestNote: string | null;
  createdAt: string | null;
  rungs: Rung[];
  audio: { name: string; language: string | null }[];
  subtitles: { name: string; language: string | null }[];
  durationSeconds: number | null;
  mpd: boolean;
  poster: boolean;
  thumbnails: boolean;
}

const hidden = (name: string): boolean => name.startsWith('.');

/** Package folders under `root` (real path), depth first, sorted by path. */
async function findPackages(root: string): Promise<string[][]> {
  const found: string[][] = [];
  let visited = 0;
  const walk = async (segments: string[]): Promise<void> => {
    if (++visited > MAX_FOLDERS) return;
    const dir = join(root, ...segments);
    if (existsSync(join(dir, 'master.m3u8'))) {
      found.push(segments);
      return;
    }
    if (segments.length >= MAX_DEPTH) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = entries
      .filter((e) => e.isDirectory() && !hidden(e.name) && e.name !== 'node_modules')
      .map((e) => e.name)
      .sort();
    for (const name of names) await walk([...segments, name]);
  };
  await walk([]);
  return found;
}

/** What the pages show about the package at `segments` under `root`; null when it is not a package. */
export async function describePackage(root: string, segments: string[]): Promise<PackageInfo | null> {
  const dir = join(root, ...segments);
  let masterText: string;
  try {
    masterText = await readFile(join(dir, 'master.m3u8'), 'utf8');
  } catch {
    return null;
  }
  let master: ReturnType<typeof parseMasterPlaylist> | null = null;
  try {
    master = parseMasterPlaylist(masterText);
  } catch {
    master = null;
  }
  const manifest = await loadManifest(dir);
  const rungs: Rung[] = (master?.variants ?? []).map((v) => ({
    resolution: v.attrs['RESOLUTION'] ?? null,
    bandwidth: v.attrs['BANDWIDTH'] ? Number(v.attrs['BANDWIDTH']) : null,
    codecs: v.attrs['CODECS'] ?? null,
  }));
  const media = (type: string): { name: string; language: string | null }[] =>
    (master?.media ?? []).filter((m) => m['TYPE'] === type).map((m) => ({ name: m['NAME'] ?? '', language: m['LANGUAGE'] ?? null }));
  let durationSeconds: number | null = null;
  const first = master?.variants[0]?.uri;
  if (first && !first.includes('..') && !/^[a-z]+:/i.test(first)) {
    try {
      const p = parseMediaPlaylist(await readFile(join(dir, first), 'utf8'));
      durationSeconds = p.segments.reduce((s, x) => s + x.duration, 0);
    } catch {
      durationSeconds = null;
    }
  }
  return {
    path: segments,
    name: segments.length > 0 ? segments.join('/') : (dir.split('/').pop() ?? 'package'),
    preset: manifest.status === 'valid' ? manifest.manifest.preset.name : null,
    manifestNote: manifest.status === 'valid' ? null : manifest.status === 'missing' ? 'no streamkit.json' : manifest.reason,
    createdAt: manifest.status === 'valid' ? manifest.manifest.createdAt : null,
    rungs,
    audio: media('AUDIO'),
    subtitles: media('SUBTITLES'),
    durationSeconds,
    mpd: existsSync(join(dir, 'manifest.mpd')),
    poster: existsSync(join(dir, 'poster.jpg')),
    thumbnails: existsSync(join(dir, 'thumbnails.vtt')),
  };
}

/** Every package under `root`, described. */
export async function listPackages(root: string): Promise<PackageInfo[]> {
  const out: PackageInfo[] = [];
  for (const segments of await findPackages(root)) {
    const info = await describePackage(root, segments);
    if (info) out.push(info);
  }
  return out;
}
