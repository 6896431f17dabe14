import { connect, createServer, type Server, type Socket } from 'node:net';
import { StreamkitError } from '../errors.js';
import { RtmpPublishGate } from './rtmp-gate.js';

/**
 * The RTMP front door: streamkit listens on the user's HOST:PORT itself and hands each allowed
 * publisher's bytes to the session's ffmpeg, which listens on a loopback port of its own. Why
 * (docs/live.md): ffmpeg's RTMP listener accepts any application and stream key, and hangs on a
 * publisher that stops sending. Here:
 *
 * - the publish check: every connection goes through an RtmpPublishGate; a connect to another
 *   application or a publish of another key is refused (the connection is closed, the refusal
 *   reported), and no byte of that command reaches ffmpeg;
 * - one publisher at a time: a connection while another is live (or being checked) is refused;
 * - a stalled publisher: when no byte came for `stallSeconds`, both connections are closed, so
 *   ffmpeg sees the end of its input within seconds and ends the session;
 * - a publisher that connects but never publishes is dropped after `stallSeconds` too.
 */

export type FrontDoorEvent =
  | { type: 'connection'; remote: string }
  | { type: 'refused'; remote: string; reason: string }
  | { type: 'publishing'; remote: string }
  | { type: 'stalled'; remote: string; seconds: number }
  | { type: 'closed'; remote: string; publishing: boolean };

export interface FrontDoorOptions {
  host: string;
  port: number;
  app: string;
  key: string;
  /** the loopback port the current session's ffmpeg listens on; null while none does */
  backendPort: () => number | null;
  stallSeconds: number;
  onEvent: (e: FrontDoorEvent) => void;
}

export interface FrontDoor {
  /** the port actually listened on (for port 0) */
  port: number;
  close(): Promise<void>;
}

const BACKEND_CONNECT_SECONDS = 5;

function connectWithRetry(port: number, deadline: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (error: NodeJS.ErrnoException) => {
        s.destroy();
        if (error.code === 'ECONNREFUSED' && Date.now() < deadline) setTimeout(attempt, 100);
        else reject(error);
      });
    };
    attempt();
  });
}

export async function openRtmpFrontDoor(o: FrontDoorOptions): Promise<FrontDoor> {
  let busy: Socket | null = null;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const remote = `${client.remoteAddress ?? '?'}:${client.remotePort ?? '?'}`;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (busy !== null) {
      o.onEvent({ type: 'refused', remote, reason: 'another publisher is live (one at a time)' });
      client.destroy();
      return;
    }
    busy = client;
    o.onEvent({ type: 'connection', remote });
    const gate = new RtmpPublishGate({ app: o.app, stream: o.key });
    let backend: Socket | null = null;
    let publishing = false;
    let lastByte = Date.now();
    const queued: Buffer[] = [];
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(watch);
      client.destroy();
      backend?.destroy();
      if (busy === client) busy = null;
      o.onEvent({ type: 'closed', remote, publishing });
    };
    const watch = setInterval(() => {
      const idle = (Date.now() - lastByte) / 1000;
      if (idle >= o.stallSeconds) {
        if (publishing) o.onEvent({ type: 'stalled', remote, seconds: idle });
        else o.onEvent({ type: 'refused', remote, reason: `no publish within ${o.stallSeconds} s` });
        end();
      }
    }, 250);
    watch.unref();
    client.on('close', end);
    client.on('data', (bytes: Buffer) => {
      lastByte = Date.now();
      const step = gate.push(bytes);
      if (step.forward.length > 0) {
        if (backend) {
          if (!backend.write(step.forward)) {
            client.pause();
            backend.once('drain', () => client.resume());
          }
        } else queued.push(step.forward);
      }
      if (step.verdict.state === 'refused') {
        o.onEvent({ type: 'refused', remote, reason: step.verdict.reason });
        end();
      } else if (step.verdict.state === 'allowed' && !publishing) {
        publishing = true;
        o.onEvent({ type: 'publishing', remote });
      }
    });
    // between two sessions (the last ffmpeg exiting, the next starting) there is no port for a moment
    const deadline = Date.now() + BACKEND_CONNECT_SECONDS * 1000;
    const backendPort = async (): Promise<number> => {
      for (;;) {
        const port = o.backendPort();
        if (port !== null) return port;
        if (Date.now() > deadline || ended) throw new Error('no encoder');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    backendPort()
      .then((port) => connectWithRetry(port, deadline))
      .then(
        (b) => {
          if (ended) {
            b.destroy();
            return;
          }
          backend = b;
          sockets.add(b);
          b.on('close', () => {
            sockets.delete(b);
            end();
          });
          b.on('error', () => undefined);
          b.on('data', (d: Buffer) => {
            if (!client.write(d)) {
              b.pause();
              client.once('drain', () => b.resume());
            }
          });
          for (const q of queued.splice(0)) b.write(q);
        },
        () => {
          o.onEvent({ type: 'refused', remote, reason: 'the encoder did not accept the connection' });
          end();
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new StreamkitError(
          'USAGE',
          `Cannot listen on ${o.host}:${o.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EADDRNOTAVAIL' ? 'that address is not this machine' : error.message}.`,
          {
            hint: 'Choose another port in --listen, or stop what uses it.',
            details: { host: o.host, port: o.port, code: error.code },
          },
        ),
      );
    });
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : o.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A free loopback port for the next session's ffmpeg listener. */
export async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const address = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no loopback port');
  return address.port;
}
