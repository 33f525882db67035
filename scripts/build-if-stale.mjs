#!/usr/bin/env node
// `npm test`'s pretest: builds only when dist/ is missing or older than what it is made from.
// `npm install` / `npm ci` already build through `prepare`, so CI does not build twice,
// and an edit to the sources since the last build is never tested stale.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** What the build reads, and what it writes (the bin and what it loads). */
export const BUILD_INPUTS = [
  'src',
  'scripts/tool-index.mjs',
  'scripts/bundle.mjs',
  'tsconfig.json',
  'tsconfig.build.json',
  'package.json',
];
export const BUILD_OUTPUTS = [
  'dist/cli.js',
  'dist/load-bundle.cjs',
  'dist/runware-mcp-server.cjs',
  'dist/runware-mcp-server.cjs.cache',
  'dist/studio.html',
];

function newestMtime(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True when some output is missing or some input changed after the oldest output was written. */
export function isStale(dir = root) {
  const outputs = BUILD_OUTPUTS.map((p) => join(dir, p));
  if (outputs.some((p) => !existsSync(p))) return true;
  const oldestOutput = Math.min(...outputs.map((p) => statSync(p).mtimeMs));
  const newestInput = Math.max(
    ...BUILD_INPUTS.map((p) => join(dir, p))
      .filter(existsSync)
      .map(newestMtime),
  );
  return newestInput > oldestOutput;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!isStale()) {
    process.stderr.write('dist/ is up to date with src/; not rebuilding\n');
  } else {
    const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
}
