/**
 * The tee muxer's slave syntax, checked against a port of libavutil's av_get_token() and
 * libavformat/tee.c's slave parsing (the real ffmpeg is exercised in test/integration/files.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { escapeToken, forStream, teeSlave } from '../../src/args/command.js';

const WHITESPACES = ' \n\t\r';

/** libavutil/avstring.c av_get_token(): returns [token, rest]. */
function avGetToken(buf: string, term: string): [string, string] {
  let p = 0;
  while (p < buf.length && WHITESPACES.includes(buf[p]!)) p++;
  let out = '';
  let end = 0;
  while (p < buf.length && !term.includes(buf[p]!)) {
    const c = buf[p++]!;
    if (c === '\\' && p < buf.length) {
      out += buf[p++];
      end = out.length;
    } else if (c === "'") {
      while (p < buf.length && buf[p] !== "'") out += buf[p++];
      if (p < buf.length) {
        p++;
        end = out.length;
      }
    } else {
      out += c;
    }
  }
  while (out.length > end && WHITESPACES.includes(out[out.length - 1]!)) out = out.slice(0, -1);
  return [out, buf.slice(p)];
}

/** libavformat/tee.c: split the slave list on "|", then parse `[k=v:k=v]file`. */
function parseTee(list: string): { options: [string, string][]; file: string }[] {
  const slaves: string[] = [];
  let rest = list;
  while (rest.length > 0) {
    const [tok, after] = avGetToken(rest, '|');
    slaves.push(tok);
    rest = after.startsWith('|') ? after.slice(1) : after;
  }
  return slaves.map((slave) => {
    if (!slave.startsWith('[')) return { options: [], file: slave };
    let p = slave.slice(1);
    const options: [string, string][] = [];
    for (;;) {
      const key = /^[A-Za-z0-9_.+/-]+/.exec(p)?.[0];
      if (!key || p[key.length] !== '=') throw new Error(`no option near ${p}`);
      const [value, after] = avGetToken(p.slice(key.length + 1), ':]');
      options.push([key, value]);
      if (after.startsWith(']')) return { options, file: after.slice(1) };
      if (!after.startsWith(':')) throw new Error(`unterminated options near ${after}`);
      p = after.slice(1);
    }
  });
}

const NASTY = [
  '/tmp/plain/dir/index.m3u8',
  "/tmp/it's here/index.m3u8",
  '/tmp/a:b|c[d]e\\f/x.mp4',
  '/tmp/ leading and trailing /x ',
  "/tmp/''/\\'/x",
  '/tmp/semi;colon,comma=equals/%05d.ts',
  '/tmp/ünïcødé ✓/日本.flv',
  '/tmp/tab\there/new\nline/x',
];

describe('tee slave escaping', () => {
  it('round-trips option values and file names through both parsing levels', () => {
    for (const file of NASTY) {
      for (const value of NASTY) {
        const options: [string, string][] = [
          ['f', 'hls'],
          ['hls_segment_filename', value],
          ['select', 'v:0,a:1'],
          ['onfail', 'abort'],
        ];
        const [parsed, ...others] = parseTee(teeSlave(options, file));
        expect(others).toEqual([]);
        expect(parsed).toEqual({ options, file });
      }
    }
  });

  it('keeps slaves apart when joined with "|"', () => {
    const a = teeSlave(
      [
        ['f', 'mp4'],
        ['movflags', '+faststart'],
      ],
      NASTY[2]!,
    );
    const b = teeSlave(
      [
        ['f', 'flv'],
        ['select', 'v:1'],
      ],
      NASTY[4]!,
    );
    expect(parseTee(`${a}|${b}`)).toEqual([
      {
        options: [
          ['f', 'mp4'],
          ['movflags', '+faststart'],
        ],
        file: NASTY[2],
      },
      {
        options: [
          ['f', 'flv'],
          ['select', 'v:1'],
        ],
        file: NASTY[4],
      },
    ]);
  });

  it('escapes only what av_get_token treats specially', () => {
    expect(escapeToken('/a/b-c_d.e%f', ':]')).toBe('/a/b-c_d.e%f');
    expect(escapeToken("a b'c\\d:e]f|g", ':]')).toBe("a\\ b\\'c\\\\d\\:e\\]f|g");
    expect(escapeToken('a|b', '|')).toBe('a\\|b');
  });

  it('refuses option names the tee parser cannot read', () => {
    expect(() => teeSlave([['bad key', 'x']], '/x')).toThrow(/invalid tee option name/);
  });
});

describe('forStream', () => {
  it('aims single-stream encoder options at one stream of a multi-stream output', () => {
    expect(forStream(['-preset', 'slow', '-b:v', '3M', '-x264-params', 'open-gop=0', '-tag:v', 'hvc1'], 'v:2')).toEqual([
      '-preset:v:2',
      'slow',
      '-b:v:2',
      '3M',
      '-x264-params:v:2',
      'open-gop=0',
      '-tag:v:2',
      'hvc1',
    ]);
  });

  it('rejects anything that is not option/value pairs', () => {
    expect(() => forStream(['-preset'], 'v:0')).toThrow(/pairs/);
    expect(() => forStream(['preset', 'slow'], 'v:0')).toThrow(/expected an option/);
  });
});
