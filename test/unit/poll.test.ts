import { describe, expect, it, vi } from 'vitest';
import type { Envelope } from '../../src/runware/errors.js';
import { parseEnvelope } from '../../src/runware/errors.js';
import {
  DEFAULT_POLL_SCHEDULE,
  firstPollAt,
  nextPollDelay,
  pollTask,
  ResultAccumulator,
  resultNames,
} from '../../src/runware/poll.js';
import { CancelledError, NetworkError, UpstreamError } from '../../src/shared/errors.js';

const U = '11111111-2222-4333-8444-555555555555';
const proc = (p: number) => ({ taskType: 'imageInference', taskUUID: U, status: 'processing', progress: p });
const done = (id: string) => ({
  taskType: 'imageInference',
  taskUUID: U,
  status: 'success',
  imageUUID: id,
  imageURL: `u/${id}`,
});
const fast = { minMs: 5, fraction: 0.1, maxMs: 20 };

describe('resultNames', () => {
  it('names a result by its index and by every output id, so one seen with and without resultIndex is one result', () => {
    const framed = { taskType: 'imageInference', taskUUID: 't', imageUUID: 'i1', imageURL: 'https://x/i1.png' };
    const checked = { ...framed, resultIndex: 0 };
    expect(resultNames(checked)).toEqual(['#0', 'imageUUID:i1']);
    expect(resultNames(framed)).toEqual(['imageUUID:i1']);
    expect(resultNames(framed).some((n) => resultNames(checked).includes(n))).toBe(true);
    expect(resultNames({ taskType: 'x', taskUUID: 't' })).toHaveLength(1);
  });
});

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
    acc.apply(
      parseEnvelope({
        data: [{ ...done('x'), taskUUID: 'other' }],
        errors: [{ code: 'taskFailed', message: 'boom', taskUUID: U }],
      }),
    );
    expect(acc.snapshot(1, 0)).toMatchObject({ status: 'error', results: [] });
  });

  it('reports partial when some results succeed and the rest fail', () => {
    const acc = new ResultAccumulator(U, 2);
    acc.apply(
      parseEnvelope({
        data: [done('a'), { taskUUID: U, status: 'error', error: { code: 'nsfwContentDetected', message: 'x' } }],
      }),
    );
    expect(acc.snapshot(1, 0).status).toBe('partial');
  });
});

describe('pollTask', () => {
  it('polls until done, reporting increasing progress', async () => {
    const script: Envelope[] = [proc(0), proc(30), proc(30), proc(80), done('a')].map((d) =>
      parseEnvelope({ data: [d] }),
    );
    let i = 0;
    const seen: number[] = [];
    const r = await pollTask(async () => script[Math.min(i++, script.length - 1)]!, U, {
      waitMs: 5000,
      schedule: fast,
      onProgress: (p) => seen.push(p.progress),
    });
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
    await expect(
      pollTask(async () => parseEnvelope({ errors: [{ code: 'invalidApiKey', message: 'no' }] }), U, {
        waitMs: 5000,
        schedule: fast,
      }),
    ).rejects.toBeInstanceOf(UpstreamError);
    await expect(
      pollTask(
        async () => {
          throw new TypeError('bug');
        },
        U,
        { waitMs: 5000, schedule: fast },
      ),
    ).rejects.toBeInstanceOf(TypeError);
  });

  it('stops at once when the signal aborts', async () => {
    // On a fake clock: the polls before the abort happen, and a minute after it none has.
    vi.useFakeTimers();
    try {
      const ac = new AbortController();
      let n = 0;
      const p = pollTask(async () => (n++, parseEnvelope({ data: [proc(1)] })), U, {
        waitMs: 60_000,
        schedule: { minMs: 50, fraction: 0, maxMs: 50 },
        signal: ac.signal,
      });
      const stopped = expect(p).rejects.toBeInstanceOf(CancelledError);
      await vi.advanceTimersByTimeAsync(120);
      expect(n).toBeGreaterThanOrEqual(2);
      ac.abort();
      await stopped;
      const after = n;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(n).toBe(after);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** The default schedule played on a virtual clock: when a task finishing at `finishMs` is noticed, and after how many polls. */
function play(
  finishMs: number,
  opts: { taskType?: string; progressed?: boolean } = {},
): { noticedMs: number; polls: number } {
  const s = DEFAULT_POLL_SCHEDULE;
  let t = firstPollAt(s, opts.taskType);
  let polls = 0;
  let progress: { pct: number; atAgeMs: number } | undefined;
  for (;;) {
    polls++;
    if (t >= finishMs) return { noticedMs: t, polls };
    // A task that reports progress reports it truthfully (linear), as Runware's percentages roughly are.
    if (opts.progressed) progress = { pct: (100 * t) / finishMs, atAgeMs: t };
    t += nextPollDelay(s, t, progress);
  }
}

describe('the poll schedule', () => {
  it.each([2, 10, 60, 300])(
    'notices a task finishing at %i s within 10%% of its run time plus 0.5 s, in a logarithmic number of polls',
    (sec) => {
      const finish = sec * 1000;
      const { noticedMs, polls } = play(finish);
      expect(noticedMs - finish).toBeLessThanOrEqual(0.1 * finish + 500);
      // Polls grow with log(run time): about ln(t / 0.5 s + 5) / ln(1.1) + 1.
      expect(polls).toBeLessThanOrEqual(Math.ceil(Math.log((finish + 5000) / 5500) / Math.log(1.1)) + 2);
    },
  );

  it('grows logarithmically: ten times the run time costs a near-constant number of extra polls', () => {
    const p = [10, 100, 1000].map((s) => play(s * 1000).polls);
    expect(p[1]! - p[0]!).toBeLessThanOrEqual(26);
    // Past a minute between polls the cap takes over (a long job is not left unpolled for many minutes).
    expect(nextPollDelay(DEFAULT_POLL_SCHEDULE, 36_000_000)).toBe(DEFAULT_POLL_SCHEDULE.maxMs);
  });

  it('aims at the expected finish when progress is reported: never later than without it', () => {
    for (const sec of [10, 60, 300]) {
      const plain = play(sec * 1000);
      const aimed = play(sec * 1000, { progressed: true });
      expect(aimed.noticedMs).toBeLessThanOrEqual(plain.noticedMs);
      expect(aimed.noticedMs - sec * 1000).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.minMs);
    }
    // 50% at 20 s: the finish is expected at 40 s, so a 40 s-old task... is polled within min.
    expect(nextPollDelay(DEFAULT_POLL_SCHEDULE, 30_000, { pct: 50, atAgeMs: 20_000 })).toBe(3500);
    expect(nextPollDelay(DEFAULT_POLL_SCHEDULE, 39_000, { pct: 50, atAgeMs: 20_000 })).toBe(1000);
  });

  it('waits longer before the first poll of slow task types', () => {
    expect(firstPollAt(DEFAULT_POLL_SCHEDULE, 'imageInference')).toBe(500);
    expect(firstPollAt(DEFAULT_POLL_SCHEDULE, 'videoInference')).toBe(5000);
    expect(play(60_000, { taskType: 'videoInference' }).polls).toBeLessThan(play(60_000).polls);
  });

  // On fake timers (Date and setTimeout): when a poll lands is the schedule's decision, not the machine's load.
  const onFakeTime = async <T>(run: () => Promise<T>): Promise<T> => {
    vi.useFakeTimers();
    try {
      const p = run();
      await vi.runAllTimersAsync();
      return await p;
    } finally {
      vi.useRealTimers();
    }
  };

  it('continues the schedule across calls: a call right after another does not poll at once', async () => {
    await onFakeTime(async () => {
      const startedAt = Date.now() - 10_000;
      const polledAt: number[] = [];
      const t0 = Date.now();
      // Polled 100 ms ago by an earlier call: at 10 s of age the next poll is due 1.5 s after that one.
      await pollTask(async () => (polledAt.push(Date.now() - t0), parseEnvelope({ data: [done('a')] })), U, {
        waitMs: 5000,
        startedAt,
        lastPolledAt: Date.now() - 100,
        schedule: DEFAULT_POLL_SCHEDULE,
      });
      expect(polledAt).toHaveLength(1);
      expect(polledAt[0]).toBeGreaterThanOrEqual(1300);
      // waitSeconds 0 asks for the state now: one poll, at once.
      const t1 = Date.now();
      await pollTask(async () => (polledAt.push(Date.now() - t1), parseEnvelope({ data: [proc(5)] })), U, {
        waitMs: 0,
        startedAt,
        lastPolledAt: Date.now(),
        schedule: DEFAULT_POLL_SCHEDULE,
      });
      expect(polledAt.slice(1)).toEqual([0]);
    });
  });

  it('uses the wait to the end: the last poll lands just before the deadline', async () => {
    await onFakeTime(async () => {
      const polledAt: number[] = [];
      const t0 = Date.now();
      const r = await pollTask(async () => (polledAt.push(Date.now() - t0), parseEnvelope({ data: [proc(5)] })), U, {
        waitMs: 300,
        schedule: { minMs: 40, fraction: 0, maxMs: 1000 },
      });
      expect(r.status).toBe('processing');
      expect(polledAt.at(-1)!).toBeGreaterThanOrEqual(200);
      expect(polledAt.at(-1)!).toBeLessThan(300);
      expect(Date.now() - t0).toBeLessThanOrEqual(300);
    });
  });
});
