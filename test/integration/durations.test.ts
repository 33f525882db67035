/**
 * Learned run times per model, in both state stores: shared by every process
 * on the same store (two handles on one SQLite file, two Redis connections on
 * one namespace), a running mean that follows a model that got slower, and a
 * store that cannot answer reads as "not learned yet".
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '../../src/shared/log.js';
import { Durations } from '../../src/state/durations.js';
import { connectRedis, RedisState } from '../../src/state/redis.js';
import { SqliteState } from '../../src/state/sqlite.js';
import type { StateStore } from '../../src/state/types.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';

let redis: RedisHandle | undefined;
const hasRedis = requireRedis('the Redis half of the learned run times');
beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Two handles on one store, as two processes would have. */
const pairs: Array<[string, () => Promise<[StateStore, StateStore]>, boolean]> = [
  [
    'SQLite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-durations-'));
      return [SqliteState.open(dir), SqliteState.open(dir)];
    },
    true,
  ],
  [
    'Redis',
    async () => {
      const ns = `durations-${process.pid}-${Date.now()}`;
      return [
        new RedisState(await connectRedis(redis!.url, new Logger('error')), redis!.url, ns),
        new RedisState(await connectRedis(redis!.url, new Logger('error')), redis!.url, ns),
      ];
    },
    hasRedis,
  ],
];

for (const [name, open, available] of pairs) {
  describe.skipIf(!available)(`learned run times in ${name}`, () => {
    it('are shared between processes and follow a model that changes', async () => {
      const [a, b] = await open();
      expect(await b.typicalDuration!('imageInference|runware:101@1')).toBeUndefined();
      await a.learnDuration!('imageInference|runware:101@1', 2000);
      expect(await b.typicalDuration!('imageInference|runware:101@1')).toBe(2000);
      // The second observation counts half, then each one DURATION_WEIGHT: a slower model is followed within a few tasks.
      await b.learnDuration!('imageInference|runware:101@1', 4000);
      expect(await a.typicalDuration!('imageInference|runware:101@1')).toBe(3000);
      for (let i = 0; i < 12; i++) await a.learnDuration!('imageInference|runware:101@1', 8000);
      expect(await b.typicalDuration!('imageInference|runware:101@1')).toBeGreaterThan(7800);
      // Per model: another key is untouched.
      expect(await a.typicalDuration!('imageInference|runware:100@1')).toBeUndefined();
      await a.close();
      await b.close();
    });

    it('are read through a short cache that learns at once, and a failing store means "not learned"', async () => {
      const [a, b] = await open();
      const mine = new Durations(async () => a);
      const theirs = new Durations(async () => b);
      mine.learn('videoInference|klingai:5@3', 9000);
      // Here at once; in the store behind the call.
      expect(await mine.typical('videoInference|klingai:5@3')).toBe(9000);
      for (let i = 0; i < 50 && (await b.typicalDuration!('videoInference|klingai:5@3')) === undefined; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(await theirs.typical('videoInference|klingai:5@3')).toBe(9000);
      const broken = new Durations(() => Promise.reject(new Error('the state is away')));
      expect(await broken.typical('videoInference|klingai:5@3')).toBeUndefined();
      expect(() => broken.learn('videoInference|klingai:5@3', 100)).not.toThrow();
      await a.close();
      await b.close();
    });
  });
}
