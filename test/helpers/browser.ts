/**
 * Debian's Chromium through playwright-core (never a downloaded browser), the way the browser tests
 * start it: headless, no sandbox (CI runs as root), no GPU, no background traffic, autoplay allowed.
 */
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM } from './requirements.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/** A fresh Chromium profile in `dir` (its own folder, removed with `dir`). */
export async function launchChromium(dir: string, options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  if (!CHROMIUM) throw new Error('launchChromium: no Chromium here (check unmet(need.chromium) first)');
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    ...(options.viewport ? { viewport: options.viewport } : {}),
    args: CHROMIUM_ARGS,
  });
}
