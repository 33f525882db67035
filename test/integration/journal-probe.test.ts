/**
 * The task journal's read-and-write-if-unchanged, from outside: several Journal instances (as
 * several processes) over one SQLite file or one Redis, writing outcomes and saved files of one
 * task at once; record text that is hard to carry (non-ASCII, lone surrogates, odd numbers) through
 * the compare; and late "still running" outcomes of a task another process finished.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '../../src/shared/log.js';
import { Journal, utcDay } from '../../src/state/journal.js';
import type { LedgerTask, OutcomeRecord } from '../../src/state/ledger.js';
import { SqliteState } from '../../src/state/sqlite.js';
import { connectRedis, RedisState } from '../../src/state/redis.js';
import type { StateStore } from '../../src/state/types.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';

const hasRedis = requireRedis('journal probe over Redis');
let redis: RedisHandle | undefined;
beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});

type Opener = () => Promise<() => Promise<StateStore>>;
const stores: Array<[string, Opener]> = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-probe-'));
      return async () => SqliteState.open(dir);
    },
  ],
  [
    'redis',
    async () => {
      const ns = `probe-${randomUUID()}`;
      return async () => new RedisState(await connectRedis(redis!.url, new Logger('error')), redis!.url, ns);
    },
  ],
];

const mkTask = (U: string, n: number): LedgerTask => ({
  taskUUID: U,
  taskType: 'imageInference',
  billable: true,
  kept: true,
  model: 'runware:101@1',
  numberResults: n,
  request: {
    taskType: 'imageInference',
    taskUUID: U,
    positivePrompt: 'caf\u00e9 \u{1F600} \ud800 \u2028 \u0000 "\\' + '\u00e9\u{1F600}'.repeat(20_000),
    n: 1e-7,
    big: 1.7976931348623157e308,
    neg: -0,
  },
});
const outs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ uuid: `out-${i}`, url: `https://im.runware.ai/${i}.png`, kind: 'image' }));

describe.each(stores)('many writers of one task, %s', (name, opener) => {
  // Eight files saved by eight processes while two record the outcome: every round of the
  // compare-and-set but one collides, so without a pause between rounds the last writers give up.
  it.skipIf(name === 'redis' && !hasRedis)(
    'ends success, with every saved file, spend settled once',
    async () => {
      const open = await opener();
      const cap = 100;
      const N = 8;
      const warnings: string[] = [];
      const logger = new Logger('warning');
      logger.warn = (m: string) => void warnings.push(m);
      const journals = Array.from({ length: N }, () => new Journal({ open, logger, maxSpendUsd: cap }));
      for (let rep = 0; rep < 4; rep++) {
        const U = randomUUID();
        const task = mkTask(U, N);
        await journals[0]!.admit([task], [], {
          quotes: new Map([[U, { usd: 0.2, units: 1, source: 'ceiling', how: 'x' }]]),
        });
        const success: OutcomeRecord = {
          taskUUID: U,
          status: 'success',
          outputs: outs(N),
          costKnown: true,
          cost: 0.012345,
          errors: [],
        };
        const work: Array<Promise<unknown>> = [];
        for (let i = 0; i < N; i++) {
          work.push(journals[(i + rep) % N]!.recordSaves(U, [`/out/${i}.png`], [`out-${i}`]));
        }
        // The sender's outcome and another process's poll, while each output's file is recorded.
        for (let j = 0; j < 2; j++) work.push(journals[j]!.recordOutcome(j === 0 ? task : undefined, success));
        await Promise.all(work);
        const st = await open();
        const rec = await st.getTask(U);
        expect(warnings).toEqual([]);
        expect(rec?.status).toBe('success');
        expect(rec?.cost).toBe(0.012345);
        const saved = Object.fromEntries((rec?.outputs ?? []).map((o) => [o.uuid, o.savedTo]));
        for (let i = 0; i < N; i++) expect(saved[`out-${i}`], JSON.stringify(rec?.outputs)).toBe(`/out/${i}.png`);
        const sp = await st.spend(utcDay());
        expect(sp.pendingToday).toBe(0);
        expect(sp.today).toBeCloseTo(0.012345 * (rep + 1), 9);
        await st.close();
      }
      for (const j of journals) await j.close();
    },
    30_000,
  );
});

describe.each(stores)('a record whose text is hard to carry, %s', (name, opener) => {
  it.skipIf(name === 'redis' && !hasRedis)(
    'is written over at the first try (the compare-and-set never spins on it)',
    async () => {
      const open = await opener();
      const st = await open();
      let changed = 0;
      const counting: StateStore = Object.assign(Object.create(st) as StateStore, {
        finishIfUnchanged: async (...a: Parameters<StateStore['finishIfUnchanged']>) => {
          const r = await st.finishIfUnchanged(...a);
          if (r === 'changed') changed++;
          return r;
        },
        putTaskIfUnchanged: async (...a: Parameters<StateStore['putTaskIfUnchanged']>) => {
          const r = await st.putTaskIfUnchanged(...a);
          if (!r) changed++;
          return r;
        },
      });
      const journal = new Journal({ open: async () => counting, logger: new Logger('error'), maxSpendUsd: undefined });
      const U = randomUUID();
      const task = mkTask(U, 2);
      await journal.admit([task], []);
      await journal.recordOutcome(task, {
        taskUUID: U,
        status: 'processing',
        outputs: outs(1),
        costKnown: false,
        errors: [{ code: 'x', message: '\ud83d \u{1F600} \u00e9' }],
      });
      await journal.recordSaves(U, ['/out/\u00e9\u{1F600}\udc00.png'], ['out-0']);
      await journal.recordOutcome(task, {
        taskUUID: U,
        status: 'success',
        outputs: outs(2),
        costKnown: true,
        cost: 1e-7,
        errors: [],
      });
      await journal.recordSaves(U, [undefined, '/out/b.png'], [undefined, 'out-1']);
      expect(changed).toBe(0);
      const rec = await st.getTask(U);
      expect(rec?.status).toBe('success');
      expect(rec?.cost).toBe(1e-7);
      expect(rec?.outputs.map((o) => o.savedTo)).toEqual(['/out/\u00e9\u{1F600}\udc00.png', '/out/b.png']);
      expect(rec?.request.positivePrompt).toBe(task.request.positivePrompt);
      await journal.close();
    },
    30_000,
  );
});

describe.each(stores)('a late "still running" or "expired" of a task another process finished, %s', (name, opener) => {
  it.skipIf(name === 'redis' && !hasRedis)(
    'leaves it finished, with its cost and saved files, and spend settled once',
    async () => {
      const open = await opener();
      const a = new Journal({ open, logger: new Logger('error'), maxSpendUsd: 10 });
      const b = new Journal({ open, logger: new Logger('error'), maxSpendUsd: 10 });
      const U = randomUUID();
      const task = mkTask(U, 1);
      await a.admit([task], [], { quotes: new Map([[U, { usd: 0.5, units: 1, source: 'ceiling', how: 'x' }]]) });
      const success: OutcomeRecord = {
        taskUUID: U,
        status: 'success',
        outputs: outs(1),
        costKnown: true,
        cost: 0.125,
        errors: [],
      };
      await b.recordOutcome(undefined, success);
      await b.recordSaves(U, ['/out/0.png'], ['out-0']);
      // The sender's wait ran out, another poll read "processing" before the task finished, and a
      // poll long after found its results expired.
      const expired = [{ code: 'taskExpired', message: 'expired' }];
      for (const status of ['processing', 'unknown', 'error'] as const) {
        const errors = status === 'error' ? expired : [];
        await a.recordOutcome(task, { taskUUID: U, status, outputs: [], costKnown: false, errors });
        await b.recordOutcome(undefined, { taskUUID: U, status, outputs: [], costKnown: false, errors });
      }
      expect(await (await open()).spend(utcDay())).toMatchObject({ today: 0.125, pendingToday: 0 });
      const st = await open();
      const rec = await st.getTask(U);
      expect(rec?.status).toBe('success');
      expect(rec?.cost).toBe(0.125);
      expect(rec?.outputs).toEqual([expect.objectContaining({ uuid: 'out-0', savedTo: '/out/0.png' })]);
      // Polled again, it settles nothing twice.
      await a.recordOutcome(task, success);
      expect(await st.spend(utcDay())).toMatchObject({ today: 0.125, pendingToday: 0 });
      for (const j of [a, b]) await j.close();
      await st.close();
    },
    30_000,
  );
});

describe.each(stores)(
  "a retry of another process's retry (its record is keyed by a UUID this process never saw), %s",
  (name, opener) => {
    it.skipIf(name === 'redis' && !hasRedis)(
      'is written over the record where it is stored at the first try, not after rounds of "changed"',
      async () => {
        const open = await opener();
        const st = await open();
        let changed = 0;
        const counting: StateStore = Object.assign(Object.create(st) as StateStore, {
          finishIfUnchanged: async (...a: Parameters<StateStore['finishIfUnchanged']>) => {
            const r = await st.finishIfUnchanged(...a);
            if (r === 'changed') changed++;
            return r;
          },
        });
        const a = new Journal({ open, logger: new Logger('error'), maxSpendUsd: 10 });
        const b = new Journal({ open: async () => counting, logger: new Logger('error'), maxSpendUsd: 10 });
        const [R, X, Y] = [randomUUID(), randomUUID(), randomUUID()];
        const quote = (u: string) => new Map([[u, { usd: 0.5, units: 1, source: 'ceiling', how: 'x' }]]);
        // Process a: R failed transiently, retried as X, which failed transiently too (its fate recorded under R).
        await a.admit([mkTask(R, 1)], [], { quotes: quote(R) });
        await a.admitRetry(mkTask(X, 1), R, quote(X).get(X));
        const transient = [{ code: 'serverError', message: 'try again' }];
        await a.recordOutcome(mkTask(X, 1), {
          taskUUID: X,
          status: 'error',
          outputs: [],
          costKnown: false,
          errors: transient,
          attempts: [{ taskUUID: R, outcome: 'serverError' }],
        });
        // Process b polls X, reads the transient failure, and retries it as Y, which succeeds.
        await b.admitRetry(mkTask(Y, 1), X, quote(Y).get(Y));
        await b.recordOutcome(mkTask(Y, 1), {
          taskUUID: Y,
          status: 'success',
          outputs: outs(1),
          costKnown: true,
          cost: 0.25,
          errors: [],
          attempts: [{ taskUUID: X, outcome: 'serverError' }],
        });
        expect(changed).toBe(0);
        // One record for the lineage: whichever UUID asks, the success.
        for (const u of [R, X, Y])
          expect((await st.getTask(u))?.status, u === R ? 'R' : u === X ? 'X' : 'Y').toBe('success');
        expect(await st.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
        for (const j of [a, b]) await j.close();
        await st.close();
      },
      30_000,
    );
  },
);
