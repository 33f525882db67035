/** A clone builds on `npm install` (prepare), and `npm test` rebuilds only what is stale. */
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const { isStale, BUILD_INPUTS, BUILD_OUTPUTS } = (await import(join(ROOT, 'scripts', 'build-if-stale.mjs'))) as {
  isStale: (dir: string) => boolean;
  BUILD_INPUTS: string[];
  BUILD_OUTPUTS: string[];
};

function tree(inputsAt: number, outputsAt: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'rw-stale-'));
  const put = (rel: string, at: number): void => {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, 'x');
    utimesSync(p, at, at);
  };
  for (const i of BUILD_INPUTS) put(i === 'src' ? 'src/cli.ts' : i, inputsAt);
  utimesSync(join(dir, 'src'), inputsAt, inputsAt);
  for (const o of BUILD_OUTPUTS) put(o, outputsAt);
  return dir;
}

describe('the build scripts', () => {
  it('prepare builds; pretest builds only when stale', () => {
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.prepare).toBe('npm run build');
    expect(scripts.pretest).toBe('node scripts/build-if-stale.mjs');
  });

  it('dist/ is stale when missing or older than a source, fresh otherwise', () => {
    expect(isStale(tree(1000, 2000))).toBe(false);
    expect(isStale(tree(3000, 2000))).toBe(true);
    const fresh = tree(1000, 2000);
    utimesSync(join(fresh, 'src', 'cli.ts'), 2500, 2500);
    expect(isStale(fresh)).toBe(true);
    expect(isStale(mkdtempSync(join(tmpdir(), 'rw-stale-empty-')))).toBe(true);
  });
});
