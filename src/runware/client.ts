/**
 * The Runware client: submit task arrays under the rules, get one outcome per
 * task (matched by taskUUID and taskType, never by order), retry what is
 * transient without ever billing a task twice, and poll async work.
 */
import { CancelledError, NetworkError, UpstreamError, type ErrorCategory } from '../shared/errors.js';
import { FairLimiter } from '../shared/limiter.js';
import type { Logger } from '../shared/log.js';
import { sleep } from '../shared/time.js';
import { classifyStatus, parseEnvelope, type ApiErrorItem, type DataItem, type Envelope } from './errors.js';
import { DEFAULT_POLL_SCHEDULE, isFinished, pollTask, type PollSchedule, type PollState, type Progress } from './poll.js';
import { canRetry, DEFAULT_RETRY, retryDelay, type RetryPolicy } from './retry.js';
import type { Rules, Task } from './rules.js';
import type { Transport, TransportReply } from './transport.js';

export type TaskStatus = 'success' | 'partial' | 'processing' | 'error';

/** One send of a task, for the lineage shown in results and logs. */
export interface Attempt {
  taskUUID: string;
  outcome: string;
}

export interface TaskOutcome {
  /** Position of the task in the caller's array. */
  index: number;
  taskType: string;
  /** The UUID of the attempt that produced the outcome. */
  taskUUID: string;
  status: TaskStatus;
  results: DataItem[];
  errors: ApiErrorItem[];
  attempts: Attempt[];
  progress?: number;
  note?: string;
}

export interface SubmitResult {
  tasks: TaskOutcome[];
  /** Errors the API returned without a taskUUID. */
  requestErrors: ApiErrorItem[];
  /** True when any task ended in error. */
  anyFailed: boolean;
  /** True when every task ended in error. */
  allFailed: boolean;
}

export interface ClientOptions {
  transport: Transport;
  rules: Rules;
  logger: Logger;
  maxConcurrency?: number;
  retry?: RetryPolicy;
  pollSchedule?: PollSchedule;
  /** How long to follow a task that landed despite an ambiguous failure. */
  followMs?: number;
}

export interface SubmitOptions {
  signal?: AbortSignal;
}

export interface PollRequest {
  numberResults?: number;
  waitMs: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** Legacy and current names of the same task type, for matching responses. */
const ALIASES: Record<string, string> = {
  imageUpscale: 'upscale',
  imageBackgroundRemoval: 'removeBackground',
  imageCaption: 'caption',
  imageControlNetPreProcess: 'controlNetPreprocess',
  imageUpload: 'mediaStorage',
};
const canonical = (t: string): string => ALIASES[t] ?? t;
/** getResponse reads an earlier task: it runs nothing and may be repeated under the same UUID. */
const isRead = (t: Task): boolean => t.taskType === 'getResponse';

type SlotState = 'pending' | 'ambiguous' | 'done';

interface Slot {
  index: number;
  task: Task;
  state: SlotState;
  attempts: Attempt[];
  outcome?: Omit<TaskOutcome, 'index' | 'taskType' | 'attempts'>;
  /** Errors from the last transient failure, reported if retries run out. */
  lastErrors: ApiErrorItem[];
  landingChecked: boolean;
}

const synthetic = (code: string, message: string, category: ErrorCategory, retryable: boolean, taskUUID?: string): ApiErrorItem => ({
  code,
  message,
  category,
  retryable,
  ...(taskUUID ? { taskUUID } : {}),
});

export class RunwareClient {
  readonly rules: Rules;
  private readonly transport: Transport;
  private readonly log: Logger;
  private readonly limiter: FairLimiter;
  private readonly retry: RetryPolicy;
  private readonly schedule: PollSchedule;
  private readonly followMs: number;

  constructor(opts: ClientOptions) {
    this.transport = opts.transport;
    this.rules = opts.rules;
    this.log = opts.logger.child('runware');
    this.limiter = new FairLimiter(opts.maxConcurrency ?? 4);
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.schedule = opts.pollSchedule ?? DEFAULT_POLL_SCHEDULE;
    this.followMs = opts.followMs ?? 30_000;
  }

  /**
   * Checks and sends a task array (or one task). Throws ValidationError or
   * PolicyError before sending anything; otherwise every task gets an outcome.
   */
  async submit(input: unknown, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const tasks = this.rules.prepare(input);
    const size = this.limiter.capacity;
    const chunks: Array<Array<{ index: number; task: Task }>> = [];
    tasks.forEach((task, index) => {
      if (index % size === 0) chunks.push([]);
      chunks[chunks.length - 1]!.push({ index, task });
    });
    const requestErrors: ApiErrorItem[] = [];
    const done = await Promise.all(
      chunks.map((c) => this.limiter.run(c.length, () => this.runBatch(c, requestErrors, opts.signal), opts.signal)),
    );
    const outcomes = done.flat().sort((a, b) => a.index - b.index);
    const failed = outcomes.filter((o) => o.status === 'error').length;
    return { tasks: outcomes, requestErrors, anyFailed: failed > 0, allFailed: failed === outcomes.length };
  }

  /** Polls an async task with getResponse until it settles or the wait runs out. */
  async poll(taskUUID: string, req: PollRequest): Promise<PollState> {
    const task = this.rules.getResponse(taskUUID);
    return pollTask((signal) => this.getResponse(task, signal), task.taskUUID, {
      waitMs: req.waitMs,
      schedule: this.schedule,
      onTransient: (e) => this.log.warn(`poll of ${task.taskUUID} failed transiently; polling again`, { error: String((e as Error).message) }),
      ...(req.numberResults !== undefined ? { numberResults: req.numberResults } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
      ...(req.onProgress ? { onProgress: req.onProgress } : {}),
    });
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private async getResponse(task: Task, signal?: AbortSignal): Promise<Envelope> {
    const reply = await this.transport.send([task], signal ? { signal } : {});
    if (reply.status === 429 || reply.status >= 500 || reply.status === 408) {
      const c = classifyStatus(reply.status);
      throw new UpstreamError(`Runware answered HTTP ${reply.status} to getResponse.`, { status: reply.status, ...c });
    }
    const env = parseEnvelope(reply.body);
    if (reply.status === 401 || reply.status === 403) {
      const e = env.errors[0];
      throw new UpstreamError(`Runware refused the key: ${e?.message ?? `HTTP ${reply.status}`}`, { status: reply.status, code: e?.code ?? 'unauthorized', category: 'auth', retryable: false });
    }
    return env;
  }

  private async runBatch(entries: Array<{ index: number; task: Task }>, requestErrors: ApiErrorItem[], signal?: AbortSignal): Promise<TaskOutcome[]> {
    const slots: Slot[] = entries.map(({ index, task }) => ({ index, task, state: 'pending', attempts: [], lastErrors: [], landingChecked: false }));
    const started = Date.now();
    let round = 0;
    let retryAfterMs: number | undefined;
    for (;;) {
      const toSend = slots.filter((s) => s.state === 'pending');
      const toVerify = slots.filter((s) => s.state === 'ambiguous');
      if (toSend.length === 0 && toVerify.length === 0) break;
      if (round > 0) {
        const delay = retryDelay(round, this.retry, retryAfterMs);
        if (!canRetry(round, Date.now() - started, delay, this.retry)) {
          for (const s of [...toSend, ...toVerify]) this.giveUp(s, round);
          break;
        }
        this.log.info(`retrying ${toSend.length + toVerify.length} task(s) in ${delay} ms (attempt ${round + 1}/${this.retry.maxAttempts})`, {
          taskUUIDs: [...toSend, ...toVerify].map((s) => s.task.taskUUID),
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        });
        await sleep(delay, signal);
        // The old UUID is spent: a task that did not run is resent under a fresh one.
        // getResponse is a read of an earlier task and keeps the UUID it names.
        for (const s of toSend) if (!isRead(s.task)) s.task = this.rules.withFreshUuid(s.task);
      }
      round++;
      retryAfterMs = undefined;
      for (const s of toVerify) await this.checkLanding(s, signal);
      if (toSend.length === 0) continue;
      let reply: TransportReply;
      try {
        reply = await this.transport.send(
          toSend.map((s) => s.task),
          signal ? { signal } : {},
        );
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        for (const s of toSend) {
          s.attempts.push({ taskUUID: s.task.taskUUID, outcome: `network error ${e.causeCode ?? ''} (${e.sent ? 'may have landed' : 'not sent'})`.replace('  ', ' ') });
          s.lastErrors = [synthetic('connectionError', e.message, 'connection', true, s.task.taskUUID)];
          s.state = e.sent && !isRead(s.task) ? 'ambiguous' : 'pending';
        }
        this.log.warn(`network error on send: ${e.message}`, { sent: e.sent });
        continue;
      }
      retryAfterMs = this.applyReply(toSend, reply, requestErrors);
    }
    return slots.map((s) => this.toOutcome(s));
  }

  /** Applies one reply to the slots that were sent; returns a Retry-After to honour. */
  private applyReply(sent: Slot[], reply: TransportReply, requestErrors: ApiErrorItem[]): number | undefined {
    const env = parseEnvelope(reply.body);
    const transientStatus = reply.status === 429 || reply.status === 408 || reply.status >= 500;
    if (transientStatus && env.data.length === 0) {
      // The API answered and ran nothing: every task is resent under a fresh UUID.
      const c = classifyStatus(reply.status);
      for (const s of sent) {
        s.attempts.push({ taskUUID: s.task.taskUUID, outcome: `HTTP ${reply.status}` });
        s.lastErrors = [synthetic(reply.status === 429 ? 'rateLimitExceeded' : `http${reply.status}`, `Runware answered HTTP ${reply.status}.`, c.category, true, s.task.taskUUID)];
        s.state = 'pending';
      }
      this.log.warn(`Runware answered HTTP ${reply.status}; will retry`, { retryAfterMs: reply.retryAfterMs });
      return reply.retryAfterMs;
    }
    const reqErrors = env.errors.filter((e) => !e.taskUUID);
    for (const e of reqErrors) if (!requestErrors.some((r) => r.code === e.code && r.message === e.message)) requestErrors.push(e);
    for (const s of sent) this.applyToSlot(s, env, reqErrors, reply.status);
    return reply.retryAfterMs;
  }

  private itemsFor(s: Slot, env: Envelope): { items: DataItem[]; errors: ApiErrorItem[] } {
    const uuid = s.task.taskUUID;
    const want = canonical(s.task.taskType);
    // A getResponse answer carries the polled task's own taskType, so only the UUID can match it.
    const typeOk = (t: unknown): boolean => isRead(s.task) || t === undefined || canonical(String(t)) === want || t === 'getResponse';
    const items = env.data.filter((d) => d.taskUUID === uuid && typeOk(d.taskType));
    const errors = env.errors.filter((e) => e.taskUUID === uuid && typeOk(e.taskType));
    return { items, errors };
  }

  private applyToSlot(s: Slot, env: Envelope, reqErrors: ApiErrorItem[], status: number): void {
    const { items, errors } = this.itemsFor(s, env);
    const uuid = s.task.taskUUID;
    if (errors.length > 0) {
      if (items.length === 0 && errors.every((e) => e.retryable)) {
        // A task-scoped transient error (timeoutProvider, ...): the task did not run.
        s.attempts.push({ taskUUID: uuid, outcome: errors.map((e) => e.code).join(', ') });
        s.lastErrors = errors;
        s.state = 'pending';
        this.log.warn(`task ${uuid} failed transiently (${errors[0]!.code}); will retry under a fresh UUID`);
        return;
      }
      s.attempts.push({ taskUUID: uuid, outcome: errors.map((e) => e.code).join(', ') });
      this.finish(s, { taskUUID: uuid, status: items.some(isFinished) ? 'partial' : 'error', results: items.filter(isFinished), errors });
      return;
    }
    if (items.length > 0) {
      const finished = items.filter(isFinished);
      s.attempts.push({ taskUUID: uuid, outcome: finished.length ? 'success' : 'accepted' });
      if (finished.length === 0) {
        this.finish(s, { taskUUID: uuid, status: 'processing', results: [], errors: [], note: 'Accepted for async processing; poll it with getResponse.' });
        return;
      }
      const want = typeof s.task.numberResults === 'number' ? s.task.numberResults : 1;
      this.finish(s, {
        taskUUID: uuid,
        status: finished.length >= want || s.task.taskType !== 'imageInference' ? 'success' : 'partial',
        results: finished,
        errors: [],
        ...(finished.length < want && s.task.taskType === 'imageInference' ? { note: `${finished.length} of ${want} results arrived.` } : {}),
      });
      return;
    }
    if (reqErrors.length > 0) {
      s.attempts.push({ taskUUID: uuid, outcome: reqErrors.map((e) => e.code).join(', ') });
      if (reqErrors.every((e) => e.retryable)) {
        s.lastErrors = reqErrors;
        s.state = 'pending';
        return;
      }
      this.finish(s, { taskUUID: uuid, status: 'error', results: [], errors: reqErrors.map((e) => ({ ...e })), note: 'A request-level error; see requestErrors.' });
      return;
    }
    if (status >= 400) {
      const c = classifyStatus(status);
      s.attempts.push({ taskUUID: uuid, outcome: `HTTP ${status}` });
      this.finish(s, { taskUUID: uuid, status: 'error', results: [], errors: [synthetic(`http${status}`, `Runware answered HTTP ${status} with no error detail.`, c.category, false, uuid)] });
      return;
    }
    if (isRead(s.task)) {
      s.attempts.push({ taskUUID: uuid, outcome: 'no result yet' });
      this.finish(s, { taskUUID: uuid, status: 'processing', results: [], errors: [], note: 'No result for this taskUUID yet (still running, or unknown); poll again later.' });
      return;
    }
    // The API answered but said nothing of this task: it may or may not have run.
    s.attempts.push({ taskUUID: uuid, outcome: 'missing from the response' });
    s.state = 'ambiguous';
  }

  /**
   * After an ambiguous failure: did the task land? Ask getResponse first; if
   * that cannot tell, resend the identical task under the same UUID once, where
   * `conflictTaskUUID` proves it landed. Never resubmit a task that may be running.
   */
  private async checkLanding(s: Slot, signal?: AbortSignal): Promise<void> {
    const uuid = s.task.taskUUID;
    let env: Envelope;
    try {
      env = await this.getResponse(this.rules.getResponse(uuid), signal);
    } catch (e) {
      if (e instanceof CancelledError || (e instanceof UpstreamError && !e.retryable)) throw e;
      s.attempts.push({ taskUUID: uuid, outcome: 'landing check failed transiently' });
      return; // stays ambiguous; the next round asks again
    }
    const items = env.data.filter((d) => d.taskUUID === uuid);
    const errors = env.errors.filter((e) => e.taskUUID === uuid);
    if (items.length > 0 || errors.some((e) => e.category !== 'notFound')) {
      s.attempts.push({ taskUUID: uuid, outcome: 'landed (found by getResponse)' });
      this.log.info(`task ${uuid} landed despite the failure; following it instead of resending`);
      await this.follow(s, signal);
      return;
    }
    if (errors.length > 0) {
      s.attempts.push({ taskUUID: uuid, outcome: 'did not land (getResponse: not found)' });
      s.state = 'pending';
      return;
    }
    if (s.landingChecked) {
      this.finish(s, {
        taskUUID: uuid,
        status: 'error',
        results: [],
        errors: [synthetic('landingUnknown', 'It is unknown whether the task ran; it was not resent, to avoid billing it twice.', 'connection', false, uuid)],
        note: `Poll taskUUID ${uuid} later to see whether it produced a result.`,
      });
      return;
    }
    s.landingChecked = true;
    let reply: TransportReply;
    try {
      reply = await this.transport.send([s.task], signal ? { signal } : {});
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      s.attempts.push({ taskUUID: uuid, outcome: 'landing check resend failed' });
      return; // stays ambiguous; the next round decides
    }
    const renv = parseEnvelope(reply.body);
    if (renv.errors.some((e) => e.taskUUID === uuid && e.code === 'conflictTaskUUID')) {
      s.attempts.push({ taskUUID: uuid, outcome: 'landed (conflictTaskUUID)' });
      this.log.info(`task ${uuid} landed (conflictTaskUUID); following it with getResponse`);
      await this.follow(s, signal);
      return;
    }
    if (reply.status === 429 || reply.status >= 500) {
      s.attempts.push({ taskUUID: uuid, outcome: `landing check: HTTP ${reply.status}` });
      return;
    }
    this.applyToSlot(s, renv, renv.errors.filter((e) => !e.taskUUID), reply.status);
  }

  /** Follows a task known to have landed, with getResponse, for a bounded time. */
  private async follow(s: Slot, signal?: AbortSignal): Promise<void> {
    const uuid = s.task.taskUUID;
    const numberResults = typeof s.task.numberResults === 'number' ? s.task.numberResults : 1;
    const st = await this.poll(uuid, { waitMs: this.followMs, numberResults, ...(signal ? { signal } : {}) });
    if (st.status === 'processing') {
      this.finish(s, {
        taskUUID: uuid,
        status: 'processing',
        results: st.results,
        errors: [],
        progress: st.progress,
        note: `The task was accepted by Runware but its result is not available yet; poll taskUUID ${uuid}.`,
      });
      return;
    }
    this.finish(s, { taskUUID: uuid, status: st.status, results: st.results, errors: st.errors });
  }

  private giveUp(s: Slot, attempts: number): void {
    const errors = s.lastErrors.length
      ? s.lastErrors
      : [synthetic('retriesExhausted', 'Transient failures persisted.', 'unknown', true, s.task.taskUUID)];
    this.finish(s, {
      taskUUID: s.task.taskUUID,
      status: 'error',
      results: [],
      errors,
      note: s.state === 'ambiguous'
        ? `Gave up after ${attempts} attempts; it is unknown whether taskUUID ${s.task.taskUUID} ran. Poll it before resubmitting.`
        : `Gave up after ${attempts} attempts of transient failures; safe to try again later.`,
    });
  }

  private finish(s: Slot, outcome: NonNullable<Slot['outcome']>): void {
    s.outcome = outcome;
    s.state = 'done';
  }

  private toOutcome(s: Slot): TaskOutcome {
    const o = s.outcome ?? { taskUUID: s.task.taskUUID, status: 'error' as const, results: [], errors: s.lastErrors };
    return { index: s.index, taskType: s.task.taskType, attempts: s.attempts, ...o };
  }
}
