import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { buildLadders } from '../media/ladder.js';
import { colourCodecOf, describeColour, planColour } from '../media/colour.js';
import { planDeinterlace } from '../media/interlace.js';
import { describeMedia, probeHdrMetadata, probeInterlace, probeMedia } from '../media/probe.js';
import { audioRenditions } from '../pipeline/plan.js';
import { planSubtitles } from '../media/subtitles.js';
import { formatRational } from '../media/rational.js';
import { listBuiltinPresets, loadPreset } from '../preset/load.js';
import { presetDocument, videoLadders } from '../preset/schema.js';
import { checkPresetEncoders } from '../encoder/preset-check.js';
import { planTranscode, resolveToolchain } from '../transcode.js';
import { transcodeCommand } from './transcode.js';
import { runDoctor } from './doctor.js';
import { registerBatch } from './batch.js';
import { registerQueue } from './queue.js';
import { registerWorker } from './worker.js';
import { streamkitVersion } from '../version.js';
import { printDryRun } from './dry-run.js';
import { kbps } from './format.js';
import { registerPush } from './push.js';
import { registerLive } from './live.js';
import { registerServe } from './serve.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';
import type { HardwareRequest } from '../encoder/select.js';
import { frameRateOption, hwOption, perTitleOptions, vmafOption } from './options.js';

/**
 * Build the commander program. No side effects: nothing is parsed, printed or exited here; actions
 * run through `run`, which main() wires to the reporter and exit codes.
 */
export function createProgram(io: CliIo, run: (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions) => Promise<void>): Command {
  const program = new Command('streamkit');
  program
    .description('Turn source video into adaptive-bitrate packages (HLS, FLV/RTMP, MP4) from H.264 / HEVC / AV1 ladder presets.')
    .version(streamkitVersion(), '-V, --version', 'print the streamkit version')
    .option('--json', 'newline-delimited JSON events on stdout (for programs)')
    .option('-q, --quiet', 'print errors only')
    .option('-v, --verbose', 'more detail, stack traces on errors')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .option('--ffmpeg <path>', 'ffmpeg binary (else STREAMKIT_FFMPEG, PATH, ffmpeg-static)')
    .option('--ffprobe <path>', 'ffprobe binary (else STREAMKIT_FFPROBE, PATH, beside ffmpeg)')
    .addHelpText(
      'after',
      `
Examples:
  $ streamkit transcode movie.mp4 --preset h264-ladder -o out/movie
  $ streamkit transcode movie.mp4 --preset hevc-ladder --dry-run
  $ streamkit --json transcode movie.mp4 --preset av1-ladder > events.ndjson
  $ streamkit probe movie.mp4
  $ streamkit presets show h264-ladder
  $ streamkit serve out        # then open http://127.0.0.1:8080/
  $ streamkit live --listen rtmp://0.0.0.0:1935/live/$KEY -o out/live
  $ streamkit doctor

Exit codes: 0 success, 1 encoding or packaging failed, 2 usage error or invalid preset,
3 input missing, unreadable or not decodable media, 4 ffmpeg or a required encoder
unavailable, 130 interrupted (Ctrl-C, SIGTERM).
Progress: a task list in a terminal; timestamped plain lines when stdout is not a terminal
or CI is set; NDJSON events with --json. NO_COLOR turns colours off.`,
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .exitOverride();

  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

  program
    .command('transcode')
    .description('encode INPUT into an HLS ladder package (master.m3u8 + one folder per rung)')
    .argument('<input>', 'media file (a path is always a file) or an explicit http(s):// URL')
    .requiredOption('-p, --preset <name|file>', 'built-in preset name (see `streamkit presets`) or a preset file')
    .option('-o, --output <dir>', 'package folder (default: ./<input name>-<preset> in the current folder)')
    .option('-f, --force', 'replace an existing output folder (only once the new package is complete)')
    .addOption(frameRateOption())
    .addOption(hwOption())
    .addOption(perTitleOptions()[0]!)
    .addOption(perTitleOptions()[1]!)
    .addOption(vmafOption())
    .option('--dry-run', 'print the resolved ladder and the exact ffmpeg command; run nothing (with --per-title: after the analysis)')
    .option('--subtitles <file[:lang]>', 'a sidecar .srt/.vtt/.ass subtitle file as a WebVTT rendition, with its language (repeatable)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .addHelpText(
      'after',
      `
Examples:
  $ streamkit transcode movie.mp4 --preset h264-ladder -o out/movie
  $ streamkit transcode movie.mkv --preset h264-ladder --subtitles movie.en.srt:en --subtitles movie.fr.srt:fr
  $ streamkit transcode movie.mp4 --preset av1-ladder --json > events.ndjson
  $ streamkit transcode clip.h264 --framerate 30000/1001 --preset ./my-preset.yaml
  $ streamkit transcode movie.mp4 --preset hevc-ladder --dry-run
  $ streamkit transcode movie.mp4 --preset h264-ladder --per-title
  $ streamkit transcode movie.mp4 --preset h264-ladder --per-title --dry-run`,
    )
    .action(
      async (
        input: string,
        o: {
          preset: string;
          output?: string;
          force?: boolean;
          framerate?: string;
          hw: HardwareRequest;
          dryRun?: boolean;
          subtitles?: string[];
          perTitle?: boolean;
          vmaf?: string;
        },
        cmd: Command,
      ) =>
        run(async (ctx) => {
          const common = {
            input,
            preset: o.preset,
            output: o.output,
            ffmpeg: ctx.opts.ffmpeg,
            ffprobe: ctx.opts.ffprobe,
            frameRate: o.framerate,
            hw: o.hw,
            subtitles: o.subtitles,
            perTitle: o.perTitle,
            vmaf: o.vmaf,
            signal: io.signal,
          };
          if (o.dryRun) {
            printDryRun(ctx, await planTranscode({ ...common, onEvent: (e) => (e.type === 'analysis' || e.type === 'warning' ? ctx.reporter.event(e) : undefined) }), input);
            return;
          }
          await transcodeCommand(ctx, { ...common, force: o.force, signal: io.signal });
        }, globals(cmd)),
    );

  const presets = program
    .command('presets')
    .description('list, show and validate presets')
    .addHelpText('after', '\nExamples:\n  $ streamkit presets\n  $ streamkit presets show hevc-ladder\n  $ streamkit presets validate ./my-ladder.yaml');
  presets
    .command('list', { isDefault: true })
    .description('list the built-in presets')
    .addHelpText('after', '\nExamples:\n  $ streamkit presets list\n  $ streamkit presets --json')
    .action(async (_o: unknown, cmd: Command) =>
      run(async (ctx) => {
        const list = await listBuiltinPresets();
        if (ctx.mode === 'json') {
          ctx.reporter.event({ type: 'presets', presets: list });
          return;
        }
        const width = Math.max(14, ...list.map((p) => p.name.length));
        for (const p of list) io.out.write(`${p.name.padEnd(width)} ${p.description}\n`);
      }, globals(cmd)),
    );
  presets
    .command('show')
    .description('print a preset as resolved (after extends and defaults)')
    .argument('<name|file>')
    .addHelpText('after', '\nExample:\n  $ streamkit presets show hevc-ladder')
    .action(async (ref: string, _o: unknown, cmd: Command) =>
      run(async (ctx) => {
        const r = await loadPreset(ref);
        // a multi-codec preset shows its ladders as the list it was written as
        const doc = presetDocument(r.preset);
        if (ctx.mode === 'json') ctx.reporter.event({ type: 'preset', name: r.name, file: r.file, chain: r.chain, preset: doc });
        else io.out.write(`# ${r.name} (${r.chain.join(' <- ')})\n${toYaml(doc)}`);
      }, globals(cmd)),
    );
  presets
    .command('validate')
    .description('check a preset file without encoding (exit 0 when valid, 2 when not)')
    .argument('<file>')
    .addHelpText('after', '\nExample:\n  $ streamkit presets validate ./my-ladder.yaml')
    .action(async (file: string, _o: unknown, cmd: Command) =>
      run(async (ctx) => {
        const r = await loadPreset(file.includes('/') ? file : `./${file}`);
        // the checks that depend on the encoder (speed preset, tune, extra options), for every
        // encoder the preset names, so that a preset valid here never fails later on another machine
        checkPresetEncoders(r.preset, r.file);
        if (ctx.mode === 'json') ctx.reporter.event({ type: 'valid', name: r.name, file: r.file });
        else {
          const ladders = videoLadders(r.preset);
          io.out.write(`${r.file}: valid (${r.name}, ${ladders.map((l) => l.codec).join(' + ')}, ${ladders.reduce((n, l) => n + l.rungs.length, 0)} rungs)\n`);
        }
      }, globals(cmd)),
    );

  program
    .command('probe')
    .description('show what streamkit sees in INPUT and the ladder it would build')
    .argument('<input>')
    .option('-p, --preset <name|file>', 'preset whose ladder to fit to the input', 'h264-ladder')
    .addOption(frameRateOption())
    .addHelpText('after', '\nExamples:\n  $ streamkit probe movie.mp4\n  $ streamkit probe movie.mp4 --preset av1-ladder --json')
    .action(async (input: string, o: { preset: string; framerate?: string }, cmd: Command) =>
      run(async (ctx) => {
        const preset = await loadPreset(o.preset);
        const tools = await resolveToolchain(ctx.opts);
        const probed = await probeMedia(input, { ffprobe: tools.ffprobe.path, frameRate: o.framerate, signal: io.signal });
        const hdr = await probeHdrMetadata(probed, { ffprobe: tools.ffprobe.path, signal: io.signal });
        const media = await probeInterlace({ ...probed, video: { ...probed.video, hdr } }, { ffmpeg: tools.ffmpeg.path, signal: io.signal });
        const ladder = buildLadders(preset.preset, media);
        const colour = planColour(media.video, colourCodecOf(preset.preset), preset.preset.video.hdr);
        const deinterlace = planDeinterlace(media.video.interlace, preset.preset.video.deinterlace);
        const audio = audioRenditions(media, preset.preset);
        const subtitleNotes = planSubtitles(media, [], { enabled: preset.preset.packaging.subtitles !== false, hls: preset.preset.packaging.hls !== undefined }).notes;
        if (ctx.mode === 'json') {
          ctx.reporter.event({
            type: 'probe',
            media: { ...media, video: { ...media.video, frameRate: formatRational(media.video.frameRate) } },
            preset: preset.name,
            ladder: { ...ladder, frameRate: formatRational(ladder.frameRate) },
            colour,
            deinterlace: deinterlace.plan,
            audio,
            subtitleNotes,
          });
          return;
        }
        io.out.write(`${input}: ${describeMedia(media)}\n`);
        const v = media.video;
        io.out.write(
          `video: ${v.codec} ${v.width}x${v.height} SAR ${v.sar.num}:${v.sar.den} rotation ${v.rotation} -> displayed ${v.displayWidth}x${v.displayHeight}, ${v.pixelFormat}\n`,
        );
        io.out.write(`colour: ${describeColour(v)}\n`);
        const il = v.interlace;
        if (il)
          io.out.write(
            `scan: field order ${il.fieldOrder}${il.idet ? `, idet on a sample: ${il.idet.tff} top-field-first, ${il.idet.bff} bottom-field-first, ${il.idet.progressive} progressive, ${il.idet.undetermined} undetermined` : ''}\n`,
          );
        for (const a of media.audio)
          io.out.write(
            `audio #${a.index}: ${a.codec} ${a.channels} ch${a.channelLayout ? ` (${a.channelLayout})` : ''} ${a.sampleRate} Hz${a.language ? ` [${a.language}]` : ''}${a.title ? ` "${a.title}"` : ''}\n`,
          );
        io.out.write(`ladder (${preset.name}) @ ${formatRational(ladder.frameRate)} fps, keyframe every ${ladder.gopFrames} frames:\n`);
        const nameWidth = Math.max(8, ...ladder.rungs.map((r) => r.name.length));
        for (const r of ladder.rungs)
          io.out.write(`  ${r.name.padEnd(nameWidth)} ${`${r.width}x${r.height}`.padEnd(10)} ${kbps(r.bitrate)}${r.fromSource ? '  [source height]' : ''}\n`);
        for (const a of audio.renditions)
          io.out.write(`  ${a.dir.padEnd(nameWidth)} ${a.surround?.codec ?? 'aac'} ${a.channels} ch "${a.name}"${a.surround ? ' (surround group)' : ''}\n`);
        for (const s of media.subtitles ?? [])
          io.out.write(
            `subtitle #${s.index}: ${s.codec}${s.language ? ` [${s.language}]` : ''}${s.title ? ` "${s.title}"` : ''}${s.default ? ' default' : ''}${s.forced ? ' forced' : ''}\n`,
          );
        for (const n of [...ladder.notes, ...deinterlace.notes, ...colour.notes, ...audio.notes, ...subtitleNotes]) io.out.write(`  note: ${n}\n`);
      }, globals(cmd)),
    );

  registerPush(program, io, run);
  registerLive(program, io, run);

  program
    .command('doctor')
    .description('which ffmpeg/ffprobe are used and why, their versions, encoders per codec, whether NVENC really works')
    .addHelpText('after', '\nExample:\n  $ streamkit doctor --json')
    .action(async (_o: unknown, cmd: Command) => run((ctx) => runDoctor(ctx), globals(cmd)));

  registerBatch(program, io, run);
  registerQueue(program, io, run);
  registerWorker(program, io, run);
  registerServe(program, io, run);

  return program;
}
