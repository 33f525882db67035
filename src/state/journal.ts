/**
 * The task ledger (ledger.ts) over a store: every taskUUID claimed across
 * processes before it is sent, spend reserved against the daily cap before a
 * billable task goes out and settled with the real cost after, and one journal
 * record per task. The store is opened on first use.
 */
import { createHash } from 'node:crypto';
import {
  callFields,
  type CallRecord,
  type ClientLedger,
  type DryRunMode,
  type LedgerTask,
  type OutcomeRecord,
  type Recorded,
  type RetryRefusal,
  type TaskQuote,
} from './ledger.js';
import { ConfigError, PolicyError, SpendError, type AppError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { scrubber } from '../shared/redact.js';
import { next, step } from '../shared/next-step.js';
import { afterRequestWritten } from '../shared/time.js';
import { randomUUID } from 'node:crypto';
import { lineageUuids, type JournalStatus, type Overrun, type StateStore, type TaskRecord } from './types.js';
import { Durations } from './durations.js';

const DRY_RUN_FACT = 'dryRun.mode';
const DRY_RUN_FACT_TTL_MS = 24 * 3_600_000;

/**
 * How long a writer of a task record (an outcome, saved paths) keeps reading, building and writing
 * over the very text it read while other writers change it. No round count ends it, and no write is
 * ever made regardless: an unconditional write drops what another writer recorded in between (its
 * saved files, a delivered status, a settled cost). Unbounded rounds end on their own: a compare
 * fails only because another call's write landed, and each call writes once and is done, so a writer
 * collides at most once per write made during its life. The deadline bounds only a record rewritten
 * without pause (a store at fault); past it nothing is written over the record and the caller is
 * told (recordOutcome's note, recordSaves' warning). A merge inside the store would do without it,
 * but would have to be written twice, once in Lua, whose cjson does not carry a record faithfully
 * (empty arrays come back as objects, lone surrogates are refused, numbers are cut to 14 digits).
 */
const WRITE_DEADLINE_MS = 10_000;

/** The longest pause between rounds: with no round limit a pause only spreads writers out, and a longer one only spends the deadline. */
const PAUSE_MAX_MS = 1000;

/**
 * A random pause before the next round, up to 2, 4, 8, 16 times what the round took (at least a
 * millisecond, at most PAUSE_MAX_MS), never past the deadline: writers that collided spread out
 * instead of colliding again, however slow the store. False when the deadline has passed (no round is left).
 */
const backoff = (round: number, startedAt: number, deadline: number): Promise<boolean> => {
  const left = deadline - Date.now();
  if (left <= 0) return Promise.resolve(false);
  const spread = Math.random() * Math.max(1, Date.now() - startedAt) * 2 ** Math.min(round, 4);
  const pause = Math.min(left, PAUSE_MAX_MS, spread);
  // Not unref'd: a short-lived process (the CLI) must not exit in the pause with its write undone.
  return new Promise((r) => setTimeout(() => r(true), pause));
};

/** A task that delivered its results does not go back to running, or fail, under the same UUID. */
const DELIVERED: ReadonlySet<string> = new Set(['success', 'partial']);

/** Lineages kept in memory; older ones are read from the store. */
const RECENT = 10_000;

export const utcDay = (t = Date.now()): string => new Date(t).toISOString().slice(0, 10);
/** When the UTC day of `t` ends, for "the cap resets at ...". */
export const dayEnds = (t = Date.now()): string => `${utcDay(t)}T23:59:59Z`;

export type { TaskQuote } from './ledger.js';
const money = (n: number): string => `$${n.toFixed(4).replace(/0{1,2}$/, '')}`;

/** Long strings that carry media (data URIs, base64) become their size and hash; secrets are scrubbed. */
export function scrubRequest(v: unknown): unknown {
  if (typeof v === 'string') {
    if (v.length > 512 && (v.startsWith('data:') || /^[A-Za-z0-9+/=\s]+$/.test(v.slice(0, 512))))
      return `[media: ${v.length} chars, sha256 ${createHash('sha256').update(v).digest('hex').slice(0, 16)}]`;
    return scrubber.text(v);
  }
  if (Array.isArray(v)) return v.map(scrubRequest);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubRequest(x)]));
  return v;
}

export interface JournalOptions {
  /** Opens the store; called once, on first need. Throws an AppError when it cannot. */
  open: () => Promise<StateStore>;
  logger: Logger;
  /** USD per UTC day; undefined = no cap. */
  maxSpendUsd: number | undefined;
  /** Called once the store is open (the in-memory UUID registry can then be bounded). */
  onOpen?: () => void;
  /**
   * Shared state (Redis): no task goes out that the store has not claimed and
   * recorded, cap or no cap, since other instances rely on the record.
   */
  strict?: boolean;
  /** Backoff between attempts to open a store that failed: first, doubling to max (default 500 ms to 30 s). */
  reopenMs?: { first: number; max: number };
  /**
   * How long a sender's lease on its reservations lasts unrenewed, plus the
   * settle window: a reservation whose holder stopped renewing this long ago
   * may be released (see docs/recovery.md). Default 90 s.
   */
  leaseMs?: number;
  /** How long a writer of one task record keeps trying while others change it (default 10 s; see WRITE_DEADLINE_MS). */
  writeDeadlineMs?: number;
}

/** Why the store is down, since when, and when it is tried again. */
interface Down {
  error: AppError;
  since: number;
  retryAt: number;
  failures: number;
}

/** A record this process wrote: its first UUID, its current one, every UUID it answers to. */
export interface JournalChange {
  root: string;
  taskUUID: string;
  uuids: string[];
  status: JournalStatus;
}

const capMessage = (cap: number, spent: number, wanted: number, how: string): string =>
  `the daily spend cap RUNWARE_MAX_SPEND_USD=${money(cap)} would be passed: ${money(spent)} is spent or reserved today (UTC), and this task would cost up to ${money(wanted)} (${how})`;
const capHint = (): string =>
  `Nothing was sent. The cap resets at ${dayEnds()} (UTC midnight); reads (polling a task, model search, the account) still work. Raise RUNWARE_MAX_SPEND_USD to allow more.`;
/** The refusal of a task the cap cannot take: the setting that refused it is its field. */
export const capError = (cap: number, spent: number, wanted: number, how: string): SpendError =>
  new SpendError('RUNWARE_MAX_SPEND_USD', 'spend_cap', capMessage(cap, spent, wanted, how), capHint(), {
    quoteUsd: wanted,
    spentTodayUsd: Math.round(spent * 1e6) / 1e6,
    capUsd: cap,
  });
/** Without a quote (a journal used on its own): a dollar per result, so the cap still holds. */
const UNQUOTED_USD = 1;

export class Journal implements ClientLedger {
  private store: Promise<StateStore> | undefined;
  /** Set while the store cannot be used: open failed, a write failed, or the file was replaced or made unwritable. */
  private down: Down | undefined;
  /** First UUID of each lineage this process is following, by current UUID (bounded: the store has them all). */
  private readonly roots = new Map<string, string>();
  private readonly created = new Map<string, string>();

  /** Keeps the in-memory lineage maps to the most recent tasks: they only save a store read. */
  private remember(map: Map<string, string>, k: string, v: string): void {
    map.delete(k);
    map.set(k, v);
    if (map.size > RECENT) map.delete(map.keys().next().value as string);
  }
  /** Spend this process has settled, for "this session". */
  private sessionSpend = 0;
  private readonly listeners = new Set<(change: JournalChange) => void>();

  /** Told of every record this process writes (front-ends turn it into resource notifications). Returns the unsubscribe. */
  onChange(listener: (change: JournalChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(root: string, r: TaskRecord): void {
    if (!this.listeners.size) return;
    const change: JournalChange = { root, taskUUID: r.taskUUID, uuids: lineageUuids(root, r), status: r.status };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  constructor(private readonly opts: JournalOptions) {}

  /** Learned run times per model, in the same store (durations.ts). */
  readonly durations = new Durations(() => this.state());

  get cap(): number | undefined {
    return this.opts.maxSpendUsd;
  }

  get spentThisSession(): number {
    return Math.round(this.sessionSpend * 1e6) / 1e6;
  }

  /**
   * The store, or the error that keeps it closed. A failure is not for the
   * life of the process: the store is tried again after a backoff (doubling),
   * and meanwhile every caller is told why.
   */
  async state(): Promise<StateStore> {
    if (this.down && Date.now() < this.down.retryAt) throw this.downError();
    if (!this.store) {
      const opening = this.opts.open().then(
        (st) => {
          this.opts.onOpen?.();
          this.healthy();
          return st;
        },
        (e: unknown) => {
          if (this.store === opening) this.store = undefined;
          this.failed(e, true);
          throw this.downError();
        },
      );
      this.store = opening;
    }
    return this.store;
  }

  /** Why the journal is down, in one line, or undefined while it works. */
  get unavailable(): string | undefined {
    return this.down
      ? `the task journal is unavailable since ${new Date(this.down.since).toISOString()}: ${this.down.error.message}`
      : undefined;
  }

  /** The line every result carries while its task could not be recorded. */
  unrecordedNote(): string {
    return `Not recorded in the task journal (${this.down ? this.down.error.message.replace(/\.$/, '') : 'a write failed'}): a restart cannot find this task, so keep its taskUUID.`;
  }

  private downError(): AppError {
    const d = this.down!;
    const wait = Math.max(0, Math.ceil((d.retryAt - Date.now()) / 1000));
    return new ConfigError(
      `${d.error.message.replace(/\.$/, '')} (unavailable since ${new Date(d.since).toISOString()}; tried again in ${wait} s).`,
      d.error.hint ?? 'Check RUNWARE_STATE_DIR.',
    );
  }

  /** A failure of the store: down until the backoff passes; a store that was replaced or turned unwritable is dropped and opened anew. */
  private failed(e: unknown, opening = false): void {
    // Shared state (Redis) reconnects on its own and refuses while it cannot: a failed operation there is its own error, not a backoff.
    if (this.opts.strict && !opening) return;
    const error =
      e instanceof Error && 'kind' in e
        ? (e as AppError)
        : new ConfigError(
            `The task journal failed: ${String((e as Error)?.message ?? e)}.`,
            'Check RUNWARE_STATE_DIR.',
          );
    const { first, max } = this.opts.reopenMs ?? { first: 500, max: 30_000 };
    const failures = (this.down?.failures ?? 0) + 1;
    if (!this.down)
      this.opts.logger.warn(
        `task journal unavailable: ${error.message} Tasks are not recorded until it is back; retrying.`,
      );
    // A file replaced or deleted under us is reopened at once (the new one is there); anything else waits its backoff.
    const now = Date.now();
    const retryAt =
      (e as { why?: string })?.why === 'replaced' ? now : now + Math.min(max, first * 2 ** (failures - 1));
    this.down = { error, since: this.down?.since ?? now, retryAt, failures };
    if ((e as { reopen?: boolean })?.reopen === true && this.store) {
      const old = this.store;
      this.store = undefined;
      void old.then((st) => st.close()).catch(() => undefined);
    }
  }

  private healthy(): void {
    if (!this.down) return;
    this.opts.logger.warn(`task journal available again after ${Math.round((Date.now() - this.down.since) / 1000)} s`);
    this.down = undefined;
  }

  /**
   * While the journal is down: a task goes out unrecorded only when nothing
   * depends on the record. Refused instead (PolicyError): shared state (strict),
   * a caller's own taskUUID (it cannot be checked against every earlier use),
   * and billable work under a cap (it cannot be reserved).
   */
  private admitUnrecorded(tasks: LedgerTask[], callerUuids: string[], e: unknown): false {
    if (this.opts.strict) throw e;
    const why = (e as Error).message;
    if (callerUuids.length > 0) {
      const i = Math.max(
        0,
        tasks.findIndex((t) => callerUuids.includes(t.taskUUID.toLowerCase())),
      );
      throw new PolicyError(
        `tasks[${i}].taskUUID`,
        `a caller's own taskUUID cannot be checked against every earlier use while ${this.unavailable ?? `the task journal is unavailable (${why})`}`,
        'Omit taskUUID and the server assigns a fresh one, which needs no check; nothing was sent.',
      );
    }
    // Without state, a cap cannot be kept: refuse billable work rather than overspend.
    if (this.cap !== undefined && tasks.some((t) => t.billable)) {
      throw new PolicyError(
        'tasks',
        `RUNWARE_MAX_SPEND_USD is set, but the spend ledger is unavailable (${why})`,
        (e as AppError).hint ?? 'Fix RUNWARE_STATE_DIR.',
      );
    }
    return false;
  }

  /**
   * Before the first send: claims every UUID across processes (refusing a
   * caller's reused one), reserves each billable task's estimate against the
   * cap, and writes a `submitted` record. Throws PolicyError, having claimed
   * and reserved nothing, when a task must not go out. False when the tasks
   * may go out unrecorded (the journal is down; see admitUnrecorded).
   */
  async admit(
    tasks: LedgerTask[],
    callerUuids: string[],
    extra: { call?: CallRecord; quotes?: ReadonlyMap<string, TaskQuote> } = {},
  ): Promise<boolean> {
    let store: StateStore;
    try {
      store = await this.state();
    } catch (e) {
      return this.admitUnrecorded(tasks, callerUuids, e);
    }
    const day = utcDay();
    const reservations: Array<{ uuid: string } & ReturnType<Journal['estimate']>> = [];
    const now = new Date().toISOString();
    const journaled = tasks.filter((t) => t.kept);
    const { saveTo } = callFields(extra.call);
    // One atomic step: nothing is claimed, reserved or written unless every task may go.
    const records = journaled.map((t) => ({
      root: t.taskUUID,
      record: this.toRecord(
        t,
        { taskUUID: t.taskUUID, status: 'submitted', outputs: [], costKnown: false, errors: [], attempts: [] },
        now,
        saveTo,
        extra.quotes?.get(t.taskUUID),
      ),
    }));
    let r: Awaited<ReturnType<StateStore['admit']>> | undefined;
    for (let attempt = 0; !r; attempt++) {
      try {
        reservations.length = 0;
        for (const t of tasks)
          if (t.billable) reservations.push({ uuid: t.taskUUID, ...this.estimate(t, extra.quotes?.get(t.taskUUID)) });
        if (reservations.length) this.holdLease(store);
        r = await store.admit({
          uuids: tasks.map((t) => t.taskUUID),
          callerUuids,
          day,
          cap: this.cap,
          reservations,
          records,
        });
      } catch (e) {
        // The store failed under us (locked, replaced, unwritable): as if it could not be opened.
        this.failed(e);
        // A replaced file is reopened at once and the step done there; anything else goes out unrecorded or not at all.
        const retry =
          attempt === 0 && (e as { why?: string })?.why === 'replaced'
            ? await this.state().catch(() => undefined)
            : undefined;
        if (!retry) return this.admitUnrecorded(tasks, callerUuids, this.down ? this.downError() : e);
        store = retry;
      }
    }
    this.healthy();
    if (!r.ok && 'taken' in r) {
      const i = tasks.findIndex((t) => t.taskUUID === r.taken);
      throw new PolicyError(
        `tasks[${i}].taskUUID`,
        `taskUUID ${r.taken} was already used (the journal at ${store.location} has it); every task needs a fresh UUID`,
        next('Omit taskUUID and the server assigns a fresh one; to fetch an earlier task use {step}.', step('poll')),
      );
    }
    if (!r.ok) {
      throw capError(r.cap, r.spentToday, r.wanted, reservations[r.refused]!.how);
    }
    for (const t of journaled) {
      this.remember(this.roots, t.taskUUID, t.taskUUID);
      this.remember(this.created, t.taskUUID, now);
    }
    for (const { root, record } of records) this.changed(root, record);
    return true;
  }

  /**
   * Whether admit() must finish before the tasks go out: a cost to reserve, a
   * record to write, a caller's UUID to check, or shared state (strict). Else
   * it only records server-made UUIDs, which no one else can know until the
   * result is returned, so it may run while the request is in flight.
   */
  mustAdmitFirst(tasks: LedgerTask[], callerUuids: string[]): boolean {
    return this.opts.strict === true || callerUuids.length > 0 || tasks.some((t) => t.billable || t.kept);
  }

  /**
   * admit() for tasks that need not wait for it (see mustAdmitFirst), begun
   * once the request is on the wire: two turns of the event loop, since the
   * HTTP client writes from an immediate. The caller awaits it before it
   * returns the result, so every UUID is recorded before anyone learns it.
   */
  async admitBehind(tasks: LedgerTask[]): Promise<void> {
    await afterRequestWritten();
    await this.admit(tasks, []).catch((e: unknown) =>
      this.opts.logger.warn(`taskUUIDs not recorded in the journal: ${(e as Error).message}`),
    );
  }

  /** Before a retry goes out under a fresh UUID: claims it and reserves again. An error item to fail it with, when it must not. */
  async admitRetry(task: LedgerTask, previous: string, quote?: TaskQuote): Promise<RetryRefusal | undefined> {
    const root = this.roots.get(previous) ?? previous;
    this.remember(this.roots, task.taskUUID, root);
    let store: StateStore;
    try {
      store = await this.state();
    } catch (e) {
      if (this.opts.strict)
        return {
          code: 'stateUnavailable',
          message: `The retry was not sent: ${(e as Error).message}`,
          taskUUID: task.taskUUID,
        };
      return this.cap !== undefined && task.billable
        ? {
            code: 'spendLedgerUnavailable',
            message: 'The retry was not sent: RUNWARE_MAX_SPEND_USD is set and the spend ledger is unavailable.',
            taskUUID: task.taskUUID,
          }
        : undefined;
    }
    try {
      await store.claimUuids([task.taskUUID], []);
      if (!task.billable) return undefined;
      const r = await this.reserve(store, task, quote);
      return r.ok
        ? undefined
        : { code: 'spendCapReached', message: `The retry was not sent: ${r.message}`, taskUUID: task.taskUUID };
    } catch (e) {
      // As when the ledger cannot be opened: with a cap, no unreserved retry goes out.
      this.failed(e);
      this.opts.logger.warn(`retry ${task.taskUUID} not journaled: ${(e as Error).message}`);
      if (this.opts.strict)
        return {
          code: 'stateUnavailable',
          message: `The retry was not sent: the shared state failed (${(e as Error).message}).`,
          taskUUID: task.taskUUID,
        };
      return this.cap !== undefined && task.billable
        ? {
            code: 'spendLedgerUnavailable',
            message: 'The retry was not sent: RUNWARE_MAX_SPEND_USD is set and the spend ledger failed.',
            taskUUID: task.taskUUID,
          }
        : undefined;
    }
  }

  /** What a task is reserved: its quote (src/runware/quote.ts), or without one a dollar a result. */
  private estimate(
    t: LedgerTask,
    q: TaskQuote | undefined,
  ): {
    amount: number;
    model?: string;
    numberResults: number;
    units?: number;
    source: string;
    holder: string;
    how: string;
  } {
    const n = t.numberResults;
    const model = t.model;
    const base = { ...(model ? { model } : {}), numberResults: n, holder: this.holder };
    if (q) return { ...base, amount: q.usd, units: q.units, source: q.source, how: q.how };
    return {
      ...base,
      amount: UNQUOTED_USD * n,
      source: 'ceiling',
      how: `no quote was made, so ${money(UNQUOTED_USD)} a result is reserved`,
    };
  }

  private async reserve(
    store: StateStore,
    t: LedgerTask,
    q?: TaskQuote,
  ): Promise<{ ok: true } | { ok: false; message: string; hint: string }> {
    const { amount, how, ...meta } = this.estimate(t, q);
    const r = await store.reserve(t.taskUUID, utcDay(), amount, this.cap, meta);
    return r.ok
      ? { ok: true }
      : { ok: false, message: capMessage(r.cap, r.spentToday, r.wanted, how), hint: capHint() };
  }

  /** This process's name on its reservations; its lease is renewed while it lives. */
  readonly holder = randomUUID();
  private heartbeat: NodeJS.Timeout | undefined;

  get leaseMs(): number {
    return this.opts.leaseMs ?? 90_000;
  }

  /** Starts renewing this process's lease (once): a process that dies stops, and its open reservations can be released. */
  private holdLease(store: StateStore): void {
    if (this.heartbeat) return;
    const renew = (): void =>
      void store
        .renewHolder(this.holder, this.leaseMs)
        .catch((e: unknown) => this.opts.logger.warn(`reservation lease not renewed: ${(e as Error).message}`));
    renew();
    this.heartbeat = setInterval(renew, Math.max(50, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }

  /** The most a model has been charged per reference unit, for quotes; undefined without a ledger. */
  async learnedPerUnit(model: string): Promise<number | undefined> {
    try {
      return await (await this.state()).maxPerUnit(model);
    } catch {
      return undefined;
    }
  }

  /**
   * Reserves for a task sent outside a call's admission (a dry-run probe):
   * claimed, reserved under the cap, no record. False when it must not go out.
   */
  async reserveAlone(t: LedgerTask, q: TaskQuote): Promise<boolean> {
    try {
      const store = await this.state();
      await store.claimUuids([t.taskUUID], []);
      this.holdLease(store);
      return (await this.reserve(store, t, q)).ok;
    } catch {
      return false;
    }
  }

  async settleAlone(t: LedgerTask, actual: number): Promise<void> {
    await (
      await this.state()
    )
      .settle(t.taskUUID, actual)
      .catch((e: unknown) => this.opts.logger.warn(`task ${t.taskUUID} not settled: ${(e as Error).message}`));
  }

  /** A charge no reservation covered (a dry run that ran after all): recorded at once, as an overrun of a 0 reservation. */
  async chargeUnplanned(t: LedgerTask, actual: number): Promise<void> {
    try {
      const store = await this.state();
      await store.claimUuids([t.taskUUID], []);
      await store.reserve(t.taskUUID, utcDay(), 0, undefined, {
        ...(t.model ? { model: t.model } : {}),
        numberResults: t.numberResults,
        source: 'dryRun',
      });
      await store.settle(t.taskUUID, actual);
    } catch (e) {
      this.opts.logger.warn(
        `an unplanned charge of ${money(actual)} for ${t.taskUUID} was not recorded: ${(e as Error).message}`,
      );
    }
  }

  /** Open reservations whose holder's lease (with its grace) has run out, made more than `windowMs` ago. */
  async staleReservations(windowMs: number): Promise<Array<{ uuid: string; day: string; reserved: number }>> {
    return (await this.state()).staleReservations(Date.now() - windowMs, 50);
  }

  async release(uuid: string): Promise<boolean> {
    return (await this.state()).release(uuid).catch(() => false);
  }

  /** Today's spend, pending reservations and overruns, for runware_account. */
  async overrunsToday(limit = 10): Promise<Overrun[]> {
    try {
      return await (await this.state()).overruns(utcDay(), limit);
    } catch {
      return [];
    }
  }

  /**
   * Before a price question: throws the cap's refusal when today's spend plus these tasks'
   * estimates already passes the cap, so nobody is asked to confirm a call the cap would refuse.
   * Only a forecast: admit() decides, atomically, after the answer.
   */
  async refuseOverCap(tasks: LedgerTask[], quotes?: Map<string, TaskQuote>): Promise<void> {
    if (this.cap === undefined) return;
    const billable = tasks.filter((t) => t.billable);
    if (billable.length === 0) return;
    const spent = await this.spentToday();
    if (spent === undefined) return;
    let total = spent;
    for (const t of billable) {
      const e = this.estimate(t, quotes?.get(t.taskUUID));
      if (total + e.amount > this.cap + 1e-9) throw capError(this.cap, total, e.amount, e.how);
      total += e.amount;
    }
  }

  async dryRunMode(): Promise<DryRunMode | undefined> {
    try {
      const v = await (await this.state()).getFact?.(DRY_RUN_FACT);
      return v === 'priced' || v === 'ack' || v === 'ignored' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** Kept a day: long enough that a fleet of short CLI runs probes once, short enough to notice the API change. */
  async rememberDryRunMode(mode: DryRunMode): Promise<void> {
    try {
      await (await this.state()).putFact?.(DRY_RUN_FACT, mode, DRY_RUN_FACT_TTL_MS);
    } catch {
      // Not remembered: the next process probes again, which costs at most one probe.
    }
  }

  /** Spent or reserved today (UTC), for the confirmation question; undefined without a ledger. */
  async spentToday(): Promise<number | undefined> {
    try {
      return (await (await this.state()).spend(utcDay())).today;
    } catch {
      return undefined;
    }
  }
  /**
   * After an outcome: the record updated, and the ledger settled once the cost
   * is final. Without `task` (a poll of a task this process did not send), the
   * stored record supplies it, and nothing is written when there is none.
   */
  async recordOutcome(task: LedgerTask | undefined, o: OutcomeRecord, call?: CallRecord): Promise<Recorded> {
    if (task && !task.kept) return { written: true };
    let store: StateStore;
    try {
      store = await this.state();
    } catch (e) {
      // A poll of a task this process did not send may have no record at all: nothing to warn about.
      if (task) this.opts.logger.warn(`task ${o.taskUUID} not journaled: ${(e as Error).message}`);
      return { written: false, note: this.unrecordedNote() };
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const over = await this.write(store, task, o, callFields(call).saveTo);
        this.healthy();
        if (over === 'unwritten') return { written: false, note: this.unwrittenNote(o) };
        for (const x of over)
          this.opts.logger.warn(
            `task ${x.taskUUID} cost ${money(x.chargedUsd)}, ${money(x.usd)} more than its reservation of ${money(x.reservedUsd)} (quoted from ${x.source}); recorded as an overrun`,
          );
        const overrun = over.find((x) => x.taskUUID === o.taskUUID) ?? over[0];
        return { written: true, ...(overrun ? { overrun } : {}) };
      } catch (e) {
        // The task ran: a journal that fails now must never cost the caller its result.
        this.failed(e);
        const retry =
          attempt === 0 && (e as { why?: string })?.why === 'replaced'
            ? await this.state().catch(() => undefined)
            : undefined;
        if (!retry) {
          this.opts.logger.warn(`task ${o.taskUUID} not journaled: ${(e as Error).message}`);
          return { written: false, note: this.unrecordedNote() };
        }
        store = retry;
      }
    }
  }

  private get writeDeadlineMs(): number {
    return this.opts.writeDeadlineMs ?? WRITE_DEADLINE_MS;
  }

  /** The result's line about an outcome that met its deadline unwritten (see WRITE_DEADLINE_MS). */
  private unwrittenNote(o: OutcomeRecord): string {
    return `Not recorded in the task journal: other writers kept changing this task's record for ${this.writeDeadlineMs / 1000} s, so nothing was written over what they recorded${DELIVERED.has(o.status) && o.costKnown ? ' (its charge is counted)' : ''}. The result here is complete; poll taskUUID ${o.taskUUID} again to record it.`;
  }

  /**
   * An outcome whose record kept changing past the deadline: the record is left as the other writers
   * made it. A known charge is still settled on its own (a settlement replaces the reservation, so
   * settling the same charge again changes nothing): the day's spend never misses it.
   */
  private async unwritten(store: StateStore, o: OutcomeRecord, prior: TaskRecord | undefined): Promise<'unwritten'> {
    this.opts.logger.warn(
      `the outcome of task ${o.taskUUID} was not journaled: its record kept changing for ${this.writeDeadlineMs / 1000} s`,
    );
    if (DELIVERED.has(o.status) && o.costKnown) {
      await store.settle(o.taskUUID, o.cost ?? 0);
      // Counted as a written outcome is: once, unless the record read already had a cost.
      if (!prior || prior.cost === undefined) this.sessionSpend += o.cost ?? 0;
    }
    return 'unwritten';
  }

  private async write(
    store: StateStore,
    task: LedgerTask | undefined,
    o: OutcomeRecord,
    saveTo: string | undefined,
  ): Promise<Overrun[] | 'unwritten'> {
    const known = this.roots.get(o.taskUUID) ?? (task ? this.roots.get(task.taskUUID) : undefined);
    const deadline = Date.now() + this.writeDeadlineMs;
    // Read, build, and write over the very record that was read: a save or an outcome recorded in between
    // (by this process or another) is read again and kept, never overwritten by an older copy; rounds go
    // on until the write lands or the deadline passes (WRITE_DEADLINE_MS says why nothing is written regardless).
    for (let round = 1; ; round++) {
      const startedAt = Date.now();
      // A task of another process: its stored record says what it is and which lineage it belongs to.
      const stored = task ? undefined : await store.readTask(o.taskUUID);
      if (!task && !stored) return [];
      const root =
        known ??
        o.attempts?.[0]?.taskUUID ??
        stored?.record.attempts[0]?.taskUUID ??
        stored?.record.taskUUID ??
        o.taskUUID;
      const at = stored ?? (await store.readTask(root));
      const prior = at?.record;
      // A task already recorded with its results keeps them against a late "still running" (a wait that
      // ran out, an older poll) or a failure (a poll after its results expired): its status, cost and
      // files stay, and its settled charge is not settled again at 0. So does a lineage whose retry delivered
      // against a late outcome of an earlier UUID (a poll of the one that failed), which would name the record
      // after that UUID and leave the retry's unfindable.
      const ours = prior?.taskUUID === o.taskUUID || prior?.attempts.some((a) => a.taskUUID === o.taskUUID);
      if (prior && ours && DELIVERED.has(prior.status) && !DELIVERED.has(o.status)) return [];
      const now = new Date().toISOString();
      const rec = this.toRecord(
        task ?? taskOf(prior!, o.taskUUID),
        { ...o, attempts: o.attempts ?? prior?.attempts ?? [] },
        prior?.createdAt ?? this.created.get(root) ?? now,
        saveTo ?? prior?.saveTo,
        prior?.quote,
      );
      // Saved paths already recorded stay: with the output of the same UUID, else at the same place.
      prior?.outputs.forEach((po, i) => {
        if (!po.savedTo) return;
        const to = po.uuid !== undefined ? rec.outputs.find((o) => o.uuid === po.uuid) : rec.outputs[i];
        if (to && !to.savedTo) to.savedTo = po.savedTo;
        else if (!to && po.uuid !== undefined && rec.outputs.length > 0) rec.outputs.push({ ...po });
      });
      if (prior && rec.outputs.length === 0) rec.outputs = prior.outputs;
      // Every UUID of the lineage settles with the record: the failed ones cost nothing, the last its results' cost.
      const settlements: Array<[string, number]> = rec.attempts
        .filter((a) => a.taskUUID !== o.taskUUID)
        .map((a) => [a.taskUUID, 0]);
      // Never settled at 0 because a field is missing: a result without its cost keeps its reservation (the estimate) as spent.
      if (DELIVERED.has(o.status) && o.costKnown) settlements.push([o.taskUUID, rec.cost ?? 0]);
      else if (o.status === 'error') settlements.push([o.taskUUID, 0]);
      // processing / unknown: the reservation stands until a poll settles it.
      // Written where the record read is stored (a lineage another process began may be keyed by a UUID
      // this one never saw): the text compared is then the text under that very key.
      const key = at?.root ?? root;
      const over = await store.finishIfUnchanged(key, rec, settlements, at?.text ?? null);
      if (over === 'changed') {
        if (await backoff(round, startedAt, deadline)) continue;
        return this.unwritten(store, o, prior);
      }
      this.changed(key, rec);
      if (DELIVERED.has(o.status) && (!prior || prior.cost === undefined)) this.sessionSpend += rec.cost ?? 0;
      return over;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    if (!this.store) return;
    await (await this.store.catch(() => undefined))?.close().catch(() => undefined);
  }

  /** Saved paths for a task's outputs, by output index; written over the very record read, as write() is, until the deadline. */
  async recordSaves(uuid: string, paths: Array<string | undefined>, uuids?: Array<string | undefined>): Promise<void> {
    try {
      const store = await this.state();
      const deadline = Date.now() + this.writeDeadlineMs;
      for (let round = 1; ; round++) {
        const startedAt = Date.now();
        const found = await store.readTask(uuid);
        if (!found) return;
        const rec = found.record;
        paths.forEach((p, i) => {
          if (!p) return;
          // Scrubbed as the outcome's outputs are (ledger-records outputsOf), so the two find each other.
          const id = uuids?.[i] !== undefined ? scrubber.text(uuids[i]!) : undefined;
          const byId = id !== undefined ? rec.outputs.find((o) => o.uuid === id) : undefined;
          if (byId) byId.savedTo = p;
          else if (id !== undefined) rec.outputs.push({ uuid: id, savedTo: p });
          else if (rec.outputs[i]) rec.outputs[i]!.savedTo = p;
        });
        const updated = { ...rec, updatedAt: new Date().toISOString() };
        if (!(await store.putTaskIfUnchanged(found.root, updated, found.text))) {
          if (await backoff(round, startedAt, deadline)) continue;
          break;
        }
        this.changed(found.root, updated);
        return;
      }
      // Only a record rewritten without pause gets here (see WRITE_DEADLINE_MS); the files stay where they are.
      this.opts.logger.warn(
        `the saved files of task ${uuid} were not recorded: its record kept changing for ${this.writeDeadlineMs / 1000} s (a later poll with saveTo saves those outputs again, under new names)`,
      );
    } catch {
      // The journal is a record, not a gate: a failure here never loses the result.
    }
  }

  private toRecord(
    task: LedgerTask,
    o: OutcomeRecord & { attempts: Array<{ taskUUID: string; outcome: string }> },
    createdAt: string,
    saveTo: string | undefined,
    quote?: { usd: number; source: string },
  ): TaskRecord {
    return {
      taskUUID: o.taskUUID,
      attempts: o.attempts,
      taskType: task.taskType,
      ...(task.model !== undefined ? { model: task.model } : {}),
      ...(task.delivery ? { delivery: task.delivery } : {}),
      status: o.status,
      createdAt,
      updatedAt: new Date().toISOString(),
      ...(o.cost !== undefined ? { cost: o.cost } : {}),
      numberResults: task.numberResults,
      outputs: o.outputs.map((x) => ({ ...x })),
      request: scrubRequest(task.request) as Record<string, unknown>,
      ...(saveTo ? { saveTo } : {}),
      ...(o.errors.length
        ? { errors: o.errors.map((e) => ({ code: e.code, message: scrubber.text(e.message) })) }
        : {}),
      ...(quote ? { quote: { usd: quote.usd, source: quote.source } } : {}),
    };
  }
}

/** A stored record as the task it was made from (a poll of another process's task), under its current UUID. */
function taskOf(r: TaskRecord, taskUUID: string): LedgerTask {
  return {
    taskUUID,
    taskType: r.taskType,
    billable: true,
    kept: true,
    ...(r.model !== undefined ? { model: r.model } : {}),
    ...(r.delivery ? { delivery: r.delivery } : {}),
    numberResults: r.numberResults,
    request: { ...r.request, taskUUID },
  };
}
