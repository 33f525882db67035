/**
 * The recovery state machine: what the client does with each task after each
 * thing it learns, so that no task is billed twice and no result is lost.
 * It is pure: the client (client.ts) does the I/O and feeds verdicts in.
 *
 * Phases of one task:
 *
 *   send    the task goes out (first time, or again)
 *   check   it is unknown whether it ran: ask getTaskDetails
 *   resend  getTaskDetails twice said "not found": send the identical task
 *           under the same UUID, where a conflict proves that it landed
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
 *     not found, first time     → check again after a short settle
 *     not found, again          → resend
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
  note?: string;
}

/** What the client learned about one task from one exchange. */
export type Verdict =
  | { kind: 'result'; items: DataItem[]; errors?: ApiErrorItem[]; note?: string; partial?: boolean }
  | { kind: 'accepted' }
  | { kind: 'running' }
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

export function newSlot(index: number, task: Task, waits: boolean): Slot {
  return { index, task, phase: 'send', attempts: [], lastErrors: [], sentUuids: new Map(), notFound: 0, checkFailures: 0, sends: 0, waits };
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
export function transition(s: Slot, v: Verdict, fresh: (t: Task) => Task): string | undefined {
  const uuid = s.task.taskUUID;
  const from = s.phase;
  const note = (outcome: string): void => {
    s.attempts.push({ taskUUID: uuid, outcome });
  };
  if (v.kind !== 'noAnswer') s.checkFailures = 0;
  switch (v.kind) {
    case 'result': {
      note(from === 'check' ? 'landed (found by getTaskDetails)' : from === 'follow' ? 'finished' : 'success');
      finish(s, { taskUUID: uuid, status: v.partial ? 'partial' : 'success', results: v.items, errors: v.errors ?? [], ...(v.note ? { note: v.note } : {}) });
      return from === 'check' ? `task ${uuid} had run despite the failure; its result was recovered, nothing was resent` : undefined;
    }
    case 'accepted':
    case 'running':
      if (from === 'send' || from === 'resend') note('accepted');
      else if (from === 'check') note('landed (running)');
      s.notFound = 0;
      if (s.waits || v.kind === 'running') {
        s.phase = 'follow';
        return from === 'check' ? `task ${uuid} had landed and is running; following it instead of resending` : undefined;
      }
      finish(s, { taskUUID: uuid, status: 'processing', results: [], errors: [], note: `Accepted for async processing; poll taskUUID ${uuid}.` });
      return undefined;
    case 'processing':
      finish(s, { taskUUID: uuid, status: 'processing', results: v.items, errors: [], progress: v.progress, note: `Still running at the deadline; poll taskUUID ${uuid} to get the result.` });
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
        errors: [{ code: 'conflictTaskUUID', message: `Runware already has a task with taskUUID ${uuid}; it was not run again.`, category: 'validation', retryable: false, taskUUID: uuid, parameter: 'taskUUID' }],
        note: 'Omit taskUUID so the server assigns a fresh one; to read the earlier task, call runware_poll with that taskUUID.',
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
      return `unknown whether task ${uuid} ran (${v.why}); asking getTaskDetails before anything is resent`;
    case 'notFound':
      s.notFound++;
      note('getTaskDetails: not found');
      if (s.notFound >= 2) {
        s.phase = 'resend';
        return `task ${uuid} is not known to Runware; resending it under the same UUID`;
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
  if (s.phase === 'check' || s.phase === 'resend') {
    finish(s, {
      taskUUID: uuid,
      status: 'unknown',
      results: [],
      errors: [{ code: 'unknownWhetherRan', message: `It is unknown whether task ${uuid} ran (${why}); it was not resent, so it cannot be billed twice.`, category: 'connection', retryable: false, taskUUID: uuid }],
      note: `Call runware_poll (CLI: poll) with taskUUID ${uuid} later: it reports the result if the task ran. Resubmit only if it says the task is unknown.`,
    });
    return;
  }
  if (s.phase === 'follow') {
    finish(s, { taskUUID: uuid, status: 'processing', results: [], errors: [], note: `Still running at the deadline; poll taskUUID ${uuid} to get the result.` });
    return;
  }
  finish(s, {
    taskUUID: uuid,
    status: 'error',
    results: [],
    errors: s.lastErrors.length ? s.lastErrors : [{ code: 'retriesExhausted', message: 'Transient failures persisted.', category: 'unknown', retryable: false, taskUUID: uuid }],
    note: `Gave up (${why}) after transient failures; the task did not run, so it is safe to try again later.`,
  });
}
