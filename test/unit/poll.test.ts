import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/runware/errors.js';
import { parseEnvelope } from '../../src/runware/errors.js';
import { pollTask, ResultAccumulator } from '../../src/runware/poll.js';
import { CancelledError, NetworkError, UpstreamError } from '../../src/shared/errors.js';

const U = '11111111-2222-4333-8444-555555555555';
const proc = (p: number) => ({ taskType: 'imageInference', taskUUID: U, status: 'processing', progress: p });
const done = (id: string) => ({ taskType: 'imageInference', taskUUID: U, status: 'success', imageUUID: id, imageURL: `u/${id}` });
const fast = { initialMs: 5, factor: 1.5, maxMs: 20 };

describe('ResultAccumulator', () => {
  it('accumulates cumulative polls without duplicates, until numberResults', () => {
    const acc = new ResultAccumulator(U, 3);
    acc.apply(parseEnvelope({ data: [proc(10), proc(20), proc(5)] }));
    acc.apply(parseEnvelope({ data: [done('a'), proc(50), proc(40)] }));
    acc.apply(parseEnvelope({ data: [done('a'), done('b'), proc(90)] }));
    expect(acc.isDone()).toBe(false);
    acc.apply(parseEnvelope({ data: [done('a'), done('b'), done('c')] }));
    const s = acc.snapshot(4, 0);
    expect(s.status).toBe('success');
    expect(s.results.map((r) => r.imageUUID)).toEqual(['a', 'b', 'c']);
    expect(s.results[0]).not.toHaveProperty('status');
    expect(s.progress).toBe(100);
  });

  it('keeps progress monotonic even when a poll reports less', () => {
    const acc = new ResultAccumulator(U, 1);
    expect(acc.apply(parseEnvelope({ data: [proc(60)] }))).toBe(60);
    expect(acc.apply(parseEnvelope({ data: [proc(30)] }))).toBe(60);
    expect(acc.apply(parseEnvelope({ data: [] }))).toBe(60);
  });

  it('ignores other tasks and settles on a scoped error', () => {
    const acc = new ResultAccumulator(U, 1);
    acc.apply(parseEnvelope({ data: [{ ...done('x'), taskUUID: 'other' }], errors: [{ code: 'taskFailed', message: 'boom', taskUUID: U }] }));
    expect(acc.snapshot(1, 0)).toMatchObject({ status: 'error', results: [] });
  });

  it('reports partial when some results succeed and the rest fail', () => {
    const acc = new ResultAccumulator(U, 2);
    acc.apply(parseEnvelope({ data: [done('a'), { taskUUID: U, status: 'error', error: { code: 'nsfwContentDetected', message: 'x' } }] }));
    expect(acc.snapshot(1, 0).status).toBe('partial');
  });
});

describe('pollTask', () => {
  it('polls until done, reporting increasing progress', async () => {
    const script: Envelope[] = [proc(0), proc(30), proc(30), proc(80), done('a')].map((d) => parseEnvelope({ data: [d] }));
    let i = 0;
    const seen: number[] = [];
    const r = await pollTask(async () => script[Math.min(i++, script.length - 1)]!, U, { waitMs: 5000, schedule: fast, onProgress: (p) => seen.push(p.progress) });
    expect(r.status).toBe('success');
    expect(seen).toEqual([0, 30, 80, 100]);
    expect(r.polls).toBe(5);
  });

  it('returns processing when the wait runs out, and polls once for waitMs 0', async () => {
    let n = 0;
    const r = await pollTask(async () => (n++, parseEnvelope({ data: [proc(10)] })), U, { waitMs: 0, schedule: fast });
    expect(r.status).toBe('processing');
    expect(n).toBe(1);
    const t0 = Date.now();
    const r2 = await pollTask(async () => parseEnvelope({ data: [proc(10)] }), U, { waitMs: 100, schedule: fast });
    expect(r2.status).toBe('processing');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('repeats transient failures and throws permanent ones', async () => {
    let n = 0;
    const r = await pollTask(
      async () => {
        n++;
        if (n === 1) throw new NetworkError('reset', true);
        if (n === 2) throw new UpstreamError('503', { category: 'serverError', retryable: true });
        return parseEnvelope({ data: [done('a')] });
      },
      U,
      { waitMs: 5000, schedule: fast },
    );
    expect(r).toMatchObject({ status: 'success', transientFailures: 2 });
    await expect(pollTask(async () => parseEnvelope({ errors: [{ code: 'invalidApiKey', message: 'no' }] }), U, { waitMs: 5000, schedule: fast })).rejects.toBeInstanceOf(UpstreamError);
    await expect(pollTask(async () => { throw new TypeError('bug'); }, U, { waitMs: 5000, schedule: fast })).rejects.toBeInstanceOf(TypeError);
  });

  it('stops at once when the signal aborts', async () => {
    const ac = new AbortController();
    let n = 0;
    const p = pollTask(async () => (n++, parseEnvelope({ data: [proc(1)] })), U, { waitMs: 60_000, schedule: { initialMs: 50, factor: 1, maxMs: 50 }, signal: ac.signal });
    setTimeout(() => ac.abort(), 120);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    const after = n;
    await new Promise((r) => setTimeout(r, 200));
    expect(n).toBe(after);
  });
});
