import { describe, expect, it } from 'vitest';
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

  it('done() releases the timer and the listener: a later abort or timeout reaches nothing', async () => {
    const parent = new AbortController();
    const d = deadline(parent.signal, 15);
    d.done();
    parent.abort();
    await new Promise((r) => setTimeout(r, 40));
    expect(d.signal.aborted).toBe(false);
    expect(d.expired).toBe(false);
  });

  it('an already aborted parent aborts it at once', () => {
    const parent = new AbortController();
    parent.abort();
    const d = deadline(parent.signal, 10_000);
    expect(d.signal.aborted).toBe(true);
    d.done();
  });
});
