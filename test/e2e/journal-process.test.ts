/**
 * The built journal in a short-lived process (as the CLI runs it): an outcome whose compare-and-set
 * collides pauses before its next round, and the process must not exit in that pause with the
 * outcome unwritten (nothing else keeps a one-shot process alive then).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '../../src/shared/log.js';
import { Journal, utcDay } from '../../src/state/journal.js';
import { connectRedis, RedisState } from '../../src/state/redis.js';
import { SqliteState } from '../../src/state/sqlite.js';
import type { StateStore } from '../../src/state/types.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';

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

/**
 * A writer in another process: before each of this process's first six record writes of a task's
 * outcome, another process (the built journal) records a saved file of the same task, so the
 * outcome collides more often than the five rounds after which it used to be written regardless.
 * Every file the other process saved is in the record the outcome leaves, over SQLite and Redis.
 */
const hasRedis = requireRedis('journal writers in two processes over Redis');
let redis: RedisHandle | undefined;
beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});

/** One store, opened here and (as module text) in the other process: each process its own connection. */
const places: Array<[string, () => { here: () => Promise<StateStore>; there: string }]> = [
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-journal-procs-'));
      return {
        here: async () => SqliteState.open(dir),
        there: `(await import(${JSON.stringify(dist('state/sqlite.js'))})).SqliteState.open(${JSON.stringify(dir)})`,
      };
    },
  ],
  [
    'redis',
    () => {
      const ns = `procs-${randomUUID()}`;
      const url = redis!.url;
      const mod = `(await import(${JSON.stringify(dist('state/redis.js'))}))`;
      return {
        here: async () => new RedisState(await connectRedis(url, new Logger('error')), url, ns),
        there: `new ${mod}.RedisState(await ${mod}.connectRedis(${JSON.stringify(url)}, new Logger('error')), ${JSON.stringify(url)}, ${JSON.stringify(ns)})`,
      };
    },
  ],
];

describe.each(places)('an outcome beaten round after round by saves in another process, %s', (name, place) => {
  it.skipIf(name === 'redis' && !hasRedis)(
    'keeps every file that process saved, and its charge settles once',
    async () => {
      const { here, there } = place();
      const U = randomUUID();
      // The other process: records the save of output k for each line k it reads, and answers k.
      const saver = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
          import { createInterface } from 'node:readline';
          import { Journal } from ${JSON.stringify(dist('state/journal.js'))};
          import { Logger } from ${JSON.stringify(dist('shared/log.js'))};
          const store = ${there};
          const journal = new Journal({ open: async () => store, logger: new Logger('error'), maxSpendUsd: 100 });
          for await (const line of createInterface({ input: process.stdin })) {
            await journal.recordSaves(${JSON.stringify(U)}, ['/out/' + line + '.png'], ['out-' + line]);
            process.stdout.write(line + '\\n');
          }
          await journal.close();
        `,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stderr = '';
      saver.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const answers = createInterface({ input: saver.stdout })[Symbol.asyncIterator]();
      const saveThere = async (k: number): Promise<void> => {
        saver.stdin.write(`${k}\n`);
        expect((await answers.next()).value).toBe(String(k));
      };
      const st = await here();
      let k = 0;
      const first = async (): Promise<void> => {
        if (k < 6) await saveThere(k++);
      };
      const beaten: StateStore = Object.assign(Object.create(st) as StateStore, {
        finishIfUnchanged: async (...a: Parameters<StateStore['finishIfUnchanged']>) => (
          await first(),
          st.finishIfUnchanged(...a)
        ),
        finish: async (...a: Parameters<StateStore['finish']>) => (await first(), st.finish(...a)),
      });
      const journal = new Journal({ open: async () => beaten, logger: new Logger('error'), maxSpendUsd: 100 });
      const task = {
        taskUUID: U,
        taskType: 'imageInference',
        billable: true,
        kept: true,
        numberResults: 8,
        request: {},
      };
      await journal.admit([task], [], { quotes: new Map([[U, { usd: 1, units: 1, source: 'ceiling', how: 'x' }]]) });
      const outputs = Array.from({ length: 8 }, (_, i) => ({
        uuid: `out-${i}`,
        url: `https://im.runware.ai/${i}.png`,
      }));
      const r = await journal.recordOutcome(task, {
        taskUUID: U,
        status: 'success',
        outputs,
        costKnown: true,
        cost: 0.25,
        errors: [],
      });
      saver.stdin.end();
      await new Promise((done) => saver.once('exit', done));
      expect(stderr).toBe('');
      const rec = await st.getTask(U);
      const saved = Object.fromEntries((rec?.outputs ?? []).map((o) => [o.uuid, o.savedTo]));
      for (let i = 0; i < 6; i++) expect(saved[`out-${i}`], JSON.stringify(rec?.outputs)).toBe(`/out/${i}.png`);
      expect(k).toBe(6);
      expect(r.written).toBe(true);
      expect(rec?.status).toBe('success');
      expect(await st.spend(utcDay())).toMatchObject({ today: 0.25, pendingToday: 0 });
      await journal.close();
    },
    30_000,
  );
});
