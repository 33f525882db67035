/**
 * What stands between a billable task and the wire, besides the rules: its
 * quote (quote.ts), the user's confirmation when the quote is above
 * RUNWARE_CONFIRM_ABOVE_USD, and, when the cap refuses it, the release of
 * reservations whose senders died (docs/recovery.md, "Reservations").
 *
 * The dry run: Runware's `X-Runware-Dry-Run: 1` may price a task without
 * running it, may only acknowledge it, or may be ignored (the task runs and is
 * billed): the reference does not say. So it is trusted only after a probe (a
 * one-result promptEnhance, reserved like any task) showed that it prices
 * without running; a dry run that runs after all is charged to the ledger at
 * once, as an overrun, and dry runs stop for the life of the process.
 */
import { SpendError } from '../shared/errors.js';
import { next, step } from '../shared/next-step.js';
import type { Logger } from '../shared/log.js';
import type { SpendLedger } from '../state/ledger.js';
import { ledgerTask } from './ledger-records.js';
import { defaultDelivery, isBillable } from './task-types.js';
import { dimensionsOf, money, rowOf, type Quote, type Quoter } from './quote.js';
import type { Task } from './rules.js';
import type { TransportReply } from './transport.js';

export interface ConfirmRequest {
  quoteUsd: number;
  spentTodayUsd: number;
  capUsd: number | null;
  /** One line for the question: "this videoInference (klingai:5@3)". */
  what: string;
}

/** How a call answers the confirmation question. */
export interface ConfirmOptions {
  /** The caller confirmed up to this many USD (confirmCostUsd, or --yes as Infinity). */
  confirmedUsd?: number;
  /** Asks the user (MCP elicitation, a TTY prompt): true to run, false declined, undefined when it cannot ask. */
  ask?: (r: ConfirmRequest) => Promise<boolean | undefined>;
}

type Item = Record<string, unknown>;
const OUTPUT = /^(image|video|audio|media)(URL|UUID|Base64Data|DataURI)$|^(text|outputs)$/;
/** Whether an answer item is a real result (the task ran), not a dry run's price or acknowledgement. */
const ran = (item: Item | undefined): boolean =>
  !!item && item.dryRun !== true && Object.keys(item).some((k) => OUTPUT.test(k));
/** A stated cost that can be a charge: finite and not below zero (a negative one would lower the day's spend). */
const chargeOf = (item: Item): number | undefined =>
  typeof item.cost === 'number' && Number.isFinite(item.cost) && item.cost >= 0 ? item.cost : undefined;

export interface DryRunOptions {
  /** Sends tasks with the dry-run header (REST only). */
  send: (tasks: Task[], timeoutMs: number) => Promise<TransportReply>;
  /** A fresh server-made taskUUID. */
  fresh: () => string;
  journal: SpendLedger;
  logger: Logger;
  timeoutMs: number;
}

export class DryRun {
  private mode: Promise<'priced' | 'ack' | 'ignored' | 'later'> | undefined;
  private stopped = false;

  constructor(private readonly o: DryRunOptions) {}

  /** The dry run's price for the whole task, or undefined when it gives none. */
  async price(task: Task): Promise<number | undefined> {
    const mode = await this.probe();
    // The probe did not fit under the cap: probe again on a later call.
    if (mode === 'later') this.mode = undefined;
    if (mode !== 'priced' || this.stopped) return undefined;
    const { deliveryMethod: _d, ...rest } = task;
    // Sync where the task allows it: were the header ignored after all, the answer would be the result, not an ACK.
    const t = {
      ...rest,
      ...(defaultDelivery(task.taskType)?.includes('sync') === false ? { deliveryMethod: 'async' } : {}),
      taskUUID: this.o.fresh(),
      includeCost: true,
    } as Task;
    const item = await this.ask(t);
    if (item === undefined) return undefined;
    if (ran(item) || (item.dryRun !== true && typeof item.cost !== 'number')) {
      this.stopped = true;
      const charged =
        chargeOf(item) ?? rowOf(t.taskType).ceilingUsd * Math.max(1, dimensionsOf(t).size) * dimensionsOf(t).results;
      this.o.logger.warn(
        `a dry run of ${t.taskType} ran and was billed (${money(charged)}); dry runs are off for this process`,
      );
      await this.o.journal.chargeUnplanned(ledgerTask(t), charged);
      return undefined;
    }
    return chargeOf(item);
  }

  /**
   * Does the dry run price without running? Asked of the ledger first (any process may have
   * found out today); else found out once per process with a one-result promptEnhance,
   * reserved first, and the finding shared.
   */
  private probe(): Promise<'priced' | 'ack' | 'ignored' | 'later'> {
    this.mode ??= (async () => {
      const known = await this.o.journal.dryRunMode();
      if (known) return known;
      const found = await this.probeOnce();
      if (found === 'later' || found === 'unanswered') return found === 'later' ? 'later' : 'ignored';
      await this.o.journal.rememberDryRunMode(found);
      return found;
    })();
    return this.mode;
  }

  /** The probe itself; 'unanswered' (no answer at all) is treated as ignored here but never shared. */
  private async probeOnce(): Promise<'priced' | 'ack' | 'ignored' | 'later' | 'unanswered'> {
    const t = {
      taskType: 'promptEnhance',
      taskUUID: this.o.fresh(),
      prompt: 'a price probe',
      promptMaxLength: 16,
      promptVersions: 1,
      includeCost: true,
    } as Task;
    const reserve = rowOf('promptEnhance').ceilingUsd;
    if (
      !(await this.o.journal.reserveAlone(ledgerTask(t), {
        usd: reserve,
        units: 1,
        source: 'ceiling',
        how: 'a dry-run probe',
      }))
    )
      return 'later';
    const item = await this.ask(t);
    if (item === undefined) return 'unanswered';
    if (ran(item)) {
      await this.o.journal.settleAlone(ledgerTask(t), chargeOf(item) ?? reserve);
      this.o.logger.info(
        'the dry-run header is ignored by this endpoint (the probe ran); quotes come from pricing and the ledger',
      );
      return 'ignored';
    }
    await this.o.journal.settleAlone(ledgerTask(t), 0);
    return typeof item.cost === 'number' ? 'priced' : 'ack';
  }

  /** The answer item for the task, or undefined when there is none (any failure: the quote falls to the next source). */
  private async ask(t: Task): Promise<Item | undefined> {
    try {
      const reply = await this.o.send([t], this.o.timeoutMs);
      if (reply.status !== 200) return undefined;
      const data = (reply.body as { data?: unknown })?.data;
      return Array.isArray(data)
        ? (data.find((d: Item) => d && d.taskUUID === t.taskUUID) as Item | undefined)
        : undefined;
    } catch {
      // Unknown whether it ran: its reservation (the probe's) stands until the day ends.
      return undefined;
    }
  }
}

export interface SpendGateOptions {
  journal: SpendLedger;
  quoter: Quoter;
  confirmAboveUsd?: number;
  logger: Logger;
  /** Whether getTaskDetails knows a UUID: true, false (not found), undefined (no answer). */
  knows: (uuid: string) => Promise<boolean | undefined>;
  /** The settle window (docs/recovery.md): how long getTaskDetails may lag behind a task that landed. */
  settleWindowMs: number;
}

export class SpendGate {
  constructor(private readonly o: SpendGateOptions) {}

  /** Quotes for the billable tasks, by taskUUID. The network sources are asked only when a cap or a confirmation needs them. */
  async quote(tasks: Task[]): Promise<Map<string, Quote>> {
    const network = this.o.journal.cap !== undefined || this.o.confirmAboveUsd !== undefined;
    const out = new Map<string, Quote>();
    for (const t of tasks) if (isBillable(t.taskType)) out.set(t.taskUUID, await this.o.quoter.quote(t, { network }));
    return out;
  }

  /**
   * Holds a call whose quote needs confirmation: above RUNWARE_CONFIRM_ABOVE_USD,
   * or above what the caller confirmed (confirmCostUsd). Asks when it can; else
   * throws the structured refusal whose `next` says how to confirm.
   */
  async confirm(tasks: Task[], quotes: Map<string, Quote>, opts: ConfirmOptions = {}): Promise<void> {
    if (quotes.size === 0) return;
    const quoteUsd = Math.round([...quotes.values()].reduce((a, q) => a + q.usd, 0) * 1e6) / 1e6;
    const above = this.o.confirmAboveUsd !== undefined && quoteUsd > this.o.confirmAboveUsd + 1e-9;
    const pastConfirmed = opts.confirmedUsd !== undefined && quoteUsd > opts.confirmedUsd + 1e-9;
    if (!above && !pastConfirmed) return;
    if (above && !pastConfirmed && opts.confirmedUsd !== undefined) return;
    const cap = this.o.journal.cap;
    const spent = Math.round(((await this.o.journal.spentToday()) ?? 0) * 1e6) / 1e6;
    const billable = tasks.filter((t) => quotes.has(t.taskUUID));
    const first = billable[0]!;
    const what =
      billable.length > 1
        ? `these ${billable.length} tasks`
        : `this ${first.taskType}${typeof first.model === 'string' ? ` (${first.model})` : ''}`;
    const req: ConfirmRequest = { quoteUsd, spentTodayUsd: spent, capUsd: cap ?? null, what };
    const amounts = { quoteUsd, spentTodayUsd: spent, capUsd: cap ?? null };
    const sources = [...new Set([...quotes.values()].map((q) => q.source))].join(', ');
    const why = pastConfirmed
      ? `is quoted at ${money(quoteUsd)}, above the ${money(opts.confirmedUsd!)} confirmed`
      : `is quoted at ${money(quoteUsd)} (${sources}), above RUNWARE_CONFIRM_ABOVE_USD=${money(this.o.confirmAboveUsd!)}`;
    const answer = opts.ask && !pastConfirmed ? await opts.ask(req) : undefined;
    if (answer === true) return;
    if (answer === false)
      throw new SpendError(
        'confirmCostUsd',
        'confirmation_declined',
        `${what} ${why}, and the user declined to run it`,
        'Nothing was sent. Ask the user before calling again.',
        amounts,
      );
    throw new SpendError(
      'confirmCostUsd',
      'confirmation_required',
      `${what} ${why}; it runs once confirmed`,
      next(
        `Nothing was sent. Ask the user; if they agree, {step}. Today's spend is ${money(spent)}${cap !== undefined ? ` of ${money(cap)}` : ''}.`,
        step('confirmCost', { quoteUsd }),
      ),
      amounts,
    );
  }

  /**
   * Releases reservations whose sender died: its lease ran out more than the
   * settle window ago, and getTaskDetails does not know the task, asked twice
   * across the settle window. Returns how many were released.
   */
  async releaseStale(signal?: AbortSignal): Promise<number> {
    const stale = await this.o.journal
      .staleReservations(this.o.settleWindowMs)
      .catch((): Array<{ uuid: string; day: string; reserved: number }> => []);
    if (stale.length === 0) return 0;
    const unknown: typeof stale = [];
    for (const r of stale) if ((await this.o.knows(r.uuid)) === false) unknown.push(r);
    if (unknown.length === 0) return 0;
    // Asked again, a settle window's tenth later: a lag inside the window is caught by the lease's own grace.
    await new Promise((res) => setTimeout(res, Math.min(2000, Math.max(10, this.o.settleWindowMs / 10))));
    let released = 0;
    for (const r of unknown) {
      if (signal?.aborted) break;
      if ((await this.o.knows(r.uuid)) !== false) continue;
      if (await this.o.journal.release(r.uuid)) {
        released++;
        this.o.logger.warn(
          `released the reservation of ${money(r.reserved)} for task ${r.uuid}: its sender stopped renewing its lease and Runware does not know the task; a charge that comes later is recorded as an overrun`,
        );
      }
    }
    return released;
  }
}
