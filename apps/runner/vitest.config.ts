import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 180_000, // end-to-end tests start real programs; a loaded machine is slow
    hookTimeout: 120_000,
  },
});
