import type { ConnectionOptions, Queue } from 'bullmq';
import { StreamkitError } from '../errors.js';

/**
 * Where the queue lives: a Redis URL (`--redis`, else STREAMKIT_REDIS_URL, else the local default)
 * and a queue name (`--queue`, else STREAMKIT_QUEUE, else "streamkit"). BullMQ keeps its own Redis
 * connections; this module only turns the URL into connection options and checks, quickly and with
 * a clear error, that the server answers.
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE_NAME = 'streamkit';

export interface QueueTarget {
  /** the URL as given (may hold a password: print `redactRedisUrl(url)`) */
  redisUrl: string;
  queueName: string;
}

export function queueTarget(options: { redis?: string | undefined; queue?: string | undefined }, env: NodeJS.ProcessEnv = process.env): QueueTarget {
  const redisUrl = options.redis ?? (env['STREAMKIT_REDIS_URL'] || DEFAULT_REDIS_URL);
  const queueName = options.queue ?? (env['STREAMKIT_QUEUE'] || DEFAULT_QUEUE_NAME);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(queueName)) {
    throw new StreamkitError('USAGE', `Invalid queue name "${queueName}".`, { hint: 'Use letters, digits, "_", "." or "-" (no ":"), e.g. --queue streamkit.' });
  }
  redisConnection(redisUrl); // validate early
  return { redisUrl, queueName };
}

/** `redis://user:secret@host:6379/0` -> `redis://user:***@host:6379/0` (for logs and status output). */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * ioredis options from a `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS) URL.
 * `failFast`: give up after a few connection attempts (CLI commands); without it the connection
 * retries for ever (workers survive a Redis restart).
 */
export function redisConnection(url: string, failFast = false): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StreamkitError('USAGE', `Invalid Redis URL "${url}".`, {
      hint: 'Expected redis://host:6379 (or rediss:// for TLS, redis://:password@host:6379/0 with a password and database).',
    });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new StreamkitError('USAGE', `Invalid Redis URL "${redactRedisUrl(url)}": expected the redis:// or rediss:// scheme.`, {
      hint: 'Example: --redis redis://127.0.0.1:6379',
    });
  }
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) {
    throw new StreamkitError('USAGE', `Invalid Redis URL "${redactRedisUrl(url)}": the path must be a database number such as /0.`);
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(dbText ? { db: Number(dbText) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ requires this for workers' blocking commands; harmless elsewhere
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    ...(failFast ? { retryStrategy: (times: number) => (times > 2 ? null : 250 * times), enableOfflineQueue: true } : {}),
  };
}

function redisUnavailable(target: QueueTarget, error: unknown): StreamkitError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why = code ?? ((error as Error | undefined)?.message || String(error));
  return new StreamkitError('FEATURE_UNAVAILABLE', `Cannot reach Redis at ${redactRedisUrl(target.redisUrl)}: ${why}.`, {
    hint: 'Start a Redis server (e.g. `apt-get install redis-server`) and pass its URL with --redis or STREAMKIT_REDIS_URL.',
    details: { redis: redactRedisUrl(target.redisUrl) },
    cause: error,
  });
}

/** A BullMQ Queue handle whose Redis answered (fails in a few seconds with a clear error otherwise). */
export async function openQueue<T = unknown>(target: QueueTarget, options: { failFast?: boolean } = {}): Promise<Queue<T>> {
  // bullmq (and ioredis) load here, not at start-up: every other command starts faster without them
  const { Queue } = await import('bullmq');
  const queue = new Queue<T>(target.queueName, { connection: redisConnection(target.redisUrl, options.failFast ?? true) });
  // BullMQ re-emits connection errors; they are reported through waitUntilReady below instead
  queue.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        const client = (await queue.waitUntilReady()) as unknown as { ping(): Promise<string> };
        await client.ping();
      })(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('no answer within 10 s'), { code: 'ETIMEDOUT' })), 10_000);
      }),
    ]);
  } catch (error) {
    await queue.close().catch(() => undefined);
    throw redisUnavailable(target, error);
  } finally {
    if (timer) clearTimeout(timer);
  }
  return queue;
}
