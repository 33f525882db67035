/**
 * The import rules and the one owner of the task lifecycle (scripts/lint.mjs,
 * rule 7): the state layer never imports runware/, only the client admits
 * tasks and records outcomes, and saves are recorded in one place. Checked on
 * the real tree, and on a small tree that breaks each rule, so the rule itself
 * cannot quietly stop working.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const lint = (src?: string) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts', 'lint.mjs'), ...(src ? ['--src', src] : [])], {
    encoding: 'utf8',
  });

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rw-layers-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the layers', () => {
  it('no module of src/state imports src/runware', () => {
    const state = join(ROOT, 'src', 'state');
    const up = sources(state).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from '([^']+)'|import\('([^']+)'\)/g)]
        .map((m) => ({ f: relative(ROOT, f), imp: m[1] ?? m[2]! }))
        .filter(({ f, imp }) => imp.startsWith('.') && join(dirname(f), imp).startsWith(join('src', 'runware'))),
    );
    expect(up).toEqual([]);
  });

  it('the project lint passes on the tree', () => {
    const r = lint();
    expect(r.stderr).toMatch(/files clean/);
    expect(r.status).toBe(0);
  });

  it('the lint refuses an import from state/ to runware/', () => {
    const r = lint(
      tree({
        'state/journal.ts': "import type { DataItem } from '../runware/errors.js';\n",
        'runware/errors.ts': 'export type DataItem = object;\n',
      }),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('src/state/journal.ts:1: the state layer imports runware/');
  });

  it('the lint refuses a second recorder of outcomes or saves, and admissions outside the client', () => {
    const r = lint(
      tree({
        'services/poll.ts': 'await ctx.journal.recordOutcome(task, o);\n',
        'services/run.ts': 'await ctx.journal.recordSaves(uuid, paths);\nawait ledger.admitRetry(t, prev);\n',
        'runware/client.ts': 'await this.journal.recordOutcome(t, o);\nawait this.journal.admit(tasks, []);\n',
        'services/outputs.ts': 'await opts.record.ledger.recordSaves(uuid, paths);\n',
      }),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'src/services/poll.ts:1: only the client (runware/client.ts) admits tasks and records outcomes',
    );
    expect(r.stderr).toContain('src/services/run.ts:1: saved outputs are recorded in one place');
    expect(r.stderr).toContain('src/services/run.ts:2: only the client');
    expect(r.stderr).not.toContain('client.ts:');
    expect(r.stderr).not.toContain('outputs.ts:');
    expect(r.stderr).toMatch(/3 problem\(s\)/);
  });
});
