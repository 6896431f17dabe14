/**
 * Cancellation of a real, running `streamkit transcode`: SIGINT / SIGTERM stop ffmpeg (SIGTERM,
 * then SIGKILL after a grace period), remove the staging folder once ffmpeg is gone, and exit 130;
 * a second signal stops at once. Nothing may be left: no destination, no `.streamkit-tmp-*`, no
 * ffmpeg process.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cliEnv, collect, ffmpeg, need, parseEvents, processesMentioning, stagingLeft, startCli, tempDir, unmet, writeCliPreset } from '../helpers/index.js';

describe.skipIf(unmet(need.ffmpeg))('cancelling a running transcode', () => {
  let dir = '';
  let preset = '';
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir('cancel');
    env = cliEnv({}, join(dir, '.cache'));
    // long and heavy enough to still be encoding when the signal comes: x264 `medium`, 30 s of 640x360
    preset = await writeCliPreset(dir, 'medium.yaml', 'medium');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x360:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      '30',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      join(dir, 'long.mp4'),
    ]);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Start a transcode with --json and resolve once ffmpeg reports progress (it is encoding). */
  async function startEncoding(out: string): Promise<{ child: ReturnType<typeof startCli>; done: ReturnType<typeof collect> }> {
    const child = startCli(['--json', 'transcode', '--hw', 'cpu', '-p', preset, '-o', out, 'long.mp4'], { cwd: dir, env });
    const lines = createInterface({ input: child.stdout! });
    const done = collect(child);
    await new Promise<void>((res, rej) => {
      lines.on('line', (l) => {
        const e = JSON.parse(l) as { type: string; percent?: number };
        if (e.type === 'progress') res();
        if (e.type === 'done' || e.type === 'error') rej(new Error(`the transcode ended before it could be interrupted: ${l}`));
      });
      child.on('close', () => rej(new Error('streamkit exited before any progress')));
    });
    return { child, done };
  }

  /** Zombies aside, processes go away when reaped; give init a moment to reap orphans. */
  async function noProcessMentioning(needle: string): Promise<void> {
    for (let i = 0; i < 50 && processesMentioning(needle).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(processesMentioning(needle)).toEqual([]);
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: ffmpeg stopped, staging removed, exit 130`, async () => {
      const out = `o-${signal}-${process.pid}`;
      const { child, done } = await startEncoding(out);
      // the encode really runs: an ffmpeg writing into the staging folder of this output
      const running = processesMentioning(`.streamkit-tmp-${out}-`);
      expect(running.length).toBeGreaterThan(0);
      expect(running[0]!.cmdline).toMatch(/ffmpeg/);
      child.kill(signal);
      const r = await done;
      expect(r.code, r.stderr).toBe(130);
      const events = parseEvents(r.stdout);
      expect(events.at(-1)).toMatchObject({ type: 'error', code: 'INTERRUPTED', exitCode: 130 });
      expect(events.at(-1)!['message']).toMatch(new RegExp(`^Interrupted by ${signal}; nothing was written to the destination\\.`));
      // no progress reported after the stop request (ffmpeg's closing `progress=end` is not 100%)
      const afterStop = events.slice(events.findIndex((e) => e.type === 'progress')).filter((e) => e.type === 'progress' && e['percent'] === 100);
      expect(afterStop).toEqual([]);
      expect(existsSync(join(dir, out))).toBe(false);
      expect(await stagingLeft(dir)).toEqual([]);
      await noProcessMentioning(`.streamkit-tmp-${out}-`);
    });
  }

  /** Resolve when stderr has said `text`. */
  function stderrSays(child: ReturnType<typeof startCli>, text: string): Promise<void> {
    let seen = '';
    return new Promise((res, rej) => {
      child.stderr!.on('data', (c: Buffer | string) => {
        seen += String(c);
        if (seen.includes(text)) res();
      });
      child.on('close', () => rej(new Error(`exited before saying "${text}": ${seen}`)));
    });
  }

  // ffmpeg is frozen (SIGSTOP) before the first signal, so that the graceful stop cannot finish
  // before the second signal: the test does not depend on how fast ffmpeg closes its files.
  it('a second SIGINT stops at once: ffmpeg killed, staging removed, exit 130', async () => {
    const out = `o-twice-${process.pid}`;
    const { child, done } = await startEncoding(out);
    const ffmpegs = processesMentioning(`.streamkit-tmp-${out}-`);
    expect(ffmpegs.length).toBeGreaterThan(0);
    for (const p of ffmpegs) process.kill(p.pid, 'SIGSTOP');
    const stopping = stderrSays(child, 'SIGINT: stopping ffmpeg');
    child.kill('SIGINT');
    await stopping;
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/error: stopped at once by a second SIGINT; the temporary output was removed\./);
    expect(existsSync(join(dir, out))).toBe(false);
    expect(await stagingLeft(dir)).toEqual([]);
    await noProcessMentioning(`.streamkit-tmp-${out}-`);
  });

  it('an ffmpeg that ignores the stop request is killed after the grace period', async () => {
    const out = `o-stuck-${process.pid}`;
    const { child, done } = await startEncoding(out);
    const ffmpegs = processesMentioning(`.streamkit-tmp-${out}-`);
    expect(ffmpegs.length).toBeGreaterThan(0);
    // a stopped process does not act on SIGTERM; only SIGKILL ends it
    for (const p of ffmpegs) process.kill(p.pid, 'SIGSTOP');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(130);
    expect(parseEvents(r.stdout).at(-1)).toMatchObject({ type: 'error', code: 'INTERRUPTED' });
    expect(existsSync(join(dir, out))).toBe(false);
    expect(await stagingLeft(dir)).toEqual([]);
    await noProcessMentioning(`.streamkit-tmp-${out}-`);
  });

  it('plain mode says it too: one error line, no stack', async () => {
    const out = `o-plain-${process.pid}`;
    const child = startCli(['transcode', '--hw', 'cpu', '-p', preset, '-o', out, 'long.mp4'], { cwd: dir, env });
    const lines = createInterface({ input: child.stdout! });
    const done = collect(child);
    await new Promise<void>((res, rej) => {
      lines.on('line', (l) => / encode \d/.test(l) && res());
      child.on('close', () => rej(new Error('streamkit exited before any progress line')));
    });
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toBe(
      'SIGINT: stopping ffmpeg and removing the temporary output (again to stop at once)...\nerror: Interrupted by SIGINT; nothing was written to the destination.\n',
    );
    expect(existsSync(join(dir, out))).toBe(false);
    expect(await stagingLeft(dir)).toEqual([]);
  });
});
