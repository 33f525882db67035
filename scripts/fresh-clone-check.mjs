#!/usr/bin/env node
// A fresh clone as a newcomer has it: the tracked files in an empty folder with no dist/
// (dependencies linked from this checkout, since installing them is npm's job, not ours).
// `npm pack` runs the same `prepare` that `npm install` runs, so the tarball must carry the
// bin, and the clone's dist/cli.js must then answer. Prints "N passed, N failed".
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rw-clone-'));
const clone = join(work, 'runware-mcp-server');
let passed = 0;
let failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} fresh clone: ${name}${ok ? '' : `: ${detail}`.slice(0, 600)}\n`);
};

try {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const f of tracked) {
    if (f === 'node_modules' || f.startsWith('dist/')) continue;
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    try {
      cpSync(join(root, f), join(clone, f));
    } catch {
      // deleted in the work tree but still in the index
    }
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(clone, 'node_modules'));
  const env = {
    ...process.env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: clone,
    encoding: 'utf8',
    env,
    timeout: 300_000,
  });
  let files = [];
  try {
    files = JSON.parse(pack.stdout)[0].files.map((f) => f.path);
  } catch {
    // reported below
  }
  check(
    'npm pack builds through prepare and packs the bin',
    pack.status === 0 &&
      files.includes('dist/cli.js') &&
      files.includes('dist/runware-mcp-server.cjs') &&
      files.includes('dist/studio.html'),
    `exit ${pack.status}, files ${files.join(' ')} ${pack.stderr?.slice(-400)}`,
  );
  const v = spawnSync(process.execPath, [join(clone, 'dist', 'cli.js'), '--version'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  check(
    'dist/cli.js runs after the build',
    v.status === 0 && /\d+\.\d+\.\d+/.test(v.stdout),
    `exit ${v.status}: ${v.stderr}`,
  );
  const t = spawnSync(process.execPath, [join(clone, 'scripts', 'build-if-stale.mjs')], {
    cwd: clone,
    encoding: 'utf8',
    timeout: 300_000,
  });
  check(
    "npm test's pretest does not build again",
    t.status === 0 && /up to date/.test(t.stderr),
    `exit ${t.status}: ${t.stderr}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
