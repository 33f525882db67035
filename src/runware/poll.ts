/**
 * getResponse polling: a deadline, a schedule set by the task's age (so a
 * later call continues it rather than restarting it), a monotonic progress
 * callback, an AbortSignal, and results accumulated and de-duplicated across
 * polls (each poll returns the full current state).
 */
import { CancelledError, NetworkError, UpstreamError } from '../shared/errors.js';
import { sleep } from '../shared/time.js';
import type { ApiErrorItem, DataItem, Envelope } from './errors.js';
import { isFinished } from './verdicts.js';
import { canonicalType, firstPollMinSteps, isReadType } from './task-types.js';
import { POLL, TUNABLE } from './timing.js';

/**
 * The wait before each poll is `minMs + fraction × age` (age: time since the
 * task was sent), capped at `maxMs`. A task finishing at any moment is then
 * noticed within `fraction` of its run time plus `minMs`, and the number of
 * polls grows with the logarithm of the run time. Where Runware reports
 * progress, the next poll is brought forward to the expected finish.
 */
export interface PollSchedule {
  minMs: number;
  fraction: number;
  maxMs: number;
}

export const DEFAULT_POLL_SCHEDULE: PollSchedule = {
  minMs: POLL.minMs,
  fraction: POLL.fraction,
  maxMs: TUNABLE.pollMaxMs,
};

/** How long after it was sent a task is first worth polling: types that take seconds at the very least wait several `minMs` (task-types.ts). */
export function firstPollAt(s: PollSchedule, taskType?: string): number {
  return s.minMs * firstPollMinSteps(taskType);
}

/**
 * The wait before the next poll of a task `ageMs` old. With `progress` (0..100 seen at
 * `progressAgeMs`), a poll due after the expected finish is brought forward to it.
 */
export function nextPollDelay(s: PollSchedule, ageMs: number, progress?: { pct: number; atAgeMs: number }): number {
  const base = Math.min(s.maxMs, s.minMs + s.fraction * Math.max(0, ageMs));
  if (!progress || progress.pct <= 0 || progress.pct >= 100 || progress.atAgeMs <= 0) return base;
  const remaining = progress.atAgeMs * (100 / progress.pct) - ageMs;
  return Math.max(s.minMs / 2, Math.min(base, remaining));
}

/**
 * The first poll of a task whose typical run time is known: a little before it,
 * so a task on time is caught by the tight polls after it, a few percent late at
 * most, and its run time is bracketed closely for learning.
 */
export const aimedFirstPoll = (expectedMs: number): number => expectedMs * 0.97;

/**
 * The wait before the next poll when the task's typical run time is known
 * (learned, see delivery.ts): just before it (aimedFirstPoll), then tight polls (a
 * fortieth of it, at least a fifth of `minMs`) until half as long again,
 * then the age-based back-off. A task is then seen a few percent after it ends.
 */
export function aimedPollDelay(
  s: PollSchedule,
  ageMs: number,
  expectedMs: number | undefined,
  progress?: { pct: number; atAgeMs: number },
): number {
  if (expectedMs === undefined || expectedMs <= 0) return nextPollDelay(s, ageMs, progress);
  if (ageMs < aimedFirstPoll(expectedMs)) return aimedFirstPoll(expectedMs) - ageMs;
  if (ageMs < expectedMs * 1.5) return Math.max(s.minMs / 5, expectedMs / 40);
  return nextPollDelay(s, ageMs, progress);
}

export interface Progress {
  /** 0..100, never decreasing within one wait. */
  progress: number;
  total: 100;
  message: string;
}

/** `unknown`: no poll found any record of the UUID (never submitted, expired, or not yet registered). */
export type PollStatus = 'processing' | 'success' | 'partial' | 'error' | 'unknown';

export interface PollState {
  taskUUID: string;
  taskType?: string;
  status: PollStatus;
  progress: number;
  results: DataItem[];
  errors: ApiErrorItem[];
  polls: number;
  /** Polls that failed transiently and were simply repeated. */
  transientFailures: number;
  /** Task age (ms) at the poll that saw it finished, and at the last one that saw it running, for learning its run time. */
  doneAtAge?: number;
  runningAtAge?: number;
}

export interface PollOptions {
  numberResults?: number;
  /** How long to keep polling; 0 = exactly one poll. */
  waitMs: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  schedule?: PollSchedule;
  /** Called on each transient poll failure (for logging). */
  onTransient?: (e: unknown) => void;
  /** Cap on one poll request; each is also capped by the time left. */
  readTimeoutMs?: number;
  /** When the task was sent (epoch ms), for the schedule; default now. */
  startedAt?: number;
  /** When it was last polled (by an earlier call), so this call continues the schedule. */
  lastPolledAt?: number;
  taskType?: string;
  /** Told of each poll's time, so the next call can continue from it. */
  onPolled?: (at: number) => void;
  /** The task's typical run time (learned): the first poll is aimed at it (aimedPollDelay). */
  expectedMs?: number;
  /** Told of each finished result the first time a poll shows it (a batch's first output can be saved while the rest run). */
  onResult?: (item: DataItem) => void;
}

/** One poll's answer; `unknown` when the API has no record of the UUID. */
export type PollAnswer = Envelope & { unknown?: boolean };

const OUTPUT_ID_FIELDS = [
  'imageUUID',
  'videoUUID',
  'audioUUID',
  'mediaUUID',
  'guideImageUUID',
  'maskImageUUID',
  'text',
];

/** A stable identity for one generated result, so repeated polls do not duplicate it: its first name. */
export function resultKey(item: DataItem): string {
  return resultNames(item)[0]!;
}

/** Every name a result goes by: its index, and each output id it carries. Two results sharing one are the same result. */
export function resultNames(item: DataItem): string[] {
  const names = typeof item.resultIndex === 'number' ? [`#${item.resultIndex}`] : [];
  for (const f of OUTPUT_ID_FIELDS) if (typeof item[f] === 'string') names.push(`${f}:${String(item[f])}`);
  return names.length ? names : [JSON.stringify(item)];
}

export { isFinished };

/** Folds polls into one state. Separate from the loop so it can be unit-tested. */
export class ResultAccumulator {
  private readonly results = new Map<string, DataItem>();
  private readonly errorKeys = new Set<string>();
  readonly errors: ApiErrorItem[] = [];
  private best = 0;
  taskType: string | undefined;

  constructor(
    readonly taskUUID: string,
    readonly numberResults = 1,
    private readonly onResult?: (item: DataItem) => void,
    /** The task's type, when known: an item of another type is not its result, whatever UUID it carries. */
    private readonly expectedType?: string,
  ) {}

  private ofTask(d: DataItem): boolean {
    if (d.taskUUID !== undefined && d.taskUUID !== this.taskUUID) return false;
    const t = d.taskType;
    if (this.expectedType === undefined || typeof t !== 'string' || isReadType(t)) return true;
    return canonicalType(t) === canonicalType(this.expectedType);
  }

  /** Applies one getResponse envelope; returns the (monotonic) progress 0..100. */
  apply(env: Envelope): number {
    const mine = env.data.filter((d) => this.ofTask(d));
    let processingProgress = 0;
    let processingCount = 0;
    for (const item of mine) {
      if (typeof item.taskType === 'string' && item.taskType !== 'getResponse') this.taskType ??= item.taskType;
      if (isFinished(item)) {
        const { status: _s, progress: _p, ...rest } = item;
        const key = resultKey(item);
        const fresh = !this.results.has(key);
        this.results.set(key, rest as DataItem);
        if (fresh) this.onResult?.(rest as DataItem);
      } else if (item.status === 'processing' || item.status !== undefined) {
        processingCount++;
        const p = typeof item.progress === 'number' ? item.progress : 0;
        processingProgress += Math.min(100, Math.max(0, p));
      }
    }
    for (const e of env.errors) {
      // Only errors that name this task are its own; one that names no task is about the request.
      if (e.taskUUID !== this.taskUUID) continue;
      const key = `${e.code}|${e.message}`;
      if (!this.errorKeys.has(key)) {
        this.errorKeys.add(key);
        this.errors.push(e);
      }
    }
    const n = Math.max(1, this.numberResults);
    const done = Math.min(n, this.results.size);
    const running = Math.min(processingCount, n - done);
    const avgRunning = processingCount > 0 ? processingProgress / processingCount : 0;
    const raw = (done * 100 + running * avgRunning) / n;
    this.best = Math.max(
      this.best,
      Math.min(this.isDone() && this.errors.length === 0 ? 100 : 99, Math.round(raw * 10) / 10),
    );
    if (this.isDone() && this.errors.length === 0) this.best = 100;
    return this.best;
  }

  isDone(): boolean {
    if (this.results.size >= this.numberResults) return true;
    if (this.errors.length === 0) return false;
    // One error settles a single-result task; for batches, wait until every slot is settled
    // unless the error is not tied to one result (a task-level failure).
    return (
      this.numberResults <= 1 ||
      this.results.size + this.errors.length >= this.numberResults ||
      this.errors.some((e) => !e.retryable)
    );
  }

  get progress(): number {
    return this.best;
  }

  snapshot(polls: number, transientFailures: number, known = true): PollState {
    const results = [...this.results.values()];
    let status: PollStatus = known ? 'processing' : 'unknown';
    if (this.errors.length > 0 && this.isDone()) status = results.length > 0 ? 'partial' : 'error';
    else if (results.length >= this.numberResults) status = 'success';
    return {
      taskUUID: this.taskUUID,
      ...(this.taskType ? { taskType: this.taskType } : {}),
      status,
      progress: this.best,
      results,
      errors: [...this.errors],
      polls,
      transientFailures,
    };
  }
}

/**
 * Polls until the task settles, the wait runs out, or the signal aborts.
 * Transient failures are repeated at the next tick; a permanent request-level
 * failure (bad key, ...) is thrown. Running out of time is not an error: the
 * state comes back with status "processing".
 */
export async function pollTask(
  poll: (signal: AbortSignal | undefined, timeoutMs: number) => Promise<PollAnswer>,
  taskUUID: string,
  opts: PollOptions,
): Promise<PollState> {
  const schedule = opts.schedule ?? DEFAULT_POLL_SCHEDULE;
  const acc = new ResultAccumulator(taskUUID, opts.numberResults ?? 1, opts.onResult, opts.taskType);
  const deadline = Date.now() + Math.max(0, opts.waitMs);
  const origin = opts.startedAt ?? Date.now();
  const cap = opts.readTimeoutMs ?? TUNABLE.readTimeoutMs;
  let polls = 0;
  let transient = 0;
  let reported = -1;
  let known = false;
  let progress: { pct: number; atAgeMs: number } | undefined;
  let runningAtAge: number | undefined;
  let doneAtAge: number | undefined;
  // Waiting at all: the first poll is when the schedule says (a fresh task is not ready at once;
  // a task polled a moment ago by another call is not polled again at once). waitMs 0 polls now.
  if (opts.waitMs > 0) {
    const age = Date.now() - origin;
    const first =
      opts.expectedMs !== undefined && opts.expectedMs > 0
        ? aimedFirstPoll(opts.expectedMs)
        : firstPollAt(schedule, opts.taskType);
    const due = Math.max(
      first - age,
      opts.lastPolledAt !== undefined
        ? opts.lastPolledAt + aimedPollDelay(schedule, opts.lastPolledAt - origin, opts.expectedMs) - Date.now()
        : 0,
    );
    const wait = Math.min(due, deadline - Date.now() - schedule.minMs);
    if (wait > 0) await sleep(wait, opts.signal);
  }
  for (;;) {
    if (opts.signal?.aborted) throw new CancelledError();
    try {
      // No poll outlives the wait; a single poll (waitMs 0) gets the cap.
      const left = deadline - Date.now();
      const polledAt = Date.now();
      opts.onPolled?.(polledAt);
      const env = await poll(opts.signal, Math.max(1, left > 0 ? Math.min(cap, left) : cap));
      polls++;
      if (!env.unknown) known = true;
      const requestLevel = env.errors.find((e) => e.taskUUID === undefined);
      if (requestLevel) {
        // Never the task's failure: a transient one is a failed poll, repeated; a refusal (bad key) ends the wait.
        throw new UpstreamError(`Runware rejected the poll: ${requestLevel.code}: ${requestLevel.message}`, {
          code: requestLevel.code,
          category: requestLevel.category,
          retryable:
            requestLevel.category !== 'auth' &&
            requestLevel.category !== 'quota' &&
            requestLevel.category !== 'validation',
        });
      }
      const p = acc.apply(env);
      if (acc.isDone()) doneAtAge = polledAt - origin;
      else runningAtAge = polledAt - origin;
      if (p > 0 && p < 100 && p !== progress?.pct) progress = { pct: p, atAgeMs: Date.now() - origin };
      if (p > reported && opts.onProgress) {
        reported = p;
        opts.onProgress({ progress: p, total: 100, message: acc.isDone() ? 'done' : `processing ${Math.round(p)}%` });
      }
    } catch (e) {
      if (!(e instanceof NetworkError || (e instanceof UpstreamError && e.retryable))) throw e;
      transient++;
      opts.onTransient?.(e);
    }
    if (acc.isDone()) break;
    const left = deadline - Date.now();
    let delay = aimedPollDelay(schedule, Date.now() - origin, opts.expectedMs, progress);
    // The last poll lands just before the deadline rather than giving up the rest of the wait.
    if (delay > left - schedule.minMs) {
      if (left < 2 * schedule.minMs) break;
      delay = left - schedule.minMs;
    }
    await sleep(delay, opts.signal);
  }
  const st = acc.snapshot(polls, transient, known || polls === 0);
  return {
    ...st,
    ...(doneAtAge !== undefined ? { doneAtAge } : {}),
    ...(runningAtAge !== undefined ? { runningAtAge } : {}),
  };
}
