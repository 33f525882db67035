import { defineConfig } from 'vitest/config';
import { ciOnly } from './test/ci-only.js';

/** The CI-only suites (see test/ci-only.ts); `npm run test:ci` runs them after a build. */
export default defineConfig({
  test: {
    include: ciOnly,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
