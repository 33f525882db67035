/**
 * The account: Runware's balance (accountManagement getDetails, a read that no
 * cap refuses), beside what the ledger says was spent today, in this session
 * and in total, and the daily cap with what is left.
 */
import { dayEnds, utcDay } from '../state/journal.js';
import type { AppContext } from './context.js';
import { BUDGETS } from '../runware/timing.js';

export interface AccountOutput {
  /** USD. */
  balance?: number;
  organizationName?: string;
  balanceError?: string;
  spend: { today: number; pendingToday: number; session: number; total: number; day: string };
  cap?: { usd: number; left: number; resetsAt: string };
  /** Today's overruns: real charges above their reservations (included in spend.today), newest first. */
  overruns?: { today: number; tasks: Array<{ taskUUID: string; usd: number; source: string; model?: string }> };
  journal?: string;
  note?: string;
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;

export async function account(ctx: AppContext, signal?: AbortSignal): Promise<AccountOutput> {
  const day = utcDay();
  let balance: Pick<AccountOutput, 'balance' | 'organizationName' | 'balanceError'> = {};
  try {
    const r = await ctx
      .runware()
      .submit(
        { taskType: 'accountManagement', operation: 'getDetails' },
        { deadlineMs: BUDGETS.accountMs, ...(signal ? { signal } : {}) },
      );
    const item = r.tasks[0]?.results[0];
    const err = r.tasks[0]?.errors[0] ?? r.requestErrors[0];
    balance = item
      ? {
          ...usd(item.balance),
          ...(typeof item.organizationName === 'string' ? { organizationName: item.organizationName } : {}),
        }
      : { balanceError: err ? `${err.code}: ${err.message}` : 'Runware did not answer in time' };
  } catch (e) {
    balance = { balanceError: (e as Error).message };
  }
  const cap = ctx.journal.cap;
  try {
    const store = await ctx.journal.state();
    const s = await store.spend(day);
    const over = s.overrunToday ? await ctx.journal.overrunsToday(10) : [];
    return {
      ...balance,
      spend: {
        today: round(s.today),
        pendingToday: round(s.pendingToday),
        session: ctx.journal.spentThisSession,
        total: round(s.total),
        day,
      },
      ...(cap !== undefined ? { cap: { usd: cap, left: round(Math.max(0, cap - s.today)), resetsAt: dayEnds() } } : {}),
      ...(s.overrunToday
        ? {
            overruns: {
              today: round(s.overrunToday),
              tasks: over.map((o) => ({
                taskUUID: o.taskUUID,
                usd: o.usd,
                source: o.source,
                ...(o.model ? { model: o.model } : {}),
              })),
            },
          }
        : {}),
      journal: store.location,
    };
  } catch (e) {
    return {
      ...balance,
      spend: { today: 0, pendingToday: 0, session: ctx.journal.spentThisSession, total: 0, day },
      ...(cap !== undefined ? { cap: { usd: cap, left: 0, resetsAt: dayEnds() } } : {}),
      note: `The spend ledger is unavailable: ${(e as Error).message}`,
    };
  }
}

/** Runware's balance is a number; a numeric string is taken too, anything else is reported, not passed on. */
function usd(v: unknown): Pick<AccountOutput, 'balance' | 'balanceError'> {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n)
    ? { balance: n }
    : { balanceError: `Runware answered a balance that is not a number (${typeof v})` };
}
