import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FfmpegError, InterruptedError, StreamkitError } from '../errors.js';
import { hasEncoder } from '../ffmpeg/capabilities.js';
import { runCapture, runFfmpeg } from '../ffmpeg/run.js';
import { loadPreset, type ResolvedPreset } from '../preset/load.js';
import { resolveToolchain, type Toolchain } from '../transcode.js';
import { buildLiveArgs, srtListenerInput, type LiveInput } from './command.js';
import { freeLoopbackPort, openRtmpFrontDoor, type FrontDoor } from './ingest.js';
import { parseListenUrl, type ListenTarget } from './listen.js';
import { LivePackager, type PublishedSequence } from './packager.js';
import { DEFAULT_LIVE_LADDER, planLive, type LivePlan } from './plan.js';

/**
 * `streamkit live --listen URL --preset live-ladder -o DIR`: take a live stream in (RTMP or SRT)
 * and publish it as a live HLS ladder in DIR, until stopped.
 *
 * One ffmpeg per publisher session (decode once, every rung, one AAC; command.ts); between
 * sessions the process keeps running and waits for the publisher to come back; the playlists
 * (packager.ts) continue across sessions with a discontinuity. SIGINT/SIGTERM: the session's ffmpeg
 * finishes its segment, every playlist gets EXT-X-ENDLIST; exit 0 for SIGTERM (a service stop),
 * 130 for SIGINT (an interrupted command, as everywhere in streamkit).
 */

export type LiveEvent =
  | {
      type: 'live-start';
      listen: string;
      /** the port listened on (the one asked for, or the one given for port 0 with RTMP) */
      port: number;
      output: string;
      preset: string;
      encoder: string;
      rungs: { name: string; width: number; height: number; bitrate: number; maxrate: number }[];
      frameRate: number;
      segmentDuration: number;
      window: number;
      deleteAfterSeconds: number;
      stallSeconds: number;
      ffmpeg: { path: string; version: string };
    }
  | { type: 'waiting'; session: number; listen: string }
  | { type: 'publisher'; session: number; remote: string | null }
  | { type: 'refused'; remote: string; reason: string }
  | { type: 'input'; session: number; video: string | null; audio: string | null }
  | ({ type: 'segment'; session: number } & PublishedSequence)
  | { type: 'master'; variants: { name: string; bandwidth: number; averageBandwidth: number; codecs: string[] }[] }
  | {
      type: 'live';
      session: number;
      /** seconds of media this session encoded */
      sessionSeconds: number;
      /** seconds of media published in all sessions together */
      liveSeconds: number;
      fps: number | null;
      /** media seconds encoded per second over the last 5 s: 1.0 when the encode keeps up with the publisher */
      speed: number | null;
      /** how far the encode is behind what the publisher sent (seconds), when the ingest start is known */
      behindSeconds: number | null;
      dupFrames: number | null;
      dropFrames: number | null;
      /** bit/s of each rendition's newest segment */
      bitrates: Record<string, number | null>;
      /** a viewer's delay behind the publisher with hls.js/Safari defaults: the edge's age plus three target durations */
      latencySeconds: number | null;
      segments: number;
    }
  | { type: 'session-end'; session: number; reason: string; segments: number }
  | { type: 'warning'; message: string }
  | { type: 'live-done'; output: string; segments: number; sessions: number; liveSeconds: number; reason: string };

export interface LiveOptions {
  listen: string;
  output: string;
  preset?: string | ResolvedPreset | undefined;
  force?: boolean | undefined;
  /** segments per media playlist; 0: keep every segment (EVENT playlist) */
  window?: number | undefined;
  /** seconds a segment stays on disk after it left the window; default: the window's duration */
  deleteAfterSeconds?: number | undefined;
  /** no byte (RTMP) or no read (SRT) for this long: the publisher counts as gone */
  stallSeconds?: number | undefined;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((e: LiveEvent) => void) | undefined;
  toolchain?: Toolchain;
}

const DEFAULT_WINDOW = 10;
const DEFAULT_STALL_SECONDS = 5;
const COLLECT_MS = 250;
const PROGRESS_MS = 1000;
/** speed below this for SLOW_SECONDS: viewers will stall */
const SLOW_SPEED = 0.95;
const SLOW_SECONDS = 10;
/** the encode speed is measured over this much of the latest progress */
const SPEED_WINDOW_MS = 5000;
/** sessions that fail this fast without any publisher, this many times in a row: ffmpeg cannot listen */
const QUICK_FAILURE_SECONDS = 3;
const QUICK_FAILURES_MAX = 3;

async function prepareOutput(dir: string, force: boolean): Promise<void> {
  if (!existsSync(dir)) {
    await mkdir(dir, { recursive: true });
    return;
  }
  const entries = await readdir(dir);
  if (entries.length === 0) return;
  if (!force) {
    throw new StreamkitError('OUTPUT_EXISTS', `${dir} exists and is not empty.`, {
      hint: 'Give an empty or new folder, or --force to replace an earlier live package there.',
      details: { output: dir },
    });
  }
  if (!entries.includes('master.m3u8') && !entries.includes('.live')) {
    throw new StreamkitError('OUTPUT_EXISTS', `${dir} is not a streamkit package (no master.m3u8); --force replaces packages only.`, {
      hint: 'Give an empty or new folder.',
      details: { output: dir },
    });
  }
  for (const e of entries) await rm(resolve(dir, e), { recursive: true, force: true });
}

/**
 * What the live ladder does to a publisher's picture, in words: the ladder is fixed before anyone
 * publishes (plan.ts), so a publisher of another shape, size or frame rate is fitted to it.
 */
export function inputNotes(video: string, plan: Pick<LivePlan, 'rungs' | 'fps'>): string[] {
  const notes: string[] = [];
  const size = /\b(\d{2,5})x(\d{2,5})\b/.exec(video);
  const top = plan.rungs[0]!;
  if (size) {
    const w = Number(size[1]);
    const h = Number(size[2]);
    if (Math.abs(w / h - top.width / top.height) > 0.02)
      notes.push(`the publisher sends ${w}x${h}, not 16:9: every rung shows it letterboxed or pillarboxed (black bars), never stretched`);
    const above = plan.rungs.filter((r) => r.height > h);
    if (above.length > 0)
      notes.push(
        `the publisher sends ${h} lines: ${above.map((r) => r.name).join(', ')} ${above.length === 1 ? 'is' : 'are'} scaled up from it (send ${top.width}x${top.height} for full quality)`,
      );
  }
  const fps = /\b(\d+(?:\.\d+)?) fps\b/.exec(video);
  if (fps && Math.abs(Number(fps[1]) - plan.fps) > 0.01) {
    notes.push(`the publisher sends ${fps[1]} fps; the ladder is ${plan.fps} fps constant, so frames are ${Number(fps[1]) > plan.fps ? 'dropped' : 'repeated'} evenly`);
  }
  return notes;
}

/** `Stream #0:0: Video: h264 (High), yuv420p(progressive), 1280x720, 30 fps, ...` -> the description. */
function streamLine(line: string): { kind: 'video' | 'audio'; text: string } | null {
  const m = /^\s*Stream #0:\d+.*?: (Video|Audio): (.*)$/.exec(line);
  if (!m) return null;
  return { kind: m[1] === 'Video' ? 'video' : 'audio', text: m[2]!.trim() };
}

export async function planLiveRun(
  options: Pick<LiveOptions, 'listen' | 'preset' | 'ffmpeg' | 'ffprobe' | 'toolchain'>,
): Promise<{ target: ListenTarget; preset: ResolvedPreset; plan: LivePlan; toolchain: Toolchain }> {
  const target = parseListenUrl(options.listen);
  const preset = typeof options.preset === 'object' ? options.preset : await loadPreset(options.preset ?? DEFAULT_LIVE_LADDER);
  const plan = planLive(preset);
  const toolchain = options.toolchain ?? (await resolveToolchain({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe }));
  if (!hasEncoder(toolchain.caps, plan.encoder)) {
    throw new StreamkitError('ENCODER_UNAVAILABLE', `${toolchain.ffmpeg.path} has no ${plan.encoder} encoder.`, {
      hint: 'Use a full ffmpeg build (Debian: apt-get install ffmpeg).',
      details: { ffmpeg: toolchain.ffmpeg.path, encoder: plan.encoder },
    });
  }
  const protocols = await runCapture(toolchain.ffmpeg.path, ['-hide_banner', '-protocols'], { timeoutMs: 30_000 });
  const inputs = new Set((protocols.stdout.split(/Output:/)[0] ?? '').split(/\s+/).filter(Boolean));
  if (!inputs.has(target.kind)) {
    throw new StreamkitError('FEATURE_UNAVAILABLE', `${toolchain.ffmpeg.path} cannot take ${target.kind}:// input.`, {
      hint: target.kind === 'srt' ? "Use an ffmpeg built with libsrt (Debian's is), or rtmp://." : 'Use a full ffmpeg build.',
      details: { ffmpeg: toolchain.ffmpeg.path, protocol: target.kind },
    });
  }
  return { target, preset, plan, toolchain };
}

export async function runLive(options: LiveOptions): Promise<{ segments: number; sessions: number }> {
  const emit = options.onEvent ?? ((): void => undefined);
  const { target, plan, toolchain } = await planLiveRun(options);
  const root = resolve(options.output);
  const window = options.window ?? DEFAULT_WINDOW;
  const deleteAfterSeconds = options.deleteAfterSeconds ?? Math.max(window, 3) * plan.segmentDuration;
  const stallSeconds = options.stallSeconds ?? DEFAULT_STALL_SECONDS;
  const signal = options.signal;
  if (signal?.aborted) throw new InterruptedError(String(signal.reason ?? 'a signal'));
  await prepareOutput(root, options.force ?? false);

  let session = 0;
  const packager = new LivePackager(
    root,
    plan,
    { window, deleteAfterSeconds, runId: Date.now().toString(36) },
    {
      onSequence: (s) => emit({ type: 'segment', session, ...s }),
      onWarning: (message) => emit({ type: 'warning', message }),
      onMaster: (variants) => emit({ type: 'master', variants }),
    },
  );
  await packager.init();
  let backendPort: number | null = null;
  let publisherRemote: string | null = null;
  let refusedThisSession = false;
  let stalledThisSession = false;
  let sessionAbort: AbortController | null = null;
  let door: FrontDoor | null = null;
  if (target.kind === 'rtmp') {
    door = await openRtmpFrontDoor({
      host: target.host,
      port: target.port,
      app: target.app,
      key: target.key,
      backendPort: () => backendPort,
      stallSeconds,
      onEvent: (e) => {
        if (e.type === 'refused') {
          refusedThisSession = true;
          emit({ type: 'refused', remote: e.remote, reason: e.reason });
        } else if (e.type === 'publishing') {
          publisherRemote = e.remote;
          packager.noteIngestStart(Date.now());
          emit({ type: 'publisher', session, remote: e.remote });
        } else if (e.type === 'stalled') {
          stalledThisSession = true;
          emit({ type: 'warning', message: `the publisher sent nothing for ${e.seconds.toFixed(1)} s; dropped it, waiting for it to come back` });
        }
      },
    });
  }

  emit({
    type: 'live-start',
    listen: target.redacted,
    port: door?.port ?? target.port,
    output: root,
    preset: plan.preset,
    encoder: plan.encoder,
    rungs: plan.rungs.map((r) => ({ name: r.name, width: r.width, height: r.height, bitrate: r.bitrate, maxrate: r.maxrate })),
    frameRate: plan.fps,
    segmentDuration: plan.segmentDuration,
    window,
    deleteAfterSeconds,
    stallSeconds,
    ffmpeg: { path: toolchain.ffmpeg.path, version: toolchain.caps.version.raw },
  });

  let publishedSeconds = 0;
  let quickFailures = 0;
  let stopReason = 'stopped';
  const onAbort = (): void => sessionAbort?.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort);
  try {
    while (!signal?.aborted) {
      session++;
      const segmentsBefore = packager.counts().segments;
      refusedThisSession = false;
      stalledThisSession = false;
      publisherRemote = null;
      const sessionDir = await packager.startSession();
      let input: LiveInput;
      if (target.kind === 'rtmp') {
        backendPort = await freeLoopbackPort();
        input = { kind: 'rtmp', url: `rtmp://127.0.0.1:${backendPort}/${target.app}/${encodeURIComponent(target.key)}`, options: [] };
      } else {
        input = srtListenerInput(target, stallSeconds);
      }
      const argv = buildLiveArgs(plan, { input, sessionDir, ioTimeoutSeconds: stallSeconds });
      emit({ type: 'waiting', session, listen: target.redacted });
      sessionAbort = new AbortController();
      // a signal that came while this session was being set up
      if (signal?.aborted) sessionAbort.abort(signal.reason);
      const started = performance.now();
      let slowSince: number | null = null;
      const recent: { at: number; media: number }[] = [];
      let slowWarned = false;
      let lastProgress = 0;
      let sessionSeconds = 0;
      let inputSeen = false;
      const described: { video: string | null; audio: string | null } = { video: null, audio: null };
      let collecting: Promise<void> = Promise.resolve();
      const collector = setInterval(() => {
        collecting = collecting.then(() => packager.collect()).catch((error: unknown) => emit({ type: 'warning', message: `packaging: ${(error as Error).message}` }));
      }, COLLECT_MS);
      let outcome = '';
      try {
        await runFfmpeg(toolchain.ffmpeg.path, argv, {
          what: `encoding the live ladder (session ${session})`,
          redact: target.redact,
          cwd: root,
          signal: sessionAbort.signal,
          graceMs: 5000,
          tailLines: 40,
          onStderrLine: (line) => {
            // libsrt's own log: a caller without the right passphrase (the listener goes on waiting)
            const reject = target.kind === 'srt' ? /rsp\(REJECT\): \d+ - (.+)$/.exec(line) : null;
            if (reject) emit({ type: 'refused', remote: 'an SRT caller', reason: reject[1]!.trim() });
            const s = streamLine(line);
            if (s && !inputSeen) {
              if (described[s.kind] === null) described[s.kind] = s.text;
            }
            if (!inputSeen && /^\s*Stream mapping:/.test(line)) {
              inputSeen = true;
              if (target.kind === 'srt') emit({ type: 'publisher', session, remote: null });
              emit({ type: 'input', session, ...described });
              for (const message of described.video ? inputNotes(described.video, plan) : []) emit({ type: 'warning', message });
              if (described.audio === null && plan.audio)
                emit({ type: 'warning', message: 'the publisher sends no audio; this preset needs an audio track (send silence, or use a preset with audio: false)' });
            }
          },
          onProgress: (p) => {
            packager.noteProgress(p.outTimeSeconds);
            sessionSeconds = p.outTimeSeconds ?? sessionSeconds;
            const now = performance.now();
            // ffmpeg's own speed is media time over the time since it started, waiting for the
            // publisher included: useless here. Media encoded per second over the last seconds is
            // what says whether the encode keeps up with a live input (1.0x when it does).
            recent.push({ at: now, media: sessionSeconds });
            while (recent.length > 2 && now - recent[0]!.at > SPEED_WINDOW_MS) recent.shift();
            const oldest = recent[0]!;
            const speed = now - oldest.at >= 1000 ? (sessionSeconds - oldest.media) / ((now - oldest.at) / 1000) : null;
            if (speed !== null && speed < SLOW_SPEED && sessionSeconds > 3) {
              slowSince ??= now;
              if (!slowWarned && now - slowSince >= SLOW_SECONDS * 1000) {
                slowWarned = true;
                emit({
                  type: 'warning',
                  message: `encoding falls behind real time (${speed.toFixed(2)}x for ${SLOW_SECONDS} s): viewers will stall and latency grows; use fewer or smaller rungs or a faster x264 preset`,
                });
              }
            } else {
              slowSince = null;
            }
            if (now - lastProgress >= PROGRESS_MS) {
              lastProgress = now;
              const edge = packager.liveEdge();
              emit({
                type: 'live',
                session,
                sessionSeconds,
                liveSeconds: publishedSeconds + sessionSeconds,
                fps: p.fps,
                speed,
                behindSeconds: packager.behind(sessionSeconds),
                dupFrames: p.dupFrames,
                dropFrames: p.dropFrames,
                bitrates: packager.lastBitrates(),
                latencySeconds: edge === null ? null : (Date.now() - edge) / 1000 + 3 * plan.segmentDuration,
                segments: packager.counts().segments,
              });
            }
          },
        });
      } catch (error) {
        if (error instanceof InterruptedError || signal?.aborted) {
          outcome = `stopped by ${String(signal?.reason ?? 'a signal')}`;
        } else if (error instanceof FfmpegError) {
          outcome = refusedThisSession ? 'a publisher was refused' : `ffmpeg ended (${error.stderrTail.slice(-1)[0] ?? `exit code ${error.ffmpegExitCode}`})`;
          const quick = performance.now() - started < QUICK_FAILURE_SECONDS * 1000;
          if (quick && !inputSeen && !refusedThisSession && publisherRemote === null) {
            quickFailures++;
            if (quickFailures >= QUICK_FAILURES_MAX) {
              throw new StreamkitError('FFMPEG_FAILED', `ffmpeg could not wait for a publisher on ${target.redacted}: ${error.stderrTail.slice(-1)[0] ?? 'it failed at once'}.`, {
                hint: target.kind === 'srt' ? 'Is the port free, and the host an address of this machine?' : 'See the command and the log below.',
                details: { command: error.command, stderrTail: error.stderrTail },
              });
            }
          } else {
            quickFailures = 0;
          }
        } else {
          throw error;
        }
      } finally {
        clearInterval(collector);
        await collecting;
        backendPort = null;
      }
      if (inputSeen) quickFailures = 0;
      outcome ||= stalledThisSession ? `the publisher stalled (nothing for ${stallSeconds} s)` : 'the publisher left';
      await packager.endSession();
      if (packager.sessionPublished()) {
        publishedSeconds += sessionSeconds;
        emit({ type: 'session-end', session, reason: outcome, segments: packager.counts().segments - segmentsBefore });
      }
      if (signal?.aborted) stopReason = outcome;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await door?.close();
    await packager.finish();
  }
  const counts = packager.counts();
  emit({ type: 'live-done', output: root, segments: counts.segments, sessions: counts.sessions, liveSeconds: publishedSeconds, reason: stopReason });
  if (signal?.aborted && String(signal.reason) !== 'SIGTERM') {
    throw new StreamkitError('INTERRUPTED', `Interrupted by ${String(signal.reason ?? 'a signal')}; the live playlists in ${root} were ended with #EXT-X-ENDLIST.`, {
      details: { output: root, ...counts },
    });
  }
  return counts;
}
