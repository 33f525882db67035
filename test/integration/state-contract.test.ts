/**
 * What every state store must do, run against each: the embedded SQLite
 * journal, and Redis (a real redis-server on a free loopback port). The same
 * tests, so the two can never drift apart.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '../../src/shared/log.js';
import { StateUnavailableError } from '../../src/shared/errors.js';
import { utcDay } from '../../src/state/journal.js';
import { connectRedis, RedisState } from '../../src/state/redis.js';
import { SqliteState } from '../../src/state/sqlite.js';
import type { JobRecord, StateStore, TaskRecord } from '../../src/state/types.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';
import { waitFor } from '../helpers.js';

const now = (): string => new Date().toISOString();
const record = (taskUUID: string, extra: Partial<TaskRecord> = {}): TaskRecord => ({
  taskUUID,
  attempts: [],
  taskType: 'imageInference',
  model: 'm',
  status: 'submitted',
  createdAt: now(),
  updatedAt: now(),
  numberResults: 1,
  outputs: [],
  request: {},
  ...extra,
});

const job = (id: string, extra: Partial<JobRecord> = {}): JobRecord => ({
  id,
  status: 'working',
  createdAt: now(),
  updatedAt: now(),
  ttlMs: 60_000,
  pollIntervalMs: 1000,
  tool: 'runware_text_to_image',
  runner: 'here',
  heartbeatAt: now(),
  ...extra,
});

let redis: RedisHandle | undefined;
let namespace = 0;
const hasRedis = requireRedis('the Redis half of the state contract');

beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const stores: Array<[string, () => Promise<StateStore>, boolean]> = [
  ['SQLite', async () => SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-contract-'))), true],
  // Each test gets its own namespace: the same Redis, no shared keys.
  [
    'Redis',
    async () =>
      new RedisState(
        await connectRedis(redis!.url, new Logger('error')),
        redis!.url,
        `contract-${process.pid}-${++namespace}`,
      ),
    hasRedis,
  ],
];

for (const [name, open, available] of stores) {
  describe.skipIf(!available)(`the ${name} state store`, () => {
    it('keeps jobs: a done job never moves again, listing is newest first in pages, and expired ones are gone', async () => {
      const s = await open();
      expect(await s.putJob(job('j1'))).toBe(true);
      expect(await s.getJob('j1')).toMatchObject({ id: 'j1', status: 'working' });
      expect(await s.putJob(job('j1', { status: 'cancelled', statusMessage: 'stop' }), { ifActive: true })).toBe(true);
      // The finish that raced the cancel loses: cancelled stays.
      expect(await s.putJob(job('j1', { status: 'completed', result: { content: [] } }), { ifActive: true })).toBe(
        false,
      );
      expect(await s.getJob('j1')).toMatchObject({ status: 'cancelled', statusMessage: 'stop' });
      expect(await s.getJob('nope')).toBeUndefined();
      const t0 = Date.now() + 1000;
      for (let i = 0; i < 5; i++) await s.putJob(job(`p${i}`, { createdAt: new Date(t0 + i).toISOString() }));
      // Two created in the same millisecond are ordered by id, and paging never repeats or skips one.
      await s.putJob(job('p4b', { createdAt: new Date(t0 + 4).toISOString() }));
      const page1 = await s.listJobs(3);
      expect(page1.map((j) => j.id)).toEqual(['p4b', 'p4', 'p3']);
      const last = page1[2]!;
      const page2 = await s.listJobs(3, `${Date.parse(last.createdAt)}:${last.id}`);
      expect(page2.map((j) => j.id)).toEqual(['p2', 'p1', 'p0']);
      // Expired (created longer ago than its ttl): not found, not listed.
      await s.putJob(job('old', { createdAt: new Date(Date.now() - 120_000).toISOString(), ttlMs: 60_000 }));
      expect(await s.getJob('old')).toBeUndefined();
      expect((await s.listJobs(50)).map((j) => j.id)).not.toContain('old');
      await s.close();
    });

    it('keeps a learnt fact until it expires', async () => {
      const s = await open();
      expect(await s.getFact!('dryRun.mode')).toBeUndefined();
      await s.putFact!('dryRun.mode', 'priced', 60_000);
      await s.putFact!('short', 'x', 30);
      expect(await s.getFact!('dryRun.mode')).toBe('priced');
      const until = Date.now() + 2000;
      while ((await s.getFact!('short')) !== undefined && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      expect(await s.getFact!('short')).toBeUndefined();
      await s.close();
    });

    it('claims UUIDs once, refusing a used caller UUID and claiming nothing then', async () => {
      const s = await open();
      expect(await s.claimUuids(['a', 'b'], ['a'])).toEqual([]);
      expect(await s.claimUuids(['c', 'a'], ['a'])).toEqual(['a']);
      expect(await s.hasUuid('c')).toBe(false);
      expect(await s.hasUuid('b')).toBe(true);
      await s.close();
    });

    it('reserves against the cap atomically, settles to the real cost, and keeps the day totals', async () => {
      const s = await open();
      const day = utcDay();
      expect(await s.reserve('t1', day, 0.4, 1, { model: 'm', numberResults: 1 })).toEqual({ ok: true, reserved: 0.4 });
      expect(await s.reserve('t2', day, 0.4, 1, { model: 'm', numberResults: 1 })).toEqual({ ok: true, reserved: 0.4 });
      expect(await s.reserve('t3', day, 0.4, 1, { model: 'm', numberResults: 1 })).toMatchObject({
        ok: false,
        spentToday: 0.8,
        cap: 1,
        wanted: 0.4,
      });
      expect(await s.spend(day)).toMatchObject({ today: 0.8, pendingToday: 0.8 });
      await s.settle('t1', 0.1);
      await s.settle('t2', 0);
      const after = await s.spend(day);
      expect(after.today).toBeCloseTo(0.1);
      expect(after.pendingToday).toBeCloseTo(0);
      expect(after.total).toBeCloseTo(0.1);
      expect(await s.maxCost('m', 1)).toBe(0.1);
      // A second settlement moves the total by the difference only.
      await s.settle('t1', 0.2);
      expect((await s.spend(day)).today).toBeCloseTo(0.2);
      expect((await s.spend('1999-01-01')).today).toBe(0);
      expect(await s.maxCost('other', 1)).toBeUndefined();
      await s.close();
    });

    it('admits a batch whole or not at all: a used caller UUID or the cap refuses it, writing nothing', async () => {
      const s = await open();
      const day = utcDay();
      const batch = {
        uuids: ['x1', 'x2'],
        callerUuids: [],
        day,
        cap: 0.5,
        reservations: [
          { uuid: 'x1', amount: 0.2, numberResults: 1 },
          { uuid: 'x2', amount: 0.2, numberResults: 1 },
        ],
        records: [
          { root: 'x1', record: record('x1') },
          { root: 'x2', record: record('x2') },
        ],
      };
      expect(await s.admit(batch)).toEqual({ ok: true });
      expect((await s.getTask('x2'))?.taskUUID).toBe('x2');
      // 0.4 is spent; two more at 0.2 would pass 0.5.
      const over = await s.admit({
        ...batch,
        uuids: ['y1', 'y2'],
        reservations: [
          { uuid: 'y1', amount: 0.05, numberResults: 1 },
          { uuid: 'y2', amount: 0.2, numberResults: 1 },
        ],
        records: [{ root: 'y1', record: record('y1') }],
      });
      expect(over).toMatchObject({ ok: false, refused: 1, cap: 0.5, wanted: 0.2 });
      expect(await s.hasUuid('y1')).toBe(false);
      expect(await s.getTask('y1')).toBeUndefined();
      expect((await s.spend(day)).today).toBeCloseTo(0.4);
      expect(await s.admit({ ...batch, uuids: ['z1'], callerUuids: ['x1'], reservations: [], records: [] })).toEqual({
        ok: false,
        taken: 'x1',
      });
      expect(await s.hasUuid('z1')).toBe(false);
      await s.close();
    });

    it('finds a record by any UUID of its lineage, settles the lineage in one step, and lists by filter', async () => {
      const s = await open();
      const day = utcDay();
      await s.reserve('root', day, 0.1, undefined, { model: 'm', numberResults: 1 });
      await s.reserve('second', day, 0.1, undefined, { model: 'm', numberResults: 1 });
      await s.finish(
        'root',
        record('second', {
          attempts: [{ taskUUID: 'root', outcome: 'timeoutProvider' }],
          status: 'success',
          cost: 0.01,
        }),
        [
          ['root', 0],
          ['second', 0.01],
        ],
      );
      expect((await s.getTask('root'))?.taskUUID).toBe('second');
      expect((await s.getTask('second'))?.status).toBe('success');
      expect((await s.spend(day)).today).toBeCloseTo(0.01);
      expect(await s.listTasks({ status: 'error' })).toEqual([]);
      expect(await s.listTasks({ model: 'm', since: Date.now() - 60_000 })).toHaveLength(1);
      expect(await s.listTasks({ since: Date.now() + 60_000 })).toEqual([]);
      await s.close();
    });

    it('writes over the very record it read, or not at all: a record changed since says so, settling nothing', async () => {
      const s = await open();
      const day = utcDay();
      await s.reserve('cas', day, 0.1, undefined, { model: 'm', numberResults: 1 });
      // None yet: written only while there is still none.
      expect(await s.finishIfUnchanged('cas', record('cas'), [], null)).toEqual([]);
      expect(await s.finishIfUnchanged('cas', record('cas', { status: 'error' }), [], null)).toBe('changed');
      const read = (await s.readTask('cas'))!;
      expect(read.root).toBe('cas');
      expect(read.record.status).toBe('submitted');
      expect(JSON.parse(read.text)).toEqual(read.record);
      // Someone else writes in between: the older read is refused, and its settlement not applied.
      await s.putTask('cas', { ...read.record, status: 'processing', outputs: [{ uuid: 'o1', savedTo: '/x/a.png' }] });
      const done = record('cas', { status: 'success', cost: 0.02 });
      expect(await s.finishIfUnchanged('cas', done, [['cas', 0.02]], read.text)).toBe('changed');
      expect((await s.getTask('cas'))?.outputs).toEqual([{ uuid: 'o1', savedTo: '/x/a.png' }]);
      expect((await s.spend(day)).today).toBeCloseTo(0.1);
      // Read again, it goes through, settling in the same step.
      const again = (await s.readTask('cas'))!;
      expect(await s.finishIfUnchanged('cas', done, [['cas', 0.02]], again.text)).toEqual([]);
      expect((await s.getTask('cas'))?.status).toBe('success');
      expect((await s.spend(day)).today).toBeCloseTo(0.02);
      // A record write without settling keeps the same rule.
      const last = (await s.readTask('cas'))!;
      expect(await s.putTaskIfUnchanged('cas', { ...done, outputs: [{ savedTo: '/x/b.png' }] }, read.text)).toBe(false);
      expect(await s.putTaskIfUnchanged('cas', { ...done, outputs: [{ savedTo: '/x/b.png' }] }, last.text)).toBe(true);
      expect((await s.getTask('cas'))?.outputs).toEqual([{ savedTo: '/x/b.png' }]);
      expect(await s.readTask('nobody')).toBeUndefined();
      await s.close();
    });

    it('writes over a stored text that is not a record as over none, and only while it is still that text', async () => {
      const s = await open();
      await s.putTask('junk', record('junk'));
      // A hand edit or another program's value: readTask skips it, so a writer that read nothing expects none.
      const raw = (text: string): Promise<unknown> =>
        s instanceof SqliteState
          ? Promise.resolve(
              (s as unknown as { db: { prepare(q: string): { run(...a: unknown[]): unknown } } }).db
                .prepare('UPDATE tasks SET record = ? WHERE root = ?')
                .run(text, 'junk'),
            )
          : (s as RedisState).redis.sendCommand(['SET', `${(s as RedisState).prefix}task:junk`, text]);
      await raw('{"taskUUID": not json');
      expect(await s.readTask('junk')).toBeUndefined();
      expect(await s.finishIfUnchanged('junk', record('junk', { status: 'success' }), [], null)).toEqual([]);
      expect((await s.readTask('junk'))?.record.status).toBe('success');
      // A readable record is never taken for none.
      expect(await s.putTaskIfUnchanged('junk', record('junk', { status: 'error' }), null)).toBe(false);
      expect((await s.getTask('junk'))?.status).toBe('success');
      await s.close();
    });

    it('never answers for a task of the same batch: each admitted UUID is its own lineage', async () => {
      const s = await open();
      const image = record('img', { numberResults: 2, request: { taskUUID: 'img' } });
      // An image and a (never journaled) model search sent together.
      expect(
        await s.admit({
          uuids: ['img', 'search'],
          callerUuids: [],
          day: utcDay(),
          cap: undefined,
          reservations: [],
          records: [{ root: 'img', record: image }],
        }),
      ).toEqual({ ok: true });
      expect(await s.getTask('search')).toBeUndefined();
      expect((await s.getTask('img'))?.numberResults).toBe(2);
      await s.claimUuids(['a1', 'a2'], []);
      await s.putTask('a1', record('a1'));
      expect(await s.getTask('a2')).toBeUndefined();
      expect(await s.hasUuid('search')).toBe(true);
      await s.close();
    });

    it("records an overrun in the step that settles it, learns a price per unit, and releases a dead holder's reservation (#27, #24)", async () => {
      const s = await open();
      const day = utcDay();
      await s.admit({
        uuids: ['o1', 'o2'],
        callerUuids: [],
        day,
        cap: 1,
        reservations: [
          { uuid: 'o1', amount: 0.1, model: 'm', numberResults: 1, units: 2, source: 'ceiling', holder: 'live' },
          { uuid: 'o2', amount: 0.2, model: 'm', numberResults: 1, units: 1, source: 'pricing', holder: 'dead' },
        ],
        records: [],
      });
      await s.renewHolder('live', 60_000);
      await s.renewHolder('dead', 1);
      // Until the dead holder's lease runs out (at once in SQLite; Redis keeps a key at least a second).
      await waitFor(async () => (await s.staleReservations(Date.now() + 1, 10)).length > 0, {
        timeoutMs: 5000,
        intervalMs: 25,
        what: "the dead holder's lease to run out",
      });
      // Only the dead holder's reservation, and only one older than the cut-off, is stale.
      expect(await s.staleReservations(Date.now() - 10_000, 10)).toEqual([]);
      expect(await s.staleReservations(Date.now() + 1, 10)).toEqual([{ uuid: 'o2', day, reserved: 0.2 }]);
      expect(await s.release('o2')).toBe(true);
      expect(await s.release('o2')).toBe(false);
      expect((await s.spend(day)).today).toBeCloseTo(0.1);
      const over = await s.finish('o1', record('o1', { status: 'success', cost: 0.3 }), [['o1', 0.3]]);
      expect(over).toEqual([
        { taskUUID: 'o1', day, model: 'm', reservedUsd: 0.1, chargedUsd: 0.3, usd: 0.2, source: 'ceiling' },
      ]);
      // The released task billed after all: the whole charge is an overrun.
      expect(await s.finish('o2', record('o2', { status: 'success', cost: 0.25 }), [['o2', 0.25]])).toMatchObject([
        { taskUUID: 'o2', usd: 0.25, reservedUsd: 0, source: 'released' },
      ]);
      const sp = await s.spend(day);
      expect(sp.today).toBeCloseTo(0.55);
      expect(sp.overrunToday).toBeCloseTo(0.45);
      expect((await s.overruns(day, 10)).map((o) => o.taskUUID).sort()).toEqual(['o1', 'o2']);
      // 0.3 over 2 units, 0.25 over 1: the most per unit is 0.25.
      expect(await s.maxPerUnit('m')).toBeCloseTo(0.25);
      // A second settlement of the same task is not an overrun again.
      expect(await s.finish('o1', record('o1', { status: 'success', cost: 0.3 }), [['o1', 0.3]])).toEqual([]);
      await s.close();
    });

    it('keeps the cap under 40 concurrent reservations', async () => {
      const s = await open();
      const day = utcDay();
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => s.reserve(`c${i}`, day, 0.1, 1, { numberResults: 1 })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect((await s.spend(day)).today).toBeCloseTo(1);
      await s.close();
    });
  });
}

describe.skipIf(!hasRedis)('Redis away', () => {
  it('fails fast with a retryable state error, and works again once Redis is back, with no reconnect by hand', async () => {
    const s = new RedisState(await connectRedis(redis!.url, new Logger('error')), redis!.url, `away-${process.pid}`);
    await s.claimUuids(['before'], []);
    await redis!.stop();
    const t0 = Date.now();
    await expect(s.hasUuid('before')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(
      s.admit({ uuids: ['during'], callerUuids: [], day: utcDay(), cap: undefined, reservations: [], records: [] }),
    ).rejects.toThrow(/unreachable/);
    // Under the 2 s connect timeout: a client that queued the commands until a reconnect would wait that out.
    expect(Date.now() - t0).toBeLessThan(1900);
    expect(await s.ping()).toBe(false);
    await redis!.start();
    const back = Date.now();
    while (!(await s.ping()) && Date.now() - back < 10_000) await new Promise((r) => setTimeout(r, 50));
    // The append-only file kept what was claimed before.
    expect(await s.hasUuid('before')).toBe(true);
    expect(await s.hasUuid('during')).toBe(false);
    await s.close();
  });

  it('refuses a URL that is not redis:// and never shows a password', async () => {
    await expect(connectRedis('http://127.0.0.1:1', new Logger('error'))).rejects.toThrow(/redis:\/\/ or rediss:\/\//);
    const s = new RedisState(
      await connectRedis(`redis://user:s3cretPassw0rd@127.0.0.1:${redis!.port}`, new Logger('error')),
      `redis://user:s3cretPassw0rd@127.0.0.1:${redis!.port}`,
      'pw',
    );
    expect(s.location).not.toContain('s3cret');
    expect(s.location).not.toContain('user');
    await s.close();
  });
});
