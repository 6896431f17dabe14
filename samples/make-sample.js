#!/usr/bin/env node
// Synthesize a short sample clip with ffmpeg's lavfi sources, so the quick start needs no download.
//   node samples/make-sample.js [out.mp4] [--size 1280x720] [--rate 30000/1001] [--duration 12]
// Uses ffmpeg from STREAMKIT_FFMPEG or PATH. The output is H.264 + AAC in MP4.
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args.splice(i, 2)[1] : fallback;
};
const size = opt('--size', '1280x720');
const rate = opt('--rate', '30000/1001');
const duration = opt('--duration', '12');
const out = resolve(args[0] ?? resolve(dirname(fileURLToPath(import.meta.url)), 'sample.mp4'));
const ffmpeg = process.env.STREAMKIT_FFMPEG || 'ffmpeg';
execFileSync(
  ffmpeg,
  [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=${rate}`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    duration,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '20',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-ac',
    '2',
    '-movflags',
    '+faststart',
    `file:${out}`,
  ],
  { stdio: 'inherit' },
);
console.log(out);
