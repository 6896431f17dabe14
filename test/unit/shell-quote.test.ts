import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shellQuote, shellQuoteArg } from '../../src/ffmpeg/shell-quote.js';

const TRICKY: readonly string[] = [
  'ffmpeg',
  'plain-word_1.0',
  'a=b,c:d/e.f@g%h+i',
  'with space',
  '  leading and trailing  ',
  "single'quote",
  "'",
  "''",
  "it's a 'test'",
  'double"quote',
  '$HOME',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion the quoting must neutralise
  '${PATH}',
  '$(echo pwned)',
  '`echo pwned`',
  'line1\nline2',
  'tab\there',
  'cr\rhere',
  '',
  'héllo wörld ✓ 日本語',
  'ü',
  '-leading-dash',
  '-',
  '--',
  '-i',
  '*',
  '?',
  '~',
  '~/x',
  'a\\b',
  'trailing\\',
  '!bang',
  '#not-a-comment',
  ';&|<>(){}[]',
  'x=1',
  '%s',
  '[0:v]split=2[a][b];[a]scale=w=1280:h=-2[v0];[b]scale=640:-2[v1]',
  "drawtext=text='It''s 10%':fontsize=24",
];

const roundTrip = (shell: string, argv: readonly string[]): string[] => {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellQuote(argv)}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
};

describe('shellQuote', () => {
  it('leaves safe words bare and joins with spaces', () => {
    expect(shellQuote(['ffmpeg', '-i', 'in.mp4', '-c:v', 'libx264', '-b:v', '3000k', 'out/x_1.m3u8'])).toBe('ffmpeg -i in.mp4 -c:v libx264 -b:v 3000k out/x_1.m3u8');
    expect(shellQuoteArg('a=b,c:d/e.f@g%h+i-j_K9')).toBe('a=b,c:d/e.f@g%h+i-j_K9');
  });

  it('single-quotes everything else', () => {
    expect(shellQuoteArg('in put.mp4')).toBe("'in put.mp4'");
    expect(shellQuoteArg("it's")).toBe("'it'\\''s'");
    expect(shellQuoteArg("'")).toBe("''\\'''");
    expect(shellQuoteArg('$x')).toBe("'$x'");
    expect(shellQuoteArg('~')).toBe("'~'");
    expect(shellQuoteArg('*')).toBe("'*'");
    expect(shellQuoteArg('é')).toBe("'é'");
    expect(shellQuoteArg('[0:v]split=2[a][b]')).toBe("'[0:v]split=2[a][b]'");
  });

  it("quotes the empty string as ''", () => {
    expect(shellQuoteArg('')).toBe("''");
    expect(shellQuote(['a', '', 'b'])).toBe("a '' b");
    expect(shellQuote([])).toBe('');
  });

  it('round-trips tricky arguments through bash', () => {
    expect(roundTrip('bash', TRICKY)).toEqual(TRICKY);
  });

  it('round-trips each tricky argument alone through bash', () => {
    for (const arg of TRICKY) expect(roundTrip('bash', [arg])).toEqual([arg]);
  });

  it.runIf(existsSync('/bin/sh'))('round-trips tricky arguments through POSIX sh', () => {
    expect(roundTrip('/bin/sh', TRICKY)).toEqual(TRICKY);
  });
});
