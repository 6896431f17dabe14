/**
 * Parts of `streamkit batch`: output templates, globs (on real files), the jobs-file schema, input
 * expansion and the per-destination lock (on a real temporary folder).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandGlob, isGlob, splitGlob } from '../../src/batch/glob.js';
import { expandInputs } from '../../src/batch/inputs.js';
import { parseJobs } from '../../src/batch/jobs-file.js';
import { acquireLock, cleanLockLeftovers, currentOwner, isStaleOwner, lockPathFor, processStartTime, type LockOwner } from '../../src/job/lock.js';
import { summaryMarkdown, summaryTable } from '../../src/batch/report.js';
import { defaultConcurrency, planBatch } from '../../src/batch/plan.js';
import type { BatchSummary } from '../../src/batch/events.js';
import { DEFAULT_OUTPUT_TEMPLATE, expandTemplate, templateVars, validateTemplate } from '../../src/job/template.js';
import { StreamkitError } from '../../src/errors.js';

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

function usage(fn: () => unknown): StreamkitError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamkitError);
    return error as StreamkitError;
  }
  throw new Error('expected a StreamkitError');
}

describe('output templates', () => {
  it('fills {dir} {stem} {name} {ext} {preset} {reldir}', () => {
    const vars = templateVars('/media/shows/s01/ep 1.final.mkv', 'h264-ladder', '/media');
    expect(vars).toEqual({ dir: '/media/shows/s01', stem: 'ep 1.final', name: 'ep 1.final.mkv', ext: 'mkv', preset: 'h264-ladder', reldir: 'shows/s01' });
    expect(expandTemplate(DEFAULT_OUTPUT_TEMPLATE, vars)).toBe('/media/shows/s01/ep 1.final-h264-ladder');
    expect(expandTemplate('/srv/hls/{reldir}/{stem}/{preset}', vars)).toBe('/srv/hls/shows/s01/ep 1.final/h264-ladder');
    expect(expandTemplate('out/{name}.{ext}', vars)).toBe('out/ep 1.final.mkv.mkv');
  });

  it('gives an empty {reldir} for inputs named directly and a stem for dot files', () => {
    expect(templateVars('/a/b.mp4', 'p', null).reldir).toBe('');
    expect(templateVars('/a/b.mp4', 'p', '/a').reldir).toBe('');
    expect(templateVars('/a/.hidden', 'p', null).stem).toBe('.hidden');
    expect(templateVars('/a/noext', 'p', null)).toMatchObject({ stem: 'noext', ext: '' });
  });

  it('names the stream of a URL', () => {
    expect(templateVars('https://cdn.example/v/clip.mp4?x=1', 'p', null)).toMatchObject({ stem: 'clip', name: 'clip.mp4' });
  });

  it('rejects unknown placeholders, stray braces and empty templates', () => {
    expect(usage(() => validateTemplate('{dir}/{basename}')).message).toContain('{basename}');
    expect(usage(() => validateTemplate('{dir}/{stem')).message).toContain('Unbalanced');
    expect(usage(() => validateTemplate('out}')).code).toBe('USAGE');
    expect(usage(() => validateTemplate('  ')).code).toBe('USAGE');
    expect(() => validateTemplate('/srv/{preset}/{stem}')).not.toThrow();
  });
});

describe('globs (matched on real files)', () => {
  let root = '';
  let n = 0;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'streamkit-glob-unit-'));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  /** does `glob` find the file `path` (created alone in a fresh folder)? */
  const m = async (glob: string, path: string): Promise<boolean> => {
    const dir = join(root, String(++n));
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), 'x');
    return (await expandGlob(glob, dir)).files.includes(join(dir, path));
  };

  it('* and ? stay within one segment', async () => {
    expect(await m('*.mp4', 'a.mp4')).toBe(true);
    expect(await m('*.mp4', 'dir/a.mp4')).toBe(false);
    expect(await m('?.mp4', 'a.mp4')).toBe(true);
    expect(await m('?.mp4', 'ab.mp4')).toBe(false);
    expect(await m('a*b', 'ab')).toBe(true);
    expect(await m('*.mp4', 'a.mp4.part')).toBe(false);
  });

  it('** matches zero or more folders', async () => {
    expect(await m('**/*.mp4', 'a.mp4')).toBe(true);
    expect(await m('**/*.mp4', 'x/y/z/a.mp4')).toBe(true);
    expect(await m('x/**/a.mp4', 'x/a.mp4')).toBe(true);
    expect(await m('x/**/a.mp4', 'x/1/2/a.mp4')).toBe(true);
    expect(await m('x/**/a.mp4', 'y/1/a.mp4')).toBe(false);
    expect(await m('x/**', 'x/1/2/a.mp4')).toBe(true);
  });

  it('wildcards skip hidden names unless the pattern names them', async () => {
    expect(await m('*.mp4', '.a.mp4')).toBe(false);
    expect(await m('**/*.mp4', '.staging/a.mp4')).toBe(false);
    expect(await m('.*.mp4', '.a.mp4')).toBe(true);
    expect(await m('x/**', 'x/.lock')).toBe(false);
  });

  it('supports classes, negated classes, alternatives and escapes', async () => {
    expect(await m('clip[0-9].mp4', 'clip7.mp4')).toBe(true);
    expect(await m('clip[0-9].mp4', 'clipx.mp4')).toBe(false);
    expect(await m('clip[!0-9].mp4', 'clipx.mp4')).toBe(true);
    expect(await m('clip[!0-9].mp4', 'clip1.mp4')).toBe(false);
    expect(await m('*.{mp4,mov}', 'a.mov')).toBe(true);
    expect(await m('*.{mp4,mov}', 'a.mkv')).toBe(false);
    expect(await m('a\\*.mp4', 'a*.mp4')).toBe(true);
    expect(await m('a\\*.mp4', 'ab.mp4')).toBe(false);
    expect(await m('a+(b).mp4', 'a+(b).mp4')).toBe(true);
    expect(await m('[ab', '[ab')).toBe(true);
  });

  it('matches case-sensitively, with parentheses as plain characters', async () => {
    expect(await m('*.mp4', 'a.MP4')).toBe(false);
    expect(await m('*.MP4', 'a.MP4')).toBe(true);
    expect(await m('movie (2019)/*.mp4', 'movie (2019)/a.mp4')).toBe(true);
    expect(await m('clip+(1).mp4', 'clip1.mp4')).toBe(false);
    expect(await m('*(b).mp4', 'ab.mp4')).toBe(false);
    expect(await m('a+(b)*', 'a+(b).mp4')).toBe(true);
    expect(await m('!a*.mp4', '!ab.mp4')).toBe(true);
  });

  it('never enters packages, follows links to files but not to folders, and lists in walk order', async () => {
    const dir = join(root, 'walk');
    for (const f of ['a/b.mp4', 'a-c.mp4', 'a.mp4', 'B.mp4', 'pkg/720p/seg.mp4', 'pkg/streamkit.json', 'other/o.mp4']) {
      await mkdir(join(dir, f, '..'), { recursive: true });
      await writeFile(join(dir, f), 'x');
    }
    await symlink(join(dir, 'other'), join(dir, 'linked-folder'));
    await symlink(join(dir, 'other', 'o.mp4'), join(dir, 'linked-file.mp4'));
    await symlink(dir, join(dir, 'a', 'loop'));
    const found = (await expandGlob('**/*.mp4', dir)).files.map((f) => f.slice(dir.length + 1));
    expect(found).toEqual(['B.mp4', 'a/b.mp4', 'a-c.mp4', 'a.mp4', 'linked-file.mp4', 'other/o.mp4']);
    expect((await expandGlob('*/720p/*.mp4', dir)).files).toEqual([]);
    expect((await expandGlob('nothing/*.mp4', dir)).files).toEqual([]);
  });

  it('detects glob syntax and splits off the folder to walk', () => {
    expect(isGlob('media/*.mp4')).toBe(true);
    expect(isGlob('media/a.mp4')).toBe(false);
    expect(isGlob('media/a\\*.mp4')).toBe(false);
    expect(splitGlob('media/2024/**/*.mp4')).toEqual({ base: 'media/2024', rest: '**/*.mp4' });
    expect(splitGlob('*.mp4')).toEqual({ base: '.', rest: '*.mp4' });
    expect(splitGlob('/srv/in/*.mov')).toEqual({ base: '/srv/in', rest: '*.mov' });
  });
});

describe('jobs file schema', () => {
  it('accepts a list or { jobs: [...] } with optional preset, output and overrides', () => {
    const jobs = parseJobs([{ input: 'a.mp4' }, { input: 'dir/', preset: 'hevc-ladder', output: 'out/{stem}', overrides: { frameRate: 25, hw: 'cpu' } }]);
    expect(jobs).toEqual([{ input: 'a.mp4' }, { input: 'dir/', preset: 'hevc-ladder', output: 'out/{stem}', overrides: { frameRate: '25', hw: 'cpu' } }]);
    expect(parseJobs({ jobs: [{ input: 'b.mov', overrides: { frameRate: '30000/1001' } }] })).toEqual([{ input: 'b.mov', overrides: { frameRate: '30000/1001' } }]);
  });

  it('names the job and key of every mistake', () => {
    const e = usage(() => parseJobs([{ input: 'a.mp4' }, { input: 'b.mp4', overrides: { hw: 'gpu' } }], 'jobs.yaml'));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('jobs.yaml');
    expect(e.message).toContain('[1].overrides.hw');
    expect(usage(() => parseJobs([{ input: 'a.mp4', ouput: 'x' }])).message).toMatch(/\[0\].*"ouput"/);
    expect(usage(() => parseJobs([{ preset: 'x' }])).message).toContain('[0].input');
    expect(usage(() => parseJobs([{ input: 'a', output: '{dir}/{nope}' }])).message).toContain('{nope}');
    expect(usage(() => parseJobs([{ input: 'a', overrides: { frameRate: 'fast' } }])).message).toContain('frame rate');
    expect(usage(() => parseJobs('a.mp4')).code).toBe('USAGE');
  });
});

describe('inputs and planning (real folders)', () => {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'streamkit-batch-unit-'));
    for (const f of [
      'in/a.mp4',
      'in/b.MOV',
      'in/notes.txt',
      'in/seg.ts',
      'in/.hidden.mp4',
      'in/sub/c.mkv',
      'in/sub/.streamkit-tmp-x-1-abcdef/d.mp4',
      'in/pkg/720p/init.mp4',
      'in/pkg/streamkit.json',
      'other/a.mp4',
    ]) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), 'x');
    }
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('walks folders for media files, skipping hidden entries and finished packages', async () => {
    const r = await expandInputs(['in'], root);
    expect(r.inputs.map((i) => i.input)).toEqual([join(root, 'in/a.mp4'), join(root, 'in/b.MOV'), join(root, 'in/sub/c.mkv')]);
    expect(r.inputs.every((i) => i.base === join(root, 'in'))).toBe(true);
  });

  it('matches globs (any file type), takes named files as they are, and reports empty matches', async () => {
    const r = await expandInputs(['in/**/*.{ts,mkv}', 'in/notes.txt', 'nothing/*.mp4'], root);
    expect(r.inputs.map((i) => i.input)).toEqual([join(root, 'in/seg.ts'), join(root, 'in/sub/c.mkv'), join(root, 'in/notes.txt')]);
    expect(r.empty).toEqual(['nothing/*.mp4']);
    await expect(expandInputs(['in/typo.mp4'], root)).rejects.toMatchObject({ code: 'INPUT_MISSING' });
  });

  it('plans one destination per job and refuses collisions and outputs that would replace inputs', async () => {
    const plan = await planBatch({ inputs: ['in'], preset: 'h264-ladder', output: 'out/{reldir}/{stem}', cwd: root });
    expect(plan.jobs.map((j) => [j.id, j.output])).toEqual([
      [1, join(root, 'out/a')],
      [2, join(root, 'out/b')],
      [3, join(root, 'out/sub/c')],
    ]);
    // the same input named twice is one job
    expect((await planBatch({ inputs: ['in/a.mp4', 'in'], preset: 'h264-ladder', cwd: root })).jobs).toHaveLength(3);
    await expect(planBatch({ inputs: ['in/a.mp4', 'other/a.mp4'], preset: 'h264-ladder', output: 'out/{stem}', cwd: root })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('same output'),
    });
    await expect(planBatch({ inputs: ['in/a.mp4'], preset: 'h264-ladder', output: '{dir}', cwd: root })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('replace the input'),
    });
    await expect(planBatch({ inputs: ['in/a.mp4'], cwd: root })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('No preset') });
    await expect(planBatch({ inputs: ['in/a.mp4'], preset: 'no-such-preset', cwd: root })).rejects.toMatchObject({ code: 'PRESET_NOT_FOUND' });
  });

  it('reads a jobs file: inputs, presets and outputs relative to the file, per-job overrides', async () => {
    await mkdir(join(root, 'cfg'), { recursive: true });
    await writeFile(
      join(root, 'cfg', 'jobs.yaml'),
      ['- input: ../in/a.mp4', '  output: hls/{stem}', '  overrides: { frameRate: 25, hw: cpu }', '- input: ../in/sub', '  preset: hevc-ladder'].join('\n'),
    );
    const plan = await planBatch({ jobsFile: 'cfg/jobs.yaml', preset: 'h264-ladder', output: 'out/{preset}/{stem}', cwd: root });
    expect(plan.jobs.map((j) => ({ input: j.input, output: j.output, preset: j.preset.name, frameRate: j.frameRate, hw: j.hw }))).toEqual([
      { input: join(root, 'in/a.mp4'), output: join(root, 'cfg/hls/a'), preset: 'h264-ladder', frameRate: '25', hw: 'cpu' },
      { input: join(root, 'in/sub/c.mkv'), output: join(root, 'out/hevc-ladder/c'), preset: 'hevc-ladder', frameRate: undefined, hw: 'auto' },
    ]);
  });

  it('defaults concurrency to half the cores, at least one', () => {
    expect(defaultConcurrency(1)).toBe(1);
    expect(defaultConcurrency(2)).toBe(1);
    expect(defaultConcurrency(3)).toBe(1);
    expect(defaultConcurrency(16)).toBe(8);
  });
});

describe('per-destination lock', () => {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'streamkit-lock-unit-'));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const staleRecord = async (pid: number, extra: Partial<LockOwner> = {}): Promise<string> => `${JSON.stringify({ ...currentOwner('test'), pid, pidStart: null, ...extra })}\n`;

  it('is exclusive while held and free again after release (parents it created are removed)', async () => {
    const dest = join(root, 'new/deeper/pkg');
    const a = await acquireLock(dest);
    expect(a.acquired).toBe(true);
    const b = await acquireLock(dest);
    expect(b.acquired).toBe(false);
    if (!b.acquired) {
      expect(b.owner?.pid).toBe(process.pid);
      expect(b.reason).toContain(`pid ${process.pid}`);
    }
    expect(await readdir(join(root, 'new/deeper'))).toEqual(['.streamkit-lock-pkg']);
    if (a.acquired) await a.lock.release();
    await expect(readdir(join(root, 'new'))).rejects.toMatchObject({ code: 'ENOENT' });
    const c = await acquireLock(dest);
    expect(c.acquired).toBe(true);
    if (c.acquired) await c.lock.release();
  });

  it('recovers a lock whose owner died, and one whose pid now belongs to a younger process', async () => {
    const dest = join(root, 'stale');
    await writeFile(lockPathFor(dest), await staleRecord(await deadPid()));
    const a = await acquireLock(dest);
    expect(a.acquired).toBe(true);
    if (a.acquired) {
      expect(JSON.parse(await readFile(lockPathFor(dest), 'utf8')).nonce).toBe(a.lock.owner.nonce);
      await a.lock.release();
    }
    const reused = { ...currentOwner(), pidStart: `${processStartTime(process.pid)}0` };
    expect(isStaleOwner(reused)).toBe(true);
    expect(isStaleOwner(currentOwner())).toBe(false);
  });

  it('never takes over a lock from another host (liveness cannot be checked there)', async () => {
    const dest = join(root, 'remote');
    await writeFile(lockPathFor(dest), await staleRecord(await deadPid(), { hostname: `not-${hostname()}` }));
    const a = await acquireLock(dest);
    expect(a.acquired).toBe(false);
    if (!a.acquired) expect(a.reason).toContain('locked by another run');
  });

  it('lets exactly one of many racers take over the same stale lock', async () => {
    const dest = join(root, 'race');
    for (let round = 0; round < 5; round++) {
      await writeFile(lockPathFor(dest), await staleRecord(await deadPid()));
      const attempts = await Promise.all(Array.from({ length: 8 }, () => acquireLock(dest)));
      const winners = attempts.filter((a) => a.acquired);
      expect(winners).toHaveLength(1);
      const w = winners[0]!;
      if (w.acquired) {
        expect(JSON.parse(await readFile(lockPathFor(dest), 'utf8')).nonce).toBe(w.lock.owner.nonce);
        await w.lock.release();
      }
    }
    expect((await readdir(root)).filter((n) => n.includes('race'))).toEqual([]);
  });

  it('passes a takeover abandoned by a dead recoverer, and cleans leftovers while held', async () => {
    const dest = join(root, 'abandoned');
    const lockText = await staleRecord(await deadPid());
    await writeFile(lockPathFor(dest), lockText);
    const { createHash } = await import('node:crypto');
    const marker = `${lockPathFor(dest)}.takeover-${createHash('sha256').update(lockText).digest('hex').slice(0, 16)}`;
    await writeFile(marker, await staleRecord(await deadPid()));
    const dead = await deadPid();
    await writeFile(`${lockPathFor(dest)}.${dead}-0123abcd.tmp`, 'x');
    const a = await acquireLock(dest);
    expect(a.acquired).toBe(true);
    if (a.acquired) {
      await cleanLockLeftovers(a.lock);
      expect((await readdir(root)).filter((n) => n.includes('abandoned'))).toEqual(['.streamkit-lock-abandoned']);
      await a.lock.release();
    }
  });
});

describe('summary formats', () => {
  const summary: BatchSummary = {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:10.000Z',
    elapsedSeconds: 10,
    concurrency: 2,
    counts: { total: 3, done: 1, skipped: 1, failed: 1, cancelled: 0 },
    stopped: null,
    jobs: [
      { id: 1, input: '/w/a.mp4', output: '/w/out/a', preset: 'p', status: 'done', reason: null, attempts: 1, elapsedSeconds: 4, durationSeconds: 8, speed: 2, sizeBytes: 2048 },
      {
        id: 2,
        input: '/w/b.mp4',
        output: '/w/out/b',
        preset: 'p',
        status: 'skipped',
        skip: 'locked',
        reason: 'locked by another run',
        attempts: 0,
        elapsedSeconds: null,
        durationSeconds: null,
        speed: null,
        sizeBytes: null,
      },
      {
        id: 3,
        input: '/w/c|d.mp4',
        output: '/w/out/c',
        preset: 'p',
        status: 'failed',
        reason: 'bad | input',
        attempts: 1,
        elapsedSeconds: 0.5,
        durationSeconds: null,
        speed: null,
        sizeBytes: null,
      },
    ],
  };

  it('prints a table with status, time, speed, size and reason', () => {
    const lines = summaryTable(summary, '/w');
    expect(lines[0]).toMatch(/^STATUS\s+INPUT\s+TIME\s+SPEED\s+SIZE\s+OUTPUT \/ REASON$/);
    expect(lines[1]).toMatch(/^done\s+a\.mp4\s+4\.0 s\s+2\.0x\s+2\.0 KiB\s+-> out\/a$/);
    expect(lines[2]).toMatch(/^locked\s+b\.mp4 .*locked by another run$/);
    expect(lines[4]).toBe('3 jobs: 1 done, 1 skipped, 1 failed in 10.0 s');
  });

  it('escapes table cells in Markdown', () => {
    const md = summaryMarkdown(summary, '/w');
    expect(md).toContain('| ❌ failed | c\\|d.mp4 | 0.5 s | - | - | bad \\| input |');
    expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(5); // header, separator, 3 jobs
  });
});
