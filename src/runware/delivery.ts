/**
 * How a task is delivered, chosen for the time to its result: sync when it
 * usually finishes within the caller's wait (the answer comes the moment it
 * exists, on the REST request or the open WebSocket, whichever transport the
 * client has), async when it is long (then polled, the first poll aimed at the
 * model's learned run time). The learned times live in the state store
 * (src/state/durations.ts), per model, shared by every process.
 *
 * What keeps the guarantees: a sync wait is bounded by the call's budget less a
 * reserve for one landing check, so a sync task that outlives its wait is looked
 * up with getTaskDetails (never resent); a drop during the wait is an ordinary
 * "unknown" for the landing check (recovery.ts); the result passes through the
 * same verdicts (verdicts.ts) as any other.
 */
import type { Progress } from './poll.js';
import { isReadType, type Task } from './rules.js';
import { isLongType } from './task-types.js';

/** A sync task is sent only when its learned run time leaves this share of the wait unused. */
const SYNC_SHARE = 0.8;

/** Without a learned time: what a sync wait's progress assumes. */
const GUESS_MS = 5000;

/**
 * The shortest sync wait worth sending: below it (after the landing check's reserve, syncWaitMs)
 * the request would be cut before any answer, its task's fate unknown; such a wait goes async,
 * where the taskUUID comes back with the acknowledgement.
 */
const MIN_SYNC_WAIT_MS = 250;

/** The key a run time is learned under: the model (and task type, as one AIR may serve several). */
export function durationKey(task: { taskType?: unknown; model?: unknown }): string {
  return `${String(task.taskType ?? '')}|${typeof task.model === 'string' ? task.model : ''}`;
}

/**
 * The delivery for a task the caller waits `waitMs` for. `allowed` comes from the
 * model's schema (undefined: the type takes no deliveryMethod, nothing to choose).
 * A call that does not wait (waitMs 0) wants the taskUUID back at once: async.
 */
export function deliveryFor(
  allowed: Array<'sync' | 'async'> | undefined,
  taskType: string,
  waitMs: number,
  typicalMs: number | undefined,
): 'sync' | 'async' | undefined {
  if (!allowed || allowed.length === 0) return undefined;
  if (!allowed.includes('sync')) return 'async';
  if (!allowed.includes('async')) return 'sync';
  if (waitMs <= 0 || isLongType(taskType)) return 'async';
  if (syncWaitMs(waitMs, Infinity) < MIN_SYNC_WAIT_MS) return 'async';
  if (typicalMs !== undefined && typicalMs > waitMs * SYNC_SHARE) return 'async';
  return 'sync';
}

/** Whether a task holds its request open until the result (sync work; reads answer at once anyway). */
export function waitsOnRequest(t: Task): boolean {
  return !isReadType(t.taskType) && t.deliveryMethod !== 'async';
}

/**
 * How long a sync request may wait, of `leftMs` remaining in the call: all of it
 * but a reserve for one getTaskDetails check (capped by `readMs`), so a wait that
 * outlives its budget ends in a lookup of the same task, not in "unknown".
 */
export function syncWaitMs(leftMs: number, readMs: number): number {
  const reserve = Math.min(readMs, Math.max(250, leftMs * 0.1));
  return Math.max(1, leftMs - reserve);
}

/**
 * Progress during a sync wait, estimated from the learned run time (nothing
 * else reports on a sync request): a steady climb to 90% at the expected time,
 * then slower towards 99%; 100 only when the result is in. Reports at most
 * every `tickMs`; stop() ends it.
 */
export function syncProgress(
  expectedMs: number | undefined,
  onProgress: (p: Progress) => void,
  tickMs = 250,
): { stop: (done: boolean) => void } {
  // An estimate that is not a positive number (junk from a store) is no estimate: NaN would tick every millisecond.
  const expected =
    typeof expectedMs === 'number' && Number.isFinite(expectedMs) && expectedMs > 0
      ? Math.max(1, expectedMs)
      : GUESS_MS;
  const started = Date.now();
  let last = -1;
  const report = (pct: number, message: string): void => {
    if (pct <= last) return;
    last = pct;
    try {
      onProgress({ progress: pct, total: 100, message });
    } catch {
      // A listener's failure is its own.
    }
  };
  const tick = (): void => {
    const t = (Date.now() - started) / expected;
    const pct = t <= 1 ? 90 * t : 90 + 9 * (1 - Math.exp(-(t - 1)));
    report(
      Math.round(pct * 10) / 10,
      `generating (about ${Math.max(0, Math.round((expected - (Date.now() - started)) / 1000))} s left)`,
    );
  };
  const timer = setInterval(tick, Math.max(50, Math.min(tickMs, expected / 10)));
  timer.unref?.();
  return {
    stop: (done: boolean) => {
      clearInterval(timer);
      if (done) report(100, 'done');
    },
  };
}

/**
 * A run time learned from an async task: the finish lies between the last poll
 * that saw it running and the first that saw it done. Without an earlier poll, it
 * is at most the first poll's age; a little less is learned, so an estimate that
 * was too long shrinks over the next tasks instead of staying put.
 */
export function observedAsyncMs(doneAtAge: number, lastRunningAtAge: number | undefined): number {
  if (lastRunningAtAge === undefined || lastRunningAtAge <= 0) return doneAtAge * 0.9;
  return (lastRunningAtAge + doneAtAge) / 2;
}
