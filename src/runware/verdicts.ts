/**
 * Reading one exchange as a verdict for one task (see recovery.ts): matched
 * by taskUUID and taskType, never by position; errors that name no task are
 * request-level and never pinned on one task.
 */
import {
  classifyStatus,
  isTransientCode,
  parseEnvelope,
  type ApiErrorItem,
  type DataItem,
  type Envelope,
} from './errors.js';
import { isRead, type Verdict } from './recovery.js';
import type { Task } from './rules.js';
import type { TransportReply } from './transport.js';
import { canonicalType as canonical, CARRIES, isReadType, outputShapeOf, resultCount } from './task-types.js';

/** Fields every item may carry that are about the task, not its output. */
const BOOKKEEPING = new Set([
  'taskType',
  'taskUUID',
  'errors',
  'status',
  'progress',
  'cost',
  'seed',
  'NSFWContent',
  'resultIndex',
  'deliveryMethod',
  'inputImageUUID',
]);

/**
 * Whether an item carries an output of its task type (`taskType` when the item
 * names none), by the type's output shape (task-types.ts). An item that carries
 * none is no result, whatever its status says: Runware answering "success" with
 * nothing in it has not delivered the task (it is polled again).
 */
export function carriesOutput(item: DataItem, taskType?: string): boolean {
  const type = typeof item.taskType === 'string' && !isReadType(item.taskType) ? item.taskType : taskType;
  const shape = type ? outputShapeOf(type) : undefined;
  if (shape && shape !== 'any') return CARRIES[shape](item);
  // A type without a known output field: anything beyond bookkeeping is its output.
  return Object.keys(item).some((k) => !BOOKKEEPING.has(k));
}

/** Whether a data item is a finished result (rather than a processing marker, an async ACK, or a "success" with no output). */
export function isFinished(item: DataItem, taskType?: string): boolean {
  if (item.status !== undefined && item.status !== 'success') return false;
  return carriesOutput(item, taskType);
}

/**
 * The one rule for whether a task has finished: its expected outputs (per its
 * type and numberResults) are present, or an error for it is. Anything else is
 * pending: polled again within its deadline, and reported with its UUID if the
 * deadline passes. `outputs` are the items that count as results.
 */
export function taskFinished(
  task: Pick<Task, 'taskType'> & Partial<Task>,
  items: DataItem[],
  errors: ApiErrorItem[] = [],
): { finished: boolean; outputs: DataItem[]; expected: number; emptySuccess: boolean } {
  const outputs = items.filter((i) => isFinished(i, task.taskType));
  const expected = expectedResults(task as Task);
  // "Done" without anything in it: the one answer that must never be taken as a result.
  const emptySuccess =
    outputs.length === 0 &&
    items.some(
      (i) =>
        i.status === 'success' ||
        (i.status === undefined && !carriesOutput(i, task.taskType) && Object.keys(i).some((k) => k === 'cost')),
    );
  return { finished: errors.length > 0 || outputs.length >= expected, outputs, expected, emptySuccess };
}

/** How many results a finished task yields: the one count (task-types.ts resultCount), under the name the verdicts use. */
export const expectedResults: (t: Task) => number = resultCount;

/** The items and errors of one envelope that belong to `task`. */
export function itemsFor(task: Task, env: Envelope): { items: DataItem[]; errors: ApiErrorItem[] } {
  const uuid = task.taskUUID;
  const want = canonical(task.taskType);
  // A read's answer carries the read task's own type or the inspected task's, so only the UUID can match it.
  const typeOk = (t: unknown): boolean => isRead(task) || t === undefined || canonical(String(t)) === want;
  return {
    items: env.data.filter((d) => d.taskUUID === uuid && typeOk(d.taskType)),
    errors: env.errors.filter((e) => e.taskUUID === uuid && typeOk(e.taskType)),
  };
}

/** Whether a body is Runware's own error envelope (as opposed to a proxy page or nothing). */
function isRunwareErrorBody(body: unknown, env: Envelope): boolean {
  return !!body && typeof body === 'object' && !Array.isArray(body) && env.errors.length > 0;
}

const statusWhy = (status: number): string => `HTTP ${status}`;

/**
 * The verdict for `task` from one reply to a request of `sentCount` tasks.
 */
export function judgeReply(task: Task, reply: TransportReply, sentCount: number): Verdict {
  const env = parseEnvelope(reply.body);
  const { items, errors } = itemsFor(task, env);
  const status = reply.status;
  if (errors.some((e) => e.code === 'conflictTaskUUID')) return { kind: 'conflict' };
  if (errors.length > 0) {
    const finished = taskFinished(task, items).outputs;
    if (finished.length > 0) return { kind: 'result', items: finished, errors, partial: true };
    return { kind: 'taskError', errors, transient: errors.every((e) => isTransientCode(e.code)) };
  }
  if (items.length > 0) {
    if (isRead(task)) return { kind: 'result', items };
    const { outputs: finished, emptySuccess } = taskFinished(task, items);
    // It ran (and is billed), but nothing came: look it up rather than take "success" as the result.
    if (emptySuccess) return { kind: 'running', why: 'Runware reported success but sent no output' };
    if (finished.length === 0) return { kind: 'accepted' };
    const want = expectedResults(task);
    if (finished.length < want && task.deliveryMethod !== 'async') {
      return { kind: 'result', items: finished, partial: true, note: `${finished.length} of ${want} results arrived.` };
    }
    return { kind: 'result', items: finished };
  }
  const requestErrors = env.errors.filter((e) => !e.taskUUID);
  if (requestErrors.some((e) => e.code === 'conflictTaskUUID')) {
    // A conflict that names no task: some task of this request already exists. Find out which.
    return isRead(task)
      ? { kind: 'notRun', why: 'conflictTaskUUID', errors: requestErrors }
      : { kind: 'unknown', why: 'conflictTaskUUID naming no task' };
  }
  if (status === 429)
    return {
      kind: 'notRun',
      why: statusWhy(status),
      errors: requestErrors.length
        ? requestErrors
        : [synthetic('rateLimitExceeded', 'Runware answered HTTP 429 (queue full).', task.taskUUID)],
      ...retryAfter(reply),
    };
  if (status >= 500 || status === 408) {
    // Runware's own body says the request was not processed; anything else may be a proxy after the fact.
    if (isRunwareErrorBody(reply.body, env))
      return {
        kind: 'notRun',
        why: `${statusWhy(status)} (${requestErrors.map((e) => e.code).join(', ')})`,
        errors: requestErrors,
        ...retryAfter(reply),
      };
    return isRead(task)
      ? { kind: 'notRun', why: statusWhy(status), errors: [] }
      : { kind: 'unknown', why: `${statusWhy(status)} without Runware's error body` };
  }
  if (requestErrors.length > 0) {
    if (requestErrors.every((e) => isTransientCode(e.code)))
      return {
        kind: 'notRun',
        why: requestErrors.map((e) => e.code).join(', '),
        errors: requestErrors,
        ...retryAfter(reply),
      };
    return { kind: 'requestError', errors: requestErrors };
  }
  if (status >= 400) {
    const c = classifyStatus(status);
    return {
      kind: 'requestError',
      errors: [
        {
          code: `http${status}`,
          message: `Runware answered HTTP ${status} with no error detail.`,
          category: c.category,
          retryable: false,
          taskUUID: task.taskUUID,
        },
      ],
    };
  }
  if (isRead(task)) return { kind: 'result', items: [] };
  return { kind: 'unknown', why: sentCount > 1 ? 'missing from the reply' : 'an empty reply' };
}

const retryAfter = (r: TransportReply): { retryAfterMs?: number } =>
  r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {};

export const synthetic = (code: string, message: string, taskUUID?: string, retryable = false): ApiErrorItem => ({
  code,
  message,
  category: classifyStatus(code === 'rateLimitExceeded' ? 429 : 500).category,
  retryable,
  ...(taskUUID ? { taskUUID } : {}),
});

/**
 * getTaskDetails as a verdict. Known answers: an item with the original
 * `request` and, once there is one, its `response`. Unknown UUIDs may get an
 * error, `{data:[]}`, an item with neither, or HTTP 404 (all "not found").
 */
export function judgeDetails(task: Task, reply: TransportReply): Verdict {
  const uuid = task.taskUUID;
  // An empty WebSocket frame names no task: it is no evidence either way.
  if (reply.untagged) return { kind: 'noAnswer', why: 'an empty answer that names no task' };
  if (reply.status === 404) return { kind: 'notFound' };
  if (reply.status === 429 || reply.status >= 500 || reply.status === 408)
    return { kind: 'noAnswer', why: statusWhy(reply.status) };
  const env = parseEnvelope(reply.body);
  // The item about this task decides; an error that names no task speaks only when there is none.
  const item =
    env.data.find((d) => d.taskUUID === uuid) ??
    env.data.find((d) => d.taskUUID === undefined && (d.request !== undefined || d.response !== undefined));
  if (!item) {
    const mine = env.errors.filter((e) => e.taskUUID === uuid);
    const requestLevel = env.errors.filter((e) => e.taskUUID === undefined);
    for (const errors of [mine, requestLevel]) {
      if (errors.some((e) => e.category === 'notFound')) return { kind: 'notFound' };
      if (errors.length > 0) return { kind: 'noAnswer', why: errors.map((e) => e.code).join(', ') };
    }
    return { kind: 'notFound' };
  }
  const request = Array.isArray(item.request)
    ? item.request
    : item.request && typeof item.request === 'object'
      ? [item.request]
      : [];
  const rawResponse = item.response;
  const hasResponse =
    rawResponse !== undefined && rawResponse !== null && !(Array.isArray(rawResponse) && rawResponse.length === 0);
  if (!hasResponse) return request.length > 0 ? { kind: 'running' } : { kind: 'notFound' };
  const inner = detailsEnvelope(rawResponse, uuid);
  return judgeInner(task, inner);
}

/** The `response` of getTaskDetails, in any of its shapes (object envelope, list of items, list of {data,error}). */
export function detailsEnvelope(response: unknown, uuid: string): Envelope {
  if (Array.isArray(response)) {
    const out: Envelope = { data: [], errors: [] };
    for (const r of response) {
      if (!r || typeof r !== 'object') continue;
      const o = r as Record<string, unknown>;
      if ('data' in o || 'error' in o || 'errors' in o) {
        const e = parseEnvelope({
          data: Array.isArray(o.data) ? o.data : o.data ? [o.data] : [],
          ...(o.error ? { errors: [o.error] } : {}),
          ...(Array.isArray(o.errors) ? { errors: o.errors } : {}),
        });
        out.data.push(...e.data);
        out.errors.push(...e.errors);
      } else {
        const e = parseEnvelope({ data: [o] });
        out.data.push(...e.data);
        out.errors.push(...e.errors);
      }
    }
    return scope(out, uuid);
  }
  return scope(parseEnvelope(response), uuid);
}

/** Items inside a task's own response belong to it even when they omit the UUID. */
function scope(env: Envelope, uuid: string): Envelope {
  return {
    data: env.data.map((d) => (d.taskUUID === undefined ? { ...d, taskUUID: uuid } : d)),
    errors: env.errors.map((e) => (e.taskUUID === undefined ? { ...e, taskUUID: uuid } : e)),
  };
}

function judgeInner(task: Task, env: Envelope): Verdict {
  const { items, errors } = itemsFor({ ...task, taskType: 'getTaskDetails' }, env);
  if (errors.length > 0) {
    const finished = taskFinished(task, items).outputs;
    if (finished.length > 0) return { kind: 'result', items: finished, errors, partial: true };
    return { kind: 'taskError', errors, transient: errors.every((e) => isTransientCode(e.code)) };
  }
  const { outputs: finished, emptySuccess } = taskFinished(task, items);
  if (finished.length === 0)
    return emptySuccess ? { kind: 'running', why: 'Runware reported success but sent no output' } : { kind: 'running' };
  const want = expectedResults(task);
  if (finished.length < want) {
    // Async work is still producing; a sync task with fewer results is done with what it has.
    if (task.deliveryMethod === 'async') return { kind: 'running' };
    return { kind: 'result', items: finished, partial: true, note: `${finished.length} of ${want} results arrived.` };
  }
  return { kind: 'result', items: finished.map(stripStatus) };
}

const stripStatus = (d: DataItem): DataItem => {
  const { status: _s, progress: _p, ...rest } = d;
  return rest as DataItem;
};
