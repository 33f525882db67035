/**
 * Two writers of one task record at once: the saved files of a call that ran out of wait
 * (recordSaves) and the outcome a poll brings (recordOutcome), in this process or another.
 * Each reads the record, changes it and writes it back; a write in between must be kept, not
 * overwritten by the older copy (a finished task back to processing, or its saved files lost).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Logger } from '../../src/shared/log.js';
import { Journal } from '../../src/state/journal.js';
import type { LedgerTask, OutcomeRecord } from '../../src/state/ledger.js';
import { SqliteState } from '../../src/state/sqlite.js';
import type { StateStore } from '../../src/state/types.js';

const U = '6f1d7a52-3b0e-4c8a-9d3f-2a1b4c5d6e7f';
const task: LedgerTask = {
  taskUUID: U,
  taskType: 'imageInference',
  billable: false,
  kept: true,
  model: 'runware:101@1',
  numberResults: 2,
  request: { taskType: 'imageInference', taskUUID: U },
};
const outputs = [
  { uuid: 'out-1', url: 'https://im.runware.ai/1.png', kind: 'image' },
  { uuid: 'out-2', url: 'https://im.runware.ai/2.png', kind: 'image' },
];
const outcome = (status: OutcomeRecord['status']): OutcomeRecord => ({
  taskUUID: U,
  status,
  outputs: status === 'success' ? outputs : outputs.slice(0, 1),
  costKnown: status === 'success',
  ...(status === 'success' ? { cost: 0 } : {}),
  errors: [],
});

/** A journal whose next read of the record (by whichever method) waits until `release()`, once `hold()` is called. */
async function racing() {
  const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-races-')));
  let held: { read: () => void; go: Promise<void> } | undefined;
  const pausing =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const r = await f(...a);
      const h = held;
      held = undefined;
      if (h) {
        h.read();
        await h.go;
      }
      return r;
    };
  const spied: StateStore = Object.assign(Object.create(state) as StateStore, {
    getTask: pausing(state.getTask.bind(state)),
    readTask: pausing(state.readTask.bind(state)),
  });
  const journal = new Journal({ open: async () => spied, logger: new Logger('error'), maxSpendUsd: undefined });
  await journal.admit([task], []);
  await journal.recordOutcome(task, outcome('processing'));
  let release!: () => void;
  const hold = (): Promise<void> =>
    new Promise<void>((read) => {
      held = { read, go: new Promise<void>((r) => (release = r)) };
    });
  return { state, journal, hold, release: () => release() };
}

describe('two writers of one task record', () => {
  it('an outcome written while saved files are being recorded stays: success, with the files', async () => {
    const { state, journal, hold, release } = await racing();
    const read = hold();
    const saving = journal.recordSaves(U, ['/out/a.png'], ['out-1']);
    await read;
    await journal.recordOutcome(task, outcome('success'));
    release();
    await saving;
    const rec = await state.getTask(U);
    expect(rec?.status).toBe('success');
    expect(rec?.outputs).toEqual([
      expect.objectContaining({ uuid: 'out-1', savedTo: '/out/a.png' }),
      expect.objectContaining({ uuid: 'out-2' }),
    ]);
    await journal.close();
  });

  it('saved files recorded while an outcome is being written stay: the outcome keeps them', async () => {
    const { state, journal, hold, release } = await racing();
    const read = hold();
    const finishing = journal.recordOutcome(task, outcome('success'));
    await read;
    await journal.recordSaves(U, ['/out/a.png', '/out/b.png'], ['out-1', 'out-2']);
    release();
    expect((await finishing).written).toBe(true);
    const rec = await state.getTask(U);
    expect(rec?.status).toBe('success');
    expect(rec?.outputs.map((o) => o.savedTo)).toEqual(['/out/a.png', '/out/b.png']);
    await journal.close();
  });
});

describe('a record that keeps changing under every write', () => {
  it('is never written over: the outcome and the saved files end at their deadline, saying so', async () => {
    const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-races-')));
    let conditional = 0;
    let regardless = 0;
    const spied: StateStore = Object.assign(Object.create(state) as StateStore, {
      finishIfUnchanged: async () => (conditional++, 'changed' as const),
      putTaskIfUnchanged: async () => false,
      finish: async () => (regardless++, []),
    });
    const warnings: string[] = [];
    const logger = new Logger('warning');
    logger.warn = (m: string) => void warnings.push(m);
    const journal = new Journal({ open: async () => spied, logger, maxSpendUsd: undefined, writeDeadlineMs: 200 });
    await journal.admit([task], []);
    const r = await journal.recordOutcome(task, outcome('success'));
    expect(r).toMatchObject({ written: false, note: expect.stringMatching(`poll taskUUID ${U} again`) });
    expect((await state.getTask(U))?.status).toBe('submitted');
    expect(conditional).toBeGreaterThan(4);
    expect(regardless).toBe(0);
    await journal.recordSaves(U, ['/out/a.png'], ['out-1']);
    expect((await state.getTask(U))?.outputs).toEqual([]);
    expect(warnings.join('\n')).toMatch(/outcome of task .* was not journaled: its record kept changing for 0.2 s/);
    expect(warnings.join('\n')).toMatch(/saved files of task .* were not recorded: its record kept changing/);
    await journal.close();
  });
});
