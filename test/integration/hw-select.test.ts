/**
 * Hardware choice on this machine, for real: `--hw auto` falls back to the CPU and says why,
 * `--hw nvenc` exits 4 with a clear message and creates nothing, and `doctor` reports what ffmpeg
 * itself says. "What ffmpeg says" is asked of ffmpeg directly here, not through streamkit's code.
 *
 * On a machine where NVENC works these fallback tests are skipped (test/integration/nvenc.test.ts
 * covers that machine).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { cliEnv, FFMPEG, haveFfmpeg, need, parseEvents, cli as spawnCli, skipNoted, unmet } from '../helpers/index.js';

const run = promisify(execFile);

/** ffmpeg's own answer: stderr of a one-frame h264_nvenc encode, log prefixes removed. */
async function ffmpegOwnTrial(encoder: string): Promise<{ ok: boolean; lines: string[] }> {
  try {
    await run(FFMPEG, [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'warning',
      '-f',
      'lavfi',
      '-i',
      'color=black:size=256x144:rate=30',
      '-frames:v',
      '1',
      '-c:v',
      encoder,
      '-f',
      'null',
      '-',
    ]);
    return { ok: true, lines: [] };
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '');
    return {
      ok: false,
      lines: stderr
        .split('\n')
        .map((l) => l.replace(/^(\[[^\]]*@ ?(0x)?[0-9a-f]+\]\s*)+/i, '').trim())
        .filter(Boolean),
    };
  }
}

async function ffmpegList(flag: string): Promise<string> {
  return (await run(FFMPEG, ['-hide_banner', flag])).stdout;
}

const listedH264Nvenc = haveFfmpeg && /^\s*V\S*\s+h264_nvenc\s/m.test(await ffmpegList('-encoders'));
const own = listedH264Nvenc ? await ffmpegOwnTrial('h264_nvenc') : { ok: false, lines: [] as string[] };
const nvencWorks = own.ok;

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string; events: Record<string, unknown>[] }> {
  const out = new Sink();
  const err = new Sink();
  const code = await main(argv, { out, err, env: { ...process.env, CI: '1' }, signal: new AbortController().signal });
  const events = argv.includes('--json')
    ? out.text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  return { code, out: out.text, err: err.text, events };
}

describe.skipIf(unmet(need.ffmpeg) || skipNoted(nvencWorks && 'hw-select: NVENC works on this machine, so there is no fallback to test (nvenc.test.ts covers it)'))(
  nvencWorks ? 'hardware fallback (skipped: NVENC works on this machine)' : 'hardware choice on a machine without a working NVENC',
  () => {
    let root = '';
    let input = '';

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'streamkit-hw-'));
      input = join(root, 'in.mp4');
      await run(FFMPEG, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-nostdin',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x180:rate=30',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
        '-t',
        '2',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-c:a',
        'aac',
        input,
      ]);
    });

    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    it('--hw auto encodes on the CPU and says why, in the start event', async () => {
      const out = join(root, 'auto');
      const r = await cli(['--json', 'transcode', input, '-p', 'h264-ladder', '-o', out]);
      expect(r.code).toBe(0);
      const start = r.events.find((e) => e['type'] === 'start')!;
      expect(start).toMatchObject({ hardware: 'cpu', encoder: 'libx264' });
      expect(start['gpuPipeline']).toBeUndefined();
      const reason = String(start['hardwareReason']);
      if (listedH264Nvenc) {
        expect(reason).toMatch(/^auto: CPU \(h264_nvenc trial encode failed: /);
        // the reason quotes what ffmpeg itself said when asked to encode with h264_nvenc
        expect(own.lines.some((l) => reason.includes(`"${l}"`))).toBe(true);
      } else {
        expect(reason).toMatch(/^auto: CPU \(h264_nvenc is not in this ffmpeg build/);
      }
      const master = await readFile(join(out, 'master.m3u8'), 'utf8');
      expect(master).toMatch(/CODECS="avc1\.64[0-9A-Fa-f]{4},mp4a\.40\.2"/);
    });

    it('--hw cpu and --hw auto in --dry-run name the encoder and the reason', async () => {
      const cpu = await cli(['transcode', input, '-p', 'hevc-ladder', '--hw', 'cpu', '--dry-run']);
      expect(cpu.code).toBe(0);
      expect(cpu.out).toContain('# preset hevc-ladder: libx265 on cpu (--hw cpu)');
      const auto = await cli(['transcode', input, '-p', 'hevc-ladder', '--dry-run']);
      expect(auto.code).toBe(0);
      expect(auto.out).toMatch(/# preset hevc-ladder: libx265 on cpu \(auto: CPU \(hevc_nvenc /);
      expect(auto.out).not.toContain('-hwaccel');
    });

    it('--hw nvenc exits 4 with the reason and a hint, and creates nothing', async () => {
      const out = join(root, 'nvenc');
      const before = await readdir(root);
      const r = await cli(['transcode', input, '-p', 'h264-ladder', '--hw', 'nvenc', '-o', out]);
      expect(r.code).toBe(4);
      const lines = r.err.trim().split('\n');
      if (listedH264Nvenc) {
        expect(lines[0]).toMatch(/^error: NVENC does not work here: a one-frame h264_nvenc trial encode failed: .+\.$/);
        expect(own.lines.some((l) => lines[0]!.includes(`"${l}"`))).toBe(true);
      } else {
        expect(lines[0]).toMatch(/^error: h264_nvenc is not in this ffmpeg build/);
      }
      expect(lines.at(-1)).toMatch(/^hint: .*--hw cpu/);
      expect(existsSync(out)).toBe(false);
      expect(await readdir(root)).toEqual(before);

      const json = await cli(['--json', 'transcode', input, '-p', 'h264-ladder', '--hw', 'nvenc', '-o', out]);
      expect(json.code).toBe(4);
      const error = json.events.find((e) => e['type'] === 'error')!;
      expect(error).toMatchObject({ exitCode: 4, code: listedH264Nvenc ? 'FEATURE_UNAVAILABLE' : 'ENCODER_UNAVAILABLE' });
      if (listedH264Nvenc) expect(own.lines).toContain(error['ffmpegSaid']);
      expect(json.events.some((e) => e['type'] === 'start')).toBe(false);
    });

    it('--hw nvenc with the AV1 preset says what av1_nvenc needs', async () => {
      const r = await cli(['transcode', input, '-p', 'av1-ladder', '--hw', 'nvenc', '-o', join(root, 'av1')]);
      expect(r.code).toBe(4);
      const version = /ffmpeg version n?(\d+)\./.exec(await ffmpegList('-version'))?.[1];
      const listedAv1 = /^\s*V\S*\s+av1_nvenc\s/m.test(await ffmpegList('-encoders'));
      if (!listedAv1 && version !== undefined && Number(version) < 6) expect(r.err).toMatch(/av1_nvenc is not in this ffmpeg build: it needs ffmpeg 6\.0 or newer/);
      else if (listedAv1) expect(r.err).toMatch(/NVENC does not work here: a one-frame av1_nvenc trial encode failed/);
      else expect(r.err).toMatch(/av1_nvenc is not in this ffmpeg build/);
    });

    it('doctor --json reports NVENC, the GPU filters and the auto choice as ffmpeg has them', async () => {
      const r = await cli(['--json', 'doctor']);
      expect(r.code).toBe(0);
      const d = r.events.find((e) => e['type'] === 'doctor') as {
        nvenc: Record<string, { listed: boolean; works: boolean; message: string; cause?: string; ffmpegSaid?: string; hint?: string }>;
        gpu: Record<string, unknown>;
        auto: Record<string, { hardware: string; encoder: string; reason: string }>;
      };
      const h264 = d.nvenc['h264_nvenc']!;
      expect(h264.listed).toBe(listedH264Nvenc);
      expect(h264.works).toBe(false);
      if (listedH264Nvenc) {
        expect(own.lines).toContain(h264.ffmpegSaid);
        expect(h264.cause).toMatch(/^(no-driver|no-nvenc-library|driver-too-old|no-device|sessions|codec-unsupported|feature-unsupported|no-capable-device|other)$/);
        expect(h264.hint).toMatch(/--hw cpu/);
      }
      const filters = await ffmpegList('-filters');
      const has = (f: string): boolean => new RegExp(`^ \\S{3} ${f}\\s`, 'm').test(filters);
      expect(d.gpu).toMatchObject({
        hwaccelCuda: /^cuda$/m.test(await ffmpegList('-hwaccels')),
        scale_cuda: has('scale_cuda'),
        scale_npp: has('scale_npp'),
        hwupload_cuda: has('hwupload_cuda'),
        pipeline: 'none: no NVENC encoder works here',
      });
      expect(d.auto['h264-ladder']).toMatchObject({ hardware: 'cpu', encoder: 'libx264' });
      expect(d.auto['h264-ladder']!.reason).toMatch(/^auto: CPU \(h264_nvenc /);

      const text = await cli(['doctor']);
      expect(text.code).toBe(0);
      expect(text.out).toMatch(listedH264Nvenc ? /^h264_nvenc {2}listed but unusable: .+$/m : /^h264_nvenc {2}not available: /m);
      expect(text.out).toMatch(/^gpu: hwaccel cuda (yes|no), scale_cuda (yes|no), scale_npp (yes|no), hwupload_cuda (yes|no)$/m);
      expect(text.out).toMatch(/^--hw auto, h264-ladder: libx264 on cpu \(auto: CPU/m);
    });

    const noDriver = own.lines.some((l) => /Cannot load libcuda/.test(l));
    it.skipIf(!listedH264Nvenc || skipNoted(!noDriver && listedH264Nvenc && `hw-select: this machine's NVENC fails otherwise (${own.lines.at(-1)}), not for want of a driver`))(
      'a trial that failed for want of a driver is remembered per ffmpeg and driver setup, not asked again by every job; doctor asks anew',
      async () => {
        const cache = await mkdtemp(join(root, 'cache-'));
        const reasonOf = async (extra: NodeJS.ProcessEnv = {}): Promise<string> => {
          const r = await spawnCli(['transcode', input, '-p', 'h264-ladder', '--dry-run', '--json'], { env: cliEnv(extra, cache) });
          expect(r.code).toBe(0);
          return String(parseEvents(r.stdout).find((e) => e.type === 'plan')?.['hardwareReason'] ?? r.stdout);
        };
        const first = await reasonOf();
        expect(first).toMatch(/^auto: CPU \(h264_nvenc trial encode failed: no NVIDIA driver/);
        expect(first).not.toMatch(/remembered/);
        // the next job (another process) takes the failure from the cache, with the same words and says so
        const second = await reasonOf();
        expect(second).toBe(`${first.slice(0, -1)} (remembered from an earlier trial with this ffmpeg and driver setup))`);
        // another dynamic-linker search path may hold a driver: tried again
        expect(await reasonOf({ LD_LIBRARY_PATH: cache })).toBe(first);
        // doctor always runs the trial
        const d = await spawnCli(['--json', 'doctor'], { env: cliEnv({}, cache) });
        const nvenc = (parseEvents(d.stdout).find((e) => e.type === 'doctor') as { nvenc: Record<string, { message: string }> } | undefined)?.nvenc;
        expect(nvenc?.['h264_nvenc']?.message).toMatch(/^no NVIDIA driver/);
        expect(nvenc?.['h264_nvenc']?.message).not.toMatch(/remembered/);
      },
    );
  },
);
