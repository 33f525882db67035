import { describe, expect, it, vi } from 'vitest';
import { deadline, RequestSignal, requestDeadline } from '../../src/shared/time.js';

/** Both deadlines keep one contract; requestDeadline's signal is the small EventTarget-like kind undici also takes. */
const kinds = [
  { name: 'deadline', make: deadline, onAbort: (s: AbortSignal, f: () => void) => s.addEventListener('abort', f) },
  {
    name: 'requestDeadline',
    make: requestDeadline,
    onAbort: (s: { addEventListener(e: 'abort', f: () => void): unknown }, f: () => void) =>
      s.addEventListener('abort', f),
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
    await new Promise<void>((r) => t.signal.addEventListener('abort', r));
    expect((t.signal.reason as Error).message).toBe('deadline');
    expect(t.expired).toBe(true);
  });
});

describe('RequestSignal', () => {
  it('calls each listener once, not one removed, and undici takes it: a request it aborts ends at once', async () => {
    const s = new RequestSignal();
    const calls: string[] = [];
    const gone = (): void => void calls.push('gone');
    s.addEventListener('abort', () => calls.push('a'));
    s.addEventListener('abort', gone);
    s.removeEventListener('abort', gone);
    s.abort(new Error('x'));
    s.abort(new Error('again'));
    expect(calls).toEqual(['a']);
    expect([s.aborted, (s.reason as Error).message]).toEqual([true, 'x']);

    const { createServer } = await import('node:http');
    const server = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { request } = await import('undici');
      const port = (server.address() as { port: number }).port;
      const d = requestDeadline(undefined, 50);
      const started = Date.now();
      await expect(request(`http://127.0.0.1:${port}/`, { signal: d.signal })).rejects.toThrow();
      expect(d.expired).toBe(true);
      expect(Date.now() - started).toBeLessThan(2000);
      d.done();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
