/**
 * The built journal in a short-lived process (as the CLI runs it): an outcome whose compare-and-set
 * collides pauses before its next round, and the process must not exit in that pause with the
 * outcome unwritten (nothing else keeps a one-shot process alive then).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SqliteState } from '../../src/state/sqlite.js';

const dist = (p: string): string => pathToFileURL(resolve('dist', p)).href;

describe('a one-shot process recording an outcome that collided', () => {
  it('stays until the outcome is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-journal-process-'));
    const U = randomUUID();
    const script = `
      import { Journal } from ${JSON.stringify(dist('state/journal.js'))};
      import { SqliteState } from ${JSON.stringify(dist('state/sqlite.js'))};
      import { Logger } from ${JSON.stringify(dist('shared/log.js'))};
      const state = SqliteState.open(${JSON.stringify(dir)});
      let collisions = 2;
      const store = Object.assign(Object.create(state), {
        // Another writer got there first, twice: the journal reads again after a pause.
        finishIfUnchanged: async (...a) => (collisions-- > 0 ? 'changed' : state.finishIfUnchanged(...a)),
      });
      const journal = new Journal({ open: async () => store, logger: new Logger('error'), maxSpendUsd: undefined });
      const task = { taskUUID: ${JSON.stringify(U)}, taskType: 'imageInference', billable: false, kept: true, numberResults: 1, request: {} };
      await journal.admit([task], []);
      const r = await journal.recordOutcome(task, { taskUUID: task.taskUUID, status: 'success', outputs: [], costKnown: true, cost: 0, errors: [] });
      process.stdout.write(JSON.stringify(r));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ written: true });
    const st = SqliteState.open(dir);
    expect((await st.getTask(U))?.status).toBe('success');
    await st.close();
  }, 30_000);
});
