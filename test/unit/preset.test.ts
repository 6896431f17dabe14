import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresetError, StreamkitError } from '../../src/errors.js';
import { listBuiltinPresets, loadPreset } from '../../src/preset/load.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamkit-preset-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Load and expect a PresetError; returns it for more assertions. */
async function invalid(path: string): Promise<PresetError> {
  try {
    await loadPreset(path);
  } catch (error) {
    expect(error).toBeInstanceOf(PresetError);
    const e = error as PresetError;
    expect(e.code).toBe('PRESET_INVALID');
    expect(e.exitCode).toBe(2);
    return e;
  }
  throw new Error(`expected ${path} to be rejected`);
}

/** A complete minimal preset body (no extends). */
const minimal = (over = ''): string => `
video:
  codec: h264
  encoder:
    cpu: { name: libx264, preset: veryfast }
  rateControl: { mode: vbr }
  keyframeInterval: 2
  rungs:
    - { name: 720p, height: 720, bitrate: 3000k }
    - { name: 360p, height: 360, bitrate: 800k }
${over}`;

describe('built-in presets', () => {
  it.each([
    ['h264-ladder', 'h264', 'libx264', 'ts'],
    ['hevc-ladder', 'hevc', 'libx265', 'fmp4'],
    ['av1-ladder', 'av1', 'libsvtav1', 'fmp4'],
  ])('%s loads and is coherent', async (name, codec, encoder, container) => {
    const r = await loadPreset(name);
    expect(r.name).toBe(name);
    expect(r.chain).toHaveLength(1);
    const p = r.preset;
    expect(p.video.codec).toBe(codec);
    expect(p.video.encoder.cpu?.name).toBe(encoder);
    expect(p.packaging.hls?.container).toBe(container);
    expect(p.audio).not.toBe(false);
    if (p.audio !== false) expect(p.audio.codec).toBe('aac');
    // segments are whole GOPs
    const seg = p.packaging.hls!.segmentDuration;
    expect(seg / p.video.keyframeInterval).toBe(Math.round(seg / p.video.keyframeInterval));
    // a ladder: tallest first, bitrates fall with height, unique names
    const heights = p.video.rungs.map((x) => x.height);
    expect([...heights].sort((a, b) => b - a)).toEqual(heights);
    const bitrates = p.video.rungs.map((x) => x.bitrate);
    expect([...bitrates].sort((a, b) => b - a)).toEqual(bitrates);
    expect(new Set(p.video.rungs.map((x) => x.name)).size).toBe(p.video.rungs.length);
  });

  it('AV1 bitrates sit below HEVC at every shared height', async () => {
    const hevc = (await loadPreset('hevc-ladder')).preset.video.rungs;
    const av1 = (await loadPreset('av1-ladder')).preset.video.rungs;
    for (const r of av1) {
      const h = hevc.find((x) => x.height === r.height);
      expect(h, `hevc rung at ${r.height}`).toBeDefined();
      expect(r.bitrate).toBeLessThan(h!.bitrate);
    }
  });

  it('listBuiltinPresets lists the built-ins', async () => {
    const names = (await listBuiltinPresets()).map((p) => p.name).sort();
    expect(names).toEqual(['av1-ladder', 'cmaf-ladder', 'flv-live', 'h264-ladder', 'hevc-ladder', 'live-ladder', 'mp4-download', 'multi-codec-ladder']);
  });

  it('an unknown built-in name is PRESET_NOT_FOUND with the list in the hint', async () => {
    const e = await loadPreset('h265-ladder').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StreamkitError);
    expect((e as StreamkitError).code).toBe('PRESET_NOT_FOUND');
    expect((e as StreamkitError).hint).toMatch(/h264-ladder/);
  });
});

describe('extends', () => {
  it('inherits from a built-in and overrides single keys (objects merge, rung lists replace)', async () => {
    const path = await file(
      'fast.yaml',
      `extends: h264-ladder
name: fast
video:
  encoder:
    cpu: { name: libx264, preset: ultrafast }
  rungs:
    - { name: 180p, height: 180, bitrate: 300k }
packaging:
  hls: { segmentDuration: 2 }
`,
    );
    const r = await loadPreset(path);
    const base = (await loadPreset('h264-ladder')).preset;
    expect(r.name).toBe('fast');
    expect(r.chain).toEqual([path, expect.stringMatching(/presets[/\\]h264-ladder\.yaml$/)]);
    expect(r.preset.video.encoder.cpu).toEqual({ name: 'libx264', preset: 'ultrafast' });
    // the nvenc encoder of the base survives the override of cpu
    expect(r.preset.video.encoder.nvenc).toEqual(base.video.encoder.nvenc);
    expect(r.preset.video.rungs).toEqual([{ name: '180p', height: 180, bitrate: 300_000 }]);
    expect(r.preset.video.rateControl).toEqual(base.video.rateControl);
    expect(r.preset.packaging.hls).toEqual({ segmentDuration: 2, container: 'ts' });
    expect(r.preset.audio).toEqual(base.audio);
  });

  it('resolves a relative extends path against the extending file, across two levels', async () => {
    await file('base.yaml', minimal('audio: { bitrate: 96k }\n'));
    await file('middle.yaml', 'extends: ./base.yaml\nvideo: { keyframeInterval: 1 }\npackaging: { hls: { segmentDuration: 4 } }\n');
    const top = await file('top.yaml', 'extends: middle.yaml\naudio: { channels: 1 }\n');
    const r = await loadPreset(top);
    expect(r.name).toBe('top');
    expect(r.chain.map((f) => f.slice(dir.length + 1))).toEqual(['top.yaml', 'middle.yaml', 'base.yaml']);
    expect(r.preset.video.keyframeInterval).toBe(1);
    expect(r.preset.packaging.hls?.segmentDuration).toBe(4);
    expect(r.preset.audio).toMatchObject({ bitrate: 96_000, channels: 1 });
  });

  it('JSON presets are accepted', async () => {
    const path = await file('p.json', JSON.stringify({ extends: 'av1-ladder', video: { encoder: { cpu: { name: 'libsvtav1', preset: 12 } } } }));
    expect((await loadPreset(path)).preset.video.encoder.cpu).toEqual({ name: 'libsvtav1', preset: 12 });
  });

  it('a cycle is an error naming the files and the extends key', async () => {
    await file('cycle-a.yaml', 'extends: ./cycle-b.yaml\n');
    await file('cycle-b.yaml', 'extends: ./cycle-a.yaml\n');
    const e = await invalid(join(dir, 'cycle-a.yaml'));
    expect(e.issues[0]!.path).toBe('extends');
    expect(e.issues[0]!.file).toBe(join(dir, 'cycle-b.yaml'));
    expect(e.message).toMatch(/cycle/);
    expect(e.message).toContain('cycle-a.yaml -> ');
  });

  it('a self-extending preset is a cycle too', async () => {
    const self = await file('self.yaml', 'extends: ./self.yaml\n');
    const e = await invalid(self);
    expect(e.issues[0]!.path).toBe('extends');
  });
});

describe('errors name the file, the key path and what was expected', () => {
  it('unknown key (a typo in a rung)', async () => {
    const path = await file('typo.yaml', 'extends: h264-ladder\nvideo:\n  rungs:\n    - { name: a, heigth: 360, bitrate: 800k }\n');
    const e = await invalid(path);
    const issue = e.issues.find((i) => i.path === 'video.rungs[0].heigth');
    expect(issue, JSON.stringify(e.issues)).toBeDefined();
    expect(issue!.file).toBe(path);
    expect(issue!.message).toMatch(/unknown key "heigth"/);
    expect(e.message).toContain(path);
    expect(e.message).toContain('video.rungs[0]');
  });

  it('unknown top-level key', async () => {
    const e = await invalid(await file('top-typo.yaml', minimal('pakaging: { hls: {} }\n')));
    expect(e.issues).toEqual([expect.objectContaining({ path: 'pakaging', message: expect.stringMatching(/unknown key/) })]);
  });

  it('wrong type', async () => {
    const path = await file('type.yaml', 'extends: h264-ladder\nvideo: { keyframeInterval: two }\n');
    const e = await invalid(path);
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({ file: path, path: 'video.keyframeInterval' });
    expect(e.issues[0]!.message).toMatch(/expected a number, got string "two"/i);
  });

  it('negative bitrate', async () => {
    const path = await file('neg.yaml', 'extends: h264-ladder\nvideo:\n  rungs:\n    - { height: 360, bitrate: -800k }\n');
    const e = await invalid(path);
    expect(e.issues[0]).toMatchObject({ file: path, path: 'video.rungs[0].bitrate' });
    expect(e.issues[0]!.message).toMatch(/expected a positive bitrate/);
  });

  it('a bitrate that is not a bitrate', async () => {
    const e = await invalid(await file('garbage.yaml', 'extends: h264-ladder\naudio: { bitrate: loud }\n'));
    expect(e.issues[0]).toMatchObject({ path: 'audio.bitrate' });
    expect(e.issues[0]!.message).toMatch(/expected a bitrate such as/);
  });

  it('maxrate below bitrate', async () => {
    const path = await file('maxrate.yaml', 'extends: h264-ladder\nvideo:\n  rungs:\n    - { height: 720, bitrate: 3000k }\n    - { height: 360, bitrate: 800k, maxrate: 600k }\n');
    const e = await invalid(path);
    expect(e.issues[0]).toMatchObject({ file: path, path: 'video.rungs[1].maxrate' });
    expect(e.issues[0]!.message).toMatch(/expected maxrate >= bitrate/);
  });

  it('segment shorter than the GOP', async () => {
    const path = await file('short-seg.yaml', 'extends: h264-ladder\npackaging: { hls: { segmentDuration: 1 } }\n');
    const e = await invalid(path);
    expect(e.issues[0]).toMatchObject({ file: path, path: 'packaging.hls.segmentDuration' });
    expect(e.issues[0]!.message).toMatch(/at least the keyframe interval \(2 s\)/);
  });

  it('segment not a whole multiple of the keyframe interval', async () => {
    const path = await file('odd-seg.yaml', 'extends: h264-ladder\npackaging: { hls: { segmentDuration: 5 } }\n');
    const e = await invalid(path);
    expect(e.issues[0]).toMatchObject({ file: path, path: 'packaging.hls.segmentDuration' });
    expect(e.issues[0]!.message).toMatch(/whole multiple of the keyframe interval/);
  });

  it('MPEG-TS container for HEVC', async () => {
    const path = await file('hevc-ts.yaml', 'extends: hevc-ladder\npackaging: { hls: { container: ts } }\n');
    const e = await invalid(path);
    expect(e.issues[0]).toMatchObject({ file: path, path: 'packaging.hls.container' });
    expect(e.issues[0]!.message).toMatch(/expected fmp4 for hevc/);
  });

  it('an error in a key the base file set names the base file', async () => {
    const base = await file('bad-base.yaml', minimal('packaging: { hls: { segmentDuration: 3 } }\n'));
    const child = await file('good-child.yaml', `extends: ./bad-base.yaml\naudio: { channels: 1 }\n`);
    const e = await invalid(child);
    expect(e.issues[0]).toMatchObject({ file: base, path: 'packaging.hls.segmentDuration' });
  });

  it('several problems are all reported', async () => {
    const path = await file('many.yaml', 'extends: h264-ladder\nvideo: { keyframeInterval: -1, colour: red }\naudio: { channels: 0 }\n');
    const e = await invalid(path);
    const paths = e.issues.map((i) => i.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['audio.channels', 'video.colour', 'video.keyframeInterval']));
    expect(e.message).toMatch(/and \d+ more problems?/);
  });

  it('broken YAML names the line', async () => {
    const path = await file('broken.yaml', 'video:\n  codec: h264\n   rungs: [\n');
    const e = await invalid(path);
    expect(e.issues[0]!.file).toBe(path);
    expect(e.issues[0]!.path).toMatch(/^line \d+$/);
    expect(e.issues[0]!.message).toMatch(/expected valid YAML/);
  });

  it('a missing file is PRESET_NOT_FOUND', async () => {
    const e = await loadPreset(join(dir, 'nope.yaml')).catch((x: unknown) => x);
    expect((e as StreamkitError).code).toBe('PRESET_NOT_FOUND');
    expect((e as StreamkitError).message).toContain('nope.yaml');
  });
});
