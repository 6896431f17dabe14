#!/usr/bin/env node
// Thin launcher: all logic lives in dist/ (built from src/ by `npm install` / `npm run build`).
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // answer without loading the CLI (commander, execa, zod, listr2...): start-up time matters to scripts
  const { streamkitVersion } = await import('../dist/version.js');
  process.stdout.write(`${streamkitVersion()}\n`);
} else {
  // Node 22.1+: keep V8's compiled code between runs (a no-op on Node 20), for a faster start
  const { default: module } = await import('node:module');
  module.enableCompileCache?.();
  const { main } = await import(await cliEntry());
  process.exitCode = await main(argv);
}

/**
 * dist/bundle/main.js (scripts/bundle-cli.js) starts about twice as fast as dist/cli/main.js; use it
 * unless it is missing or older than the unbundled build (a `tsc` run since the last bundle).
 */
async function cliEntry() {
  const { statSync } = await import('node:fs');
  const bundle = new URL('../dist/bundle/main.js', import.meta.url);
  const plain = new URL('../dist/cli/main.js', import.meta.url);
  const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  return mtime(bundle) >= mtime(plain) ? bundle.href : plain.href;
}
