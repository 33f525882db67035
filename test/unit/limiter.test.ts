import { describe, expect, it } from 'vitest';
import { FairLimiter } from '../../src/shared/limiter.js';
import { CancelledError } from '../../src/shared/errors.js';

describe('FairLimiter', () => {
  it('never exceeds capacity', async () => {
    const l = new FairLimiter(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        l.run(1, async () => {
          active++;
          peak = Math.max(peak, active);
          // Work that yields to the event loop: every waiter gets the chance to start, none of them a timer.
          await new Promise((r) => setImmediate(r));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(l.inFlight).toBe(0);
  });

  it('serves waiters in order: a large request is not overtaken by small ones', async () => {
    const l = new FairLimiter(2);
    const order: string[] = [];
    const r1 = await l.acquire(1);
    const big = l.acquire(2).then((rel) => (order.push('big'), rel));
    const small = l.acquire(1).then((rel) => (order.push('small'), rel));
    r1();
    (await big)();
    (await small)();
    expect(order).toEqual(['big', 'small']);
  });

  it('drops an aborted waiter', async () => {
    const l = new FairLimiter(1);
    const rel = await l.acquire();
    const ac = new AbortController();
    const w = l.acquire(1, ac.signal);
    ac.abort();
    await expect(w).rejects.toBeInstanceOf(CancelledError);
    expect(l.waiting).toBe(0);
    rel();
    expect(l.inFlight).toBe(0);
  });
});
