/**
 * Choosing the delivery for the time to result, and the schedule that aims at
 * a learned run time (pure functions and pollTask on a fake clock).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  deliveryFor,
  durationKey,
  observedAsyncMs,
  syncProgress,
  syncWaitMs,
  waitsOnRequest,
} from '../../src/runware/delivery.js';
import {
  aimedFirstPoll,
  aimedPollDelay,
  DEFAULT_POLL_SCHEDULE,
  pollTask,
  type Progress,
} from '../../src/runware/poll.js';
import type { Task } from '../../src/runware/rules.js';

const U = '11111111-2222-4333-8444-555555555555';

afterEach(() => {
  vi.useRealTimers();
});

describe('deliveryFor', () => {
  it('sends short work sync and long work async, within what the model allows', () => {
    const both: Array<'sync' | 'async'> = ['sync', 'async'];
    // Nothing learned yet: an image is short.
    expect(deliveryFor(both, 'imageInference', 45_000, undefined)).toBe('sync');
    expect(deliveryFor(both, 'imageInference', 45_000, 3000)).toBe('sync');
    // Learned to take most of the wait, or more: async, polled.
    expect(deliveryFor(both, 'imageInference', 45_000, 40_000)).toBe('async');
    expect(deliveryFor(both, 'imageInference', 45_000, 90_000)).toBe('async');
    // Long types are always polled; a call that does not wait wants the taskUUID back at once.
    for (const t of ['videoInference', 'audioInference', '3dInference'])
      expect(deliveryFor(both, t, 45_000, 500)).toBe('async');
    expect(deliveryFor(both, 'imageInference', 0, 500)).toBe('async');
    // A wait that leaves no room for a sync request once the landing check's reserve is kept: async.
    expect(deliveryFor(both, 'imageInference', 300, undefined)).toBe('async');
    expect(deliveryFor(both, 'imageInference', 1000, undefined)).toBe('sync');
    // What the model allows wins.
    expect(deliveryFor(['async'], 'imageInference', 45_000, 500)).toBe('async');
    expect(deliveryFor(['sync'], 'videoInference', 45_000, 90_000)).toBe('sync');
    expect(deliveryFor(undefined, 'modelSearch', 45_000, undefined)).toBeUndefined();
  });

  it('keys run times by task type and model; reads and async work never hold a request open', () => {
    expect(durationKey({ taskType: 'imageInference', model: 'runware:101@1' })).toBe('imageInference|runware:101@1');
    expect(durationKey({ taskType: 'caption' })).toBe('caption|');
    expect(waitsOnRequest({ taskType: 'imageInference', taskUUID: U, deliveryMethod: 'sync' } as Task)).toBe(true);
    expect(waitsOnRequest({ taskType: 'imageInference', taskUUID: U } as Task)).toBe(true);
    expect(waitsOnRequest({ taskType: 'imageInference', taskUUID: U, deliveryMethod: 'async' } as Task)).toBe(false);
    expect(waitsOnRequest({ taskType: 'getTaskDetails', taskUUID: U } as Task)).toBe(false);
  });

  it('keeps back a reserve for one landing check from a sync wait', () => {
    expect(syncWaitMs(45_000, 10_000)).toBe(45_000 - 4500);
    expect(syncWaitMs(45_000, 2000)).toBe(43_000);
    expect(syncWaitMs(1000, 10_000)).toBe(750);
    expect(syncWaitMs(100, 10_000)).toBe(1);
  });

  it('learns an async run time from the polls that bracket it, and a little less than a first poll that found it done', () => {
    expect(observedAsyncMs(6000, 5000)).toBe(5500);
    expect(observedAsyncMs(6000, undefined)).toBe(5400);
  });
});

describe('progress during a sync wait', () => {
  it('climbs with the learned run time, never back, never to 100 before the result', () => {
    vi.useFakeTimers();
    const seen: Progress[] = [];
    const p = syncProgress(2000, (x) => seen.push(x), 250);
    vi.advanceTimersByTime(1000);
    const mid = seen.at(-1)!.progress;
    expect(mid).toBeGreaterThan(40);
    expect(mid).toBeLessThan(50);
    vi.advanceTimersByTime(10_000);
    expect(seen.at(-1)!.progress).toBeLessThan(100);
    expect(seen.map((s) => s.progress)).toEqual([...seen.map((s) => s.progress)].sort((a, b) => a - b));
    p.stop(true);
    expect(seen.at(-1)).toMatchObject({ progress: 100, message: 'done' });
    const n = seen.length;
    vi.advanceTimersByTime(5000);
    expect(seen.length).toBe(n);
  });
});

describe('polling aimed at a learned run time', () => {
  it('waits until just before it, polls tightly around it, then backs off by age', () => {
    const s = DEFAULT_POLL_SCHEDULE;
    expect(aimedFirstPoll(10_000)).toBe(9700);
    expect(aimedPollDelay(s, 1000, 10_000)).toBe(8700);
    expect(aimedPollDelay(s, 9700, 10_000)).toBe(250);
    expect(aimedPollDelay(s, 2000, 2000)).toBe(100);
    expect(aimedPollDelay(s, 20_000, 10_000)).toBe(s.minMs + s.fraction * 20_000);
    expect(aimedPollDelay(s, 3000, undefined)).toBe(s.minMs + s.fraction * 3000);
  });

  it('makes its first poll at the learned time, not at the schedule start, and says when it saw the task run and end', async () => {
    vi.useFakeTimers();
    const t0 = Date.now();
    const at: number[] = [];
    const finishAt = 6000;
    const p = pollTask(
      async () => {
        at.push(Date.now() - t0);
        return Date.now() - t0 >= finishAt
          ? { data: [{ taskType: 'imageInference', taskUUID: U, status: 'success', imageUUID: 'a' }], errors: [] }
          : { data: [{ taskType: 'imageInference', taskUUID: U, status: 'processing' }], errors: [] };
      },
      U,
      { waitMs: 60_000, startedAt: t0, expectedMs: 6000, schedule: DEFAULT_POLL_SCHEDULE },
    );
    await vi.advanceTimersByTimeAsync(60_000);
    const st = await p;
    expect(st.status).toBe('success');
    // At 97% of it, then every fortieth: seen 2% late, in three polls.
    expect(at).toEqual([5820, 5970, 6120]);
    expect(st).toMatchObject({ runningAtAge: 5970, doneAtAge: 6120 });
  });
});
