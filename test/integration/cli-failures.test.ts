/**
 * Every expected failure through the built CLI: the exit code, the one-sentence message (and hint),
 * no stack trace, and nothing left behind (no destination folder, no `.streamkit-tmp-*` folder).
 * Inputs with awkward names must succeed.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, cli, cliEnv, ffmpeg, makeClip, need, probeFile, stagingLeft, tempDir, unmet, writeCliPreset, type CliResult } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('CLI failures: exit code, message, nothing left behind', () => {
  let dir = '';
  let preset = '';
  let clip = '';
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir('fail');
    env = cliEnv({}, join(dir, '.cache'));
    preset = await writeCliPreset(dir);
    clip = await makeClip(join(dir, 'clip.mp4'), 1);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const transcode = (input: string, out: string, extra: string[] = []): Promise<CliResult> =>
    cli(['transcode', '--hw', 'cpu', '-p', preset, '-o', out, ...extra, '--', input], { cwd: dir, env });

  async function expectFailure(r: CliResult, code: number, message: RegExp, out: string): Promise<void> {
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace without --verbose
    expect(existsSync(join(dir, out))).toBe(false);
    expect(await stagingLeft(dir)).toEqual([]);
  }

  it('a missing file: exit 3', async () => {
    await expectFailure(await transcode('nope.mp4', 'o-missing'), 3, /error: Input not found: nope\.mp4\nhint: /, 'o-missing');
  });

  it('a directory: exit 3', async () => {
    await mkdir(join(dir, 'adir'));
    await expectFailure(await transcode('adir', 'o-dir'), 3, /error: Input is a directory, not a media file: adir/, 'o-dir');
  });

  it('an empty file: exit 3', async () => {
    await writeFile(join(dir, 'empty.mp4'), '');
    await expectFailure(await transcode('empty.mp4', 'o-empty'), 3, /error: Input is empty \(0 bytes\): empty\.mp4/, 'o-empty');
  });

  it('a text file named .mp4: exit 3, with what ffprobe said', async () => {
    await writeFile(join(dir, 'text.mp4'), 'these are my notes, not a movie\n'.repeat(20));
    const r = await transcode('text.mp4', 'o-text');
    await expectFailure(r, 3, /error: text\.mp4 is not a media file ffprobe can read\./, 'o-text');
    expect(r.stderr).toMatch(/ffprobe said:\n(?: {2}.*\n)*? {2}.*Invalid data found/);
  });

  it('an MP4 truncated to half its size (index at the end): refused when probed, exit 3', async () => {
    const half = join(dir, 'half.mp4');
    await copyFile(clip, half);
    await truncate(half, Math.floor((await stat(clip)).size / 2));
    await expectFailure(await transcode('half.mp4', 'o-half'), 3, /error: half\.mp4 is not a media file ffprobe can read\./, 'o-half');
  });

  it('an MP4 truncated to half its size (index first, +faststart): probes fine, caught after the encode, exit 3', async () => {
    const full = await makeClip(join(dir, 'faststart.mp4'), 6, ['-movflags', '+faststart']);
    const half = join(dir, 'faststart-half.mp4');
    await copyFile(full, half);
    await truncate(half, Math.floor((await stat(full)).size / 2));
    // ffprobe believes the index: the full duration
    expect(Number((await probeFile(half)).format?.['duration'])).toBeCloseTo(6, 0);
    const r = await transcode('faststart-half.mp4', 'o-fshalf');
    // caught when ffmpeg's progress falls short, or (the thumbnail branch pads its own output to the
    // announced end, so progress may reach it) when the packaged video does
    await expectFailure(
      r,
      3,
      /error: faststart-half\.mp4 ended early: (ffmpeg encoded|the package holds) \d+\.\d\d s (of video )?of the 6\.00 s it announces\. The file is truncated or damaged\./,
      'o-fshalf',
    );
  });

  it('an audio-only file: exit 3', async () => {
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '1', '-c:a', 'aac', join(dir, 'audio.m4a')]);
    await expectFailure(await transcode('audio.m4a', 'o-audio'), 3, /error: audio\.m4a has no video stream \(it is audio only\)\./, 'o-audio');
  });

  it('an unreadable file: exit 3 (run as nobody when the tests run as root, who can read anything)', async (ctx) => {
    const file = join(dir, 'secret.mp4');
    await copyFile(clip, file);
    await chmod(file, 0o000);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      await chmod(dir, 0o755); // nobody must reach the file to be refused by its mode
      // ...and must be able to run streamkit at all (a checkout under /root is not readable by nobody)
      const probe = await cli(['--version'], { cwd: dir, env, uid: 65534, gid: 65534 });
      if (probe.code !== 0) {
        console.warn(`skipped: running as root, and uid 65534 cannot run ${BIN} (${probe.stderr.split('\n')[0]}); chmod 000 does not stop root`);
        ctx.skip();
        return;
      }
    }
    const r = await cli(['transcode', '--hw', 'cpu', '-p', preset, '-o', 'o-secret', 'secret.mp4'], { cwd: dir, env, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    await expectFailure(r, 3, /error: Cannot read input secret\.mp4: permission denied\.\nhint: Check the file's permissions/, 'o-secret');
  });

  it('an output folder that cannot be created (its parent is a regular file): exit 1', async () => {
    await writeFile(join(dir, 'plain.txt'), 'a file\n');
    const r = await transcode('clip.mp4', 'plain.txt/out');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: Cannot write the output folder .*plain\.txt\/out: part of the path is a file, not a folder\.\nhint: /);
    expect((await stat(join(dir, 'plain.txt'))).isFile()).toBe(true);
    expect(await stagingLeft(dir)).toEqual([]);
  });

  it('an output folder on a file system that refuses new folders (/proc): exit 1', async () => {
    const r = await transcode('clip.mp4', '/proc/streamkit-out');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: Cannot write the output folder \/proc\/streamkit-out: /);
    expect(existsSync('/proc/streamkit-out')).toBe(false);
  });

  it('an existing output without --force: exit 2, the old folder untouched', async () => {
    await mkdir(join(dir, 'taken'));
    await writeFile(join(dir, 'taken', 'keep.txt'), 'mine');
    const r = await transcode('clip.mp4', 'taken');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: Output .*taken already exists\.\nhint: Use --force/);
    expect(await readdir(join(dir, 'taken'))).toEqual(['keep.txt']);
    expect(await stagingLeft(dir)).toEqual([]);
  });

  describe('preset errors: exit 2, the message names the file, the key path and what was expected', () => {
    const cases: [string, string, RegExp][] = [
      ['unknown-key.yaml', 'extends: h264-ladder\nvideo:\n  keyframeIntervall: 2\n', /unknown-key\.yaml: video\.keyframeIntervall: unknown key "keyframeIntervall"/],
      ['wrong-type.yaml', 'extends: h264-ladder\nvideo:\n  keyframeInterval: "two"\n', /wrong-type\.yaml: video\.keyframeInterval: expected a number, got string "two"/],
      [
        'negative.yaml',
        'extends: h264-ladder\nvideo:\n  rungs:\n    - { height: 360, bitrate: -500k }\n',
        /negative\.yaml: video\.rungs\[0\]\.bitrate: expected a positive bitrate, got "-500k"/,
      ],
      [
        'maxrate.yaml',
        'extends: h264-ladder\nvideo:\n  rungs:\n    - { height: 360, bitrate: 800k, maxrate: 400k }\n',
        /maxrate\.yaml: video\.rungs\[0\]\.maxrate: expected maxrate >= bitrate \(800000 bit\/s\), got 400000 bit\/s/,
      ],
    ];
    for (const [name, text, message] of cases) {
      it(name, async () => {
        await writeFile(join(dir, name), text);
        const out = `o-${name}`;
        const r = await cli(['transcode', '--hw', 'cpu', '-p', `./${name}`, '-o', out, 'clip.mp4'], { cwd: dir, env });
        await expectFailure(r, 2, new RegExp(`error: Invalid preset ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${message.source}`), out);
        expect(r.stderr).toMatch(/hint: Fix the preset file/);
        const v = await cli(['presets', 'validate', name], { cwd: dir, env });
        expect(v.code).toBe(2);
        expect(v.stderr).toMatch(message);
        expect(v.stdout).toBe('');
      });
    }
  });

  it('ffmpeg itself failing: exit 1, the exact command and the last lines of its log, nothing left', async () => {
    // a real libx264 failure: `profile` is an allowed extra option, but no such profile exists
    await writeFile(join(dir, 'badprofile.yaml'), 'extends: ./fast.yaml\nvideo:\n  encoder:\n    cpu: { name: libx264, preset: ultrafast, options: { profile: nonsense } }\n');
    const r = await cli(['transcode', '--hw', 'cpu', '-p', './badprofile.yaml', '-o', 'o-ffmpeg', 'clip.mp4'], { cwd: dir, env });
    await expectFailure(r, 1, /error: ffmpeg exited with code \d+ while encoding the ladder\./, 'o-ffmpeg');
    expect(r.stderr).toMatch(/\ncommand: \/usr\/bin\/ffmpeg -hide_banner .* -profile:v nonsense /);
    expect(r.stderr).toMatch(/\nffmpeg said \(last \d+ lines? of its log\):\n(?: {2}.*\n)*.*profile/i);
    // --verbose adds the stack
    const v = await cli(['--verbose', 'transcode', '--hw', 'cpu', '-p', './badprofile.yaml', '-o', 'o-ffmpeg', 'clip.mp4'], { cwd: dir, env });
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/FfmpegError: ffmpeg exited.*\n\s+at /);
  });

  describe('awkward names are files, and they work', () => {
    const names = ['-y.mp4', 'with space.mp4', `it's "quoted".mp4`, 'ünïcødé 日本語.mp4', '100%.mp4'];
    for (const name of names) {
      it(JSON.stringify(name), async () => {
        await copyFile(clip, join(dir, name));
        const out = `out ${name} ü`;
        const r = await transcode(name, out);
        expect(r.code, r.stderr).toBe(0);
        const probed = await probeFile(join(dir, out, '180p', 'index.m3u8'));
        expect(Number(probed.format?.['duration'])).toBeGreaterThan(0.8);
        expect(existsSync(join(dir, out, 'master.m3u8'))).toBe(true);
        expect(await stagingLeft(dir)).toEqual([]);
      });
    }

    it('a name starting with "-" given bare is an unknown option (exit 2) with a hint naming the file', async () => {
      await copyFile(clip, join(dir, '-x'));
      const r = await cli(['transcode', '-p', preset, '-x'], { cwd: dir, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/unknown option '-x'/);
      expect(r.stderr).toMatch(/hint: to read the file named -x, write \.\/-x/);
      const ok = await cli(['transcode', '--hw', 'cpu', '-p', preset, '-o', 'o-dash', './-x'], { cwd: dir, env });
      expect(ok.code, ok.stderr).toBe(0);
      expect(existsSync(join(dir, 'o-dash', 'master.m3u8'))).toBe(true);
    });
  });
});
