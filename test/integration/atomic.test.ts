/**
 * Atomic output through the CLI: a failing transcode leaves no destination and no staging folder,
 * an existing package is replaced only with --force and only by a complete new one, and exit codes
 * say what went wrong (1 encode failed, 2 usage, 3 input).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMasterPlaylist } from '../../src/package/playlist.js';
import { BIN, cli, cliEnv, FFMPEG, FFPROBE, makeSource, need, REPO, unmet, writeFastPreset } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('atomic output (CLI)', () => {
  let dir = '';
  let source = '';
  let good = '';
  let bogus = '';

  const staging = async (parent = dir): Promise<string[]> => (await readdir(parent)).filter((f) => f.startsWith('.streamkit-tmp-'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-atomic-'));
    source = await makeSource(join(dir, 'clip.mp4'), { duration: 4, extra: ['-movflags', '+faststart'] });
    good = await writeFastPreset(dir, 'good', { codec: 'h264', rungs: [120] });
    // passes the allowlist (libx264 knows "profile"), fails when ffmpeg opens the encoder
    bogus = await writeFastPreset(dir, 'bogus', { codec: 'h264', rungs: [120], options: { profile: 'bogus' } });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an encoder that fails to start: exit 1, the ffmpeg error shown, nothing left behind', async () => {
    const output = join(dir, 'new', 'deeper', 'pkg');
    const r = await cli(['transcode', source, '--preset', bogus, '--output', output, '--hw', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: ffmpeg exited with code/);
    expect(r.stderr).toMatch(/profile/);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
    // the parent folders it created are gone too
    expect(existsSync(join(dir, 'new'))).toBe(false);
    expect(await staging()).toEqual([]);
  });

  it('an input truncated to half (index at the front, so it probes as whole): exit 3, nothing left behind', async () => {
    const half = join(dir, 'half.mp4');
    await writeFile(half, await readFile(source));
    await truncate(half, Math.floor((await stat(half)).size / 2));
    const output = join(dir, 'out-half');
    const r = await cli(['transcode', half, '--preset', good, '--output', output, '--hw', 'cpu']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/truncated or damaged/);
    expect(existsSync(output)).toBe(false);
    expect(await staging()).toEqual([]);
  });

  it('an input truncated without its index: exit 3 before anything is created', async () => {
    const tail = join(dir, 'noindex.mp4');
    const plain = await makeSource(join(dir, 'plain.mp4'), { duration: 2 });
    await writeFile(tail, (await readFile(plain)).subarray(0, 20_000));
    const r = await cli(['transcode', tail, '--preset', good, '--output', join(dir, 'out-noindex'), '--hw', 'cpu']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not a media file/);
    expect(existsSync(join(dir, 'out-noindex'))).toBe(false);
    expect(await staging()).toEqual([]);
  });

  it('an existing output: exit 2 without --force, untouched', async () => {
    const output = join(dir, 'existing');
    await mkdir(output);
    await writeFile(join(output, 'keep.txt'), 'old');
    const r = await cli(['transcode', source, '--preset', good, '--output', output, '--hw', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already exists/);
    expect(r.stderr).toMatch(/--force/);
    expect(await readdir(output)).toEqual(['keep.txt']);
    expect(await staging()).toEqual([]);
  });

  it('the job lifecycle batch uses: staging folders of dead processes are removed (and said so), the lock leaves nothing behind', async () => {
    // a staging folder as a transcode killed with SIGKILL leaves it, with the pid of a process that has exited
    const dead = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => dead.on('exit', () => resolve(dead.pid!)));
    const leftover = join(dir, `.streamkit-tmp-revived-${deadPid}-0123abcd`);
    await mkdir(join(leftover, '120p'), { recursive: true });
    await writeFile(join(leftover, '120p', 'seg_00000.ts'), 'half');
    const output = join(dir, 'revived');
    const r = await cli(['transcode', source, '--preset', good, '--output', output, '--hw', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const warning = r.stdout.split('\n').find((l) => l.includes('"type":"warning"') && l.includes('staging folder'));
    expect(warning).toContain(leftover);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(join(output, 'master.m3u8'))).toBe(true);
    expect((await readdir(dir)).filter((f) => f.includes('revived'))).toEqual(['revived']);
  });

  it('a second transcode into an output another one is writing: refused with exit 2, the other left alone', async () => {
    const output = join(dir, 'contested');
    // another process holding the destination's lock, as a running transcode does (job/lock.ts): it
    // holds it until it is killed, so the test does not depend on how long an encode takes
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(REPO, 'dist', 'job', 'lock.js'))}); const a = await m.acquireLock(${JSON.stringify(output)}, { what: 'the test' }); console.log(a.acquired ? 'held' : 'refused'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const closed = new Promise<void>((resolve) => holder.on('close', () => resolve()));
    try {
      holder.stdout.setEncoding('utf8');
      expect(await new Promise<string>((resolve) => holder.stdout.once('data', (c: string) => resolve(c.trim())))).toBe('held');
      const second = await cli(['transcode', source, '--preset', good, '--output', output, '--hw', 'cpu']);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/is being written by another streamkit process \(locked by another run \(pid \d+/);
      expect(existsSync(output)).toBe(false);
      // the holder's lock is still there: the refused command took nothing away
      expect((await readdir(dir)).filter((f) => f.includes('contested'))).toEqual(['.streamkit-lock-contested']);
    } finally {
      holder.kill('SIGKILL');
      await closed;
    }
  });

  it('--force with a failing transcode keeps the old package', async () => {
    const output = join(dir, 'existing');
    const r = await cli(['transcode', source, '--preset', bogus, '--output', output, '--force', '--hw', 'cpu']);
    expect(r.code).toBe(1);
    expect(await readdir(output)).toEqual(['keep.txt']);
    expect(await readFile(join(output, 'keep.txt'), 'utf8')).toBe('old');
    expect(await staging()).toEqual([]);
  });

  it('Ctrl-C during the encode: exit 130, ffmpeg stopped, nothing left behind', async () => {
    // the built-in preset at its real speed (x264 medium), so there is time to interrupt
    const long = await makeSource(join(dir, 'long.mp4'), { duration: 30, size: '320x180' });
    const output = join(dir, 'out-interrupted');
    const child = spawn(process.execPath, [BIN, 'transcode', long, '--preset', 'h264-ladder', '--output', output, '--hw', 'cpu', '--json'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let sent = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (!sent && stdout.includes('"type":"progress"')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(sent, 'a progress event arrived before the end').toBe(true);
    expect(code).toBe(130);
    expect(stdout).toMatch(/"type":"error".*"code":"INTERRUPTED"/);
    expect(existsSync(output)).toBe(false);
    expect(await staging()).toEqual([]);
    // no ffmpeg still reading the input
    if (existsSync('/proc/self/cmdline')) {
      const cmdlines = await Promise.all((await readdir('/proc')).filter((p) => /^\d+$/.test(p)).map((p) => readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')));
      expect(cmdlines.filter((c) => c.includes(long) && c.includes('ffmpeg'))).toEqual([]);
    }
  });

  it('relative paths everywhere (input, preset, output, --ffmpeg), although ffmpeg runs inside the staging folder', async () => {
    await mkdir(join(dir, 'tools'));
    await symlink(FFMPEG, join(dir, 'tools', 'ffmpeg'));
    // no ffprobe beside ./tools/ffmpeg: name the located one, wherever it was found
    const r = await cli(['transcode', 'clip.mp4', '--preset', './good.yaml', '--output', 'rel/pkg', '--ffmpeg', './tools/ffmpeg', '--hw', 'cpu'], {
      cwd: dir,
      env: cliEnv({ STREAMKIT_FFPROBE: FFPROBE }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'rel', 'pkg', '120p', 'index.m3u8'))).toBe(true);
    expect(await staging(join(dir, 'rel'))).toEqual([]);
  });

  it('--force with a successful transcode replaces it with the complete new package', async () => {
    const output = join(dir, 'existing');
    const r = await cli(['transcode', source, '--preset', good, '--output', output, '--force', '--hw', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(output, 'keep.txt'))).toBe(false);
    const master = parseMasterPlaylist(await readFile(join(output, 'master.m3u8'), 'utf8'));
    expect(master.variants.map((v) => v.uri)).toEqual(['120p/index.m3u8']);
    // --json: newline-delimited events on stdout, ending with done
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; output?: string });
    expect(events[events.length - 1]).toMatchObject({ type: 'done', output });
    expect(await staging()).toEqual([]);
  });
});
