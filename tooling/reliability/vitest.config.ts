import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Each short profile starts real services and processes; on a loaded two-core machine
    // that can take minutes. The suites assert outcomes, never elapsed time.
    testTimeout: 600_000,
    hookTimeout: 120_000,
    // One suite at a time: they measure processes and memory.
    fileParallelism: false,
  },
});
