/**
 * NVENC for real.
 *
 * 1. Always (when ffmpeg lists the NVENC encoders): every argument streamkit gives NVENC, and every
 *    option of the GPU filter graph, is accepted by this ffmpeg. Without a GPU ffmpeg still parses
 *    option values before it loads the driver, so a misspelt flag or value fails here, GPU or not.
 * 2. Only where a one-frame NVENC trial encode works (skipped with the reason otherwise): a tiny
 *    ladder on NVENC against the same preset on the CPU: same package layout, same segment
 *    boundaries, keyframes at the same times in every rung, CODECS of the same family; and each
 *    pipeline mode (NVDEC + GPU scaling, upload + GPU scaling, CPU frames) packaged and checked.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { classifyNvencFailure } from '../../src/encoder/nvenc.js';
import { encoderProfiles, type RungEncodeSettings } from '../../src/encoder/profiles.js';
import { trialEncode } from '../../src/encoder/select.js';
import { probeCapabilities } from '../../src/ffmpeg/capabilities.js';
import { buildTranscodeArgs } from '../../src/args/command.js';
import { gpuVideoFilterGraph, pipelineCandidates, type GpuScaler } from '../../src/args/gpu-graph.js';
import { runFfmpeg } from '../../src/ffmpeg/run.js';
import { buildLadder } from '../../src/media/ladder.js';
import { rational } from '../../src/media/rational.js';
import { packageHls } from '../../src/package/hls.js';
import { decodeCheck } from '../../src/package/verify.js';
import { rungDir } from '../../src/plan.js';
import { parsePresetObject } from '../../src/preset/load.js';
import { planTranscode } from '../../src/transcode.js';
import { FFMPEG, FFPROBE, haveFfmpeg, need, skipNoted, unmet } from '../helpers/index.js';

const run = promisify(execFile);
// ffmpeg is a requirement (a failure under CI when missing); NVENC itself is optional everywhere
const noFfmpeg = unmet(need.ffmpeg);
const caps = haveFfmpeg ? await probeCapabilities(FFMPEG) : null;
const listed = (name: string): boolean => caps?.encoders.some((e) => e.name === name) ?? false;
const nvencListed = (['h264_nvenc', 'hevc_nvenc', 'av1_nvenc'] as const).filter(listed);
const trial = caps && listed('h264_nvenc') ? await trialEncode(caps, 'h264_nvenc') : null;
const nvencWorks = trial?.ok === true;
const skipReason = !haveFfmpeg ? 'no ffmpeg' : !listed('h264_nvenc') ? 'this ffmpeg has no h264_nvenc' : `h264_nvenc does not work here: ${trial?.message ?? ''}`;

const optionErrors =
  /Unable to parse option|Error setting option|Unrecognized option|Option '?[\w-]+'? not found|has not been used for any stream|Error applying option|Invalid option/i;

async function ffmpegFails(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  try {
    const r = await run(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'warning', ...args]);
    return { ok: true, stderr: r.stderr };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: string }).stderr ?? '') };
  }
}

describe.skipIf(noFfmpeg || skipNoted(nvencListed.length === 0 && 'nvenc: this ffmpeg lists no NVENC encoder, so there are no NVENC arguments to check'))(
  'NVENC arguments accepted by this ffmpeg (GPU or not)',
  () => {
    const settings: RungEncodeSettings = {
      mode: 'vbr',
      bitrate: 1_000_000,
      maxrate: 1_500_000,
      bufsize: 3_000_000,
      crf: 28,
      gopFrames: 60,
      speed: 'p5',
      tune: 'hq',
      options: {},
      bFrameRefs: true,
    };
    for (const name of nvencListed) {
      for (const mode of ['crf', 'vbr', 'cbr'] as const) {
        it(`${name} ${mode}: every flag and value parses; failure, if any, is the GPU's`, async () => {
          const r = await ffmpegFails([
            '-f',
            'lavfi',
            '-i',
            'color=black:size=256x144:rate=30',
            '-frames:v',
            '1',
            '-c:v',
            name,
            ...encoderProfiles[name].args({ ...settings, mode }),
            '-f',
            'null',
            '-',
          ]);
          expect(r.stderr).not.toMatch(optionErrors);
          if (!r.ok) expect(classifyNvencFailure(r.stderr).kind).not.toBe('other');
        });
      }
      it(`${name}: every option a preset may set exists in this ffmpeg`, async () => {
        const own = (await run(FFMPEG, ['-hide_banner', '-h', `encoder=${name}`])).stdout;
        const generic = (await run(FFMPEG, ['-hide_banner', '-h', 'full'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
        for (const opt of encoderProfiles[name].allowedOptions) {
          const re = new RegExp(`^\\s+-${opt.replace(/[-]/g, '\\-')}\\s`, 'm');
          expect(re.test(own) || re.test(generic), `${name} option ${opt}`).toBe(true);
        }
      });
    }

    const scalers = (['scale_cuda', 'scale_npp'] as const).filter((f) => caps?.filters.includes(f));
    for (const scaler of scalers) {
      it(`the ${scaler} graph's options are accepted (software frames then fail only at format negotiation)`, async () => {
        const preset = parsePresetObject({
          video: {
            codec: 'h264',
            encoder: { cpu: { name: 'libx264' } },
            rateControl: { mode: 'vbr' },
            rungs: [
              { height: 180, bitrate: '300k' },
              { height: 144, bitrate: '200k' },
            ],
          },
        });
        const video = {
          index: 0,
          codec: 'h264',
          width: 320,
          height: 180,
          sar: rational(1, 1),
          rotation: 0 as const,
          displayWidth: 320,
          displayHeight: 180,
          frameRate: rational(30, 1),
          variableFrameRate: false,
          pixelFormat: 'yuv420p',
          bitDepth: 8,
        };
        const { graph, outputs } = gpuVideoFilterGraph(
          { media: { video } as never, ladder: buildLadder(preset, { video }), timeline: { offset: 1, inputStart: 0, videoStart: 0, audioPrimingSamples: 0 } },
          { mode: 'gpu', scaler: scaler as GpuScaler },
        );
        const r = await ffmpegFails([
          '-f',
          'lavfi',
          '-i',
          'testsrc2=size=320x180:rate=30',
          '-t',
          '0.2',
          '-filter_complex',
          graph,
          ...outputs.flatMap((o) => ['-map', `[${o}]`, '-f', 'null', '-']),
        ]);
        expect(r.ok).toBe(false);
        expect(r.stderr).not.toMatch(optionErrors);
        expect(r.stderr).not.toMatch(/Error initializing filter/);
        expect(r.stderr).toMatch(/Impossible to convert between the formats/);
      });
    }
  },
);

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(argv: string[]): Promise<{ code: number; err: string; events: Record<string, unknown>[] }> {
  const out = new Sink();
  const err = new Sink();
  const code = await main(['--json', ...argv], { out, err, env: { ...process.env, CI: '1' }, signal: new AbortController().signal });
  return {
    code,
    err: err.text,
    events: out.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  await walk(dir);
  return out.sort();
}

/** segment durations of a media playlist */
const extinf = (playlist: string): number[] =>
  playlist
    .split('\n')
    .filter((l) => l.startsWith('#EXTINF:'))
    .map((l) => Number.parseFloat(l.slice(8)));
const HALF_FRAME = 1 / 60;
/** same length, every value within half a frame */
function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(Math.abs(a - expected[i]!), `${what} #${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(HALF_FRAME);
  });
}

async function keyframeTimes(playlist: string): Promise<number[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'json', playlist]);
  return (JSON.parse(stdout) as { packets: { pts_time: string; flags: string }[] }).packets
    .filter((p) => p.flags.startsWith('K'))
    .map((p) => Number(Number(p.pts_time).toFixed(3)))
    .sort((a, b) => a - b);
}

const ladders = [
  { codec: 'h264', cpu: 'libx264', nvenc: 'h264_nvenc', family: 'avc1.' },
  { codec: 'hevc', cpu: 'libx265', nvenc: 'hevc_nvenc', family: 'hvc1.' },
  { codec: 'av1', cpu: 'libsvtav1', nvenc: 'av1_nvenc', family: 'av01.' },
] as const;

describe.skipIf(noFfmpeg || skipNoted(!nvencWorks && `nvenc: NVENC ladder tests: ${skipReason}`))(
  nvencWorks ? 'a tiny ladder on NVENC, against the same preset on the CPU' : `a tiny ladder on NVENC (skipped: ${skipReason})`,
  () => {
    let root = '';
    let input = '';
    const presetFile = (codec: string): string => join(root, `t-${codec}.yaml`);

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'streamkit-nvenc-'));
      input = join(root, 'in.mp4');
      await run(FFMPEG, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-nostdin',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:rate=30',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
        '-t',
        '5',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        input,
      ]);
      for (const l of ladders) {
        await writeFile(
          presetFile(l.codec),
          [
            `name: t-${l.codec}`,
            'video:',
            `  codec: ${l.codec}`,
            `  encoder: { cpu: { name: ${l.cpu}, preset: ${l.cpu === 'libsvtav1' ? 12 : 'veryfast'} }, nvenc: { name: ${l.nvenc}, preset: p4, tune: hq } }`,
            `  rateControl: { mode: ${l.codec === 'av1' ? 'crf' : 'vbr'}, crf: 32 }`,
            '  keyframeInterval: 1',
            '  rungs: [{ height: 360, bitrate: 800k }, { height: 270, bitrate: 450k }, { height: 180, bitrate: 250k }]',
            'audio: { bitrate: 96k }',
            'packaging:',
            `  hls: { segmentDuration: 2, container: ${l.codec === 'h264' ? 'ts' : 'fmp4'} }`,
            '',
          ].join('\n'),
        );
      }
    });

    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    for (const l of ladders) {
      it(`${l.nvenc}: same layout, segment boundaries, keyframes and CODECS family as ${l.cpu}`, async (ctx) => {
        // reporters do not show skip notes of passing files: say it on stderr too
        if ((!listed(l.nvenc) || !(await trialEncode(caps!, l.nvenc)).ok) && skipNoted(`nvenc: ${l.nvenc} does not work here`)) ctx.skip(`${l.nvenc} does not work here`);
        const outCpu = join(root, `${l.codec}-cpu`);
        const outGpu = join(root, `${l.codec}-nvenc`);
        const cpu = await cli(['transcode', input, '-p', presetFile(l.codec), '--hw', 'cpu', '-o', outCpu]);
        expect(cpu.code, cpu.err).toBe(0);
        const gpu = await cli(['transcode', input, '-p', presetFile(l.codec), '--hw', 'nvenc', '-o', outGpu]);
        expect(gpu.code, gpu.err).toBe(0);
        const start = gpu.events.find((e) => e['type'] === 'start')!;
        expect(start).toMatchObject({ hardware: 'nvenc', encoder: l.nvenc });
        expect(['gpu', 'upload', 'cpu']).toContain((start['gpuPipeline'] as { mode: string }).mode);
        console.info(`[nvenc.test] ${l.nvenc}: ${String(start['hardwareReason'])}`);

        // the same files: rung folders, segment names and counts, playlists, init segments
        expect(await files(outGpu)).toEqual(await files(outCpu));
        const rungs = ['360p', '270p', '180p'];
        const gpuKeys = await keyframeTimes(join(outGpu, '360p', 'index.m3u8'));
        const cpuKeys = await keyframeTimes(join(outCpu, '360p', 'index.m3u8'));
        // one keyframe per second (keyframeInterval 1), on CPU and NVENC alike
        const relative = (keys: number[]): number[] => keys.map((k) => k - keys[0]!);
        expectClose(relative(cpuKeys), [0, 1, 2, 3, 4], 'CPU keyframes');
        expectClose(relative(gpuKeys), relative(cpuKeys), 'NVENC keyframes');
        for (const r of rungs) {
          // keyframes at exactly the same times in every NVENC rung, segments as long as on the CPU
          expect(await keyframeTimes(join(outGpu, r, 'index.m3u8'))).toEqual(gpuKeys);
          expectClose(extinf(await readFile(join(outGpu, r, 'index.m3u8'), 'utf8')), extinf(await readFile(join(outCpu, r, 'index.m3u8'), 'utf8')), `${r} segment durations`);
        }
        const codecsOf = (m: string): string[] => [...m.matchAll(/CODECS="([^"]+)"/g)].map((x) => x[1]!.split(',')[0]!);
        const gpuCodecs = codecsOf(await readFile(join(outGpu, 'master.m3u8'), 'utf8'));
        expect(gpuCodecs.length).toBe(codecsOf(await readFile(join(outCpu, 'master.m3u8'), 'utf8')).length);
        for (const c of gpuCodecs) expect(c.startsWith(l.family)).toBe(true);
      });
    }

    it('every pipeline mode this ffmpeg allows packages with aligned keyframes and decodes', async () => {
      const planned = await planTranscode({ input, preset: presetFile('h264'), hw: 'nvenc', ffmpeg: FFMPEG, ffprobe: FFPROBE });
      const candidates = pipelineCandidates(planned.plan.media.video, caps!).filter((c) => c.possible);
      expect(candidates.map((c) => c.mode)).toContain('cpu');
      for (const c of candidates) {
        const workDir = join(root, `mode-${c.mode}`);
        const plan = { ...planned.plan, nvenc: { ...planned.plan.nvenc!, mode: c.mode, scaler: c.scaler } };
        for (const d of [...plan.ladder.rungs.map((r) => rungDir(r.name)), ...plan.audioRenditions.map((a) => a.dir)]) await mkdir(join(workDir, d), { recursive: true });
        await runFfmpeg(FFMPEG, buildTranscodeArgs(plan), { what: `encoding in mode ${c.mode}`, cwd: workDir });
        const pkg = await packageHls(plan, workDir);
        expect(pkg.rungs.map((r) => r.name)).toEqual(['360p', '270p', '180p']);
        await decodeCheck(FFMPEG, workDir, pkg.decodePieces);
      }
    });
  },
);
