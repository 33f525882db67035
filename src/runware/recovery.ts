/**
 * The recovery state machine: what the client does with each task after each
 * thing it learns, so that no task is billed twice and no result is lost.
 * It is pure: the client (client.ts) does the I/O and feeds verdicts in.
 *
 * Phases of one task:
 *
 *   send    the task goes out (first time, or again)
 *   check   it is unknown whether it ran: ask getTaskDetails
 *   resend  getTaskDetails said "not found" across the whole settle window
 *           (SettleWindow below): send the identical task under the same
 *           UUID, where a conflict proves that it landed. With
 *           RUNWARE_RESEND_UNKNOWN=never it is not resent: done (unknown)
 *   follow  it landed and is running: poll it (getResponse for async work,
 *           getTaskDetails otherwise) until it settles or the deadline
 *   done    it has an outcome: success, partial, processing, error, unknown
 *
 * Transitions (verdict → next phase; "fresh" = a new task under a fresh UUID):
 *
 *   from send / resend
 *     result                    → done (success, or partial with its note)
 *     accepted (async ACK)      → follow when the caller waits, else done (processing)
 *     task error, transient     → send, fresh, after backoff (Runware said it failed)
 *     task error, permanent     → done (error)
 *     conflict, UUID sent before→ check (it landed; find it)
 *     conflict, UUID never sent → done (error: the UUID names someone else's task)
 *     not run (429; Runware's own error body; connection never made)
 *                               → send, same UUID, after backoff (Retry-After honoured)
 *     request error, permanent  → done (error)
 *     unknown (reset or timeout after sending, unparsable body, 5xx/408 without
 *     Runware's body, missing from the reply, WebSocket drop)
 *                               → check
 *   from check
 *     result                    → done
 *     running                   → follow
 *     task error                → as from send
 *     not found, window open    → check again (pauses doubling across the window)
 *     not found, window passed  → resend (or done: unknown, when resends are off)
 *     no answer                 → check again after backoff
 *   from follow
 *     result / permanent error  → done
 *     transient error           → send, fresh
 *     still running at deadline → done (processing, with the UUID to poll)
 *   deadline or attempts spent
 *     in send                   → done (error: the last transient error; safe to retry)
 *     in check / resend         → done (unknown: never resent blind; poll the UUID later)
 *
 * Reads (getResponse, getTaskDetails sent by the caller) never enter check:
 * they run nothing, so any failure is retried under their own UUID.
 */
import type { ApiErrorItem, DataItem } from './errors.js';
import { isReadType, type Task } from './rules.js';
import { SETTLE_UNIT_MS } from './timing.js';
import { next, step, type Next } from '../shared/next-step.js';

export type Phase = 'send' | 'check' | 'resend' | 'follow' | 'done';
export type TaskStatus = 'success' | 'partial' | 'processing' | 'error' | 'unknown';

/** One send of a task, for the lineage shown in results and logs. */
export interface Attempt {
  taskUUID: string;
  outcome: string;
}

export interface Outcome {
  taskUUID: string;
  status: TaskStatus;
  results: DataItem[];
  errors: ApiErrorItem[];
  progress?: number;
  /** A result's own note, or what to do next (a Next: the front-end names its step). */
  note?: string | Next;
}

/** What the client learned about one task from one exchange. */
export type Verdict =
  | { kind: 'result'; items: DataItem[]; errors?: ApiErrorItem[]; note?: string; partial?: boolean }
  | { kind: 'accepted' }
  /** `why`: it said "done" with nothing in it; looked up again, and reported unknown if nothing comes. */
  | { kind: 'running'; why?: string }
  | { kind: 'taskError'; errors: ApiErrorItem[]; transient: boolean }
  | { kind: 'conflict' }
  | { kind: 'notRun'; why: string; errors: ApiErrorItem[]; retryAfterMs?: number }
  | { kind: 'requestError'; errors: ApiErrorItem[] }
  | { kind: 'unknown'; why: string }
  | { kind: 'notFound' }
  | { kind: 'noAnswer'; why: string }
  | { kind: 'processing'; progress: number; items: DataItem[] };

export interface Slot {
  index: number;
  task: Task;
  phase: Phase;
  attempts: Attempt[];
  outcome?: Outcome;
  /** Errors of the last transient failure, reported if the budget runs out. */
  lastErrors: ApiErrorItem[];
  /** How often this slot has sent each UUID: a conflict on one sent before means it landed. */
  sentUuids: Map<string, number>;
  /** Consecutive "not found" answers since the last send. */
  notFound: number;
  /** When the first of them came (epoch ms), for the settle window. */
  firstNotFoundAt?: number;
  /** Why a task that said "done" is still pending (it sent no output), for the outcome at the deadline. */
  pendingWhy?: string;
  /** Consecutive landing checks that got no answer. */
  checkFailures: number;
  /** Sends so far (every phase that puts the task on the wire). */
  sends: number;
  /** Server-requested delay before the next send. */
  retryAfterMs?: number;
  /** Whether the caller waits for async work (follow) or takes the ACK (done: processing). */
  waits: boolean;
}

export const isRead = (t: Task): boolean => isReadType(t.taskType);

/**
 * How long "not found" must hold before a task whose fate is unknown is
 * resent: `checks` answers spread over at least `windowMs`. getTaskDetails can
 * lag behind a task that did land; a resend inside that lag runs it twice.
 */
export interface SettleRule {
  checks: number;
  windowMs: number;
  /** The window never grows past this (a call's deadline may end it sooner: then the task is reported unknown, not resent). */
  maxWindowMs: number;
}

/** The default window for a time unit (1 s in production): 4 checks over 8 s, adapting up to 30 s. */
export const settleRuleFor = (unitMs: number): SettleRule => ({
  checks: 4,
  windowMs: 8 * unitMs,
  maxWindowMs: 30 * unitMs,
});

/**
 * The settle window, adaptive and bounded: it widens to twice the longest lag
 * this process has seen (a task getTaskDetails did not know at first and knew
 * later), never past `maxWindowMs`.
 */
export class SettleWindow {
  private lagMs = 0;
  constructor(readonly rule: SettleRule) {}

  get windowMs(): number {
    return Math.min(this.rule.maxWindowMs, Math.max(this.rule.windowMs, 2 * this.lagMs));
  }

  get observedLagMs(): number {
    return this.lagMs;
  }

  /** A task first "not found" at `firstAt` turned out to exist at `now`. */
  observe(firstAt: number, now: number): void {
    this.lagMs = Math.max(this.lagMs, now - firstAt);
  }

  /** Whether "not found" has held long enough to resend. */
  passed(s: Slot, now: number): boolean {
    return (
      s.notFound >= this.rule.checks && s.firstNotFoundAt !== undefined && now - s.firstNotFoundAt >= this.windowMs
    );
  }

  /** The pause before the next check after `s.notFound` answers: doubling, so `checks` answers span the window. */
  nextDelay(s: Slot, now: number): number {
    const n = Math.max(1, s.notFound);
    const remaining = (s.firstNotFoundAt ?? now) + this.windowMs - now;
    if (n >= this.rule.checks) return Math.max(1, remaining);
    const step = Math.round((this.windowMs / (2 ** (this.rule.checks - 1) - 1)) * 2 ** (n - 1));
    return Math.max(1, n === this.rule.checks - 1 ? Math.max(step, remaining) : step);
  }
}

/** The window when none is given: a 1-second unit, as in production. */
const DEFAULT_WINDOW = new SettleWindow(settleRuleFor(SETTLE_UNIT_MS));

export function newSlot(index: number, task: Task, waits: boolean): Slot {
  return {
    index,
    task,
    phase: 'send',
    attempts: [],
    lastErrors: [],
    sentUuids: new Map(),
    notFound: 0,
    checkFailures: 0,
    sends: 0,
    waits,
  };
}

export function finish(s: Slot, outcome: Outcome): void {
  s.outcome = outcome;
  s.phase = 'done';
}

const codes = (errors: ApiErrorItem[]): string => errors.map((e) => e.code).join(', ');

/**
 * Applies a verdict to a slot. `fresh` makes a copy of the task under a fresh
 * UUID (the old one is spent). Returns a line for the log, if any.
 */
export function transition(
  s: Slot,
  v: Verdict,
  fresh: (t: Task) => Task,
  settle: SettleWindow = DEFAULT_WINDOW,
  now = Date.now(),
): string | undefined {
  const uuid = s.task.taskUUID;
  const from = s.phase;
  // Found after "not found": getTaskDetails lagged; the window learns how much.
  if (from === 'check' && s.firstNotFoundAt !== undefined && v.kind !== 'notFound' && v.kind !== 'noAnswer') {
    settle.observe(s.firstNotFoundAt, now);
    delete s.firstNotFoundAt;
  }
  const note = (outcome: string): void => {
    s.attempts.push({ taskUUID: uuid, outcome });
  };
  if (v.kind !== 'noAnswer') s.checkFailures = 0;
  switch (v.kind) {
    case 'result': {
      note(from === 'check' ? 'landed (found by getTaskDetails)' : from === 'follow' ? 'finished' : 'success');
      finish(s, {
        taskUUID: uuid,
        status: v.partial ? 'partial' : 'success',
        results: v.items,
        errors: v.errors ?? [],
        ...(v.note ? { note: v.note } : {}),
      });
      return from === 'check'
        ? `task ${uuid} had run despite the failure; its result was recovered, nothing was resent`
        : undefined;
    }
    case 'accepted':
    case 'running':
      if (v.kind === 'running' && v.why) {
        s.pendingWhy = v.why;
        note(v.why);
      } else if (from === 'send' || from === 'resend') note('accepted');
      else if (from === 'check') note('landed (running)');
      s.notFound = 0;
      if (s.waits || v.kind === 'running') {
        s.phase = 'follow';
        return from === 'check'
          ? `task ${uuid} had landed and is running; following it instead of resending`
          : undefined;
      }
      finish(s, {
        taskUUID: uuid,
        status: 'processing',
        results: [],
        errors: [],
        note: `Accepted for async processing; poll taskUUID ${uuid}.`,
      });
      return undefined;
    case 'processing':
      if (s.pendingWhy && v.items.length === 0) {
        giveUp(s, 'the deadline passed');
        return undefined;
      }
      finish(s, {
        taskUUID: uuid,
        status: 'processing',
        results: v.items,
        errors: [],
        progress: v.progress,
        note: `Still running at the deadline; poll taskUUID ${uuid} to get the result.`,
      });
      return undefined;
    case 'taskError':
      note(codes(v.errors));
      if (v.transient && !isRead(s.task)) {
        // Runware said the task ran and failed for a passing reason: a retry is a new task.
        s.lastErrors = v.errors;
        s.task = fresh(s.task);
        s.notFound = 0;
        s.phase = 'send';
        return `task ${uuid} failed transiently (${codes(v.errors)}); retrying as a new task under ${s.task.taskUUID}`;
      }
      finish(s, { taskUUID: uuid, status: 'error', results: [], errors: v.errors });
      return undefined;
    case 'conflict':
      if ((s.sentUuids.get(uuid) ?? 0) > 1) {
        note('landed (conflictTaskUUID)');
        s.phase = 'check';
        s.notFound = 0;
        return `task ${uuid} had landed (conflictTaskUUID); looking it up instead of resending`;
      }
      note('conflictTaskUUID');
      finish(s, {
        taskUUID: uuid,
        status: 'error',
        results: [],
        errors: [
          {
            code: 'conflictTaskUUID',
            message: `Runware already has a task with taskUUID ${uuid}; it was not run again.`,
            category: 'validation',
            retryable: false,
            taskUUID: uuid,
            parameter: 'taskUUID',
          },
        ],
        note: next(
          'Omit taskUUID so the server assigns a fresh one; to read the earlier task, run {step}.',
          step('poll', { taskUUID: uuid }),
        ),
      });
      return undefined;
    case 'notRun':
      note(v.why);
      s.lastErrors = v.errors;
      if (v.retryAfterMs !== undefined) s.retryAfterMs = v.retryAfterMs;
      s.phase = 'send';
      return `task ${uuid} did not run (${v.why}); will send it again`;
    case 'requestError':
      note(codes(v.errors));
      finish(s, { taskUUID: uuid, status: 'error', results: [], errors: v.errors });
      return undefined;
    case 'unknown':
      note(`${v.why} (may have run)`);
      if (isRead(s.task)) {
        s.phase = 'send';
        return undefined;
      }
      s.phase = 'check';
      s.notFound = 0;
      delete s.firstNotFoundAt;
      return `unknown whether task ${uuid} ran (${v.why}); asking getTaskDetails before anything is resent`;
    case 'notFound':
      s.notFound++;
      s.firstNotFoundAt ??= now;
      note('getTaskDetails: not found');
      if (settle.passed(s, now)) {
        s.phase = 'resend';
        delete s.firstNotFoundAt;
        return `task ${uuid} is not known to Runware after ${s.notFound} checks over ${Math.round(settle.windowMs)} ms; resending it under the same UUID`;
      }
      return undefined;
    case 'noAnswer':
      s.checkFailures++;
      note(`landing check: ${v.why}`);
      return undefined;
  }
}

/** The outcome when the budget (time or attempts) runs out, by phase. */
export function giveUp(s: Slot, why: string): void {
  const uuid = s.task.taskUUID;
  if (s.pendingWhy && s.phase === 'follow') {
    // It said "done" but no output came: it ran (and is billed); only a later poll can fetch what it made.
    finish(s, {
      taskUUID: uuid,
      status: 'unknown',
      results: [],
      errors: [
        {
          code: 'resultMissing',
          message: `${s.pendingWhy} for task ${uuid}, and none came (${why}); it was not resent.`,
          category: 'unknown',
          retryable: false,
          taskUUID: uuid,
        },
      ],
      note: next('Run {step} later to fetch its outputs; do not resubmit, it ran.', step('poll', { taskUUID: uuid })),
    });
    return;
  }
  if (s.phase === 'check' || s.phase === 'resend') {
    finish(s, {
      taskUUID: uuid,
      status: 'unknown',
      results: [],
      errors: [
        {
          code: 'unknownWhetherRan',
          message: `It is unknown whether task ${uuid} ran (${why}); it was not resent, so it cannot be billed twice.`,
          category: 'connection',
          retryable: false,
          taskUUID: uuid,
        },
      ],
      note: next(
        'Run {step} later: it reports the result if the task ran. Resubmit only if it says the task is unknown.',
        step('poll', { taskUUID: uuid }),
      ),
    });
    return;
  }
  if (s.phase === 'follow') {
    finish(s, {
      taskUUID: uuid,
      status: 'processing',
      results: [],
      errors: [],
      note: `Still running at the deadline; poll taskUUID ${uuid} to get the result.`,
    });
    return;
  }
  finish(s, {
    taskUUID: uuid,
    status: 'error',
    results: [],
    errors: s.lastErrors.length
      ? s.lastErrors
      : [
          {
            code: 'retriesExhausted',
            message: 'Transient failures persisted.',
            category: 'unknown',
            retryable: false,
            taskUUID: uuid,
          },
        ],
    note: `Gave up (${why}) after transient failures; the task did not run, so it is safe to try again later.`,
  });
}
