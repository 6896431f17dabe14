/**
 * The test helpers, one entry: `import { ... } from './index.js'`.
 *
 * - requirements.ts: the located ffmpeg/ffprobe (the product's own locator), the servers and browser,
 *   and `unmet()` / `skipNoted()`: skip with a message locally, fail under CI (docs/testing.md)
 * - media.ts: run ffmpeg/ffprobe (argv arrays), synthesize clips
 * - presets.ts: fast test presets
 * - cli.ts: the built CLI as a process, its events, what it left behind
 * - processes.ts: processes still running
 * - hls-check.ts: the independent check of a finished package
 * - browser.ts: Debian's Chromium for the browser tests
 * - dash-check.ts: the independent check of its DASH side (manifest.mpd against the schema, the files and the bandwidth rule)
 * - thumbnails-check.ts: the independent check of its poster and thumbnail track (WebVTT, sprites)
 * - live.ts: `streamkit live` as a process, real RTMP/SRT publishers (ffmpeg -re), a tiny live preset
 *
 * Each name is exported by one module only.
 */
export * from './requirements.js';
export * from './media.js';
export * from './presets.js';
export * from './cli.js';
export * from './processes.js';
export * from './hls-check.js';
export * from './browser.js';
export * from './thumbnails-check.js';
export * from './live.js';
export * from './dash-check.js';
