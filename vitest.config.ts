import { defineConfig } from 'vitest/config';
import { ciOnly } from './test/ci-only.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...ciOnly],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Tests bind loopback ports and spawn the built CLI; two cores run two files at once.
    maxWorkers: 2,
  },
});
