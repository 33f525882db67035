/**
 * Reading one exchange as a verdict for one task (see recovery.ts): matched
 * by taskUUID and taskType, never by position; errors that name no task are
 * request-level and never pinned on one task.
 */
import { classifyStatus, isTransientCode, parseEnvelope, type ApiErrorItem, type DataItem, type Envelope } from './errors.js';
import { isFinished } from './poll.js';
import { isRead, type Verdict } from './recovery.js';
import type { Task } from './rules.js';
import type { TransportReply } from './transport.js';

/** Legacy and current names of the same task type, for matching responses. */
const ALIASES: Record<string, string> = {
  imageUpscale: 'upscale',
  imageBackgroundRemoval: 'removeBackground',
  imageCaption: 'caption',
  imageControlNetPreProcess: 'controlNetPreprocess',
  imageUpload: 'mediaStorage',
};
const canonical = (t: string): string => ALIASES[t] ?? t;

/** How many results a finished task yields: numberResults where the type has it (promptVersions for promptEnhance). */
export function expectedResults(t: Task): number {
  if (t.taskType === 'promptEnhance' && typeof t.promptVersions === 'number') return t.promptVersions;
  return typeof t.numberResults === 'number' && t.numberResults > 0 ? t.numberResults : 1;
}

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
    const finished = items.filter(isFinished);
    if (finished.length > 0) return { kind: 'result', items: finished, errors, partial: true };
    return { kind: 'taskError', errors, transient: errors.every((e) => isTransientCode(e.code)) };
  }
  if (items.length > 0) {
    const finished = items.filter(isFinished);
    if (isRead(task)) return { kind: 'result', items };
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
    return isRead(task) ? { kind: 'notRun', why: 'conflictTaskUUID', errors: requestErrors } : { kind: 'unknown', why: 'conflictTaskUUID naming no task' };
  }
  if (status === 429) return { kind: 'notRun', why: statusWhy(status), errors: requestErrors.length ? requestErrors : [synthetic('rateLimitExceeded', 'Runware answered HTTP 429 (queue full).', task.taskUUID)], ...retryAfter(reply) };
  if (status >= 500 || status === 408) {
    // Runware's own body says the request was not processed; anything else may be a proxy after the fact.
    if (isRunwareErrorBody(reply.body, env)) return { kind: 'notRun', why: `${statusWhy(status)} (${requestErrors.map((e) => e.code).join(', ')})`, errors: requestErrors, ...retryAfter(reply) };
    return isRead(task) ? { kind: 'notRun', why: statusWhy(status), errors: [] } : { kind: 'unknown', why: `${statusWhy(status)} without Runware's error body` };
  }
  if (requestErrors.length > 0) {
    if (requestErrors.every((e) => isTransientCode(e.code))) return { kind: 'notRun', why: requestErrors.map((e) => e.code).join(', '), errors: requestErrors, ...retryAfter(reply) };
    return { kind: 'requestError', errors: requestErrors };
  }
  if (status >= 400) {
    const c = classifyStatus(status);
    return { kind: 'requestError', errors: [{ code: `http${status}`, message: `Runware answered HTTP ${status} with no error detail.`, category: c.category, retryable: false, taskUUID: task.taskUUID }] };
  }
  if (isRead(task)) return { kind: 'result', items: [] };
  return { kind: 'unknown', why: sentCount > 1 ? 'missing from the reply' : 'an empty reply' };
}

const retryAfter = (r: TransportReply): { retryAfterMs?: number } => (r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {});

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
  if (reply.status === 429 || reply.status >= 500 || reply.status === 408) return { kind: 'noAnswer', why: statusWhy(reply.status) };
  const env = parseEnvelope(reply.body);
  // The item about this task decides; an error that names no task speaks only when there is none.
  const item = env.data.find((d) => d.taskUUID === uuid) ?? env.data.find((d) => d.taskUUID === undefined && (d.request !== undefined || d.response !== undefined));
  if (!item) {
    const mine = env.errors.filter((e) => e.taskUUID === uuid);
    const requestLevel = env.errors.filter((e) => e.taskUUID === undefined);
    for (const errors of [mine, requestLevel]) {
      if (errors.some((e) => e.category === 'notFound')) return { kind: 'notFound' };
      if (errors.length > 0) return { kind: 'noAnswer', why: errors.map((e) => e.code).join(', ') };
    }
    return { kind: 'notFound' };
  }
  const request = Array.isArray(item.request) ? item.request : item.request && typeof item.request === 'object' ? [item.request] : [];
  const rawResponse = item.response;
  const hasResponse = rawResponse !== undefined && rawResponse !== null && !(Array.isArray(rawResponse) && rawResponse.length === 0);
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
        const e = parseEnvelope({ data: Array.isArray(o.data) ? o.data : o.data ? [o.data] : [], ...(o.error ? { errors: [o.error] } : {}), ...(Array.isArray(o.errors) ? { errors: o.errors } : {}) });
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
    const finished = items.filter(isFinished);
    if (finished.length > 0) return { kind: 'result', items: finished, errors, partial: true };
    return { kind: 'taskError', errors, transient: errors.every((e) => isTransientCode(e.code)) };
  }
  const finished = items.filter(isFinished);
  if (finished.length === 0) return { kind: 'running' };
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
