#!/usr/bin/env node
// Thin launcher: all logic lives in dist/ (built from src/ by `npm install` / `npm run build`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
