/**
 * POSIX shell quoting of an argv array for display (`--dry-run` prints
 * commands that users paste into bash/sh).
 *
 * Words made only of `[A-Za-z0-9_@%+=:,./-]` are left bare; anything else is
 * single-quoted with embedded `'` written as `'\''`; the empty string is `''`.
 */

const SAFE_WORD_RE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word. */
export function shellQuoteArg(arg: string): string {
  if (arg === '') return "''";
  if (SAFE_WORD_RE.test(arg)) return arg;
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

/** Quotes each word and joins them with single spaces. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map(shellQuoteArg).join(' ');
}
