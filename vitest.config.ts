import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Tests bind loopback ports and spawn the built CLI; two cores run two files at once.
    maxWorkers: 2,
  },
});
