/**
 * One owner of the task lifecycle: the client admits each task, admits each
 * retry, and records each outcome exactly once, and nothing else records one.
 * A ledger that counts what it is told proves the client's side; a store that
 * counts its writes proves no service writes an outcome again.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { RunwareClient } from '../../src/runware/client.js';
import { RestTransport } from '../../src/runware/rest.js';
import { Rules } from '../../src/runware/rules.js';
import { AppContext } from '../../src/services/context.js';
import { pollTask } from '../../src/services/poll.js';
import { runModel } from '../../src/services/run.js';
import { textToImage } from '../../src/services/text-to-image.js';
import { Logger } from '../../src/shared/log.js';
import { ledgerTask, outcomeRecord } from '../../src/runware/ledger-records.js';
import { Journal } from '../../src/state/journal.js';
import {
  callRecord,
  type ClientLedger,
  type LedgerTask,
  type OutcomeRecord,
  type Recorded,
  type RetryRefusal,
} from '../../src/state/ledger.js';
import { SqliteState } from '../../src/state/sqlite.js';
import type { StateStore } from '../../src/state/types.js';
import { CANARY, imageTask, simEnv, useSim } from '../helpers.js';

const sim = useSim();

const TERMINAL = new Set(['success', 'partial', 'error', 'unknown']);

/** A ledger that admits everything and counts what it is told, by lineage. */
class CountingLedger implements ClientLedger {
  readonly cap = undefined;
  readonly admitted: string[] = [];
  readonly retries: Array<{ uuid: string; previous: string }> = [];
  readonly outcomes: Array<OutcomeRecord & { root: string }> = [];
  private readonly roots = new Map<string, string>();
  readonly durations = { typical: async (): Promise<number | undefined> => undefined, learn: (): void => undefined };

  async admit(tasks: LedgerTask[]): Promise<boolean> {
    for (const t of tasks) {
      this.roots.set(t.taskUUID, t.taskUUID);
      this.admitted.push(t.taskUUID);
    }
    return true;
  }
  mustAdmitFirst(): boolean {
    return true;
  }
  async admitBehind(tasks: LedgerTask[]): Promise<void> {
    await this.admit(tasks);
  }
  async admitRetry(task: LedgerTask, previous: string): Promise<RetryRefusal | undefined> {
    this.roots.set(task.taskUUID, this.roots.get(previous) ?? previous);
    this.retries.push({ uuid: task.taskUUID, previous });
    return undefined;
  }
  async recordOutcome(_task: LedgerTask | undefined, o: OutcomeRecord): Promise<Recorded> {
    this.outcomes.push({ ...o, root: this.roots.get(o.taskUUID) ?? o.taskUUID });
    return { written: true };
  }
  async recordSaves(): Promise<void> {}
  async spentToday(): Promise<number | undefined> {
    return undefined;
  }
  async refuseOverCap(): Promise<void> {}
  async dryRunMode(): Promise<undefined> {
    return undefined;
  }
  async rememberDryRunMode(): Promise<void> {}
  async learnedPerUnit(): Promise<number | undefined> {
    return undefined;
  }
  async reserveAlone(): Promise<boolean> {
    return true;
  }
  async settleAlone(): Promise<void> {}
  async chargeUnplanned(): Promise<void> {}
  async staleReservations(): Promise<Array<{ uuid: string; day: string; reserved: number }>> {
    return [];
  }
  async release(): Promise<boolean> {
    return false;
  }

  /** Terminal records of the lineage that began with `root`. */
  terminal(root: string): OutcomeRecord[] {
    return this.outcomes.filter((o) => o.root === root && TERMINAL.has(o.status));
  }
}

function clientWith(ledger: CountingLedger): RunwareClient {
  const transport = new RestTransport({
    url: sim().info.runwareUrl,
    apiKey: CANARY.apiKey,
    userAgent: 'test',
    headersTimeoutMs: 5000,
  });
  return new RunwareClient({
    transport,
    rules: new Rules(),
    logger: new Logger('error'),
    journal: ledger,
    retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50, budgetMs: 10_000 },
    pollSchedule: { minMs: 10, fraction: 0.1, maxMs: 100 },
    readTimeoutMs: 2000,
    settleMs: 20,
  });
}

describe('the client records each outcome once', () => {
  it('a sync task: one admission, one terminal record with its parsed outputs and cost', async () => {
    const ledger = new CountingLedger();
    const r = await clientWith(ledger).submit(imageTask({ deliveryMethod: 'sync', includeCost: true }));
    const uuid = r.tasks[0]!.taskUUID;
    expect(r.tasks[0]!.status).toBe('success');
    expect(ledger.admitted).toEqual([uuid]);
    expect(ledger.outcomes).toHaveLength(1);
    expect(ledger.terminal(uuid)).toHaveLength(1);
    expect(ledger.outcomes[0]).toMatchObject({
      status: 'success',
      costKnown: true,
      outputs: [{ kind: 'image', url: expect.stringMatching(/^http/) as unknown }],
    });
    expect(typeof ledger.outcomes[0]!.cost).toBe('number');
  });

  it('an async task waited for: polled to the end, recorded once', async () => {
    const ledger = new CountingLedger();
    const r = await clientWith(ledger).submit(imageTask({ deliveryMethod: 'async' }), { wait: true });
    expect(r.tasks[0]!.status).toBe('success');
    expect(ledger.outcomes).toHaveLength(1);
    expect(ledger.terminal(r.tasks[0]!.taskUUID)).toHaveLength(1);
  });

  it('an async task left running, then polled: its ACK recorded as processing, its end once, by the poll', async () => {
    const ledger = new CountingLedger();
    const client = clientWith(ledger);
    const r = await client.submit(imageTask({ deliveryMethod: 'async' }));
    const uuid = r.tasks[0]!.taskUUID;
    expect(ledger.outcomes.map((o) => o.status)).toEqual(['processing']);
    const st = await client.poll(uuid, { waitMs: 5000 });
    expect(st.status).toBe('success');
    expect(ledger.outcomes.map((o) => o.status)).toEqual(['processing', 'success']);
    expect(ledger.terminal(uuid)).toHaveLength(1);
    // A poll knows no attempts of its own: the ledger keeps the lineage it has.
    expect(ledger.outcomes[1]!.attempts).toBeUndefined();
  });

  it('a permanent failure: one error record, nothing resent', async () => {
    const ledger = new CountingLedger();
    sim().addFaults({ kind: 'taskError', code: 'insufficientCredits' });
    const r = await clientWith(ledger).submit(imageTask());
    expect(r.tasks[0]!.status).toBe('error');
    expect(ledger.retries).toEqual([]);
    expect(ledger.terminal(r.tasks[0]!.taskUUID)).toEqual([
      expect.objectContaining({ status: 'error', errors: [expect.objectContaining({ code: 'insufficientCredits' })] }),
    ]);
    expect(ledger.outcomes).toHaveLength(1);
  });

  it('a transient failure retried under a fresh UUID: the retry admitted, one record for the lineage, under its last UUID', async () => {
    const ledger = new CountingLedger();
    sim().addFaults({ kind: 'taskError', code: 'timeoutProvider' });
    const r = await clientWith(ledger).submit(imageTask());
    const t = r.tasks[0]!;
    expect(t.status).toBe('success');
    const first = ledger.admitted[0]!;
    expect(ledger.retries).toEqual([{ uuid: t.taskUUID, previous: first }]);
    expect(ledger.outcomes).toHaveLength(1);
    expect(ledger.terminal(first)).toEqual([
      expect.objectContaining({
        taskUUID: t.taskUUID,
        attempts: expect.arrayContaining([expect.objectContaining({ taskUUID: first })]) as unknown,
      }),
    ]);
  });

  it('a reset after the task ran (fate unknown): found by getTaskDetails, never resent, recorded once', async () => {
    const ledger = new CountingLedger();
    sim().addFaults({ kind: 'resetAfterAccept' });
    const r = await clientWith(ledger).submit(imageTask());
    expect(r.tasks[0]!.status).toBe('success');
    expect(ledger.retries).toEqual([]);
    expect([...sim().state.accepted.values()].every((n) => n === 1)).toBe(true);
    expect(ledger.outcomes).toHaveLength(1);
  });
});

/** An app over the simulator whose store counts outcome writes (finish) and other record writes (putTask), by root: the ones that went through. */
async function countingApp(
  stateDir = mkdtempSync(join(tmpdir(), 'rw-ledger-')),
): Promise<{ app: AppContext; finishes: string[]; puts: string[]; store: StateStore; stateDir: string }> {
  const app = new AppContext(
    loadConfig(
      simEnv(sim(), {
        RUNWARE_LOG_LEVEL: 'error',
        RUNWARE_SIM_TIME_SCALE: '0.02',
        RUNWARE_TIME_SCALE: '0.05',
        RUNWARE_STATE_DIR: stateDir,
      }),
    ),
    new Logger('error'),
  );
  const store = await app.journal.state();
  const finishes: string[] = [];
  const puts: string[] = [];
  const finish = store.finish.bind(store);
  const putTask = store.putTask.bind(store);
  const finishIf = store.finishIfUnchanged.bind(store);
  const putTaskIf = store.putTaskIfUnchanged.bind(store);
  store.finish = (root, rec, s) => (finishes.push(`${root} ${rec.status}`), finish(root, rec, s));
  store.finishIfUnchanged = async (root, rec, s, expected) => {
    const r = await finishIf(root, rec, s, expected);
    if (r !== 'changed') finishes.push(`${root} ${rec.status}`);
    return r;
  };
  store.putTask = (root, rec) => (puts.push(root), putTask(root, rec));
  store.putTaskIfUnchanged = async (root, rec, expected) => {
    const written = await putTaskIf(root, rec, expected);
    if (written) puts.push(root);
    return written;
  };
  return { app, finishes, puts, store, stateDir };
}

describe('no service records an outcome again', () => {
  it('runware_poll with saveTo: the outcome written once (by the client), the saved path once, the new saveTo kept', async () => {
    const { app, finishes, puts, store } = await countingApp();
    const out = mkdtempSync(join(tmpdir(), 'rw-ledger-out-'));
    try {
      const r = await app.runware().submit(imageTask({ deliveryMethod: 'async' }));
      const uuid = r.tasks[0]!.taskUUID;
      expect(finishes).toEqual([`${uuid} processing`]);
      finishes.length = 0;
      const { output } = await pollTask(app, { taskUUID: uuid, waitSeconds: 10, saveTo: 'imgs/' }, { roots: [out] });
      expect(output.status).toBe('success');
      expect(finishes).toEqual([`${uuid} success`]);
      expect(puts).toEqual([uuid]);
      const rec = await store.getTask(uuid);
      expect(rec).toMatchObject({
        status: 'success',
        saveTo: 'imgs/',
        outputs: [{ savedTo: output.files![0]!.savedTo }],
      });
      expect(rec!.outputs[0]!.savedTo).toContain(out);
    } finally {
      await app.close();
    }
  });

  it('a task another process sent: the poll records its outcome once, on the record that process wrote', async () => {
    const first = await countingApp();
    const r = await first.app.runware().submit(imageTask({ deliveryMethod: 'async' }));
    const uuid = r.tasks[0]!.taskUUID;
    await first.app.close();
    const second = await countingApp(first.stateDir);
    try {
      const { output } = await pollTask(second.app, { taskUUID: uuid, waitSeconds: 10 });
      expect(output.status).toBe('success');
      expect(second.finishes).toEqual([`${uuid} success`]);
      expect(second.puts).toEqual([]);
      const rec = await second.store.getTask(uuid);
      expect(rec).toMatchObject({
        status: 'success',
        taskType: 'imageInference',
        model: 'runware:101@1',
        delivery: 'async',
        numberResults: 1,
        attempts: [{ taskUUID: uuid, outcome: 'accepted' }],
      });
      expect(rec!.outputs[0]!.url).toMatch(/^http/);
      expect(rec!.cost).toBeGreaterThan(0);
    } finally {
      await second.app.close();
    }
  });
});

describe('the generation services record through the ledger only', () => {
  it('text-to-image and run with saveTo: one outcome write (by the client), one write of the saved paths', async () => {
    const { app, finishes, puts, store } = await countingApp();
    const out = mkdtempSync(join(tmpdir(), 'rw-ledger-out-'));
    try {
      const { output } = await textToImage(
        app,
        { prompt: 'a lighthouse', width: 512, height: 512, waitSeconds: 20, saveTo: 'imgs/' },
        { roots: [out] },
      );
      expect(output.status).toBe('success');
      expect(finishes).toEqual([`${output.taskUUID} success`]);
      expect(puts).toEqual([output.taskUUID]);
      expect(await store.getTask(output.taskUUID)).toMatchObject({
        saveTo: 'imgs/',
        outputs: [{ savedTo: output.images[0]!.savedTo }],
      });
      finishes.length = 0;
      puts.length = 0;
      const run = await runModel(
        app,
        {
          model: 'runware:101@1',
          params: { positivePrompt: 'a fox', width: 512, height: 512 },
          waitSeconds: 20,
          saveTo: 'run/',
        },
        { roots: [out] },
      );
      expect(run.output.status).toBe('success');
      expect(finishes).toEqual([`${run.output.taskUUID} success`]);
      expect(puts).toEqual([run.output.taskUUID]);
      expect(await store.getTask(run.output.taskUUID)).toMatchObject({
        saveTo: 'run/',
        outputs: [{ savedTo: run.output.outputs[0]!.savedTo }],
      });
    } finally {
      await app.close();
    }
  });
});

describe('the journal as the ledger', () => {
  it('an outcome without its task (a poll the client no longer remembers) lands on the stored record, in this process or another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-ledger-j-'));
    const journal = new Journal({
      open: async () => SqliteState.open(dir),
      logger: new Logger('error'),
      maxSpendUsd: undefined,
    });
    const other = new Journal({
      open: async () => SqliteState.open(dir),
      logger: new Logger('error'),
      maxSpendUsd: undefined,
    });
    try {
      const task = ledgerTask({
        taskType: 'imageInference',
        taskUUID: randomUUID(),
        model: 'runware:101@1',
        deliveryMethod: 'async',
        numberResults: 2,
      });
      await journal.admit([task], [], { call: callRecord({ saveTo: 'a/' }) });
      const done = outcomeRecord({
        taskUUID: task.taskUUID,
        status: 'success',
        results: [
          { taskUUID: task.taskUUID, imageURL: 'https://x/1.png', cost: 0.01 },
          { taskUUID: task.taskUUID, imageURL: 'https://x/2.png', cost: 0.01 },
        ],
        errors: [],
      });
      expect(await journal.recordOutcome(undefined, done)).toEqual({ written: true });
      const store = await journal.state();
      expect(await store.getTask(task.taskUUID)).toMatchObject({
        status: 'success',
        cost: 0.02,
        numberResults: 2,
        saveTo: 'a/',
        delivery: 'async',
        outputs: [{ url: 'https://x/1.png' }, { url: 'https://x/2.png' }],
      });
      await journal.recordSaves(task.taskUUID, [undefined, '/out/2.png']);
      // Another process's poll, with a new saveTo: the same record, its saved path kept.
      expect(
        await other.recordOutcome(undefined, { ...done, status: 'partial' }, callRecord({ saveTo: 'b/' })),
      ).toEqual({ written: true });
      expect(await store.getTask(task.taskUUID)).toMatchObject({
        status: 'partial',
        saveTo: 'b/',
        outputs: [{ url: 'https://x/1.png' }, { savedTo: '/out/2.png' }],
      });
      // A UUID no record has: nothing written, nothing wrong.
      expect(await other.recordOutcome(undefined, { ...done, taskUUID: randomUUID() })).toEqual({ written: true });
      expect(await store.listTasks({})).toHaveLength(1);
    } finally {
      await journal.close();
      await other.close();
    }
  });
});
