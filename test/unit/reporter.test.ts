import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseMode, createReporter, errorEvent, formatError, ProgressThrottle } from '../../src/cli/reporter.js';
import { progressLine } from '../../src/cli/format.js';
import { FfmpegError, PresetError, StreamkitError } from '../../src/errors.js';
import type { TranscodeEvent } from '../../src/events.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (c: string) => (text += c));
  return { stream, text: () => text };
}

const progress = (percent: number | null, outTimeSeconds: number | null = null): TranscodeEvent => ({
  type: 'progress',
  percent,
  outTimeSeconds,
  durationSeconds: percent === null ? null : 10,
  fps: 50,
  speed: 2,
  etaSeconds: percent === null ? null : 5,
  frame: 1,
  dupFrames: 0,
  dropFrames: 0,
});

describe('ProgressThrottle', () => {
  it('prints the first event, then once per 10% step', () => {
    const t = new ProgressThrottle();
    const printed = [0, 1, 5, 9.9, 10, 12, 19, 25, 31, 99, 100].filter((p, i) => t.take(p, i));
    expect(printed).toEqual([0, 10, 25, 31, 99, 100]);
  });

  it('prints every 15 s even without a new step', () => {
    const t = new ProgressThrottle();
    expect(t.take(1, 0)).toBe(true);
    expect(t.take(2, 14_999)).toBe(false);
    expect(t.hasPending).toBe(true);
    expect(t.take(3, 15_000)).toBe(true);
    expect(t.hasPending).toBe(false);
    expect(t.take(4, 29_999)).toBe(false);
  });

  it('unknown duration (percent null): time only, not every event', () => {
    const t = new ProgressThrottle();
    const times = [0, 500, 1000, 14_000, 15_000, 16_000, 29_999, 30_000];
    expect(times.filter((ms) => t.take(null, ms))).toEqual([0, 15_000, 30_000]);
  });

  it('reset starts over (a new task)', () => {
    const t = new ProgressThrottle();
    t.take(50, 0);
    expect(t.take(55, 1)).toBe(false);
    t.reset();
    expect(t.take(5, 2)).toBe(true);
  });
});

describe('chooseMode', () => {
  const tty = { isTTY: true, columns: 80 } as unknown as NodeJS.WriteStream;
  const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
  it('json and quiet win; a terminal gets the task list unless CI is set', () => {
    expect(chooseMode({ json: true }, tty, {})).toBe('json');
    expect(chooseMode({ json: true, quiet: true }, tty, {})).toBe('json');
    expect(chooseMode({ quiet: true }, tty, {})).toBe('quiet');
    expect(chooseMode({}, tty, {})).toBe('tty');
    expect(chooseMode({}, tty, { CI: 'true' })).toBe('plain');
    expect(chooseMode({}, tty, { CI: '1' })).toBe('plain');
    expect(chooseMode({}, tty, { CI: 'false' })).toBe('tty');
    expect(chooseMode({}, tty, { CI: '' })).toBe('tty');
    expect(chooseMode({}, pipe, {})).toBe('plain');
    expect(chooseMode({}, { isTTY: true, columns: 0 } as unknown as NodeJS.WriteStream, {})).toBe('plain');
  });
});

describe('progressLine', () => {
  it('percent, fps, speed, ETA; the time encoded when the duration is unknown; no 0 fps', () => {
    expect(progressLine({ percent: 42.4, fps: 61.2, speed: 2.04, etaSeconds: 75, outTimeSeconds: 12 })).toBe('42% 61 fps 2.04x ETA 1:15');
    expect(progressLine({ percent: null, fps: 0, speed: 0, etaSeconds: null, outTimeSeconds: 3725 })).toBe('1:02:05 encoded');
    expect(progressLine({ percent: null, fps: null, speed: null, etaSeconds: null, outTimeSeconds: null })).toBe('--:-- encoded');
  });
});

describe('formatError', () => {
  it('one sentence and a hint, no stack unless verbose', () => {
    const e = new StreamkitError('INPUT_MISSING', 'Input not found: a.mp4', { hint: 'Check the path.' });
    expect(formatError(e, false)).toBe('error: Input not found: a.mp4\nhint: Check the path.');
    expect(formatError(e, true)).toMatch(/^error: Input not found: a\.mp4\nhint: Check the path\.\nStreamkitError: Input not found[^\n]*\n\s+at /);
  });

  it('an ffmpeg failure shows the shell-quoted command and the stderr tail, long lines clipped', () => {
    const e = new FfmpegError('ffmpeg exited with code 1 while encoding the ladder.', {
      command: ['/usr/bin/ffmpeg', '-i', 'file:/tmp/a b.mp4', '-f', 'null', '-'],
      exitCode: 1,
      stderrTail: ['first', '', 'x'.repeat(400)],
    });
    const text = formatError(e, false);
    expect(text).toContain("command: /usr/bin/ffmpeg -i 'file:/tmp/a b.mp4' -f null -\n");
    expect(text).toContain(`ffmpeg said (last 2 lines of its log):\n  first\n  ${'x'.repeat(300)}... (100 more characters)`);
  });

  it('ffprobe output is attributed to ffprobe', () => {
    const e = new StreamkitError('INPUT_NOT_MEDIA', 'x is not media.', { details: { tool: 'ffprobe', stderrTail: ['moov atom not found'] } });
    expect(formatError(e, false)).toBe('error: x is not media.\nffprobe said:\n  moov atom not found');
  });

  it('a preset error lists every issue with file and key path', () => {
    const e = new PresetError([
      { file: '/p.yaml', path: 'video.rungs[0].bitrate', message: 'expected a positive bitrate, got "-1k"' },
      { file: '/p.yaml', path: 'video.bogus', message: 'unknown key "bogus"' },
    ]);
    expect(formatError(e, false)).toBe(
      'error: Invalid preset /p.yaml: video.rungs[0].bitrate: expected a positive bitrate, got "-1k" (and 1 more problem)\n' +
        '  /p.yaml: video.rungs[0].bitrate: expected a positive bitrate, got "-1k"\n' +
        '  /p.yaml: video.bogus: unknown key "bogus"',
    );
  });

  it('an unexpected error says it is a bug', () => {
    expect(formatError(new TypeError('x is undefined'), false)).toBe('error: x is undefined\nhint: this looks like a bug in streamkit; rerun with --verbose and report it');
    expect(errorEvent(new TypeError('boom'))).toEqual({ type: 'error', code: 'INTERNAL', exitCode: 1, message: 'boom' });
  });
});

describe('reporters', () => {
  it('json: one JSON object per line, each with a time and the event', () => {
    const out = sink();
    const r = createReporter('json', { out: out.stream, err: sink().stream });
    r.event(progress(50, 5));
    r.error(new StreamkitError('INPUT_MISSING', 'gone'), false);
    const lines = out
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ type: 'progress', percent: 50 });
    expect(lines[1]).toMatchObject({ type: 'error', code: 'INPUT_MISSING', exitCode: 3, message: 'gone' });
    for (const l of lines) expect(l['time']).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('plain: timestamped lines, ffmpeg log lines only with --verbose, the last progress when a skipped one ended the encode', () => {
    const out = sink();
    const r = createReporter('plain', { out: out.stream, err: sink().stream });
    r.event({ type: 'stage', stage: 'encode', status: 'start' });
    r.event(progress(null, 1));
    r.event(progress(null, 2)); // within 15 s: skipped
    r.event({ type: 'warning', source: 'ffmpeg', message: 'frame size not set' });
    r.event({ type: 'warning', message: 'dropped 1080p' });
    r.event({ type: 'stage', stage: 'encode', status: 'done' });
    const lines = out.text().trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual(['encode...', 'encode 0:01 encoded 50 fps 2.00x', 'note: dropped 1080p', 'encode 0:02 encoded 50 fps 2.00x']);
    for (const l of lines) expect(l).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] /);
    const verbose = sink();
    const v = createReporter('plain', { out: verbose.stream, err: sink().stream, verbose: true });
    v.event({ type: 'warning', source: 'ffmpeg', message: 'frame size not set' });
    expect(verbose.text()).toMatch(/\] ffmpeg: frame size not set\n$/);
  });

  it('quiet: nothing but errors (on stderr)', () => {
    const out = sink();
    const err = sink();
    const r = createReporter('quiet', { out: out.stream, err: err.stream });
    r.event(progress(10));
    r.info('done');
    r.error(new StreamkitError('INPUT_MISSING', 'gone'), false);
    expect(out.text()).toBe('');
    expect(err.text()).toBe('error: gone\n');
  });
});
