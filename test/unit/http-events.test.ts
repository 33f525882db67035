/** The in-process event store: what a stream missed comes back after Last-Event-ID, bounded. */
import { describe, expect, it, vi } from 'vitest';
import { MemoryEventStore, parseMemoryEventId } from '../../src/mcp/http-events.js';

const msg = (n: number) => ({
  jsonrpc: '2.0' as const,
  method: 'notifications/progress',
  params: { progressToken: 't', progress: n },
});

describe('MemoryEventStore', () => {
  it('replays the events after an id, in order, skipping the priming event', async () => {
    const s = new MemoryEventStore(60_000);
    const prime = await s.storeEvent('s1', {} as never);
    const ids = [await s.storeEvent('s1', msg(1)), await s.storeEvent('s1', msg(2)), await s.storeEvent('s1', msg(3))];
    await s.storeEvent('s2', msg(9));
    expect(await s.getStreamIdForEventId(ids[0]!)).toBe('s1');
    const got: Array<[string, unknown]> = [];
    expect(await s.replayEventsAfter(prime, { send: async (id, m) => void got.push([id, m]) })).toBe('s1');
    expect(got).toEqual([
      [ids[0], msg(1)],
      [ids[1], msg(2)],
      [ids[2], msg(3)],
    ]);
    got.length = 0;
    await s.replayEventsAfter(ids[1]!, { send: async (id, m) => void got.push([id, m]) });
    expect(got).toEqual([[ids[2], msg(3)]]);
  });

  it('refuses ids it never gave, and keeps at most 1000 events a stream', async () => {
    const s = new MemoryEventStore(60_000);
    expect(parseMemoryEventId('nonsense')).toBeUndefined();
    expect(await s.getStreamIdForEventId('zz_1')).toBeUndefined();
    await expect(s.replayEventsAfter('zz_1', { send: async () => undefined })).rejects.toThrow(/unknown event id/);
    for (let i = 1; i <= 1200; i++) await s.storeEvent('big', msg(i));
    let n = 0;
    await s.replayEventsAfter('big_1', { send: async () => void n++ });
    expect(n).toBe(1000);
  });

  it('forgets streams idle past the session time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const s = new MemoryEventStore(5);
      await s.storeEvent('old', msg(1));
      vi.advanceTimersByTime(20);
      for (let i = 0; i < 64; i++) await s.storeEvent(`new${i}`, msg(1));
      expect(await s.getStreamIdForEventId('old_1')).toBeUndefined();
      expect(await s.getStreamIdForEventId('new0_1')).toBe('new0');
    } finally {
      vi.useRealTimers();
    }
  });
});
