/**
 * A destination on a full (tiny) file system: streamkit refuses up front when the ladder's maxrates
 * over the duration cannot fit, and stops as soon as the disk fills when the size could not be known
 * (a raw stream has no duration), with NO_SPACE (exit 1) and nothing left behind. Needs root to mount
 * a small tmpfs; elsewhere it skips with a message.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cli, ffmpeg, makeSource, need, skipNoted, unmet } from '../helpers/index.js';

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = execFileSync('mktemp', ['-d']).toString().trim();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rmdir', [probe]);
  }
}

const noMount = unmet(need.ffmpeg) || skipNoted(canMount() ? null : 'disk-full tests need root and permission to mount a tmpfs');

describe.skipIf(noMount)('a destination without room', () => {
  let dir: string;
  let tiny: string;
  let clip: string;
  let raw: string;
  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'sk-diskfull-'));
    tiny = join(dir, 'tiny');
    execFileSync('mkdir', [tiny]);
    // 256 KiB: less than the 8 s ladder below needs at its maxrates, more than a few playlists
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', tiny]);
    clip = await makeSource(join(dir, 'clip.mp4'), { size: '640x360', duration: 8 });
    raw = join(dir, 'clip.h264');
    await ffmpeg(['-i', clip, '-map', '0:v', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', raw]);
  });
  afterAll(async () => {
    try {
      execFileSync('umount', [tiny]);
    } catch {
      /* not mounted */
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses before encoding when the ladder cannot fit: exit 1, NO_SPACE with the sizes, nothing left', async () => {
    const r = await cli(['transcode', clip, '--preset', 'h264-ladder', '-o', join(tiny, 'pkg'), '--json']);
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code: string; message: string };
    expect(error.code).toBe('NO_SPACE');
    expect(error.message).toMatch(/needed about [\d.]+ MB, [\d.]+ MB free/);
    expect(r.stdout).not.toContain('"stage":"encode"');
    expect(await readdir(tiny)).toEqual([]);
  });

  it('stops when the disk fills during the encode (raw stream: no duration to estimate from): NO_SPACE, nothing left', async () => {
    const r = await cli(['transcode', raw, '--framerate', '30', '--preset', 'h264-ladder', '-o', join(tiny, 'pkg'), '--json']);
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code: string; message: string };
    expect(error.code).toBe('NO_SPACE');
    expect(error.message).toMatch(/No space left on the device holding/);
    expect(await readdir(tiny)).toEqual([]);
  });
});
