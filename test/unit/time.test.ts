import { describe, expect, it, vi } from 'vitest';
import { deadline, requestDeadline } from '../../src/shared/time.js';

/** Both deadlines keep one contract; requestDeadline's signal is the EventEmitter kind undici also takes. */
const kinds = [
  { name: 'deadline', make: deadline, onAbort: (s: AbortSignal, f: () => void) => s.addEventListener('abort', f) },
  {
    name: 'requestDeadline',
    make: requestDeadline,
    onAbort: (s: { once(e: 'abort', f: () => void): unknown }, f: () => void) => s.once('abort', f),
  },
] as const;

describe.each(kinds)('$name', ({ make, onAbort }) => {
  const deadline = make as (p: AbortSignal | undefined, ms: number) => ReturnType<typeof requestDeadline>;
  const listen = onAbort as (s: unknown, f: () => void) => void;
  it('aborts when time is up, and says it was time', async () => {
    const d = deadline(undefined, 20);
    await new Promise<void>((r) => listen(d.signal, r));
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

describe('requestDeadline', () => {
  it("carries the caller's reason, and a deadline's own error when time is up", async () => {
    const parent = new AbortController();
    const reason = new Error('stop');
    const d = requestDeadline(parent.signal, 10_000);
    parent.abort(reason);
    expect(d.signal.reason).toBe(reason);
    d.done();
    const t = requestDeadline(undefined, 5);
    await new Promise<void>((r) => t.signal.once('abort', r));
    expect((t.signal.reason as Error).message).toBe('deadline');
    expect(t.expired).toBe(true);
  });
});
