/**
 * Suites that run in CI (`npm run test:ci`, called by .ci/run) but not in the README's `npm test`:
 * they pack and install the package, build the Desktop bundle, play the whole fault matrix, or start
 * several processes and instances. Each is slow for what it adds to an everyday run.
 */
export const ciOnly = [
  'test/e2e/package.test.ts',
  'test/e2e/mcpb.test.ts',
  'test/e2e/fleet.test.ts',
  'test/e2e/journal.test.ts',
  'test/e2e/journal-heals.test.ts',
  'test/faults/matrix.test.ts',
  // Fault fuzzing beside the matrix; the studio in Debian's chromium (a browser and a server per run).
  'test/faults/fuzz.test.ts',
  'test/e2e/studio-app.test.ts',
  // End to end through the built bin, a process or more per test (the live schemas, the recovery paths, the
  // undocumented behaviours): about a minute of the everyday run, kept whole in CI.
  'test/e2e/models.test.ts',
  'test/e2e/recovery.test.ts',
  'test/e2e/unknowns.test.ts',
  // The attacks on the speed paths: slot holders and reads held for seconds, beside the matrix they extend.
  'test/integration/speed-attacks.test.ts',
  'test/ci/**/*.test.ts',
];
