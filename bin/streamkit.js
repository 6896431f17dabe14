#!/usr/bin/env node
// Thin launcher: all logic lives in dist/ (built from src/ by `npm install` / `npm run build`).
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // answer without loading the CLI (commander, execa, zod, listr2...): start-up time matters to scripts
  const { streamkitVersion } = await import('../dist/version.js');
  process.stdout.write(`${streamkitVersion()}\n`);
} else {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(argv);
}
