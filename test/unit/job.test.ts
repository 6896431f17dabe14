/**
 * The job life shared by `streamkit batch` and queue workers (src/job/): the one output template
 * engine.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBatch } from '../../src/batch/runner.js';
import { DEFAULT_OUTPUT_TEMPLATE, outputFor, TEMPLATE_PLACEHOLDERS } from '../../src/job/template.js';
import { buildJobs, expandOutputTemplate } from '../../src/queue/job.js';

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
      await expect(planBatch({ inputs: [input], preset: 'h264-ladder', output: template, cwd: root })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(message) });
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
