/**
 * The publish check for RTMP ingest, pure: it reads the client-to-server half of an RTMP connection
 * just far enough to learn the application (`connect` {app}) and the stream name (`publish`), and
 * says which bytes may be handed on to ffmpeg's listener. ffmpeg's own RTMP listener accepts any
 * application and key, so streamkit sits in front of it (live/ingest.ts) and holds each command
 * message back until it has been read whole: a `connect` to another application, or a `publish` of
 * another stream name, is never forwarded.
 *
 * What is parsed (Adobe's RTMP specification, 2012): the handshake C0 + C1 (1 + 1536 bytes) and C2
 * (1536 bytes); then the chunk stream: basic header (1-3 bytes: fmt, chunk stream id), message
 * header (11, 7, 3 or 0 bytes by fmt), extended timestamp (4 bytes when the 24-bit field is
 * 0xFFFFFF, repeated on fmt 3 chunks of such a message), chunk data (at most the chunk size).
 * Set Chunk Size (message type 1) changes the size of the client's following chunks. Command
 * messages are AMF0 (type 20) or AMF3 (type 17: one format byte, then AMF0 for commands).
 * Once the publish is allowed, everything else passes through without parsing.
 */

const HANDSHAKE_BYTES = 1 + 1536 + 1536;
/** a command message above this size is not a connect/publish: refused rather than buffered */
const MAX_COMMAND_BYTES = 64 * 1024;
/** messages before publish: connect, releaseStream, FCPublish, createStream, ...; more is not a publisher */
const MAX_MESSAGES_BEFORE_PUBLISH = 64;

export type AmfValue = number | boolean | string | null | undefined | AmfValue[] | { [key: string]: AmfValue };

/** Read AMF0 values from a buffer until it ends (throws on malformed data). */
export function readAmf0(buf: Buffer): AmfValue[] {
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > buf.length) throw new Error('truncated AMF0 value');
  };
  const str = (long: boolean): string => {
    need(long ? 4 : 2);
    const len = long ? buf.readUInt32BE(pos) : buf.readUInt16BE(pos);
    pos += long ? 4 : 2;
    need(len);
    const s = buf.toString('utf8', pos, pos + len);
    pos += len;
    return s;
  };
  const props = (): { [key: string]: AmfValue } => {
    const o: { [key: string]: AmfValue } = {};
    for (;;) {
      const key = str(false);
      need(1);
      if (key === '' && buf[pos] === 0x09) {
        pos++;
        return o;
      }
      o[key] = value();
    }
  };
  const value = (): AmfValue => {
    need(1);
    const marker = buf[pos++]!;
    switch (marker) {
      case 0x00:
        need(8);
        pos += 8;
        return buf.readDoubleBE(pos - 8);
      case 0x01:
        need(1);
        return buf[pos++] !== 0;
      case 0x02:
        return str(false);
      case 0x03:
        return props();
      case 0x05:
        return null;
      case 0x06:
        return undefined;
      case 0x08:
        need(4);
        pos += 4; // approximate count; the properties end with the object end marker
        return props();
      case 0x0a: {
        need(4);
        const n = buf.readUInt32BE(pos);
        pos += 4;
        const list: AmfValue[] = [];
        for (let i = 0; i < n; i++) list.push(value());
        return list;
      }
      case 0x0b:
        need(10);
        pos += 10;
        return buf.readDoubleBE(pos - 10);
      case 0x0c:
        return str(true);
      default:
        throw new Error(`unsupported AMF0 marker 0x${marker.toString(16)}`);
    }
  };
  const out: AmfValue[] = [];
  while (pos < buf.length) out.push(value());
  return out;
}

export type GateVerdict =
  | { state: 'pending' }
  | { state: 'allowed'; app: string; stream: string }
  | { state: 'refused'; reason: string; app: string | null; stream: string | null };

export interface GateStep {
  /** bytes that may be written to ffmpeg now, in order */
  forward: Buffer;
  verdict: GateVerdict;
}

interface ChunkStreamState {
  length: number;
  type: number;
  extended: boolean;
  /** bytes of the current message received so far (0: between messages) */
  received: number;
  parts: Buffer[];
}

/** Everything after `?` in an app or stream name (tokens some encoders add) is not part of the name. */
function bare(name: string): string {
  const q = name.indexOf('?');
  return q === -1 ? name : name.slice(0, q);
}

type ChunkRead = { end: number; message?: { type: number; body: Buffer } } | { refused: string } | null;

/**
 * One connection's check. `push(bytes)` takes what the client sent and returns what may be forwarded
 * and the verdict so far. After `allowed`, every later push forwards its bytes untouched; after
 * `refused`, nothing more is forwarded and the caller closes the connection.
 *
 * Bytes are released only up to a point where no message is half received, so no part of a command
 * (in particular of a publish) reaches ffmpeg before the whole of it was checked. The bytes kept
 * back are parsed again, from the state at that point, when more arrive.
 */
export class RtmpPublishGate {
  private pending: Buffer = Buffer.alloc(0);
  private handshakeLeft = HANDSHAKE_BYTES;
  /** the chunk state at the last release point */
  private chunkSize = 128;
  private streams = new Map<number, ChunkStreamState>();
  private verdict: GateVerdict = { state: 'pending' };
  private app: string | null = null;
  private messages = 0;
  private refusalReason = '';

  constructor(
    private readonly expected: { app: string; stream: string },
    private readonly maxCommandBytes = MAX_COMMAND_BYTES,
  ) {}

  push(bytes: Buffer): GateStep {
    if (this.verdict.state === 'allowed') return { forward: bytes, verdict: this.verdict };
    if (this.verdict.state === 'refused') return { forward: Buffer.alloc(0), verdict: this.verdict };
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const out: Buffer[] = [];
    // the handshake passes at once: ffmpeg answers it, and the client waits for S0/S1/S2
    if (this.handshakeLeft > 0) {
      if (this.handshakeLeft === HANDSHAKE_BYTES && this.pending.length > 0 && this.pending[0] !== 0x03) {
        return this.refuse(`not an RTMP handshake (version byte ${this.pending[0]})`);
      }
      const n = Math.min(this.handshakeLeft, this.pending.length);
      out.push(this.pending.subarray(0, n));
      this.pending = this.pending.subarray(n);
      this.handshakeLeft -= n;
      if (this.handshakeLeft > 0) return { forward: Buffer.concat(out), verdict: this.verdict };
    }
    // a working copy of the chunk state, committed at each release point
    let work = { chunkSize: this.chunkSize, streams: cloneStreams(this.streams) };
    let released = 0;
    let pos = 0;
    for (;;) {
      const chunk = this.readChunk(pos, work);
      if (chunk === null) break;
      if ('refused' in chunk) return this.refuse(chunk.refused, Buffer.concat([...out, this.pending.subarray(0, released)]));
      pos = chunk.end;
      if (chunk.message) {
        const decision = this.onMessage(chunk.message.type, chunk.message.body, work);
        // what came before this message was checked and may go (the caller closes the connection anyway)
        if (decision === 'refuse') return this.refuse(this.refusalReason, Buffer.concat([...out, this.pending.subarray(0, released)]));
        if (decision === 'allow') {
          // the publish and everything after it pass through
          out.push(this.pending);
          this.pending = Buffer.alloc(0);
          return { forward: Buffer.concat(out), verdict: this.verdict };
        }
      }
      if ([...work.streams.values()].every((s) => s.received === 0)) {
        released = pos;
        this.chunkSize = work.chunkSize;
        this.streams = work.streams;
        work = { chunkSize: this.chunkSize, streams: cloneStreams(this.streams) };
      }
    }
    out.push(this.pending.subarray(0, released));
    this.pending = this.pending.subarray(released);
    return { forward: Buffer.concat(out), verdict: this.verdict };
  }

  private refuse(reason: string, forward = Buffer.alloc(0)): GateStep {
    this.verdict = { state: 'refused', reason, app: this.app, stream: null };
    this.pending = Buffer.alloc(0);
    return { forward, verdict: this.verdict };
  }

  /** Parse one chunk at `pos` of `pending` into `work`; null when it is not all there yet. */
  private readChunk(pos: number, work: { chunkSize: number; streams: Map<number, ChunkStreamState> }): ChunkRead {
    const b = this.pending;
    if (pos >= b.length) return null;
    const first = b[pos]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    let p = pos + 1;
    if (csid === 0) {
      if (p + 1 > b.length) return null;
      csid = 64 + b[p]!;
      p += 1;
    } else if (csid === 1) {
      if (p + 2 > b.length) return null;
      csid = 64 + b[p]! + b[p + 1]! * 256;
      p += 2;
    }
    const headerBytes = [11, 7, 3, 0][fmt]!;
    if (p + headerBytes > b.length) return null;
    const prev = work.streams.get(csid);
    if (!prev && fmt !== 0) return { refused: `chunk stream ${csid} starts without a full message header` };
    if (prev && prev.received !== 0 && fmt !== 3) return { refused: 'a chunk header interrupts an unfinished message' };
    const s: ChunkStreamState = prev ? { ...prev, parts: [...prev.parts] } : { length: 0, type: 0, extended: false, received: 0, parts: [] };
    if (fmt <= 2) s.extended = b.readUIntBE(p, 3) === 0xffffff;
    if (fmt <= 1) {
      s.length = b.readUIntBE(p + 3, 3);
      s.type = b[p + 6]!;
    }
    p += headerBytes;
    if (s.extended) {
      if (p + 4 > b.length) return null;
      p += 4;
    }
    if ((s.type === 20 || s.type === 17) && s.length > this.maxCommandBytes) return { refused: `a command message of ${s.length} bytes` };
    const n = Math.min(work.chunkSize, s.length - s.received);
    if (p + n > b.length) return null;
    s.parts.push(b.subarray(p, p + n));
    s.received += n;
    p += n;
    work.streams.set(csid, s);
    if (s.received < s.length) return { end: p };
    const body = Buffer.concat(s.parts);
    s.parts = [];
    s.received = 0;
    return { end: p, message: { type: s.type, body } };
  }

  /** 'allow' on an accepted publish, 'refuse' on a wrong app/stream, 'more' otherwise. */
  private onMessage(type: number, body: Buffer, work: { chunkSize: number }): 'allow' | 'refuse' | 'more' {
    if (++this.messages > MAX_MESSAGES_BEFORE_PUBLISH) {
      this.refusalReason = `no publish after ${MAX_MESSAGES_BEFORE_PUBLISH} messages`;
      return 'refuse';
    }
    if (type === 1) {
      if (body.length < 4) {
        this.refusalReason = 'a short Set Chunk Size message';
        return 'refuse';
      }
      work.chunkSize = body.readUInt32BE(0) & 0x7fffffff;
      if (work.chunkSize < 1) {
        this.refusalReason = 'a chunk size of 0';
        return 'refuse';
      }
      return 'more';
    }
    if (type !== 20 && type !== 17) return 'more';
    let values: AmfValue[];
    try {
      values = readAmf0(type === 17 ? body.subarray(1) : body);
    } catch (error) {
      this.refusalReason = `an unreadable command (${(error as Error).message})`;
      return 'refuse';
    }
    const name = values[0];
    if (name === 'connect') {
      const obj = values[2];
      const app = obj && typeof obj === 'object' && !Array.isArray(obj) ? obj['app'] : undefined;
      if (typeof app !== 'string') {
        this.refusalReason = 'a connect without an application name';
        return 'refuse';
      }
      this.app = bare(app).replace(/\/+$/, '');
      if (this.app !== this.expected.app) {
        this.refusalReason = `application "${this.app}" is not the configured one`;
        return 'refuse';
      }
      return 'more';
    }
    if (name === 'publish' || name === 'play') {
      if (name === 'play') {
        this.refusalReason = 'a player (play), not a publisher: streamkit live only ingests';
        return 'refuse';
      }
      const stream = values[3];
      if (this.app === null) {
        this.refusalReason = 'publish before connect';
        return 'refuse';
      }
      if (typeof stream !== 'string' || bare(stream) !== this.expected.stream) {
        this.refusalReason = 'wrong stream key';
        return 'refuse';
      }
      this.verdict = { state: 'allowed', app: this.app, stream: bare(stream) };
      return 'allow';
    }
    return 'more';
  }
}

function cloneStreams(m: Map<number, ChunkStreamState>): Map<number, ChunkStreamState> {
  return new Map([...m].map(([k, v]) => [k, { ...v, parts: [...v.parts] }]));
}
