/**
 * Writers of one task record that collide round after round, over SQLite and over Redis: each
 * compare-and-set of one writer is beaten by another writer (another connection, as another
 * process would be) that records a saved file or the task's result just before it. However many
 * rounds that takes, nothing the others recorded is lost: no saved file, no delivered status, no
 * spend counted twice or dropped. A record that never stops changing ends the writer at its
 * deadline, having written nothing over it, and says so.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '../../src/shared/log.js';
import { Journal, utcDay } from '../../src/state/journal.js';
import type { LedgerTask, OutcomeRecord } from '../../src/state/ledger.js';
import { connectRedis, RedisState } from '../../src/state/redis.js';
import { SqliteState } from '../../src/state/sqlite.js';
import type { StateStore } from '../../src/state/types.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';

const hasRedis = requireRedis('colliding journal writers over Redis');
let redis: RedisHandle | undefined;
beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});

/** Opens a new connection to one store each call (as each process has its own). */
type Opener = () => () => Promise<StateStore>;
const stores: Array<[string, Opener]> = [
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-lossless-'));
      return async () => SqliteState.open(dir);
    },
  ],
  [
    'redis',
    () => {
      const ns = `lossless-${randomUUID()}`;
      return async () => new RedisState(await connectRedis(redis!.url, new Logger('error')), redis!.url, ns);
    },
  ],
];

const N = 12;
const mkTask = (U: string): LedgerTask => ({
  taskUUID: U,
  taskType: 'imageInference',
  billable: true,
  kept: true,
  model: 'runware:101@1',
  numberResults: N,
  request: { taskType: 'imageInference', taskUUID: U },
});
const outs = Array.from({ length: N }, (_, i) => ({ uuid: `out-${i}`, url: `https://im.runware.ai/${i}.png` }));
const success = (U: string): OutcomeRecord => ({
  taskUUID: U,
  status: 'success',
  outputs: outs,
  costKnown: true,
  cost: 0.25,
  errors: [],
});
const quote = (U: string) => new Map([[U, { usd: 1, units: 1, source: 'ceiling', how: 'x' }]]);

/**
 * The store as one writer sees it: before each of its first `times` record writes (conditional or
 * not), `meanwhile(k)` runs to its end, so that write meets a record another writer just changed.
 */
function beaten(st: StateStore, times: number, meanwhile: (k: number) => Promise<unknown>) {
  let k = 0;
  const first = async (): Promise<void> => {
    if (k < times) await meanwhile(k++);
  };
  const store: StateStore = Object.assign(Object.create(st) as StateStore, {
    finishIfUnchanged: async (...a: Parameters<StateStore['finishIfUnchanged']>) => (
      await first(),
      st.finishIfUnchanged(...a)
    ),
    putTaskIfUnchanged: async (...a: Parameters<StateStore['putTaskIfUnchanged']>) => (
      await first(),
      st.putTaskIfUnchanged(...a)
    ),
    finish: async (...a: Parameters<StateStore['finish']>) => (await first(), st.finish(...a)),
    putTask: async (...a: Parameters<StateStore['putTask']>) => (await first(), st.putTask(...a)),
  });
  return { store, collisions: () => k };
}

async function setup(
  opener: Opener,
  times: number,
  meanwhile: (other: Journal, U: string, k: number) => Promise<unknown>,
  writeDeadlineMs?: number,
) {
  const open = opener();
  const warnings: string[] = [];
  const logger = new Logger('warning');
  logger.warn = (m: string) => void warnings.push(m);
  const U = randomUUID();
  const other = new Journal({ open, logger, maxSpendUsd: 100 });
  const st = await open();
  const b = beaten(st, times, (k) => meanwhile(other, U, k));
  const journal = new Journal({
    open: async () => b.store,
    logger,
    maxSpendUsd: 100,
    ...(writeDeadlineMs !== undefined ? { writeDeadlineMs } : {}),
  });
  const task = mkTask(U);
  await journal.admit([task], [], { quotes: quote(U) });
  const check = await open();
  const saved = async (): Promise<Record<string, string | undefined>> =>
    Object.fromEntries(((await check.getTask(U))?.outputs ?? []).map((o) => [o.uuid, o.savedTo]));
  const close = async (): Promise<void> => {
    for (const j of [journal, other]) await j.close();
    await check.close();
  };
  return { U, task, journal, other, check, saved, warnings, collisions: b.collisions, close };
}

describe.each(stores)('writers of one task record colliding round after round, %s', (name, opener) => {
  const run = it.skipIf(name === 'redis' && !hasRedis);

  run('an outcome beaten by a save in each of ten rounds keeps every saved file; its charge settles once', async () => {
    const s = await setup(opener, 10, (other, U, k) => other.recordSaves(U, [`/out/${k}.png`], [`out-${k}`]));
    expect((await s.journal.recordOutcome(s.task, success(s.U))).written).toBe(true);
    const rec = await s.check.getTask(s.U);
    const saved = await s.saved();
    for (let k = 0; k < 10; k++) expect(saved[`out-${k}`], JSON.stringify(rec?.outputs)).toBe(`/out/${k}.png`);
    expect(rec?.status).toBe('success');
    expect(rec?.cost).toBe(0.25);
    expect(s.collisions()).toBe(10);
    expect(await s.check.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
    expect(s.warnings).toEqual([]);
    await s.close();
  });

  run('saved files beaten by other saves in each of eleven rounds are recorded, beside all of those', async () => {
    const s = await setup(opener, 11, (other, U, k) => other.recordSaves(U, [`/out/${k + 1}.png`], [`out-${k + 1}`]));
    await s.other.recordOutcome(undefined, success(s.U));
    await s.journal.recordSaves(s.U, ['/out/0.png'], ['out-0']);
    const saved = await s.saved();
    for (let k = 0; k < 12; k++) expect(saved[`out-${k}`]).toBe(`/out/${k}.png`);
    expect(s.warnings).toEqual([]);
    expect(s.collisions()).toBe(11);
    await s.close();
  });

  run('a late "processing" beaten round after round never overwrites the result another writer recorded', async () => {
    // Saves, then (in the fifth round) another process's poll records the result: the round after
    // reads it, and a finished task is not put back to "processing", so nothing more is written.
    const s = await setup(opener, 8, (other, U, k) =>
      k === 4 ? other.recordOutcome(undefined, success(U)) : other.recordSaves(U, [`/out/${k}.png`], [`out-${k}`]),
    );
    const processing: OutcomeRecord = {
      taskUUID: s.U,
      status: 'processing',
      outputs: outs.slice(0, 1),
      costKnown: false,
      errors: [],
    };
    expect((await s.journal.recordOutcome(s.task, processing)).written).toBe(true);
    const rec = await s.check.getTask(s.U);
    expect(rec?.status).toBe('success');
    expect(rec?.cost).toBe(0.25);
    const saved = await s.saved();
    for (const k of [0, 1, 2, 3]) expect(saved[`out-${k}`], JSON.stringify(rec?.outputs)).toBe(`/out/${k}.png`);
    expect(s.collisions()).toBe(5);
    expect(await s.check.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
    await s.close();
  });

  run(
    'a stored text that is not a record (a hand edit) is written over at once, not waited on to its deadline',
    async () => {
      const s = await setup(opener, 0, async () => undefined);
      const st = s.check;
      const raw =
        st instanceof SqliteState
          ? (st as unknown as { db: { prepare(q: string): { run(...a: unknown[]): unknown } } }).db
              .prepare('UPDATE tasks SET record = ? WHERE root = ?')
              .run('{"taskUUID": not json', s.U)
          : await (st as RedisState).redis.sendCommand(['SET', `${(st as RedisState).prefix}task:${s.U}`, 'junk']);
      expect(raw).toBeTruthy();
      expect(await s.check.getTask(s.U)).toBeUndefined();
      const began = Date.now();
      expect((await s.journal.recordOutcome(s.task, success(s.U))).written).toBe(true);
      expect(Date.now() - began).toBeLessThan(5_000);
      expect((await s.check.getTask(s.U))?.status).toBe('success');
      expect(await s.check.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
      await s.close();
    },
  );

  run("a late failure of an earlier UUID (a poll of the one that was retried) leaves the retry's result", async () => {
    const s = await setup(opener, 0, async () => undefined);
    const Y = randomUUID();
    const transient = [{ code: 'serverError', message: 'try again' }];
    await s.journal.recordOutcome(s.task, { ...success(s.U), status: 'error', costKnown: false, errors: transient });
    await s.journal.admitRetry(mkTask(Y), s.U, quote(Y).get(Y));
    await s.journal.recordOutcome(mkTask(Y), {
      ...success(Y),
      attempts: [{ taskUUID: s.U, outcome: 'serverError' }],
    });
    await s.other.recordOutcome(undefined, { ...success(s.U), status: 'error', costKnown: false, errors: transient });
    const rec = await s.check.getTask(Y);
    expect(rec?.taskUUID).toBe(Y);
    expect(rec?.status).toBe('success');
    expect(rec?.cost).toBe(0.25);
    expect((await s.check.getTask(s.U))?.taskUUID).toBe(Y);
    expect(await s.check.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
    await s.close();
  });

  run(
    'a record that never stops changing: the outcome ends at its deadline, writes nothing over it, says so, and its charge is counted once',
    async () => {
      const s = await setup(
        opener,
        Infinity,
        (other, U, k) => other.recordSaves(U, [`/out/${k}.png`], [`out-${k % N}`]),
        300,
      );
      const began = Date.now();
      const r = await s.journal.recordOutcome(s.task, success(s.U));
      expect(Date.now() - began).toBeLessThan(5_000);
      expect(r.written).toBe(false);
      expect(r.note).toMatch(new RegExp(`kept changing .*poll taskUUID ${s.U} again`));
      const n = s.collisions();
      expect(n).toBeGreaterThan(2);
      // What the other writer recorded is all there: its last save of each output.
      const saved = await s.saved();
      for (let k = Math.max(0, n - N); k < n; k++) expect(saved[`out-${k % N}`]).toBe(`/out/${k}.png`);
      // The charge is settled though the record was not written, and never twice.
      expect(await s.check.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
      expect(s.journal.spentThisSession).toBe(0.25);
      // Saved paths meet the same deadline, with a warning.
      await s.journal.recordSaves(s.U, ['/mine/0.png'], ['out-0']);
      expect(s.warnings.join('\n')).toMatch(/saved files of task .* were not recorded: its record kept changing/);
      // Polled again once the record is quiet, the outcome is written, over every save, charged once.
      await s.other.recordOutcome(undefined, success(s.U));
      const rec = await s.check.getTask(s.U);
      expect(rec?.status).toBe('success');
      const m = s.collisions();
      const after = await s.saved();
      for (let k = Math.max(0, m - N); k < m; k++) expect(after[`out-${k % N}`]).toBe(`/out/${k}.png`);
      expect(await s.check.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
      await s.close();
    },
  );
});
