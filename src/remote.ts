/** Is this input or path an http(s) URL (remote input), rather than a local file name? */
export function isHttpUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}
