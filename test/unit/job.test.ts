/**
 * The job life shared by `streamkit batch` and queue workers (src/job/): the one output template
 * engine, the one retry policy, the one job key, and the destination decision, on real files.
 */
import type { Preset } from '../../src/preset/schema.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBatch } from '../../src/batch/plan.js';
import { ExitCode, FfmpegError, PresetError, StreamkitError, type ErrorCode } from '../../src/errors.js';
import { packageState } from '../../src/job/current.js';
import { decideDestination } from '../../src/job/destination.js';
import { jobIdentity, jobOptions } from '../../src/package/job-identity.js';
import { acquireLock } from '../../src/job/lock.js';
import { isPermanent, isRetryable } from '../../src/job/retry.js';
import { runJob } from '../../src/job/run.js';
import { DEFAULT_OUTPUT_TEMPLATE, outputFor, TEMPLATE_PLACEHOLDERS } from '../../src/job/template.js';
import { fingerprintInput, jobKey, MANIFEST_NAME, presetHash, writeManifest } from '../../src/package/manifest.js';
import { loadPreset } from '../../src/preset/load.js';
import { buildJobs, expandOutputTemplate } from '../../src/queue/job.js';
import { jobOptions as transcodeJobOptions } from '../../src/transcode.js';

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'streamkit-job-unit-'));
  await mkdir(join(root, 'media', 'shows', 's01'), { recursive: true });
  await writeFile(join(root, 'media', 'shows', 's01', 'ep 1.final.mkv'), 'not really video: jobs are planned without probing');
  await writeFile(join(root, 'media', 'clip.mp4'), 'another input');
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('one output template engine for batch -o and queue add --output', () => {
  const templates = [
    DEFAULT_OUTPUT_TEMPLATE,
    '{dir}/{stem}-{preset}',
    'out/{name}/{ext}/{preset}',
    '/srv/hls/{reldir}/{stem}',
    'out/{reldir}{stem}.{ext}',
    ...TEMPLATE_PLACEHOLDERS.map((p) => `out/x-{${p}}-y`),
  ];

  it.each(templates)('batch and queue expand %s to the same folder', async (template) => {
    const input = join(root, 'media', 'shows', 's01', 'ep 1.final.mkv');
    const batch = await planBatch({ inputs: [input], preset: 'h264-ladder', output: template, cwd: root });
    const queue = await buildJobs([input], { preset: 'h264-ladder', output: template, cwd: root });
    expect(batch.jobs).toHaveLength(1);
    expect(queue).toHaveLength(1);
    expect(queue[0]!.data.output).toBe(batch.jobs[0]!.output);
  });

  it('fills every placeholder', () => {
    const input = '/media/shows/s01/ep 1.final.mkv';
    const out = outputFor({ template: '/o/{dir}|{stem}|{name}|{ext}|{preset}|{reldir}', input, presetName: 'p', base: '/media', relativeTo: '/w' });
    expect(out).toBe('/o/media/shows/s01|ep 1.final|ep 1.final.mkv|mkv|p|shows/s01');
    // the queue has no folder walks: {reldir} is empty for its inputs, as for files named directly
    expect(expandOutputTemplate('/o/{reldir}/{name}', input, 'p')).toBe('/o/ep 1.final.mkv');
  });

  it('refuses the same mistakes in both, with the same message', async () => {
    const input = join(root, 'media', 'clip.mp4');
    for (const [template, message] of [
      ['{dir}/{basename}', /Unknown placeholder \{basename\}/],
      ['{dir}/{stem', /Unbalanced brace/],
      ['  ', /template is empty/],
      ['{dir}', /would replace the input itself/],
    ] as const) {
      await expect(planBatch({ inputs: [input], preset: 'h264-ladder', output: template, cwd: root })).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(message),
      });
      await expect(buildJobs([input], { preset: 'h264-ladder', output: template, cwd: root })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(message) });
    }
  });

  it("takes a URL's {dir} from the caller: the current folder in batch, refused for the queue", () => {
    const url = 'https://cdn.example.com/v/talk.mp4?x=1';
    expect(outputFor({ template: '{dir}/{stem}-{preset}', input: url, presetName: 'p', relativeTo: '/w', urlDir: '/here' })).toBe('/here/talk-p');
    expect(() => expandOutputTemplate('{dir}/{stem}', url, 'p')).toThrow(/uses \{dir\}, but .* is a URL/);
    expect(expandOutputTemplate('out/{name}', url, 'p', '/w')).toBe('/w/out/talk.mp4');
  });
});

describe('one retry policy', () => {
  // every error code, so that a new one has to be decided here too
  const retried: Record<ErrorCode, boolean> = {
    USAGE: false,
    PRESET_INVALID: false,
    PRESET_NOT_FOUND: false,
    INPUT_MISSING: false,
    INPUT_UNREADABLE: false,
    INPUT_NOT_MEDIA: false,
    INPUT_NO_VIDEO: false,
    INPUT_REFUSED: false,
    OUTPUT_EXISTS: false,
    INTERRUPTED: false,
    OUTPUT_UNWRITABLE: true,
    NO_SPACE: true,
    FFMPEG_FAILED: true,
    VERIFY_FAILED: true,
    PUBLISH_FAILED: true,
    JOB_FAILED: true,
    FFMPEG_NOT_FOUND: true,
    ENCODER_UNAVAILABLE: true,
    FEATURE_UNAVAILABLE: true,
  };

  it.each(Object.entries(retried))('%s: retried %s', (code, expected) => {
    const e = new StreamkitError(code as ErrorCode, 'x');
    expect(isRetryable(e)).toBe(expected);
    expect(isPermanent(e)).toBe(!expected);
    // the rule behind the table: exit codes 1 and 4 are retried, 2, 3 and 130 never
    expect(isRetryable(e)).toBe(e.exitCode === ExitCode.failed || e.exitCode === ExitCode.unavailable);
  });

  it('retries ffmpeg failures and errors that are not streamkit errors, never preset errors', () => {
    expect(isRetryable(new FfmpegError('ffmpeg exited with code 1', { command: ['ffmpeg'], exitCode: 1, stderrTail: [] }))).toBe(true);
    expect(isRetryable(new PresetError([{ file: 'p.yaml', path: 'video', message: 'x' }]))).toBe(false);
    expect(isRetryable(new TypeError('x is undefined'))).toBe(true);
    expect(isRetryable(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))).toBe(true);
  });
});

describe('one job key', () => {
  it('is fingerprint + preset hash + options, equal to what transcode() writes into the manifest', async () => {
    const input = join(root, 'media', 'clip.mp4');
    const preset = (await loadPreset('h264-ladder')).preset;
    for (const options of [{}, { hw: 'cpu' as const }, { frameRate: '30000/1001', hw: 'nvenc' as const }, { frameRate: undefined, hw: undefined }]) {
      const id = await jobIdentity(input, preset, options);
      // transcode.ts still computes it itself: the same parts, the same options object
      expect(jobOptions(options)).toEqual(transcodeJobOptions(options));
      expect(id.key).toBe(jobKey(await fingerprintInput(input), presetHash(preset), transcodeJobOptions(options)));
      expect(id).toMatchObject({ presetHash: presetHash(preset), options: jobOptions(options), fingerprint: { input, size: 13 } });
    }
  });

  it('changes with the input, the preset and each option, and not otherwise', async () => {
    const input = join(root, 'media', 'clip.mp4');
    const h264 = (await loadPreset('h264-ladder')).preset;
    const hevc = (await loadPreset('hevc-ladder')).preset;
    const key = async (i: string, p: Preset, o: { frameRate?: string; hw?: 'auto' | 'cpu' | 'nvenc' }): Promise<string> => (await jobIdentity(i, p, o)).key;
    const base = await key(input, h264, {});
    expect(await key(input, h264, { hw: 'auto' })).toBe(base); // the default spelled out
    expect(await key(input, JSON.parse(JSON.stringify(h264)), {})).toBe(base); // the same preset after a round trip
    expect(
      new Set([
        base,
        await key(input, hevc, {}),
        await key(input, h264, { hw: 'cpu' }),
        await key(input, h264, { frameRate: '25' }),
        await key(join(root, 'media', 'shows', 's01', 'ep 1.final.mkv'), h264, {}),
      ]).size,
    ).toBe(5);
  });

  it('is the same for batch and queue: the queue job carries the key a batch run checks against', async () => {
    const input = join(root, 'media', 'clip.mp4');
    const [queued] = await buildJobs([input], { preset: 'h264-ladder', hw: 'cpu', cwd: root });
    const [planned] = (await planBatch({ inputs: [input], preset: 'h264-ladder', hw: 'cpu', cwd: root })).jobs;
    expect(queued!.data.jobKey).toBe((await jobIdentity(planned!.input, planned!.preset.preset, planned!)).key);
  });

  it('turns an input that cannot be read into an input error (exit 3)', async () => {
    await expect(jobIdentity(join(root, 'gone.mp4'), {} as Preset, {}, 'Put it on shared storage.')).rejects.toMatchObject({
      code: 'INPUT_MISSING',
      exitCode: 3,
      hint: 'Put it on shared storage.',
    });
  });
});

describe('destination', () => {
  const at = (name: string): string => join(root, 'dest', name);
  let key = '';
  beforeAll(async () => {
    key = (await jobIdentity(join(root, 'media', 'clip.mp4'), (await loadPreset('h264-ladder')).preset, {})).key;
    const pkg = async (name: string, jobKeyValue: string): Promise<void> => {
      await mkdir(join(at(name), '720p'), { recursive: true });
      await writeFile(join(at(name), '720p', 'seg.ts'), 'segment');
      await writeManifest(at(name), {
        streamkitVersion: '0.0.0',
        jobKey: jobKeyValue,
        input: { input: '/in.mp4', size: 1, mtimeMs: 1, sample: null },
        preset: { name: 'p', hash: 'h', resolved: {} },
        options: {},
        ffmpeg: { path: '/usr/bin/ffmpeg', version: '7.1' },
        hardware: 'cpu',
        encoder: 'libx264',
      });
    };
    await pkg('current', key);
    await pkg('other-job', 'another key');
    await mkdir(at('foreign'), { recursive: true });
    await writeFile(join(at('foreign'), 'precious.txt'), 'mine');
    await mkdir(at('broken'), { recursive: true });
    await writeFile(join(at('broken'), MANIFEST_NAME), '{ "manifestVersion": 1, "outputs": 7 }');
    await writeFile(at('a-file'), 'x');
  });

  it('judges what is there', async () => {
    expect(await packageState(at('absent'), key)).toEqual({ state: 'absent' });
    expect(await packageState(at('current'), key)).toMatchObject({ state: 'current', manifest: { jobKey: key } });
    expect(await packageState(at('other-job'), key)).toMatchObject({ state: 'outdated', reason: 'input, preset or options changed' });
    expect(await packageState(at('foreign'), key)).toEqual({ state: 'foreign', reason: `no ${MANIFEST_NAME}` });
    expect(await packageState(at('broken'), key)).toMatchObject({ state: 'foreign', reason: expect.stringContaining('not a streamkit manifest') });
    expect(await packageState(at('a-file'), key)).toEqual({ state: 'foreign', reason: 'it is a file, not a folder' });
    expect(await packageState(join(at('a-file'), 'below'), key)).toEqual({ state: 'absent' }); // nothing can be there
  });

  it('decides skip / create / replace / refuse', async () => {
    const decide = async (name: string, force: boolean): Promise<string> => {
      const d = decideDestination(at(name), await packageState(at(name), key), force);
      return d.action === 'refuse' ? `refuse ${d.error.code}` : d.action;
    };
    expect(await Promise.all(['absent', 'current', 'other-job', 'foreign', 'broken', 'a-file'].map((n) => decide(n, false)))).toEqual([
      'create',
      'skip',
      'replace',
      'refuse OUTPUT_EXISTS',
      'refuse OUTPUT_EXISTS',
      'refuse OUTPUT_EXISTS',
    ]);
    expect(await Promise.all(['absent', 'current', 'other-job', 'foreign', 'broken'].map((n) => decide(n, true)))).toEqual(['create', 'replace', 'replace', 'replace', 'replace']);
    const broken = decideDestination(at('broken'), await packageState(at('broken'), key), false);
    expect(broken.action === 'refuse' && broken.error.message).toMatch(/exists and is not a streamkit package \(streamkit\.json is not a streamkit manifest/);
  });

  it('runJob skips a current package, refuses a foreign folder, and skips a locked destination, all without ffmpeg', async () => {
    const preset = await loadPreset('h264-ladder');
    const input = join(root, 'media', 'clip.mp4');
    const job = (output: string): Parameters<typeof runJob>[0] => ({ input, output, preset, hw: 'auto', force: false });
    const lock = { what: 'job.test' };
    expect(await runJob(job(at('current')), { lock })).toMatchObject({
      status: 'skipped',
      skip: 'current',
      reason: expect.stringMatching(/^up to date \(made /),
      attempts: 0,
      sizeBytes: 7,
    });
    expect(await runJob(job(at('foreign')), { lock, retries: 3 })).toMatchObject({ status: 'failed', retryable: false, attempts: 0, error: { code: 'OUTPUT_EXISTS' } });
    const held = await acquireLock(at('new'));
    expect(held.acquired).toBe(true);
    try {
      expect(await runJob(job(at('new')), { lock })).toMatchObject({ status: 'skipped', skip: 'locked', reason: expect.stringContaining(`pid ${process.pid}`) });
    } finally {
      if (held.acquired) await held.lock.release();
    }
    expect(await runJob({ ...job(at('new')), input: join(root, 'gone.mp4') })).toMatchObject({ status: 'failed', retryable: false, error: { code: 'INPUT_MISSING' } });
    const aborted = new AbortController();
    aborted.abort('test');
    expect(await runJob(job(at('new')), { signal: aborted.signal })).toMatchObject({ status: 'cancelled', attempts: 0 });
  });
});
