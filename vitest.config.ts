import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests run real ffmpeg; two cores are shared between them.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
