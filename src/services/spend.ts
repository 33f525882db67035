/** The spend rules as the front-ends see them: the confirmation a call carries, and an overrun as a result reports it. */
import type { ConfirmOptions } from '../runware/spend.js';
import type { Overrun } from '../state/types.js';

export interface OverrunOut {
  /** USD charged above the reservation. */
  usd: number;
  reservedUsd: number;
  chargedUsd: number;
  /** The quote source that was wrong (dryRun, pricing, learned, ceiling), or "released". */
  source: string;
  note: string;
}

export const overrunOut = (o: Overrun): OverrunOut => ({
  usd: o.usd,
  reservedUsd: o.reservedUsd,
  chargedUsd: o.chargedUsd,
  source: o.source,
  note: `Charged $${o.chargedUsd} against a reservation of $${o.reservedUsd} (quoted from ${o.source}); recorded at once. The model's learned price rose, and nothing billable goes out while today's spend is over RUNWARE_MAX_SPEND_USD.`,
});

/** A call's confirmation: what the caller confirmed, and how to ask the user. */
export const confirmOf = (confirmCostUsd: number | undefined, ask: ConfirmOptions['ask'] | undefined): ConfirmOptions => ({
  ...(confirmCostUsd !== undefined ? { confirmedUsd: confirmCostUsd } : {}),
  ...(ask ? { ask } : {}),
});
