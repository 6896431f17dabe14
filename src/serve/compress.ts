/**
 * Compressed bodies of the small text responses (playlists, MPDs, WebVTT, the pages and scripts),
 * computed once per (name, version, encoding) and kept in memory, least recently used first out,
 * within a byte budget. Concurrent requests for the same body share one compression.
 */
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Encoding } from './policy.js';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Bodies larger than this are sent as they are (a playlist of a very long title); see docs/serve.md. */
export const MAX_COMPRESS_BYTES = 8 * 1024 * 1024;
const DEFAULT_BUDGET_BYTES = 32 * 1024 * 1024;

function compress(body: Buffer, encoding: Encoding): Promise<Buffer> {
  return encoding === 'br'
    ? brotli(body, { params: { [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gz(body, { level: 9 });
}

export class CompressionCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer>>();
  private bytes = 0;

  constructor(private readonly budgetBytes = DEFAULT_BUDGET_BYTES) {}

  /** The compressed body for `key` (which must change whenever the body does), compressing `load()` at most once. */
  async get(key: string, encoding: Encoding, load: () => Promise<Buffer>): Promise<Buffer> {
    const k = `${encoding} ${key}`;
    const hit = this.entries.get(k);
    if (hit) {
      // most recently used goes last
      this.entries.delete(k);
      this.entries.set(k, hit);
      return hit;
    }
    const running = this.pending.get(k);
    if (running) return running;
    const job = (async () => {
      const body = await compress(await load(), encoding);
      this.add(k, body);
      return body;
    })();
    this.pending.set(k, job);
    try {
      return await job;
    } finally {
      this.pending.delete(k);
    }
  }

  private add(k: string, body: Buffer): void {
    if (body.length > this.budgetBytes) return;
    this.entries.set(k, body);
    this.bytes += body.length;
    for (const [oldKey, old] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(oldKey);
      this.bytes -= old.length;
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
