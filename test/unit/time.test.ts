import { describe, expect, it, vi } from 'vitest';
import { deadline } from '../../src/shared/time.js';

describe('deadline', () => {
  it('aborts when time is up, and says it was time', async () => {
    const d = deadline(undefined, 20);
    await new Promise((r) => d.signal.addEventListener('abort', r));
    expect(d.expired).toBe(true);
    d.done();
  });

  it("aborts with the caller's signal, and then it was not time", () => {
    const parent = new AbortController();
    const d = deadline(parent.signal, 10_000);
    parent.abort(new Error('stop'));
    expect(d.signal.aborted).toBe(true);
    expect(d.expired).toBe(false);
    d.done();
  });

  it('done() releases the timer and the listener: a later abort or timeout reaches nothing', () => {
    vi.useFakeTimers();
    try {
      const parent = new AbortController();
      const d = deadline(parent.signal, 15);
      expect(vi.getTimerCount()).toBe(1);
      d.done();
      expect(vi.getTimerCount()).toBe(0);
      parent.abort();
      vi.advanceTimersByTime(1000);
      expect(d.signal.aborted).toBe(false);
      expect(d.expired).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an already aborted parent aborts it at once', () => {
    const parent = new AbortController();
    parent.abort();
    const d = deadline(parent.signal, 10_000);
    expect(d.signal.aborted).toBe(true);
    d.done();
  });
});
