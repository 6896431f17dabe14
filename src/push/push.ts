import { FfmpegError, InterruptedError, StreamkitError } from '../errors.js';
import type { ProgressSnapshot } from '../ffmpeg/progress.js';
import { runCapture, runFfmpeg } from '../ffmpeg/run.js';
import { formatRational } from '../media/rational.js';
import { requireFlvSupport } from '../package/progressive.js';
import type { TranscodePlan } from '../plan.js';
import { loadPreset, type ResolvedPreset } from '../preset/load.js';
import { planTranscode, type PlanOptions, type Toolchain } from '../transcode.js';
import { buildPushArgs } from './command.js';
import { parsePublishUrl, redactor, type PublishTarget } from './url.js';
import type { HardwareKind } from '../preset/schema.js';

/**
 * `streamkit push INPUT rtmp://host/app/KEY`: encode in real time and publish over RTMP(S).
 *
 * Reconnection: once the stream has been live, a run of ffmpeg that ends because the connection
 * failed (server restarted, network dropped) is followed by a new one after a back-off delay
 * (delay, 2x, 4x... capped at 30 s), resuming at the input position where the last one stopped and
 * keeping the --duration budget (seconds of stream delivered). The count of consecutive failed
 * attempts is reset when a connection has carried at least a few seconds of stream. A failure
 * before the stream was ever live (connection refused, application unknown, publish denied) is
 * not retried: it is a configuration error, reported at once.
 *
 * The stream key never leaves this module unredacted: the command, ffmpeg's log lines and every
 * event and error use the redacted URL.
 */

export type PushEvent =
  | {
      type: 'push';
      input: string;
      url: string;
      preset: string;
      encoder: string;
      hardware: HardwareKind;
      width: number;
      height: number;
      frameRate: string;
      videoBitrate: number;
      audioBitrate: number | null;
      keyframeInterval: number;
      loop: boolean;
      durationSeconds: number | null;
      reconnectAttempts: number;
      ffmpeg: { path: string; version: string };
      notes: string[];
    }
  | { type: 'connecting'; attempt: number; url: string; startSeconds: number }
  | { type: 'connected'; attempt: number; url: string }
  | {
      type: 'live';
      /** wall-clock seconds on air, all connections together */
      liveSeconds: number;
      /** seconds of stream delivered, all connections together */
      sentSeconds: number;
      fps: number | null;
      /** kbit/s, this connection's average */
      bitrateKbps: number | null;
      speed: number | null;
      dupFrames: number | null;
      dropFrames: number | null;
    }
  | {
      type: 'reconnect';
      /** consecutive failed attempt number, 1..maxAttempts */
      attempt: number;
      maxAttempts: number;
      delaySeconds: number;
      reason: string;
      sentSeconds: number;
      url: string;
    }
  | { type: 'warning'; message: string }
  | { type: 'push-done'; url: string; liveSeconds: number; sentSeconds: number; reconnects: number; elapsedSeconds: number };

export interface PushOptions {
  input: string;
  url: string;
  preset?: string | ResolvedPreset | undefined;
  loop?: boolean | undefined;
  /** seconds of stream to deliver; null/undefined: until the input ends (forever with loop) */
  durationSeconds?: number | null | undefined;
  /** reconnects after a drop before giving up (0: none) */
  reconnectAttempts?: number | undefined;
  /** first back-off delay in seconds (doubles each failed attempt, at most 30 s) */
  reconnectDelaySeconds?: number | undefined;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  frameRate?: string | undefined;
  hw?: PlanOptions['hw'];
  signal?: AbortSignal | undefined;
  onEvent?: ((e: PushEvent) => void) | undefined;
  toolchain?: Toolchain;
}

export interface PlannedPush {
  plan: TranscodePlan;
  target: PublishTarget;
  toolchain: Toolchain;
  preset: ResolvedPreset;
  hardware: { hardware: HardwareKind; encoder: string };
  fpsModeOption: '-fps_mode' | '-vsync';
  /** the first run's argv, with the URL in it: never print it, use redactedArgv */
  argv: string[];
  redactedArgv: string[];
  redact: (text: string) => string;
  notes: string[];
}

export const DEFAULT_LIVE_PRESET = 'flv-live';
/** a connection that carried this many seconds of stream counts as live (resets the failure count) */
const ESTABLISHED_SECONDS = 1;
const MAX_DELAY_SECONDS = 30;

/** Every check before publishing: URL, preset (live), ffmpeg (FLV, RTMP/TLS), input, ladder. */
export async function planPush(options: PushOptions): Promise<PlannedPush> {
  const target = parsePublishUrl(options.url);
  const redact = redactor(target);
  const preset = typeof options.preset === 'object' ? options.preset : await loadPreset(options.preset ?? DEFAULT_LIVE_PRESET);
  if (!preset.preset.live) {
    throw new StreamkitError('USAGE', `Preset ${preset.name} is not a live preset; push needs one (live: true).`, {
      hint: `Use --preset ${DEFAULT_LIVE_PRESET}, or a preset with "live: true" (constant bitrate, small VBV buffer, fixed keyframe interval).`,
      details: { preset: preset.name },
    });
  }
  const planned = await planTranscode({
    input: options.input,
    preset,
    ffmpeg: options.ffmpeg,
    ffprobe: options.ffprobe,
    frameRate: options.frameRate,
    hw: options.hw,
    signal: options.signal,
    ...(options.toolchain ? { toolchain: options.toolchain } : {}),
  });
  const { toolchain, plan } = planned;
  requireFlvSupport(toolchain.caps, plan.preset.video.codec, 'RTMP publishing');
  const protocols = await runCapture(toolchain.ffmpeg.path, ['-hide_banner', '-protocols'], { timeoutMs: 30_000 });
  const output = protocols.stdout.split(/Output:/)[1] ?? '';
  const have = new Set(output.split(/\s+/).filter(Boolean));
  for (const p of target.scheme === 'rtmps' ? ['rtmps', 'tls'] : ['rtmp']) {
    if (!have.has(p)) {
      throw new StreamkitError('FEATURE_UNAVAILABLE', `${toolchain.ffmpeg.path} cannot publish ${target.scheme}: it has no "${p}" output protocol.`, {
        hint:
          target.scheme === 'rtmps'
            ? "Use an ffmpeg built with TLS (gnutls or openssl; Debian's is), or rtmp:// if the server allows it."
            : 'Use a full ffmpeg build (Debian: apt-get install ffmpeg).',
        details: { ffmpeg: toolchain.ffmpeg.path, protocol: p },
      });
    }
  }
  const notes = [...plan.notes.filter((n) => !/^(mp4|flv):/.test(n))];
  if (plan.ladder.rungs.length > 1) notes.push(`publishing the top rung only (${plan.ladder.rungs[0]!.name}); a live stream is one rendition, the ingest builds the ladder`);
  if (plan.audio && plan.media.audio.length === 0) notes.push('the input has no audio: publishing silence as the AAC track');
  if (plan.audio && plan.media.audio.length > 1) notes.push('publishing the first audio stream only (RTMP carries one)');
  const durationSeconds = options.durationSeconds ?? null;
  const argv = buildPushArgs(plan, { target, loop: options.loop ?? false, startSeconds: 0, durationSeconds, fpsModeOption: plan.fpsModeOption });
  return {
    plan,
    target,
    toolchain,
    preset,
    hardware: { hardware: planned.hardware.hardware, encoder: planned.hardware.encoder },
    fpsModeOption: plan.fpsModeOption,
    argv,
    redactedArgv: argv.map(redact),
    redact,
    notes,
  };
}

/** Why a run of ffmpeg ended, from its last log lines. */
export function classifyFailure(stderrTail: readonly string[]): { kind: 'unreachable' | 'refused' | 'dropped'; reason: string } {
  const text = stderrTail.join('\n');
  const unreachable =
    /Connection refused|Connection timed out|No route to host|Network is unreachable|Name or service not known|Temporary failure in name resolution|Cannot open connection|Failed to resolve/i.exec(
      text,
    );
  if (unreachable) return { kind: 'unreachable', reason: unreachable[0].toLowerCase() };
  const refused = /Server error:[^\n]*|NetStream\.Publish\.(BadName|Rejected|Denied)[^\n]*|Unauthorized|Forbidden|Authentication failed/i.exec(text);
  if (refused) return { kind: 'refused', reason: refused[0] };
  const dropped = /Broken pipe|Connection reset by peer|End of file|Input\/output error|timed out|Operation timed out/i.exec(text);
  return { kind: 'dropped', reason: dropped ? dropped[0].toLowerCase() : 'ffmpeg stopped' };
}

function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new InterruptedError(String(signal.reason ?? 'cancellation')));
      return;
    }
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = setTimeout(done, seconds * 1000);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new InterruptedError(String(signal?.reason ?? 'cancellation')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface PushResult {
  liveSeconds: number;
  sentSeconds: number;
  reconnects: number;
  elapsedSeconds: number;
}

export async function push(options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const emit = (e: PushEvent): void => options.onEvent?.(e);
  const planned = await planPush(options);
  const { plan, target, toolchain, redact } = planned;
  const loop = options.loop ?? false;
  const budget = options.durationSeconds ?? null;
  const maxAttempts = options.reconnectAttempts ?? 5;
  const baseDelay = options.reconnectDelaySeconds ?? 2;
  const inputDuration = plan.media.duration;
  const rung = plan.ladder.rungs[0]!;
  emit({
    type: 'push',
    input: options.input,
    url: target.redacted,
    preset: planned.preset.name,
    encoder: planned.hardware.encoder,
    hardware: planned.hardware.hardware,
    width: rung.width,
    height: rung.height,
    frameRate: formatRational(plan.ladder.frameRate),
    videoBitrate: rung.bitrate,
    audioBitrate: plan.audio ? plan.audio.bitrate : null,
    keyframeInterval: plan.ladder.keyframeInterval,
    loop,
    durationSeconds: budget,
    reconnectAttempts: maxAttempts,
    ffmpeg: { path: toolchain.ffmpeg.path, version: toolchain.caps.version.raw },
    notes: planned.notes,
  });
  for (const n of planned.notes) emit({ type: 'warning', message: n });

  let sent = 0;
  let live = 0;
  let everLive = false;
  let failures = 0;
  let reconnects = 0;
  let attempt = 0;
  let slowWarned = false;
  const summary = (): PushResult => ({ liveSeconds: live, sentSeconds: sent, reconnects, elapsedSeconds: (performance.now() - started) / 1000 });

  for (;;) {
    const remaining = budget === null ? null : budget - sent;
    if (remaining !== null && remaining < 0.05) break;
    // where in the input this connection starts: the position the last one reached
    let startSeconds = 0;
    if (inputDuration !== null && inputDuration > 0) {
      if (loop) startSeconds = sent % inputDuration;
      else if (sent >= inputDuration - 0.05) break;
      else startSeconds = sent;
    } else if (!loop) {
      startSeconds = sent;
    }
    attempt++;
    const argv = buildPushArgs(plan, { target, loop, startSeconds, durationSeconds: remaining, fpsModeOption: planned.fpsModeOption });
    emit({ type: 'connecting', attempt, url: target.redacted, startSeconds });
    let connectedAt: number | null = null;
    let last: ProgressSnapshot | null = null;
    const liveBefore = live;
    const sentBefore = sent;
    const account = (): void => {
      const out = last?.outTimeSeconds ?? 0;
      sent = sentBefore + out;
      live = liveBefore + (connectedAt === null ? 0 : (performance.now() - connectedAt) / 1000);
    };
    let failure: FfmpegError | null = null;
    try {
      await runFfmpeg(toolchain.ffmpeg.path, argv, {
        what: `publishing to ${target.redacted}`,
        redact,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (s) => {
          if (connectedAt === null) {
            connectedAt = performance.now();
            emit({ type: 'connected', attempt, url: target.redacted });
          }
          last = s;
          account();
          if (!slowWarned && s.speed !== null && s.speed < 0.9 && (s.outTimeSeconds ?? 0) > 10) {
            slowWarned = true;
            emit({
              type: 'warning',
              message: `encoding runs slower than real time (${s.speed.toFixed(2)}x): viewers will stall; use a faster encoder preset or a lower resolution`,
            });
          }
          emit({ type: 'live', liveSeconds: live, sentSeconds: sent, fps: s.fps, bitrateKbps: s.bitrateKbps, speed: s.speed, dupFrames: s.dupFrames, dropFrames: s.dropFrames });
        },
      });
    } catch (error) {
      account();
      if (error instanceof InterruptedError || options.signal?.aborted) {
        throw new StreamkitError(
          'INTERRUPTED',
          `Interrupted by ${String(options.signal?.reason ?? 'a signal')} after ${live.toFixed(0)} s live; stopped publishing to ${target.redacted}.`,
          { details: { url: target.redacted, ...summary() } },
        );
      }
      if (!(error instanceof FfmpegError)) throw error;
      failure = error;
    }
    account();
    const thisRun = sent - sentBefore;
    const established = connectedAt !== null && thisRun >= ESTABLISHED_SECONDS;
    if (established) everLive = true;
    if (!failure) {
      // ffmpeg's exit status alone proves nothing: did this run deliver what it was asked to?
      const expected = remaining ?? (loop ? Infinity : inputDuration !== null ? inputDuration - startSeconds : thisRun);
      if (thisRun >= Math.min(expected, Number.MAX_VALUE) - 1) break;
    }
    const why = failure ? classifyFailure(failure.stderrTail) : { kind: 'dropped' as const, reason: 'ffmpeg ended the stream early' };
    const tail = failure ? failure.stderrTail : [];
    if (!everLive) {
      if (why.kind === 'unreachable') {
        throw new StreamkitError('PUBLISH_FAILED', `Cannot connect to ${target.redacted}: ${why.reason}.`, {
          hint: `Is the ingest server running and listening on ${target.host}:${target.port ?? (target.scheme === 'rtmps' ? 443 : 1935)}?`,
          details: { url: target.redacted, command: failure?.command ?? planned.redactedArgv, stderrTail: tail },
        });
      }
      throw new StreamkitError('PUBLISH_FAILED', `The server refused the stream at ${target.redacted} (${why.reason}).`, {
        hint: `Check the application name ("${target.app}") and the stream key; the server closed the connection ${connectedAt === null ? 'before publishing started' : 'right after publishing started'}.`,
        details: { url: target.redacted, command: failure?.command ?? planned.redactedArgv, stderrTail: tail },
      });
    }
    failures = established ? 1 : failures + 1;
    if (failures > maxAttempts) {
      throw new StreamkitError(
        'PUBLISH_FAILED',
        `Lost the connection to ${target.redacted} (${why.reason}) and could not reconnect after ${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}.`,
        {
          hint: 'Check the ingest server; raise --reconnect-attempts or --reconnect-delay to wait longer for it.',
          details: { url: target.redacted, ...summary(), command: failure?.command ?? planned.redactedArgv, stderrTail: tail },
        },
      );
    }
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, baseDelay * 2 ** (failures - 1));
    reconnects++;
    emit({ type: 'reconnect', attempt: failures, maxAttempts, delaySeconds, reason: why.reason, sentSeconds: sent, url: target.redacted });
    await sleep(delaySeconds, options.signal).catch((error: unknown) => {
      if (error instanceof InterruptedError) {
        throw new StreamkitError(
          'INTERRUPTED',
          `Interrupted by ${String(options.signal?.reason ?? 'a signal')} while waiting to reconnect; stopped publishing to ${target.redacted}.`,
          { details: { url: target.redacted, ...summary() } },
        );
      }
      throw error;
    });
  }
  const result = summary();
  emit({ type: 'push-done', url: target.redacted, ...result });
  return result;
}
