/**
 * The three audiences of the built CLI (terminal, CI logs, programs) and the commands around
 * transcode (--dry-run, presets, probe, doctor, --help, --version), on real ffmpeg runs.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  ANSI_RE,
  assertBuilt,
  BIN,
  cli,
  cliEnv,
  escapeRegExp,
  ffmpeg,
  FFMPEG,
  FFPROBE,
  located,
  makeClip,
  need,
  parseEvents,
  probeFile,
  REPO,
  skipNoted,
  stagingLeft,
  tempDir,
  unmet,
  writeCliPreset,
} from '../helpers/index.js';

const run = promisify(execFile);
const haveScript = existsSync('/usr/bin/script');
const TIMESTAMPED = /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] \S/;

describe.skipIf(unmet(need.ffmpeg))('CLI output and commands', () => {
  let dir = '';
  let preset = '';
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir('out');
    env = cliEnv({}, join(dir, '.cache'));
    preset = await writeCliPreset(dir);
    await makeClip(join(dir, 'clip.mp4'), 3);
    // a raw H.264 elementary stream: no container, no duration until the end
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264', join(dir, 'raw.h264')]);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('--json: NDJSON events on stdout and nothing else', () => {
    it('a transcode: start, progress, stages, rung, done, in that order, each documented field present', async () => {
      const r = await cli(['--json', 'transcode', '--hw', 'cpu', '-p', preset, '-o', 'o-json', 'clip.mp4'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const events = parseEvents(r.stdout); // throws on any line that is not a JSON event
      for (const e of events) expect(typeof e['time']).toBe('string');
      const types = events.map((e) => e.type);
      expect(types[0]).toBe('stage');
      expect(types.at(-1)).toBe('done');
      expect(types.indexOf('start')).toBeLessThan(types.indexOf('progress'));
      expect(types.lastIndexOf('progress')).toBeLessThan(types.indexOf('rung'));

      const start = events.find((e) => e.type === 'start')!;
      expect(start).toMatchObject({ input: 'clip.mp4', output: join(dir, 'o-json'), preset: 'test-ultrafast', hardware: 'cpu', encoder: 'libx264', frameRate: '30' });
      expect(start['ffmpeg']).toMatchObject({ path: FFMPEG });
      expect((start['ffmpeg'] as { version: string }).version).toMatch(/^\d+\.\d+/);
      expect((start['ladder'] as { name: string }[]).map((r) => r.name)).toEqual(['180p', '144p']);
      expect((start['command'] as string[])[0]).toBe(FFMPEG);

      const progress = events.filter((e) => e.type === 'progress');
      expect(progress.length).toBeGreaterThan(0);
      let prev = -1;
      for (const p of progress) {
        const pct = p['percent'] as number;
        expect(pct).toBeGreaterThanOrEqual(prev);
        expect(pct).toBeLessThanOrEqual(100);
        expect(p['durationSeconds']).toBeCloseTo(3, 1);
        prev = pct;
      }
      expect(prev).toBe(100);

      const stages = events.filter((e) => e.type === 'stage').map((e) => `${e['stage']}:${e['status']}`);
      expect(stages).toEqual([
        'probe:start',
        'probe:done',
        'encode:start',
        'encode:done',
        'package:start',
        'package:done',
        'verify:start',
        'verify:done',
        'commit:start',
        'commit:done',
      ]);

      const rungs = events.filter((e) => e.type === 'rung');
      expect(rungs.map((e) => e['name'])).toEqual(['180p', '144p']);
      for (const e of rungs) {
        expect(e['bandwidth']).toBeGreaterThan(0);
        expect(e['sizeBytes']).toBeGreaterThan(0);
        expect((e['codecs'] as string[])[0]).toMatch(/^avc1\./);
      }
      const done = events.at(-1)!;
      expect(done['master']).toBe(join(dir, 'o-json', 'master.m3u8'));
      expect(existsSync(done['master'] as string)).toBe(true);
      expect(done['sizeBytes']).toBeGreaterThan(0);
      expect(done['elapsedSeconds']).toBeGreaterThan(0);
    });

    it('an error is one error event on stdout (code, exitCode, message), nothing on stderr', async () => {
      const r = await cli(['--json', 'transcode', '-p', preset, 'missing.mp4'], { cwd: dir, env });
      expect(r.code).toBe(3);
      expect(r.stderr).toBe('');
      const events = parseEvents(r.stdout);
      expect(events.at(-1)).toMatchObject({ type: 'error', code: 'INPUT_MISSING', exitCode: 3, message: 'Input not found: missing.mp4' });
    });

    it('a usage error gives an error event too (commander text stays on stderr)', async () => {
      const r = await cli(['--json', 'transcode', 'clip.mp4'], { cwd: dir, env });
      expect(r.code).toBe(2);
      expect(parseEvents(r.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'USAGE', exitCode: 2 })]);
      expect(r.stderr).toMatch(/required option '-p, --preset/);
    });

    it('unknown duration (raw .h264 + --framerate): percent and ETA are null, the encoded time grows', async () => {
      const r = await cli(['--json', 'transcode', '--hw', 'cpu', '--framerate', '30', '-p', preset, '-o', 'o-raw', 'raw.h264'], { cwd: dir, env });
      expect(r.code, r.stdout).toBe(0);
      const progress = parseEvents(r.stdout).filter((e) => e.type === 'progress');
      expect(progress.length).toBeGreaterThan(0);
      let prev = -1;
      for (const p of progress) {
        expect(p['percent']).toBeNull();
        expect(p['etaSeconds']).toBeNull();
        expect(p['durationSeconds']).toBeNull();
        expect(p['outTimeSeconds'] as number).toBeGreaterThanOrEqual(prev);
        prev = p['outTimeSeconds'] as number;
      }
      expect(prev).toBeCloseTo(3, 0);
    });

    it('--dry-run --json: one plan event with the ladder, the folders and the command', async () => {
      const r = await cli(['--json', 'transcode', '--hw', 'cpu', '--dry-run', '-p', preset, '-o', 'o-plan', 'clip.mp4'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      const events = parseEvents(r.stdout);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'plan', output: join(dir, 'o-plan'), outputExists: false, encoder: 'libx264' });
      expect((events[0]!['command'] as string[]).slice(0, 1)).toEqual([FFMPEG]);
      expect(events[0]!['folders']).toEqual([join(dir, 'o-plan', '180p'), join(dir, 'o-plan', '144p'), join(dir, 'o-plan', 'audio-1'), join(dir, 'o-plan', 'thumbnails')]);
      expect(existsSync(join(dir, 'o-plan'))).toBe(false);
    });
  });

  describe('plain lines for CI logs (stdout is not a terminal)', () => {
    it('timestamped, no ANSI codes, no carriage returns; the final package is complete', async () => {
      const r = await cli(['transcode', '--hw', 'cpu', '-p', preset, '-o', 'o-plain', 'clip.mp4'], { cwd: dir, env: { ...env, CI: 'true' } });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      for (const l of lines) expect(l).toMatch(TIMESTAMPED);
      expect(r.stdout).not.toMatch(ANSI_RE);
      expect(r.stdout).not.toContain('\r');
      expect(lines.some((l) => / encode 100%/.test(l))).toBe(true);
      expect(lines.filter((l) => / rung /.test(l))).toHaveLength(2);
      expect(lines.at(-1)).toMatch(/ done in \d+\.\d s: .*o-plain\/master\.m3u8/);
      // throttled: at most one line per 10% step (plus the first), on a run far shorter than 15 s
      expect(lines.filter((l) => / encode \d/.test(l)).length).toBeLessThanOrEqual(12);
    });

    it('unknown duration: the time encoded instead of a percent, and the last state at the end', async () => {
      const r = await cli(['transcode', '--hw', 'cpu', '--framerate', '30', '-p', preset, '-o', 'o-raw-plain', 'raw.h264'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      const enc = r.stdout.split('\n').filter((l) => / encode \d/.test(l));
      expect(enc.length).toBeGreaterThan(0);
      for (const l of enc) expect(l).toMatch(/ encode \d+:\d\d encoded/);
      expect(enc.at(-1)).toMatch(/ encode 0:0[23] encoded/);
    });

    it('--quiet: nothing at all on success; --verbose: the ffmpeg command', async () => {
      const q = await cli(['--quiet', 'transcode', '--hw', 'cpu', '-p', preset, '-o', 'o-quiet', 'clip.mp4'], { cwd: dir, env });
      expect(q.code, q.stderr).toBe(0);
      expect(q.stdout).toBe('');
      expect(q.stderr).toBe('');
      expect(existsSync(join(dir, 'o-quiet', 'master.m3u8'))).toBe(true);
      const qe = await cli(['-q', 'transcode', '-p', preset, 'missing.mp4'], { cwd: dir, env });
      expect(qe.code).toBe(3);
      expect(qe.stdout).toBe('');
      expect(qe.stderr).toMatch(/^error: Input not found/);
      const v = await cli(['--verbose', 'transcode', '--hw', 'cpu', '-p', preset, '-o', 'o-verbose', 'clip.mp4'], { cwd: dir, env });
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(new RegExp(`\\] command: ${escapeRegExp(FFMPEG)} -hide_banner -nostdin -nostats -progress pipe:1 .* -i file:`));
    });
  });

  describe.skipIf(skipNoted(!haveScript && 'cli-output: script(1) is not installed, so there is no pseudo-terminal for the terminal tests (Debian: bsdutils)'))(
    'a terminal (a real pseudo-terminal from script(1))',
    () => {
      const inPty = (cmd: string, extraEnv: NodeJS.ProcessEnv): Promise<string> =>
        new Promise((res, rej) => {
          // script(1) gives a terminal of no size; a real one has columns and rows
          const child = spawn('script', ['-qec', `stty cols 120 rows 40; ${cmd}`, '/dev/null'], {
            cwd: dir,
            env: { ...env, TERM: 'xterm-256color', ...extraEnv },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
          child.on('error', rej);
          child.on('close', () => res(out));
        });
      const command = (out: string): string => [process.execPath, BIN, 'transcode', '--hw', 'cpu', '-p', preset, '-o', out, 'clip.mp4'].map((a) => `'${a}'`).join(' ');

      it('renders the listr2 task list, in colour; NO_COLOR takes the colour away', async () => {
        const coloured = await inPty(command('o-tty'), {});
        const text = coloured.replace(new RegExp(ANSI_RE.source, 'g'), '');
        expect(text).toContain('Probe input, preset and ffmpeg');
        expect(text).toMatch(/Encode \(one ffmpeg process/);
        expect(text).toContain('180p 320x180');
        expect(text).toMatch(/✔ Move into place/);
        expect(text).toMatch(/done in \d+\.\d s: .*o-tty\/master\.m3u8/);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: an SGR colour sequence starts with ESC
        expect(coloured).toMatch(/\u001b\[3\dm✔/); // SGR colour
        const plain = await inPty(command('o-tty-nc'), { NO_COLOR: '1' });
        expect(plain).toMatch(/✔ .*Move into place/);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: an SGR colour sequence starts with ESC
        expect(plain).not.toMatch(/\u001b\[3\dm/);
        expect(existsSync(join(dir, 'o-tty-nc', 'master.m3u8'))).toBe(true);
      });

      it('CI set: plain timestamped lines even on a terminal', async () => {
        const out = await inPty(command('o-tty-ci'), { CI: 'true' });
        const lines = out.split(/\r?\n/).filter((l) => l !== '');
        for (const l of lines) expect(l).toMatch(TIMESTAMPED);
        expect(out).not.toMatch(ANSI_RE);
      });

      it('commands without transcode events print only their own text (no task list)', async () => {
        const out = await inPty(`'${process.execPath}' '${BIN}' presets`, {});
        expect(out).toMatch(/^h264-ladder +H\.264/m);
        expect(out).not.toContain('Probe input');
      });
    },
  );

  describe('--dry-run', () => {
    it('prints the ladder and a shell-quoted command that really runs when pasted into bash', async () => {
      const name = `it's "ü" 100%.mp4`;
      await run('cp', [join(dir, 'clip.mp4'), join(dir, name)]);
      const out = `dry run 'ü'`;
      const r = await cli(['transcode', '--hw', 'cpu', '--dry-run', '-p', preset, '-o', out, name], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^# .*h264 320x180 @ 30 fps/m);
      expect(r.stdout).toMatch(/^# {3}180p {5}320x180 {4}300 kb\/s \(max 450 kb\/s\)$/m);
      expect(r.stdout).toMatch(/^# .*writes into the output folder directly/m);
      // nothing ran
      expect(existsSync(join(dir, out))).toBe(false);
      expect(await stagingLeft(dir)).toEqual([]);
      // paste it: bash runs the printed text as is
      await writeFile(join(dir, 'pasted.sh'), r.stdout);
      await run('bash', [join(dir, 'pasted.sh')], { cwd: '/' });
      const probed = await probeFile(join(dir, out, '180p', 'index.m3u8'));
      expect(probed.streams?.[0]).toMatchObject({ codec_type: 'video', width: 320, height: 180 });
      expect(Number(probed.format?.['duration'])).toBeCloseTo(3, 0);
      expect(existsSync(join(dir, out, '144p', 'index.m3u8'))).toBe(true);
      expect(existsSync(join(dir, out, 'audio-1', 'index.m3u8'))).toBe(true);
    });
  });

  describe('presets', () => {
    it('lists the built-ins with descriptions', async () => {
      const r = await cli(['presets'], { cwd: dir, env });
      expect(r.code).toBe(0);
      for (const n of ['h264-ladder', 'hevc-ladder', 'av1-ladder', 'multi-codec-ladder']) expect(r.stdout).toMatch(new RegExp(`^${n} +\\S.{10,}$`, 'm'));
      const j = parseEvents((await cli(['--json', 'presets', 'list'], { cwd: dir, env })).stdout);
      expect((j[0]!['presets'] as { name: string }[]).map((p) => p.name).sort()).toEqual([
        'av1-ladder',
        'cmaf-ladder',
        'flv-live',
        'h264-ladder',
        'hevc-ladder',
        'live-ladder',
        'mp4-download',
        'multi-codec-ladder',
      ]);
    });

    it('show: the resolved preset, after extends and defaults', async () => {
      const r = await cli(['presets', 'show', './fast.yaml'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^# test-ultrafast \(.*fast\.yaml <- .*h264-ladder\.yaml\)/);
      expect(r.stdout).toMatch(/preset: ultrafast/); // from fast.yaml
      expect(r.stdout).toMatch(/name: h264_nvenc/); // from the base
      expect(r.stdout).toMatch(/maxrateRatio: 1\.5/);
      const b = await cli(['presets', 'show', 'hevc-ladder'], { cwd: dir, env });
      expect(b.stdout).toMatch(/codec: hevc/);
      // a multi-codec preset: its ladders as the list they were written as
      const m = await cli(['presets', 'show', 'multi-codec-ladder'], { cwd: dir, env });
      expect(m.stdout).toMatch(/^video:\n {2}- codec: h264\n/m);
      expect(m.stdout.match(/^ {2}- codec: (\w+)$/gm)).toEqual(['  - codec: h264', '  - codec: hevc', '  - codec: av1']);
      expect(m.stdout).not.toMatch(/ladders:/);
      const missing = await cli(['presets', 'show', 'nope'], { cwd: dir, env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/No built-in preset named "nope"\.\nhint: Built-in presets: .*h264-ladder/);
    });

    it('validate: 0 for a valid file; 2 for options the builder owns, unknown options or tunes', async () => {
      const ok = await cli(['presets', 'validate', 'fast.yaml'], { cwd: dir, env });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/fast\.yaml: valid \(test-ultrafast, h264, 2 rungs\)/);
      await writeFile(join(dir, 'owned.yaml'), 'extends: h264-ladder\nvideo:\n  encoder:\n    cpu: { name: libx264, options: { g: 12, map: "0:1" } }\n');
      const owned = await cli(['presets', 'validate', 'owned.yaml'], { cwd: dir, env });
      expect(owned.code).toBe(2);
      expect(owned.stderr).toMatch(/owned\.yaml: video\.encoder\.cpu\.options\.g: streamkit sets "g" itself/);
      expect(owned.stderr).toMatch(/owned\.yaml: video\.encoder\.cpu\.options\.map: streamkit sets "map" itself/);
    });
  });

  describe('probe', () => {
    it('what streamkit sees and the ladder it would build, as text and as JSON', async () => {
      const r = await cli(['probe', 'clip.mp4'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^clip\.mp4: mov,mp4.*h264 320x180 @ 30 fps, 1 audio stream\(s\), 3\.00 s$/m);
      expect(r.stdout).toMatch(/^ladder \(h264-ladder\) @ 30 fps, keyframe every 60 frames:$/m);
      expect(r.stdout).toMatch(/^ {2}180p +320x180 /m);
      const j = parseEvents((await cli(['probe', 'clip.mp4', '--json', '-p', preset], { cwd: dir, env })).stdout);
      expect(j).toHaveLength(1);
      expect(j[0]).toMatchObject({
        type: 'probe',
        preset: 'test-ultrafast',
        media: { formatName: expect.stringMatching(/mp4/), video: { width: 320, height: 180, frameRate: '30' } },
      });
      expect((j[0]!['ladder'] as { rungs: { name: string }[] }).rungs.map((x) => x.name)).toEqual(['180p', '144p']);
      const missing = await cli(['probe', 'missing.mp4'], { cwd: dir, env });
      expect(missing.code).toBe(3);
    });
  });

  describe('doctor', () => {
    it('reports the real toolchain and exits 0', async () => {
      const r = await cli(['doctor'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      // the CLI inherits PATH and STREAMKIT_FFMPEG/FFPROBE (cliEnv): it finds what the tests located, for the same reason
      expect(r.stdout).toMatch(new RegExp(`^ffmpeg: +${escapeRegExp(FFMPEG)} \\(${escapeRegExp(located!.ffmpeg.reason)}\\), version \\d`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^ffprobe: ${escapeRegExp(FFPROBE)} \\(${escapeRegExp(located!.ffprobe.reason)}\\), version \\d`, 'm'));
      expect(r.stdout).toMatch(/^h264 +encoders: .*libx264/m);
      expect(r.stdout).toMatch(/^h264_nvenc +(works|listed but unusable|not available)/m);
      expect(r.stdout).toMatch(/^status: usable$/m);
    });

    it('exits 4 when the ffmpeg is not an ffmpeg (/bin/false)', async () => {
      const r = await cli(['doctor', '--ffmpeg', '/bin/false'], { cwd: dir, env });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/^error: \/bin\/false -version failed with exit code 1: is it really ffmpeg\?/);
    });

    it('exits 4 when the ffmpeg found can encode nothing (a fake that only knows its version)', async () => {
      const fake = join(dir, 'fake-ffmpeg');
      await writeFile(fake, '#!/bin/sh\ncase "$*" in *-version*) echo "ffmpeg version 9.9-fake Copyright";; esac\nexit 0\n');
      await chmod(fake, 0o755);
      const r = await cli(['doctor', '--ffmpeg', fake], { cwd: dir, env });
      expect(r.code).toBe(4);
      expect(r.stdout).toMatch(/^status: NOT usable/m);
      expect(r.stderr).toMatch(/cannot produce any built-in ladder/);
      const j = await cli(['--json', 'doctor', '--ffmpeg', fake], { cwd: dir, env });
      const events = parseEvents(j.stdout);
      expect(events.map((e) => e.type)).toEqual(['doctor', 'error']);
      expect(events[0]).toMatchObject({ usable: false, ffmpeg: { path: fake, version: '9.9-fake' } });
      expect(events[1]).toMatchObject({ code: 'ENCODER_UNAVAILABLE', exitCode: 4 });
    });

    it('exits 4 when ffprobe does not run', async () => {
      const r = await cli(['doctor', '--ffprobe', '/bin/false'], { cwd: dir, env });
      expect(r.code).toBe(4);
      expect(r.stdout).toMatch(/^ffprobe: \/bin\/false \(given by --ffprobe\), does NOT run as ffprobe/m);
    });
  });

  describe('--help and --version', () => {
    // in-process (main() with captured streams): the same code as bin/streamkit.js, without eight node start-ups
    async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      let stdout = '';
      let stderr = '';
      const out = new PassThrough().setEncoding('utf8').on('data', (c: string) => (stdout += c));
      const err = new PassThrough().setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const code = await main(argv, { out, err, env: {}, signal: new AbortController().signal });
      return { code, stdout, stderr };
    }

    it('every command has help with real examples', async () => {
      for (const args of [[], ['transcode'], ['presets'], ['presets', 'list'], ['presets', 'show'], ['presets', 'validate'], ['probe'], ['doctor']]) {
        const r = await inProcess([...args, '--help']);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout, args.join(' ')).toMatch(/Examples?:\n {2}\$ streamkit /);
        const examples = [...r.stdout.matchAll(/^ {2}\$ streamkit (\S+)/gm)].map((m) => m[1]);
        if (args[0] && args[0] !== 'presets') expect(examples, args.join(' ')).toContain(args[0]);
      }
      const root = await cli(['--help'], { cwd: dir, env });
      expect(root.code).toBe(0);
      expect(root.stdout).toMatch(/Exit codes: 0 success, 1 encoding/);
    });

    it('--version prints the package version', async () => {
      const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
      const r = await cli(['--version'], { cwd: dir, env });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
      expect((await inProcess(['-V'])).stdout).toBe(`${version}\n`);
    });
  });

  it('a closed stdout (| head) stops the transcode and cleans up instead of crashing', async () => {
    // `streamkit --json ... | head -1`
    const r = await run('bash', ['-c', `'${process.execPath}' '${BIN}' --json transcode --hw cpu -p '${preset}' -o o-epipe clip.mp4 | head -1; echo "\${PIPESTATUS[0]}"`], {
      cwd: dir,
      env,
    });
    const [first, status] = r.stdout.trimEnd().split('\n');
    expect(JSON.parse(first!)).toMatchObject({ type: 'stage', stage: 'probe', status: 'start' });
    // many events follow the first one: a later write meets the closed pipe, which interrupts
    expect(status).toBe('130');
    expect(existsSync(join(dir, 'o-epipe'))).toBe(false);
    expect(r.stderr).toMatch(/^error: Interrupted by a closed stdout \(EPIPE\)/);
    expect(r.stderr).not.toMatch(/Unhandled|\n\s+at /);
    expect(await stagingLeft(dir)).toEqual([]);
  });
});
