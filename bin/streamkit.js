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
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(argv);
}
