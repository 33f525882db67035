/**
 * The Runware client: submit task arrays under the rules, get one outcome per
 * task (matched by taskUUID and taskType, never by order), recover from every
 * failure without billing a task twice (recovery.ts), and poll any earlier
 * task. Every request inside a call has a deadline: a call never hangs.
 */
import { CancelledError, NetworkError, UpstreamError } from '../shared/errors.js';
import { FairLimiter, type Limiter } from '../shared/limiter.js';
import type { Logger } from '../shared/log.js';
import { deadline, sleep } from '../shared/time.js';
import { parseEnvelope, type ApiErrorItem, type Envelope } from './errors.js';
import { DEFAULT_POLL_SCHEDULE, pollTask, type PollSchedule, type PollState, type Progress } from './poll.js';
import { isReadType } from './rules.js';
import {
  giveUp,
  isRead,
  newSlot,
  settleRuleFor,
  SettleWindow,
  transition,
  type Attempt,
  type Outcome,
  type Slot,
  type Verdict,
} from './recovery.js';
import { DEFAULT_RETRY, retryDelay, type RetryPolicy } from './retry.js';
import type { Rules, Task } from './rules.js';
import type { Transport, TransportReply } from './transport.js';
import type { CallRecord, ClientLedger } from '../state/ledger.js';
import { ledgerTask, outcomeRecord } from './ledger-records.js';
import { isBillable } from './task-types.js';
import { detailsEnvelope, expectedResults, judgeDetails, judgeReply } from './verdicts.js';
import { Quoter, type Quote, type QuoteSources } from './quote.js';
import { DryRun, SpendGate, type ConfirmOptions } from './spend.js';
import { SpendError } from '../shared/errors.js';
import { Next } from '../shared/next-step.js';
import type { Overrun } from '../state/types.js';
import { durationKey, observedAsyncMs, syncProgress, syncWaitMs, waitsOnRequest } from './delivery.js';
import { SETTLE_UNIT_MS, TUNABLE } from './timing.js';
import { oncePerResult, resultsOf, type OnResult } from './early-results.js';

export type { Attempt, TaskStatus } from './recovery.js';

export interface TaskOutcome extends Outcome {
  /** Position of the task in the caller's array. */
  index: number;
  taskType: string;
  attempts: Attempt[];
  /** The real charge passed the task's reservation: by how much, and which quote source was wrong. */
  overrun?: Overrun;
}

export interface SubmitResult {
  tasks: TaskOutcome[];
  /** Errors the API returned without a taskUUID. */
  requestErrors: ApiErrorItem[];
  /** True when any task ended in error (or unknown). */
  anyFailed: boolean;
  /** True when every task ended in error (or unknown). */
  allFailed: boolean;
}

export interface ClientOptions {
  transport: Transport;
  rules: Rules;
  logger: Logger;
  maxConcurrency?: number;
  /** A limit shared with other instances (Redis leases); default: this process's own FairLimiter of maxConcurrency. */
  limiter?: Limiter;
  retry?: RetryPolicy;
  pollSchedule?: PollSchedule;
  /** Cap on one read (a poll or a landing check), so a slow one cannot eat a whole wait. */
  readTimeoutMs?: number;
  /** Cap on one submission request (a sync task may take this long). */
  sendTimeoutMs?: number;
  /** The settle window's unit: "not found" must hold 4 checks over 8 units (adapting up to 30) before a resend. */
  settleMs?: number;
  /** `never`: a task whose fate is unknown is never resent; it is reported unknown with its UUID (RUNWARE_RESEND_UNKNOWN). */
  resendUnknown?: 'after-settle' | 'never';
  /**
   * The task ledger (src/state/ledger.ts): UUIDs claimed across processes,
   * spend reserved against the cap, one record per task. This client is the
   * one that admits tasks and records their outcomes.
   */
  journal?: ClientLedger;
  /** One info line per task outcome. */
  logTasks?: boolean;
  /** Quotes before reservations (src/runware/quote.ts): ceilings, pricing, the dry run, the confirmation threshold. */
  spend?: Pick<QuoteSources, 'ceilings' | 'pricing'> & { dryRun?: boolean; confirmAboveUsd?: number };
}

export interface SubmitOptions {
  signal?: AbortSignal;
  /** The whole call's budget (default: the retry budget). */
  deadlineMs?: number;
  /** Follow async tasks until they finish or the deadline (default: return their ACK). */
  wait?: boolean;
  onProgress?: (p: Progress) => void;
  /** A single task's finished results, each the first time a poll or frame shows it (src/runware/early-results.ts). */
  onResult?: OnResult;
  /** What the caller asks the ledger to keep with the tasks' records (where to save); carried to it unread. */
  call?: CallRecord;
  /** How this call answers when its quote needs confirmation (RUNWARE_CONFIRM_ABOVE_USD, confirmCostUsd). */
  confirm?: ConfirmOptions;
}

export interface PollRequest {
  numberResults?: number;
  /** When the task was sent (epoch ms; from the journal for a task of another process), so polling continues its schedule. */
  startedAt?: number;
  waitMs: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The task's typical run time, when the caller knows it (else learned for tasks this process sent). */
  expectedMs?: number;
  /** As in SubmitOptions. */
  onResult?: OnResult;
  /** The task's type as another process recorded it: results are matched by it too. */
  taskType?: string;
  /** Kept with the task's record by the ledger, as in SubmitOptions. */
  call?: CallRecord;
}

/** Remembered tasks this process submitted, so a poll that learns of a transient failure can retry it. */
const LINEAGE_KEEP = 1000;

export class RunwareClient {
  readonly rules: Rules;
  private readonly transport: Transport;
  private readonly log: Logger;
  private readonly limiter: Limiter;
  /** Polls and landing checks have their own permits: submissions cannot starve them, nor they submissions. */
  private readonly reads: FairLimiter;
  private readonly logTasks: boolean;
  private readonly retry: RetryPolicy;
  private readonly schedule: PollSchedule;
  private readonly readTimeoutMs: number;
  private readonly sendTimeoutMs: number;
  /** The settle window, shared by every task of this client so what one learns of getTaskDetails' lag serves all. */
  readonly settle: SettleWindow;
  private readonly resendUnknown: 'after-settle' | 'never';
  private readonly submitted = new Map<string, Task>();
  /** When each task was first sent and last polled, so a later call continues its poll schedule. */
  private readonly pollClock = new Map<string, { startedAt: number; lastPolledAt?: number }>();
  readonly journal: ClientLedger | undefined;
  /** Quotes, confirmation and stale reservations, when there is a journal. */
  readonly spend: SpendGate | undefined;

  constructor(opts: ClientOptions) {
    this.transport = opts.transport;
    this.rules = opts.rules;
    this.log = opts.logger.child('runware');
    this.limiter = opts.limiter ?? new FairLimiter(opts.maxConcurrency ?? 4);
    this.reads = new FairLimiter(opts.maxConcurrency ?? 4);
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.schedule = opts.pollSchedule ?? DEFAULT_POLL_SCHEDULE;
    this.readTimeoutMs = opts.readTimeoutMs ?? TUNABLE.readTimeoutMs;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? TUNABLE.requestTimeoutMs;
    this.settle = new SettleWindow(
      settleRuleFor(opts.settleMs ?? Math.min(SETTLE_UNIT_MS, this.retry.baseDelayMs * 2)),
    );
    this.resendUnknown = opts.resendUnknown ?? 'after-settle';
    this.journal = opts.journal;
    this.logTasks = opts.logTasks === true;
    if (this.journal) {
      const journal = this.journal;
      const sp = opts.spend ?? {};
      const dry =
        sp.dryRun && this.transport.name === 'rest'
          ? new DryRun({
              send: (tasks, timeoutMs) => this.readSend(tasks, { timeoutMs, dryRun: true }),
              fresh: () => this.rules.uuids.fresh(),
              journal,
              logger: this.log,
              timeoutMs: this.readTimeoutMs,
            })
          : undefined;
      const quoter = new Quoter({
        ...(sp.ceilings ? { ceilings: sp.ceilings } : {}),
        ...(sp.pricing ? { pricing: sp.pricing } : {}),
        learned: (m) => journal.learnedPerUnit(m),
        ...(dry ? { dryRun: (t) => dry.price(t as Task) } : {}),
      });
      // The settle window's bound (docs/recovery.md): a task getTaskDetails still does not know after it never landed.
      this.spend = new SpendGate({
        journal,
        quoter,
        ...(sp.confirmAboveUsd !== undefined ? { confirmAboveUsd: sp.confirmAboveUsd } : {}),
        logger: this.log,
        knows: (u) => this.knowsTask(u),
        settleWindowMs: this.settle.rule.maxWindowMs,
      });
    }
  }

  /** Whether getTaskDetails knows a task: true, false (not found), undefined (no answer). */
  async knowsTask(uuid: string): Promise<boolean | undefined> {
    try {
      const reply = await this.readSend([this.rules.getTaskDetails(uuid)], { timeoutMs: this.readTimeoutMs });
      if (reply.status === 401 || reply.status === 403) return undefined;
      const v = judgeDetails({ taskType: 'unknown', taskUUID: uuid } as Task, reply);
      return v.kind === 'notFound' ? false : v.kind === 'noAnswer' ? undefined : true;
    } catch {
      return undefined;
    }
  }

  /** Quotes the billable tasks, holds the call for confirmation, and admits it; a cap refusal first releases dead senders' reservations. */
  private async admitWithQuotes(
    tasks: Task[],
    callers: string[],
    opts: SubmitOptions,
  ): Promise<Map<string, Quote> | undefined> {
    const journal = this.journal!;
    const quotes = this.spend && tasks.some((t) => isBillable(t.taskType)) ? await this.spend.quote(tasks) : undefined;
    const admitted = tasks.map(ledgerTask);
    if (quotes) {
      // A call the cap refuses is refused before anyone is asked to confirm its price.
      await journal.refuseOverCap(admitted, quotes).catch(async (e: unknown) => {
        if (!(e instanceof SpendError && e.code === 'spend_cap' && (await this.spend!.releaseStale(opts.signal)) > 0))
          throw e;
      });
      await this.spend!.confirm(tasks, quotes, opts.confirm);
    }
    const extra = { ...(opts.call ? { call: opts.call } : {}), ...(quotes ? { quotes } : {}) };
    try {
      await journal.admit(admitted, callers, extra);
    } catch (e) {
      if (!(
        e instanceof SpendError &&
        e.code === 'spend_cap' &&
        this.spend &&
        (await this.spend.releaseStale(opts.signal)) > 0
      ))
        throw e;
      await journal.admit(admitted, callers, extra);
    }
    return quotes;
  }

  /**
   * Checks and sends a task array (or one task). Throws ValidationError or
   * PolicyError before sending anything; otherwise every task gets an outcome.
   */
  async submit(input: unknown, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const tasks = this.rules.prepare(input);
    // The cost of every billable task is asked for, so the ledger always knows it.
    for (const t of tasks) if (isBillable(t.taskType) && t.includeCost !== true) t.includeCost = true;
    const callers = callerUuids(input);
    // Free tasks with server-made UUIDs are recorded while their request is in flight, not before it.
    const recorded = tasks.map(ledgerTask);
    const behind =
      this.journal && !this.journal.mustAdmitFirst(recorded, callers) ? this.journal.admitBehind(recorded) : undefined;
    const quotes = this.journal && !behind ? await this.admitWithQuotes(tasks, callers, opts) : undefined;
    const deadline = Date.now() + (opts.deadlineMs ?? this.retry.budgetMs);
    const size = this.limiter.capacity;
    const chunks: Slot[][] = [];
    tasks.forEach((task, index) => {
      if (index % size === 0) chunks.push([]);
      chunks[chunks.length - 1]!.push(newSlot(index, task, opts.wait === true));
    });
    const requestErrors: ApiErrorItem[] = [];
    const ctx: DriveContext = {
      deadline,
      requestErrors,
      admitted: new Set(tasks.map((t) => t.taskUUID)),
      ...(quotes
        ? { quotes: new Map(tasks.map((t, i) => [i, quotes.get(t.taskUUID)!] as const).filter(([, q]) => q)) }
        : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress && tasks.length === 1 ? { onProgress: opts.onProgress } : {}),
      ...(opts.onResult && tasks.length === 1 ? { onResult: oncePerResult(opts.onResult) } : {}),
    };
    await Promise.all(chunks.map((c) => this.runChunk(c, ctx)));
    await behind;
    const outcomes = chunks
      .flat()
      .map((s) => this.toOutcome(s))
      .sort((a, b) => a.index - b.index);
    // A task the journal could not record says so in one line: a restart will not find it.
    if (this.journal) {
      for (const o of outcomes) {
        const task = ledgerTask(tasks[o.index]!);
        // The ledger keeps no outcome of a task it does not keep (a search, an account read): none is built.
        if (!task.kept) continue;
        const r = await this.journal.recordOutcome(task, outcomeRecord(o), opts.call);
        if (!r.written && r.note)
          o.note = o.note instanceof Next ? o.note.and(r.note) : [o.note, r.note].filter(Boolean).join(' ');
        if (r.overrun) o.overrun = r.overrun;
      }
    }
    if (this.logTasks)
      for (const o of outcomes)
        this.log.info(`task ${o.taskUUID} ${o.taskType} ${o.status}`, {
          attempts: o.attempts.length,
          ...(o.errors[0] ? { error: o.errors[0].code } : {}),
        });
    const failed = outcomes.filter((o) => o.status === 'error' || o.status === 'unknown').length;
    return { tasks: outcomes, requestErrors, anyFailed: failed > 0, allFailed: failed === outcomes.length };
  }

  /** One task, waited for: submitted, recovered, followed until it settles or `waitMs` passes. */
  async run(
    task: Record<string, unknown>,
    opts: {
      waitMs: number;
      signal?: AbortSignal;
      onProgress?: (p: Progress) => void;
      onResult?: OnResult;
      call?: CallRecord;
      confirm?: ConfirmOptions;
    },
  ): Promise<TaskOutcome> {
    const r = await this.submit(task, {
      deadlineMs: opts.waitMs,
      wait: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.onResult ? { onResult: opts.onResult } : {}),
      ...(opts.call ? { call: opts.call } : {}),
      ...(opts.confirm ? { confirm: opts.confirm } : {}),
    });
    const t = r.tasks[0]!;
    if (t.errors.length === 0 && r.requestErrors.length > 0 && t.status === 'error')
      return { ...t, errors: r.requestErrors };
    return t;
  }

  /**
   * Polls any earlier task until it settles or the wait runs out: getResponse,
   * and getTaskDetails where getResponse does not know the UUID (sync tasks).
   * A transient failure of a task this process submitted is retried as a new task.
   * The outcome is recorded here, for a task of any process the ledger knows.
   */
  async poll(taskUUID: string, req: PollRequest): Promise<PollState & { attempts?: Attempt[]; overrun?: Overrun }> {
    const read = this.rules.getResponse(taskUUID);
    const deadline = Date.now() + Math.max(0, req.waitMs);
    const known = this.submitted.get(read.taskUUID);
    const taskType = known?.taskType ?? req.taskType;
    const expectedMs = req.expectedMs ?? (known ? await this.typicalMs(known) : undefined);
    const followed = await this.follow(
      read.taskUUID,
      known,
      deadline,
      req.numberResults ?? (known ? expectedResults(known) : 1),
      req.signal,
      req.onProgress,
      req.startedAt,
      expectedMs,
      req.onResult &&
        resultsOf({ taskUUID: read.taskUUID, ...(taskType ? { taskType } : {}) }, oncePerResult(req.onResult)),
      taskType,
    );
    // A poll that saw the task running and then done brackets its run time; so does one aimed at the learned time. A late poll says nothing.
    if (
      known &&
      (followed.runningAtAge !== undefined ||
        (expectedMs !== undefined && (followed.doneAtAge ?? Infinity) <= expectedMs * 1.2))
    )
      this.learnFromFollow(known, followed);
    const { doneAtAge: _done, runningAtAge: _running, ...st } = followed;
    const transient =
      st.status === 'error' && st.results.length === 0 && st.errors.length > 0 && st.errors.every((e) => e.retryable);
    if (!transient || !known || Date.now() >= deadline) {
      // A poll knows no attempts of its own: the ledger keeps the lineage it recorded.
      const over =
        this.journal && st.status !== 'unknown'
          ? (
              await this.journal.recordOutcome(
                known ? ledgerTask(known) : undefined,
                outcomeRecord({ taskUUID: st.taskUUID, status: st.status, results: st.results, errors: st.errors }),
                req.call,
              )
            ).overrun
          : undefined;
      return over ? { ...st, overrun: over } : st;
    }
    const s = newSlot(0, this.rules.withFreshUuid(known), true);
    s.attempts.push({ taskUUID: read.taskUUID, outcome: st.errors.map((e) => e.code).join(', ') });
    this.log.warn(
      `task ${read.taskUUID} failed transiently (${st.errors[0]!.code}); retrying as a new task under ${s.task.taskUUID}`,
    );
    await this.drive(s, {
      deadline,
      requestErrors: [],
      admitted: new Set(),
      ...(req.signal ? { signal: req.signal } : {}),
      ...(req.onProgress ? { onProgress: req.onProgress } : {}),
    });
    const o = this.toOutcome(s);
    const over = this.journal
      ? (await this.journal.recordOutcome(ledgerTask(s.task), outcomeRecord(o), req.call)).overrun
      : undefined;
    return {
      ...(over ? { overrun: over } : {}),
      ...st,
      taskUUID: o.taskUUID,
      status: o.status === 'unknown' ? 'unknown' : o.status,
      results: o.results,
      errors: o.errors,
      progress: o.status === 'success' ? 100 : st.progress,
      attempts: o.attempts,
    };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private remember(t: Task): void {
    if (isRead(t)) return;
    this.submitted.set(t.taskUUID, t);
    if (this.submitted.size > LINEAGE_KEEP) this.submitted.delete(this.submitted.keys().next().value as string);
    this.clockFor(t.taskUUID);
  }

  /** A task's poll clock, made on first sight (sent now, or at `startedAt` by the journal's word). */
  private clockFor(uuid: string, startedAt = Date.now()): { startedAt: number; lastPolledAt?: number } {
    let clock = this.pollClock.get(uuid);
    if (!clock) {
      clock = { startedAt };
      this.pollClock.set(uuid, clock);
      if (this.pollClock.size > LINEAGE_KEEP) this.pollClock.delete(this.pollClock.keys().next().value as string);
    }
    return clock;
  }

  /**
   * The first send is shared by a chunk; after it, each task recovers on its
   * own. A failure of one task's machinery never takes the others' results
   * with it; only the caller's cancellation ends them all.
   */
  private async runChunk(slots: Slot[], ctx: DriveContext): Promise<void> {
    try {
      await this.send(slots, ctx);
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      for (const s of slots) this.apply(s, this.failureVerdict(e));
    }
    await Promise.all(
      slots.map(async (s) => {
        try {
          await this.drive(s, ctx);
        } catch (e) {
          if (e instanceof CancelledError) throw e;
          this.log.error(`recovering task ${s.task.taskUUID} failed: ${String((e as Error)?.message ?? e)}`);
          this.apply(s, this.failureVerdict(e));
          if (s.phase !== 'done') giveUp(s, 'an internal error');
        }
      }),
    );
  }

  /** An exception as a verdict: an upstream refusal is request-level; anything else leaves it unknown whether the task ran. */
  private failureVerdict(e: unknown): Verdict {
    if (e instanceof UpstreamError && !e.retryable)
      return {
        kind: 'requestError',
        errors: [{ code: e.code ?? 'upstreamError', message: e.message, category: e.opts.category, retryable: false }],
      };
    return { kind: 'unknown', why: `an internal error (${String((e as Error)?.message ?? e).slice(0, 120)})` };
  }

  /** Runs one task's state machine until it is done. */
  private async drive(s: Slot, ctx: DriveContext): Promise<void> {
    while (s.phase !== 'done') {
      if (ctx.signal?.aborted) throw new CancelledError();
      if (Date.now() >= ctx.deadline) {
        giveUp(s, 'the deadline passed');
        break;
      }
      switch (s.phase) {
        case 'send':
        case 'resend': {
          if (s.phase === 'resend' && this.resendUnknown === 'never') {
            giveUp(s, 'RUNWARE_RESEND_UNKNOWN=never: a task whose fate is unknown is not resent');
            break;
          }
          if (s.sends >= this.retry.maxAttempts) {
            giveUp(s, `${s.sends} attempts`);
            break;
          }
          if (
            s.phase === 'send' &&
            s.sends > 0 &&
            !(await this.pause(s, retryDelay(s.sends, this.retry, s.retryAfterMs), ctx))
          )
            break;
          delete s.retryAfterMs;
          await this.send([s], ctx);
          break;
        }
        case 'check': {
          const wait =
            s.notFound > 0
              ? this.settle.nextDelay(s, Date.now())
              : s.checkFailures > 0
                ? retryDelay(s.checkFailures + 1, this.retry)
                : 0;
          if (wait > 0 && !(await this.pause(s, wait, ctx))) break;
          await this.check(s, ctx);
          break;
        }
        case 'follow': {
          try {
            const st = await this.follow(
              s.task.taskUUID,
              s.task,
              ctx.deadline,
              expectedResults(s.task),
              ctx.signal,
              ctx.onProgress,
              undefined,
              await this.typicalMs(s.task),
              ctx.onResult && resultsOf(s.task, ctx.onResult),
            );
            this.learnFromFollow(s.task, st);
            this.apply(s, followVerdict(st));
          } catch (e) {
            if (!(e instanceof UpstreamError)) throw e;
            // The task landed; a refused poll must not lose it.
            this.apply(s, { kind: 'processing', progress: 0, items: [] });
            s.outcome!.note = `The task was accepted, but polling it failed (${e.message}); poll taskUUID ${s.task.taskUUID} later.`;
          }
          break;
        }
      }
    }
  }

  /** Waits `ms` unless that runs past the deadline (then gives up); false when it gave up. */
  private async pause(s: Slot, ms: number, ctx: DriveContext): Promise<boolean> {
    if (Date.now() + ms >= ctx.deadline) {
      giveUp(s, 'no time left for another try');
      return false;
    }
    await sleep(ms, ctx.signal);
    return true;
  }

  private apply(s: Slot, v: Verdict): void {
    const line = transition(s, v, (t) => this.rules.withFreshUuid(t), this.settle);
    if (line) this.log.info(line, { taskUUID: s.task.taskUUID });
  }

  private timeLeft(ctx: DriveContext, cap: number): number {
    return Math.max(1, Math.min(cap, ctx.deadline - Date.now()));
  }

  /** Sends the slots' tasks as one request and applies the verdict to each. */
  private async send(all: Slot[], ctx: DriveContext): Promise<void> {
    const slots: Slot[] = [];
    for (const s of all) {
      // A retry under a fresh UUID is a new billable task: claimed and reserved like the first.
      if (this.journal && !ctx.admitted.has(s.task.taskUUID)) {
        const previous = s.attempts.at(-1)?.taskUUID ?? s.task.taskUUID;
        ctx.admitted.add(s.task.taskUUID);
        const refusal = await this.journal.admitRetry(ledgerTask(s.task), previous, ctx.quotes?.get(s.index));
        if (refusal) {
          this.apply(s, { kind: 'requestError', errors: [{ ...refusal, category: 'quota', retryable: false }] });
          continue;
        }
      }
      slots.push(s);
    }
    if (slots.length === 0) return;
    for (const s of slots) {
      s.sends++;
      s.sentUuids.set(s.task.taskUUID, (s.sentUuids.get(s.task.taskUUID) ?? 0) + 1);
      this.remember(s.task);
    }
    let reply: TransportReply;
    // A sync wait keeps back enough of the budget to look the task up if it outlives it (delivery.ts).
    const sync = slots.some((s) => waitsOnRequest(s.task));
    // Set when the permit is held: time queued behind other calls is not the model's run time.
    let sentAt = Date.now();
    const ticker =
      sync && ctx.onProgress && slots.length === 1
        ? syncProgress(await this.typicalMs(slots[0]!.task), ctx.onProgress)
        : undefined;
    try {
      reply = await this.permitted(
        slots.length,
        () => {
          sentAt = Date.now();
          return this.transport.send(
            slots.map((s) => s.task),
            {
              timeoutMs: sync
                ? Math.min(this.sendTimeoutMs, syncWaitMs(ctx.deadline - Date.now(), this.readTimeoutMs))
                : this.timeLeft(ctx, this.sendTimeoutMs),
              ...(ctx.signal ? { signal: ctx.signal } : {}),
              // A WebSocket hands each frame's results over as they come (a batch's first before its last).
              ...(sync && ctx.onResult && slots.length === 1
                ? { onItem: resultsOf(slots[0]!.task, ctx.onResult) }
                : {}),
            },
          );
        },
        ctx,
      );
    } catch (e) {
      ticker?.stop(false);
      if (!(e instanceof NetworkError)) throw e;
      this.log.warn(`network error on send: ${e.message}`, { sent: e.sent });
      for (const s of slots) {
        s.lastErrors = [
          {
            code: 'connectionError',
            message: e.message,
            category: 'connection',
            retryable: true,
            taskUUID: s.task.taskUUID,
          },
        ];
        this.apply(
          s,
          e.sent
            ? { kind: 'unknown', why: `network error ${e.causeCode ?? ''}`.trim() }
            : { kind: 'notRun', why: `could not connect (${e.causeCode ?? 'network'})`, errors: s.lastErrors },
        );
      }
      return;
    }
    ticker?.stop(false);
    const env = parseEnvelope(reply.body);
    for (const e of env.errors)
      if (!e.taskUUID && !ctx.requestErrors.some((r) => r.code === e.code && r.message === e.message))
        ctx.requestErrors.push(e);
    if (reply.status === 401 || reply.status === 403) {
      // A refused key refuses every task alike; nothing ran.
      for (const s of slots)
        this.apply(s, {
          kind: 'requestError',
          errors: env.errors.length
            ? env.errors.map((e) => ({ ...e, category: 'auth' as const, retryable: false }))
            : [
                {
                  code: 'unauthorized',
                  message: `Runware answered HTTP ${reply.status}.`,
                  category: 'auth',
                  retryable: false,
                },
              ],
        });
      return;
    }
    for (const s of slots) this.apply(s, judgeReply(s.task, reply, slots.length));
    if (slots[0]!.outcome?.status === 'success') ticker?.stop(true);
    // A sync answer is the run time itself (queue included), the best thing to learn from.
    // Only work that has a delivery to choose (not searches, uploads, account reads).
    for (const s of slots)
      if (s.task.deliveryMethod === 'sync' && s.outcome?.status === 'success')
        this.journal?.durations.learn(durationKey(s.task), Date.now() - sentAt);
  }

  /**
   * Runs `fn` under `n` request permits, waiting for them no longer than the call's deadline: a
   * sync wait holds its permit until the result, so a call queued behind such waits ends in time,
   * its task not sent (NetworkError, not sent), rather than sending it after its deadline.
   */
  private async permitted<T>(n: number, fn: () => Promise<T>, ctx: DriveContext): Promise<T> {
    const l = this.limiter;
    // Free permits are granted at once: no timer on the common path.
    if (l instanceof FairLimiter && l.waiting === 0 && l.capacity - l.inFlight >= Math.min(n, l.capacity))
      return l.run(n, fn, ctx.signal);
    const wait = deadline(ctx.signal, ctx.deadline - Date.now());
    try {
      return await l.run(
        n,
        () => {
          wait.done();
          return fn();
        },
        wait.signal,
      );
    } catch (e) {
      if (e instanceof CancelledError && wait.expired && !ctx.signal?.aborted)
        throw new NetworkError(
          `No request slot came free before the call's deadline (${l.capacity} requests in flight); the task was not sent.`,
          false,
          'QUEUED',
        );
      throw e;
    } finally {
      wait.done();
    }
  }

  /** The learned run time of a task's model, if any (never a gate: no journal, no answer). */
  private async typicalMs(t: Task): Promise<number | undefined> {
    if (!this.journal || isRead(t)) return undefined;
    return this.journal.durations.typical(durationKey(t));
  }

  /** Learns a run time from a follow that saw the task finish. */
  private learnFromFollow(t: Task, st: PollState): void {
    if (!this.journal || st.status !== 'success' || st.doneAtAge === undefined) return;
    this.journal.durations.learn(durationKey(t), observedAsyncMs(st.doneAtAge, st.runningAtAge));
  }

  /** Landing check: asks getTaskDetails what became of the slot's UUID. */
  private async check(s: Slot, ctx: DriveContext): Promise<void> {
    const read = this.rules.getTaskDetails(s.task.taskUUID);
    let v: Verdict;
    try {
      const reply = await this.readSend([read], {
        timeoutMs: this.timeLeft(ctx, this.readTimeoutMs),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      if (reply.status === 401 || reply.status === 403)
        throw new UpstreamError('Runware refused the key during a landing check.', {
          status: reply.status,
          code: 'unauthorized',
          category: 'auth',
          retryable: false,
        });
      v = judgeDetails(s.task, reply);
    } catch (e) {
      if (!(e instanceof NetworkError || e instanceof UpstreamError)) throw e;
      v = { kind: 'noAnswer', why: e instanceof NetworkError ? (e.causeCode ?? 'network error') : e.message };
    }
    this.apply(s, v);
  }

  /**
   * Reads a task's current state as a getResponse-style envelope. getResponse
   * first for async work; where it does not know the UUID (or for sync work),
   * getTaskDetails. `unknown` is true when neither knows it.
   */
  /**
   * A getResponse or getTaskDetails, through the read permits, all within `timeoutMs`: the wait
   * for a permit (a slow read may hold one for its whole timeout) counts, so a read queued
   * behind others ends in time, unsent (NetworkError, not sent), instead of after its caller's wait.
   */
  private async readSend(
    tasks: Task[],
    opts: { timeoutMs: number; signal?: AbortSignal; dryRun?: boolean },
  ): Promise<TransportReply> {
    const r = this.reads;
    // A free permit is granted at once: no timer on the common path.
    if (r.waiting === 0 && r.inFlight < r.capacity)
      return r.run(1, () => this.transport.send(tasks, opts), opts.signal);
    const queued = Date.now();
    const wait = deadline(opts.signal, opts.timeoutMs);
    try {
      return await r.run(
        1,
        () => {
          wait.done();
          return this.transport.send(tasks, {
            ...opts,
            timeoutMs: Math.max(1, opts.timeoutMs - (Date.now() - queued)),
          });
        },
        wait.signal,
      );
    } catch (e) {
      if (e instanceof CancelledError && wait.expired && !opts.signal?.aborted)
        throw new NetworkError('No read slot came free in time (reads in flight); nothing was sent.', false, 'QUEUED');
      throw e;
    } finally {
      wait.done();
    }
  }

  private async read(
    uuid: string,
    task: Task | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<Envelope & { unknown?: boolean }> {
    const opts = { timeoutMs, ...(signal ? { signal } : {}) };
    const tryGetResponse = !task || task.deliveryMethod === 'async';
    if (tryGetResponse) {
      const reply = await this.readSend([this.rules.getResponse(uuid)], opts);
      this.throwIfRefused(reply, 'getResponse');
      if (reply.status !== 404) {
        const env = parseEnvelope(reply.body);
        const mine = {
          data: env.data.filter((d) => d.taskUUID === uuid),
          errors: env.errors.filter((e) => e.taskUUID === uuid),
        };
        const notFound = mine.errors.length > 0 && mine.errors.every((e) => e.category === 'notFound');
        if (mine.data.length > 0 || (mine.errors.length > 0 && !notFound)) return mine;
        // Nothing about the task: an error that names no task makes this poll a failed one, never the task's failure.
        if (mine.errors.length === 0) this.throwIfRequestLevel(env, 'getResponse');
      }
    }
    const reply = await this.readSend([this.rules.getTaskDetails(uuid)], opts);
    this.throwIfRefused(reply, 'getTaskDetails');
    const stub = task ?? ({ taskType: 'unknown', taskUUID: uuid } as Task);
    const v = judgeDetails(stub, reply);
    switch (v.kind) {
      case 'notFound':
        return { data: [], errors: [], unknown: true };
      case 'noAnswer':
        throw new UpstreamError(`getTaskDetails gave no answer (${v.why}).`, {
          category: 'serverError',
          retryable: true,
        });
      case 'running':
        return { data: [{ taskUUID: uuid, status: 'processing' }], errors: [] };
      default: {
        const data = parseEnvelope(reply.body).data;
        const item = data.find((d) => d.taskUUID === uuid) ?? data.find((d) => d.taskUUID === undefined);
        const inner = detailsEnvelope(item?.response, uuid);
        // Sync results carry no status; mark them finished so polls accumulate them.
        return {
          data: inner.data.map((d) => (d.status === undefined ? { ...d, status: 'success' } : d)),
          errors: inner.errors,
        };
      }
    }
  }

  /** An error that names no task is about the request, never the task: transient ones are retried as a failed poll. */
  private throwIfRequestLevel(env: Envelope, what: string): void {
    const e = env.errors.find((x) => x.taskUUID === undefined);
    if (!e) return;
    throw new UpstreamError(`Runware answered ${what} with a request-level error: ${e.code}: ${e.message}`, {
      code: e.code,
      category: e.category,
      retryable: e.retryable || e.category === 'serverError' || e.category === 'unknown',
    });
  }

  private throwIfRefused(reply: TransportReply, what: string): void {
    if (reply.status === 401 || reply.status === 403) {
      const e = parseEnvelope(reply.body).errors[0];
      throw new UpstreamError(`Runware refused the key: ${e?.message ?? `HTTP ${reply.status}`}`, {
        status: reply.status,
        code: e?.code ?? 'unauthorized',
        category: 'auth',
        retryable: false,
      });
    }
    if (reply.status === 429 || reply.status >= 500 || reply.status === 408) {
      throw new UpstreamError(`Runware answered HTTP ${reply.status} to ${what}.`, {
        status: reply.status,
        category: 'serverError',
        retryable: true,
      });
    }
  }

  /** Polls a task until it settles or the deadline; every poll is capped by the time left. */
  private follow(
    uuid: string,
    task: Task | undefined,
    deadline: number,
    numberResults: number,
    signal?: AbortSignal,
    onProgress?: (p: Progress) => void,
    startedAt?: number,
    expectedMs?: number,
    onResult?: OnResult,
    /** The type results are matched by, when `task` is another process's (PollRequest.taskType). */
    taskType = task?.taskType,
  ): Promise<PollState> {
    const c = this.clockFor(uuid, startedAt);
    return pollTask((sig, timeoutMs) => this.read(uuid, task, sig, timeoutMs), uuid, {
      startedAt: c.startedAt,
      ...(c.lastPolledAt !== undefined ? { lastPolledAt: c.lastPolledAt } : {}),
      onPolled: (at: number) => (c.lastPolledAt = at),
      ...(taskType ? { taskType } : {}),
      waitMs: Math.max(0, deadline - Date.now()),
      schedule: this.schedule,
      numberResults,
      readTimeoutMs: this.readTimeoutMs,
      ...(expectedMs !== undefined ? { expectedMs } : {}),
      onTransient: (e) =>
        this.log.warn(`poll of ${uuid} failed transiently; polling again`, { error: String((e as Error).message) }),
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(onResult ? { onResult } : {}),
    });
  }

  private toOutcome(s: Slot): TaskOutcome {
    const o = s.outcome ?? { taskUUID: s.task.taskUUID, status: 'error' as const, results: [], errors: s.lastErrors };
    return { index: s.index, taskType: s.task.taskType, attempts: s.attempts, ...o };
  }
}

interface DriveContext {
  deadline: number;
  /** UUIDs the journal has admitted in this call (the first sends); any other is a retry to admit. */
  admitted: Set<string>;
  /** Each task's quote, by its index: a retry under a fresh UUID is reserved the same. */
  quotes?: Map<number, Quote>;
  requestErrors: ApiErrorItem[];
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The single task's results as they come, each once (oncePerResult). */
  onResult?: OnResult;
}

/** A finished (or timed-out) follow as a verdict. */
function followVerdict(st: PollState): Verdict {
  if (st.status === 'success') return { kind: 'result', items: st.results };
  if (st.status === 'partial') return { kind: 'result', items: st.results, errors: st.errors, partial: true };
  if (st.status === 'error')
    return {
      kind: 'taskError',
      errors: st.errors,
      transient: st.errors.length > 0 && st.errors.every((e) => e.retryable),
    };
  return { kind: 'processing', progress: st.progress, items: st.results };
}

/** The taskUUIDs the caller supplied (not the ones the rules made), which must never have been used anywhere. */
function callerUuids(input: unknown): string[] {
  const list = Array.isArray(input) ? input : [input];
  return list.flatMap((t) =>
    t &&
    typeof t === 'object' &&
    typeof (t as Record<string, unknown>).taskUUID === 'string' &&
    !isReadType(String((t as Record<string, unknown>).taskType))
      ? [String((t as Record<string, unknown>).taskUUID).toLowerCase()]
      : [],
  );
}
