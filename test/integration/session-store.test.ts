/**
 * What every shared session store must do, run against each: the in-process
 * memory store and Redis (a real redis-server on a free loopback port). The
 * same tests, so the HTTP edge can rely on either. Time: the memory store runs
 * on an injected clock; Redis expires keys by its own, so its timed test waits
 * once, a little over the shortest TTL Redis keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateUnavailableError } from '../../src/shared/errors.js';
import { Logger } from '../../src/shared/log.js';
import { MemorySessionStore } from '../../src/state/memory-sessions.js';
import { connectRedis, RedisState } from '../../src/state/redis.js';
import { RedisSessionStore } from '../../src/state/redis-sessions.js';
import { EVENTS_PER_STREAM, MIN_TTL_MS, type SharedSessions } from '../../src/state/sessions.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';

let redis: RedisHandle | undefined;
let namespace = 0;
const hasRedis = requireRedis('the Redis half of the session store contract');
const opened: RedisState[] = [];

beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  for (const s of opened) await s.close();
  await redis?.stop();
});

interface Subject {
  store: SharedSessions;
  /** Lets `ms` pass for the store. */
  advance: (ms: number) => Promise<void>;
}

const subjects: Array<[string, () => Promise<Subject>, boolean]> = [
  [
    'memory',
    async () => {
      let t = 1_000_000;
      return { store: new MemorySessionStore(() => t), advance: async (ms) => void (t += ms) };
    },
    true,
  ],
  [
    'Redis',
    async () => {
      // Each test its own namespace: the same Redis, no shared keys.
      const state = new RedisState(
        await connectRedis(redis!.url, new Logger('error')),
        redis!.url,
        `sessions-${process.pid}-${++namespace}`,
      );
      opened.push(state);
      return { store: new RedisSessionStore(state), advance: (ms) => new Promise((r) => setTimeout(r, ms)) };
    },
    hasRedis,
  ],
];

const init = (n: number): string =>
  JSON.stringify({ init: { jsonrpc: '2.0', id: n, method: 'initialize' }, at: '2026-12-07T00:00:00.000Z' });

for (const [name, open, available] of subjects) {
  describe.skipIf(!available)(`the ${name} session store`, () => {
    it('keeps a session as written, renews it, and knows an unknown one as missing', async () => {
      const { store } = await open();
      expect(await store.getSession('s1')).toBeUndefined();
      expect(await store.touchSession('s1', 60_000)).toBe('missing');
      await store.putSession('s1', init(1), 60_000);
      expect(await store.getSession('s1')).toBe(init(1));
      expect(await store.touchSession('s1', 60_000)).toBe('alive');
      // Written again (the holder re-records one the store lost): the new value wins.
      await store.putSession('s1', init(2), 60_000);
      expect(await store.getSession('s1')).toBe(init(2));
      expect(await store.ping()).toBe(true);
    });

    it('a deleted session is ended everywhere: not readable, and touched as ended rather than missing', async () => {
      const { store } = await open();
      await store.putSession('s2', init(1), 60_000);
      await store.deleteSession('s2');
      expect(await store.getSession('s2')).toBeUndefined();
      expect(await store.touchSession('s2', 60_000)).toBe('ended');
      // Ending one never heard of leaves a tombstone too: an instance that still holds it stops.
      await store.deleteSession('never-seen');
      expect(await store.touchSession('never-seen', 60_000)).toBe('ended');
    });

    it('appends events with increasing ids and reads them after any id, in order and in pages', async () => {
      const { store } = await open();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push(await store.appendEvent('sess~a', JSON.stringify({ n: i }), 60_000));
      await store.appendEvent('sess~b', JSON.stringify({ other: true }), 60_000);
      for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
      expect(new Set(ids).size).toBe(7);
      const all = await store.eventsAfter('sess~a', '0-0');
      expect(all.map((e) => e.id)).toEqual(ids);
      expect(all.map((e) => JSON.parse(e.json) as unknown)).toEqual(Array.from({ length: 7 }, (_, n) => ({ n })));
      expect((await store.eventsAfter('sess~a', ids[4]!)).map((e) => e.id)).toEqual(ids.slice(5));
      expect(await store.eventsAfter('sess~a', ids[6]!)).toEqual([]);
      expect((await store.eventsAfter('sess~a', '0-0', 3)).map((e) => e.id)).toEqual(ids.slice(0, 3));
      expect((await store.eventsAfter('sess~b', '0-0')).map((e) => e.json)).toEqual(['{"other":true}']);
      expect(await store.eventsAfter('nobody~stream', '0-0')).toEqual([]);
    });

    it('keeps about the last ten thousand events a stream, the newest always', async () => {
      const { store } = await open();
      // Sent a thousand at a time: in order, and quick on a Redis that syncs every write.
      for (let from = 0; from < EVENTS_PER_STREAM + 300; from += 1000) {
        await Promise.all(
          Array.from({ length: Math.min(1000, EVENTS_PER_STREAM + 300 - from) }, (_, i) =>
            store.appendEvent('big', String(from + i), 60_000),
          ),
        );
      }
      const kept: string[] = [];
      for (let after = '0-0'; ;) {
        const page = await store.eventsAfter('big', after, 5000);
        if (!page.length) break;
        kept.push(...page.map((e) => e.json));
        after = page.at(-1)!.id;
      }
      // Redis trims approximately (MAXLEN ~); never below the cap, never all.
      expect(kept.length).toBeGreaterThanOrEqual(EVENTS_PER_STREAM);
      expect(kept.length).toBeLessThan(EVENTS_PER_STREAM + 300);
      expect(kept.at(-1)).toBe(String(EVENTS_PER_STREAM + 299));
      expect(kept[0]).not.toBe('0');
      expect(kept).toEqual(kept.map((_, i) => String(Number(kept[0]) + i)));
    });

    it('sessions and streams expire when not used within their time; a touch renews a session', async () => {
      const { store, advance } = await open();
      await store.putSession('kept', init(1), MIN_TTL_MS);
      await store.putSession('left', init(2), MIN_TTL_MS);
      await store.appendEvent('left~stream', '{}', MIN_TTL_MS);
      await advance(MIN_TTL_MS * 0.6);
      expect(await store.touchSession('kept', MIN_TTL_MS)).toBe('alive');
      await advance(MIN_TTL_MS * 0.6);
      expect(await store.getSession('kept')).toBe(init(1));
      expect(await store.getSession('left')).toBeUndefined();
      expect(await store.touchSession('left', MIN_TTL_MS)).toBe('missing');
      expect(await store.eventsAfter('left~stream', '0-0')).toEqual([]);
    });
  });
}

describe('the memory session store', () => {
  it('forgets what expired unread, so it holds no more than what is alive', async () => {
    let t = 0;
    const store = new MemorySessionStore(() => t);
    for (let i = 0; i < 40; i++) {
      await store.putSession(`old${i}`, init(i), MIN_TTL_MS);
      await store.appendEvent(`old${i}~s`, '{}', MIN_TTL_MS);
    }
    t += MIN_TTL_MS + 1;
    for (let i = 0; i < 64; i++) await store.putSession(`new${i}`, init(i), 60_000);
    expect(store.dump().filter((v) => v.startsWith('old'))).toEqual([]);
    expect(store.dump().filter((v) => v.startsWith('new'))).toHaveLength(64);
  });
});

describe.skipIf(!hasRedis)('the Redis session store while Redis is away', () => {
  it('fails at once with the retryable error, and ping says no without throwing', async () => {
    const state = new RedisState(
      await connectRedis(redis!.url, new Logger('error')),
      redis!.url,
      `away-${process.pid}`,
    );
    opened.push(state);
    const store = new RedisSessionStore(state);
    await store.putSession('s', init(1), 60_000);
    await redis!.stop();
    try {
      const t0 = Date.now();
      await expect(store.getSession('s')).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(store.appendEvent('s~x', '{}', 60_000)).rejects.toBeInstanceOf(StateUnavailableError);
      expect(await store.ping()).toBe(false);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await redis!.start();
    }
  });
});
