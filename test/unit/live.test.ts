import { describe, expect, it } from 'vitest';
import { buildLiveArgs, srtListenerInput } from '../../src/live/command.js';
import { inputNotes } from '../../src/live/live.js';
import { parseListenUrl } from '../../src/live/listen.js';
import { planLive } from '../../src/live/plan.js';
import { writeLiveMediaPlaylist } from '../../src/live/playlist.js';
import { readAmf0, RtmpPublishGate } from '../../src/live/rtmp-gate.js';
import { loadPreset } from '../../src/preset/load.js';

/** AMF0 as an RTMP client writes it. */
function amf(...values: unknown[]): Buffer {
  const parts: Buffer[] = [];
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(2);
    h.writeUInt16BE(b.length);
    return Buffer.concat([h, b]);
  };
  const value = (v: unknown): void => {
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = 0x00;
      b.writeDoubleBE(v, 1);
      parts.push(b);
    } else if (typeof v === 'boolean') parts.push(Buffer.from([0x01, v ? 1 : 0]));
    else if (typeof v === 'string') parts.push(Buffer.from([0x02]), str(v));
    else if (v === null) parts.push(Buffer.from([0x05]));
    else if (typeof v === 'object') {
      parts.push(Buffer.from([0x03]));
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        parts.push(str(k));
        value(x);
      }
      parts.push(Buffer.from([0x00, 0x00, 0x09]));
    }
  };
  for (const v of values) value(v);
  return Buffer.concat(parts);
}

/** One message as chunks: a type-0 header on chunk stream `csid`, then type-3 continuations. */
function chunks(csid: number, type: number, body: Buffer, chunkSize = 128, streamId = 0): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off < body.length || off === 0; off += chunkSize) {
    if (off === 0) {
      const h = Buffer.alloc(12);
      h[0] = csid & 0x3f;
      h.writeUIntBE(0, 1, 3);
      h.writeUIntBE(body.length, 4, 3);
      h[7] = type;
      h.writeUInt32LE(streamId, 8);
      out.push(h);
    } else out.push(Buffer.from([0xc0 | (csid & 0x3f)]));
    out.push(body.subarray(off, off + chunkSize));
    if (body.length === 0) break;
  }
  return Buffer.concat(out);
}

const handshake = Buffer.concat([Buffer.from([0x03]), Buffer.alloc(1536, 1), Buffer.alloc(1536, 2)]);
const connect = (app: string, chunkSize = 128): Buffer =>
  chunks(
    3,
    20,
    amf('connect', 1, { app, type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)', tcUrl: `rtmp://127.0.0.1:1935/${app}`, padding: 'x'.repeat(120) }),
    chunkSize,
  );
const setChunkSize = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return chunks(2, 1, b);
};
const publishCmd = (key: string, chunkSize = 128): Buffer => chunks(8, 20, amf('publish', 5, null, key, 'live'), chunkSize, 1);
const preamble = (key: string, chunkSize = 128): Buffer =>
  Buffer.concat([
    chunks(3, 20, amf('releaseStream', 2, null, key), chunkSize),
    chunks(3, 20, amf('FCPublish', 3, null, key), chunkSize),
    chunks(3, 20, amf('createStream', 4, null), chunkSize),
  ]);

/** Feed `bytes` in pieces of `step` bytes; return what was forwarded and the last verdict. */
function feed(gate: RtmpPublishGate, bytes: Buffer, step: number): { forwarded: Buffer; verdict: ReturnType<RtmpPublishGate['push']>['verdict'] } {
  const out: Buffer[] = [];
  let verdict: ReturnType<RtmpPublishGate['push']>['verdict'] = { state: 'pending' };
  for (let i = 0; i < bytes.length; i += step) {
    const r = gate.push(bytes.subarray(i, i + step));
    out.push(r.forward);
    verdict = r.verdict;
    if (verdict.state === 'refused') break;
  }
  return { forwarded: Buffer.concat(out), verdict };
}

describe('RTMP publish gate', () => {
  const expected = { app: 'live', stream: 'the-key' };
  const media = chunks(4, 9, Buffer.alloc(300, 7), 4096, 1);
  const good = Buffer.concat([handshake, setChunkSize(4096), connect('live', 4096), preamble('the-key', 4096), publishCmd('the-key', 4096), media]);

  for (const step of [1, 7, 1000, good.length]) {
    it(`lets the configured app and key publish and passes every byte on, in order (${step}-byte reads)`, () => {
      const r = feed(new RtmpPublishGate(expected), good, step);
      expect(r.verdict).toEqual({ state: 'allowed', app: 'live', stream: 'the-key' });
      expect(r.forwarded.equals(good)).toBe(true);
    });
  }

  it('refuses a wrong key and forwards no byte of that publish', () => {
    const bytes = Buffer.concat([handshake, connect('live'), preamble('other'), publishCmd('wrong-key-here'), media]);
    for (const step of [1, 13, bytes.length]) {
      const r = feed(new RtmpPublishGate(expected), bytes, step);
      expect(r.verdict.state).toBe('refused');
      expect(r.verdict.state === 'refused' && r.verdict.reason).toBe('wrong stream key');
      expect(r.forwarded.includes(Buffer.from('publish'))).toBe(false);
      expect(r.forwarded.includes(Buffer.from('wrong-key-here'))).toBe(false);
      // everything before the publish went through (ffmpeg answered connect and createStream)
      expect(r.forwarded.includes(Buffer.from('createStream'))).toBe(true);
    }
  });

  it('refuses another application at connect, before any command reaches ffmpeg', () => {
    const r = feed(new RtmpPublishGate(expected), Buffer.concat([handshake, connect('other'), publishCmd('the-key')]), 50);
    expect(r.verdict.state === 'refused' && r.verdict.reason).toMatch(/application "other"/);
    expect(r.forwarded.length).toBe(handshake.length);
  });

  it('takes a key with a query string (?token=) as the key; refuses a player (play)', () => {
    const q = feed(new RtmpPublishGate(expected), Buffer.concat([handshake, connect('live'), publishCmd('the-key?token=1')]), 64);
    expect(q.verdict.state).toBe('allowed');
    const play = feed(new RtmpPublishGate(expected), Buffer.concat([handshake, connect('live'), chunks(8, 20, amf('play', 5, null, 'the-key'), 128, 1)]), 64);
    expect(play.verdict.state === 'refused' && play.verdict.reason).toMatch(/play/);
  });

  it('refuses what is not RTMP', () => {
    const r = new RtmpPublishGate(expected).push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(r.verdict.state).toBe('refused');
    expect(r.forward.length).toBe(0);
  });

  it('reads AMF0 values', () => {
    expect(readAmf0(amf('connect', 1, { app: 'live', n: 2, ok: true }, null))).toEqual(['connect', 1, { app: 'live', n: 2, ok: true }, null]);
    expect(() => readAmf0(Buffer.from([0x02, 0x00, 0x05, 0x61]))).toThrow(/truncated/);
  });
});

describe('live media playlist', () => {
  const seg = (seq: number, discontinuity = false) => ({ seq, uri: `seg_${seq}.ts`, duration: 2, programDateTime: Date.UTC(2026, 11, 6, 12, 0, seq * 2), discontinuity });

  it('a window: media sequence of its first segment, PDT on every segment, the discontinuity tag where a session starts', () => {
    const text = writeLiveMediaPlaylist({ segments: [seg(7), seg(8, true), seg(9)], discontinuitySequence: 2, segmentDuration: 2, ended: false, event: false });
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXT-X-DISCONTINUITY-SEQUENCE:2',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:14.000Z',
        '#EXTINF:2.000000,',
        'seg_7.ts',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:16.000Z',
        '#EXTINF:2.000000,',
        'seg_8.ts',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T12:00:18.000Z',
        '#EXTINF:2.000000,',
        'seg_9.ts',
        '',
      ].join('\n'),
    );
  });

  it('ended: EXT-X-ENDLIST; no window: an EVENT playlist; the target duration never below the configured one', () => {
    const text = writeLiveMediaPlaylist({ segments: [{ ...seg(0), duration: 0.4 }], discontinuitySequence: 0, segmentDuration: 2, ended: true, event: true });
    expect(text).toMatch(/#EXT-X-PLAYLIST-TYPE:EVENT\n/);
    expect(text).toMatch(/#EXT-X-TARGETDURATION:2\n/);
    expect(text.endsWith('#EXT-X-ENDLIST\n')).toBe(true);
  });
});

describe('live plan and ffmpeg arguments', () => {
  it('live-ladder: 16:9 rungs at 30 fps, 60-frame GOPs, 2 s segments', async () => {
    const plan = planLive(await loadPreset('live-ladder'));
    expect(plan.rungs.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual(['1080p 1920x1080', '720p 1280x720', '480p 854x480', '360p 640x360']);
    expect(plan.fps).toBe(30);
    expect(plan.gopFrames).toBe(60);
    expect(plan.segmentDuration).toBe(2);
    expect(plan.rungs.every((r) => r.maxrate <= r.bitrate * 1.1 + 1)).toBe(true);
  });

  it('refuses presets that are not live or not H.264 HLS', async () => {
    const vod = await loadPreset('h264-ladder');
    expect(() => planLive(vod)).toThrow(/not a live preset/);
    const hevcLive = { ...vod, preset: { ...vod.preset, live: true, video: { ...vod.preset.video, codec: 'hevc' as const } } };
    expect(() => planLive(hevcLive)).toThrow(/libx264/);
  });

  it('one decode split to every rung, the same GOP in every rung, one AAC, HLS per rendition into the session folder', async () => {
    const plan = planLive(await loadPreset('live-ladder'));
    const argv = buildLiveArgs(plan, { input: { kind: 'rtmp', url: 'rtmp://127.0.0.1:5555/live/key', options: [] }, sessionDir: '.live/s0001', ioTimeoutSeconds: 5 });
    const graph = argv[argv.indexOf('-filter_complex') + 1]!;
    expect(graph.match(/\[0:v:0\]/g)).toHaveLength(1);
    expect(graph).toMatch(/^\[0:v:0\]fps=30,split=4/);
    expect(argv.filter((a) => /^-g:v:\d$/.test(a))).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(argv[argv.indexOf(`-g:v:${i}`) + 1]).toBe('60');
    expect(argv.filter((a) => a === '-c:a')).toHaveLength(1);
    expect(argv[argv.indexOf('-var_stream_map') + 1]).toBe(
      'v:0,agroup:audio,name:1080p v:1,agroup:audio,name:720p v:2,agroup:audio,name:480p v:3,agroup:audio,name:360p a:0,agroup:audio,name:audio',
    );
    expect(argv[argv.indexOf('-hls_segment_filename') + 1]).toBe('.live/s0001/%v/seg_%05d.ts');
    expect(argv[argv.indexOf('-hls_flags') + 1]).toMatch(/temp_file/);
    expect(argv.slice(argv.indexOf('-listen'), argv.indexOf('-listen') + 2)).toEqual(['-listen', '1']);
    expect(argv[argv.indexOf('-rw_timeout') + 1]).toBe('5000000');
    expect(() => buildLiveArgs(plan, { input: { kind: 'rtmp', url: 'x', options: [] }, sessionDir: 'a%d', ioTimeoutSeconds: 5 })).toThrow(/%/);
  });

  it('SRT: a listener with enforced encryption and an I/O timeout; the passphrase is an option, not in the URL', () => {
    const input = srtListenerInput({ host: '0.0.0.0', port: 9000, passphrase: 'a-long-secret', pbkeylen: 16, latencyMs: 200 }, 5);
    expect(input.url).toBe('srt://0.0.0.0:9000');
    expect(input.options).toEqual([
      '-mode',
      'listener',
      '-passphrase',
      'a-long-secret',
      '-pbkeylen',
      '16',
      '-enforced_encryption',
      '1',
      '-timeout',
      '5000000',
      '-latency',
      '200000',
    ]);
  });
});

describe('what the live ladder does to a publisher', () => {
  it('says so when the picture is another shape, smaller than the top rung, or at another frame rate', async () => {
    const plan = planLive(await loadPreset('live-ladder'));
    expect(inputNotes('h264 (High), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 30 fps, 30 tbr, 1k tbn', plan)).toEqual([]);
    const notes = inputNotes('h264 (Main), yuv420p(progressive), 640x480 [SAR 1:1 DAR 4:3], 25 fps, 25 tbr, 1k tbn', plan);
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(/640x480, not 16:9.*letterboxed or pillarboxed/);
    expect(notes[1]).toMatch(/1080p, 720p are scaled up/);
    expect(notes[2]).toMatch(/25 fps.*30 fps constant.*repeated/);
  });
});

describe('--listen', () => {
  it('rtmp://HOST:PORT/APP/KEY: the key is secret', () => {
    const t = parseListenUrl('rtmp://0.0.0.0:1935/live/s3cret-key');
    expect(t.kind === 'rtmp' && [t.host, t.port, t.app, t.key]).toEqual(['0.0.0.0', 1935, 'live', 's3cret-key']);
    expect(t.redacted).toBe('rtmp://0.0.0.0:1935/live/****');
    expect(t.redact('rtmp://127.0.0.1:5/live/s3cret-key failed')).not.toMatch(/s3cret/);
  });

  it('srt://HOST:PORT?passphrase=: the passphrase is required, 10 to 64 characters, and secret', () => {
    const t = parseListenUrl('srt://0.0.0.0:9000?passphrase=0123456789ab&pbkeylen=32');
    expect(t.kind === 'srt' && [t.port, t.passphrase, t.pbkeylen]).toEqual([9000, '0123456789ab', 32]);
    expect(t.redacted).toBe('srt://0.0.0.0:9000?passphrase=****&pbkeylen=32');
    expect(t.redact('-passphrase 0123456789ab')).toBe('-passphrase ****');
    expect(() => parseListenUrl('srt://0.0.0.0:9000')).toThrow(/passphrase/);
    expect(() => parseListenUrl('srt://0.0.0.0:9000?passphrase=short')).toThrow(/10 to 64/);
    expect(() => parseListenUrl('srt://0.0.0.0:9000?passphrase=0123456789ab&mode=caller')).toThrow(/Unknown srt/);
  });

  it('refuses rtmps, other schemes and an RTMP URL without a port', () => {
    expect(() => parseListenUrl('rtmps://0.0.0.0:443/live/k')).toThrow(/rtmps/);
    expect(() => parseListenUrl('http://0.0.0.0/x')).toThrow(/only rtmp:\/\/ and srt:\/\//);
    expect(() => parseListenUrl('rtmp://0.0.0.0/live/k')).toThrow(/port/);
  });
});
