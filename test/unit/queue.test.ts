import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamkitError, type ErrorCode } from '../../src/errors.js';
import { fingerprintInput, jobKey, presetHash } from '../../src/package/manifest.js';
import { listBuiltinPresets, loadPreset, parsePresetObject } from '../../src/preset/load.js';
import { queueTarget, redactRedisUrl, redisConnection } from '../../src/queue/connection.js';
import { buildJobs, expandOutputTemplate, parseJobData, queueJobId } from '../../src/queue/job.js';
import { staleStagingFor } from '../../src/package/atomic.js';
import { splitReason } from '../../src/queue/status.js';
import { isPermanent } from '../../src/job/retry.js';
import { jobOptions } from '../../src/package/job-identity.js';

function usage(fn: () => unknown): StreamkitError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StreamkitError);
    return e as StreamkitError;
  }
  throw new Error('expected an error');
}

describe('output templates', () => {
  it('expands {dir}, {stem} and {preset} into an absolute path', () => {
    expect(expandOutputTemplate('{dir}/{stem}-{preset}', '/srv/in/movie.final.mp4', 'h264-ladder')).toBe('/srv/in/movie.final-h264-ladder');
    expect(expandOutputTemplate('out/{stem}', 'clips/a.mov', 'p', '/work')).toBe('/work/out/a');
    expect(expandOutputTemplate('/srv/out/{preset}/{stem}', 'https://cdn.example.com/v/talk.mp4?x=1', 'av1')).toBe('/srv/out/av1/talk');
  });

  it('refuses {dir} for URLs, unknown fields and stray braces', () => {
    expect(usage(() => expandOutputTemplate('{dir}/{stem}', 'https://cdn.example.com/a.mp4', 'p')).message).toMatch(/uses \{dir\}, but .* is a URL/);
    // {name} is a placeholder now (the batch engine's); an unknown one is still refused
    expect(expandOutputTemplate('/out/{name}', '/in/a.mp4', 'p')).toBe('/out/a.mp4');
    expect(usage(() => expandOutputTemplate('/out/{basename}', '/in/a.mp4', 'p')).message).toMatch(/Unknown placeholder \{basename\}/);
    expect(usage(() => expandOutputTemplate('/out/{stem', '/in/a.mp4', 'p')).code).toBe('USAGE');
  });
});

describe('job ids', () => {
  it('are stable, BullMQ-safe, and differ by job key and destination', () => {
    const id = queueJobId('k1', '/out/a');
    expect(id).toMatch(/^sk-[0-9a-f]{32}$/);
    expect(queueJobId('k1', '/out/a')).toBe(id);
    expect(queueJobId('k2', '/out/a')).not.toBe(id);
    expect(queueJobId('k1', '/out/b')).not.toBe(id);
  });
});

describe('presets carried in jobs', () => {
  it('hash the same after the worker re-validates them (so its job key matches the enqueued one)', async () => {
    for (const p of await listBuiltinPresets()) {
      const loaded = await loadPreset(p.file);
      const again = parsePresetObject(JSON.parse(JSON.stringify(loaded.preset)));
      expect(presetHash(again), p.name).toBe(presetHash(loaded.preset));
    }
  });
});

describe('buildJobs', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamkit-queue-unit-'));
    await mkdir(join(dir, 'x'));
    await writeFile(join(dir, 'a.mp4'), 'not really video, but jobs are built without probing');
    await writeFile(join(dir, 'x', 'a.mp4'), 'another a');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('describes one job per input with the resolved preset and the job key transcode() will write', async () => {
    const jobs = await buildJobs([join(dir, 'a.mp4'), 'https://cdn.example.com/b.mp4', join(dir, 'a.mp4')], { preset: 'h264-ladder', output: `${dir}/out/{stem}-{preset}` });
    expect(jobs).toHaveLength(2); // the same input twice is one job
    const [a, b] = jobs;
    expect(a!.data).toMatchObject({
      v: 1,
      input: join(dir, 'a.mp4'),
      output: join(dir, 'out', 'a-h264-ladder'),
      preset: { name: 'h264-ladder' },
      options: { frameRate: null, hw: 'auto' },
      force: false,
    });
    const preset = (await loadPreset('h264-ladder')).preset;
    expect(a!.data.preset.hash).toBe(presetHash(preset));
    expect(a!.data.jobKey).toBe(jobKey(await fingerprintInput(join(dir, 'a.mp4')), presetHash(preset), jobOptions({ hw: 'auto' })));
    expect(a!.id).toBe(queueJobId(a!.data.jobKey, a!.data.output));
    expect(b!.data.fingerprint).toEqual({ input: 'https://cdn.example.com/b.mp4', size: null, mtimeMs: null, sample: null });
    expect(parseJobData(JSON.parse(JSON.stringify(a!.data)))).toEqual(a!.data);
  });

  it('refuses two inputs that would share a destination, and missing inputs', async () => {
    await expect(buildJobs([join(dir, 'a.mp4'), join(dir, 'x', 'a.mp4')], { preset: 'h264-ladder', output: `${dir}/out/{stem}` })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/would both be written to/),
    });
    await expect(buildJobs([join(dir, 'missing.mp4')], { preset: 'h264-ladder' })).rejects.toMatchObject({ code: 'INPUT_MISSING' });
    await expect(buildJobs([join(dir, 'a.mp4')], { preset: 'no-such-preset' })).rejects.toMatchObject({ code: 'PRESET_NOT_FOUND' });
  });

  it('parseJobData rejects jobs it cannot trust', async () => {
    const [a] = await buildJobs([join(dir, 'a.mp4')], { preset: 'h264-ladder' });
    const good = JSON.parse(JSON.stringify(a!.data)) as Record<string, unknown>;
    expect(() => parseJobData({ ...good, v: 2 })).toThrow(/version 2/);
    expect(() => parseJobData({ ...good, input: 'relative.mp4' })).toThrow(/absolute path or http/);
    expect(() => parseJobData({ ...good, output: 'out' })).toThrow(/output is not an absolute path/);
    expect(() => parseJobData(null)).toThrow(/no job data/);
  });
});

describe('Redis connection', () => {
  it('parses redis:// and rediss:// URLs', () => {
    expect(redisConnection('redis://127.0.0.1:6390')).toMatchObject({ host: '127.0.0.1', port: 6390, maxRetriesPerRequest: null });
    const c = redisConnection('rediss://worker:p%40ss@queue.example:6380/2') as Record<string, unknown>;
    expect(c).toMatchObject({ host: 'queue.example', port: 6380, username: 'worker', password: 'p@ss', db: 2, tls: {} });
    expect(redisConnection('redis://[::1]')).toMatchObject({ host: '::1', port: 6379 });
    expect(usage(() => redisConnection('http://host')).code).toBe('USAGE');
    expect(usage(() => redisConnection('redis://host/abc')).message).toMatch(/database number/);
  });

  it('takes --redis, then STREAMKIT_REDIS_URL, then the default; hides passwords', () => {
    expect(queueTarget({}, {})).toEqual({ redisUrl: 'redis://127.0.0.1:6379', queueName: 'streamkit' });
    expect(queueTarget({}, { STREAMKIT_REDIS_URL: 'redis://env:1', STREAMKIT_QUEUE: 'q2' })).toEqual({ redisUrl: 'redis://env:1', queueName: 'q2' });
    expect(queueTarget({ redis: 'redis://opt:2', queue: 'q3' }, { STREAMKIT_REDIS_URL: 'redis://env:1' })).toEqual({ redisUrl: 'redis://opt:2', queueName: 'q3' });
    expect(usage(() => queueTarget({ queue: 'a:b' }, {})).code).toBe('USAGE');
    expect(redactRedisUrl('redis://:secret@host:6379/0')).toBe('redis://:***@host:6379/0');
  });
});

describe('failures', () => {
  it('are permanent for input, preset and usage errors only', () => {
    const perm = (code: ErrorCode): boolean => isPermanent(new StreamkitError(code, 'x'));
    expect((['INPUT_NOT_MEDIA', 'INPUT_MISSING', 'PRESET_INVALID', 'USAGE', 'OUTPUT_EXISTS'] as const).map(perm)).toEqual([true, true, true, true, true]);
    expect((['FFMPEG_FAILED', 'VERIFY_FAILED', 'OUTPUT_UNWRITABLE', 'ENCODER_UNAVAILABLE', 'FFMPEG_NOT_FOUND'] as const).map(perm)).toEqual([false, false, false, false, false]);
  });

  it('keep their code in the reason', () => {
    expect(splitReason('INPUT_NOT_MEDIA: /in/a.mp4 is not a media file.')).toEqual({ code: 'INPUT_NOT_MEDIA', message: '/in/a.mp4 is not a media file.' });
    expect(splitReason('job stalled more than allowable limit')).toEqual({ code: null, message: 'job stalled more than allowable limit' });
  });
});

describe('stale staging folders', () => {
  it('are those of this destination whose process is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streamkit-stale-'));
    try {
      const pidMax = Number((await readFile('/proc/sys/kernel/pid_max', 'utf8').catch(() => '4194304')).trim());
      const dead = pidMax + 1; // no process can have it
      const names = [
        `.streamkit-tmp-movie-${dead}-0a1b2c3d`, // stale
        `.streamkit-tmp-movie-${dead}-old-1700000000000`, // stale (an old package swapped out)
        `.streamkit-tmp-movie-${process.pid}-XyZ789`, // ours, alive
        `.streamkit-tmp-movie-${process.ppid}-XyZ789`, // alive
        `.streamkit-tmp-movie-2-${dead}-0a1b2c3d`, // another destination ("movie-2")
      ];
      for (const n of names) await mkdir(join(dir, n));
      expect((await staleStagingFor(join(dir, 'movie'))).sort()).toEqual([join(dir, names[0]!), join(dir, names[1]!)].sort());
      expect(await staleStagingFor(join(dir, 'movie-2'))).toEqual([join(dir, names[4]!)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
