import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // End-to-end tests spawn the built CLI several times per test; on a loaded 2-core
    // machine each start can take seconds.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
