/**
 * Junk in the state store, in process (real createServer() + SDK Client):
 * a record that is not JSON, or not a record, in SQLite or in Redis. It is
 * skipped and reported (in the result, and once on stderr); the rest is served.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { Logger, type LogRecord } from '../../src/shared/log.js';
import type { StateStore, TaskRecord } from '../../src/state/types.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';
import { serveInProcess } from '../in-process.js';

let redis: RedisHandle | undefined;
const hasRedis = requireRedis('junk records in Redis');
beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const uuid = (n: number): string => `7b1d2e3f-4a5b-4c6d-8e9f-${String(n).padStart(12, '0')}`;
const record = (n: number): TaskRecord => {
  const now = new Date(Date.now() - n * 1000).toISOString();
  return {
    taskUUID: uuid(n),
    attempts: [],
    taskType: 'imageInference',
    status: 'success',
    createdAt: now,
    updatedAt: now,
    numberResults: 1,
    outputs: [{ url: 'https://im.runware.ai/x.jpg' }],
    request: {},
  };
};

/** Writes raw bytes over a stored record, as a hand edit or another program would. */
type Corrupt = (store: StateStore, root: string, raw: string) => Promise<void>;
const sqliteCorrupt: Corrupt = async (store, root, raw) => {
  (store as unknown as { db: { prepare(s: string): { run(...a: unknown[]): void } } }).db
    .prepare('UPDATE tasks SET record = ? WHERE root = ?')
    .run(raw, root);
};
const redisCorrupt: Corrupt = async (store, root, raw) => {
  const s = store as unknown as { prefix: string; cmd(a: string[]): Promise<unknown> };
  await s.cmd(['SET', `${s.prefix}task:${root}`, raw]);
};

const cases: Array<[string, () => Record<string, string>, Corrupt, boolean]> = [
  ['SQLite', () => ({}), sqliteCorrupt, true],
  ['Redis', () => ({ RUNWARE_STATE_URL: redis!.url }), redisCorrupt, hasRedis],
];

for (const [name, extraEnv, corrupt, available] of cases) {
  describe.skipIf(!available)(`9. junk in ${name}`, () => {
    it('a record that is not JSON, and one that is not a record, are skipped and reported once; the rest is served', async () => {
      const home = mkdtempSync(join(tmpdir(), 'rw-junk-'));
      const logger = new Logger('warning');
      const logs: LogRecord[] = [];
      logger.addSink((r) => logs.push(r));
      const app = new AppContext(
        loadConfig({
          HOME: home,
          RUNWARE_STATE_DIR: join(home, 'state'),
          RUNWARE_CACHE_DIR: join(home, 'cache'),
          ...extraEnv(),
        }),
        logger,
      );
      const { client } = await serveInProcess(app, { name: 'test' });
      try {
        const store = await app.journal.state();
        for (const n of [1, 2, 3, 4]) await store.putTask(uuid(n), record(n));
        await corrupt(store, uuid(2), '{"taskUUID": not json');
        await corrupt(store, uuid(3), '{"taskUUID":"x","outputs":"/etc/passwd"}');

        for (let i = 0; i < 2; i++) {
          const r = (await client.callTool({ name: 'runware_tasks', arguments: {} })) as CallToolResult;
          expect(r.isError).toBeFalsy();
          const sc = r.structuredContent as { tasks: Array<{ taskUUID: string }>; skipped?: string[] };
          expect(sc.tasks.map((t) => t.taskUUID)).toEqual([uuid(1), uuid(4)]);
          expect(sc.skipped?.join(' ')).toMatch(new RegExp(`${uuid(2)}.*${uuid(3)}|${uuid(3)}.*${uuid(2)}`));
        }
        const { resources } = await client.listResources();
        expect(resources.map((x) => x.uri)).toEqual(
          expect.arrayContaining([`runware://tasks/${uuid(1)}`, `runware://tasks/${uuid(4)}`]),
        );
        // On stderr once, however often it is listed.
        const warned = logs.filter((l) => /cannot be read; skipped/.test(l.message));
        expect(warned).toHaveLength(1);
        expect(warned[0]!.message).toContain(uuid(2));
        // One junk record read by UUID is "no such task", not a crash.
        const one = await client.readResource({ uri: `runware://tasks/${uuid(2)}` }).catch((e: Error) => e);
        expect(String(one)).toMatch(/no task/);
        expect(String(one)).not.toMatch(/Unexpected token|not valid JSON|Internal error/);
      } finally {
        await client.close();
        await app.close();
      }
    });
  });
}
