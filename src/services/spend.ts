/** The spend rules as the front-ends see them: the confirmation a call carries, and an overrun as a result reports it. */
import type { ConfirmOptions } from '../runware/spend.js';
import type { Overrun } from '../state/types.js';
import { ValidationError } from '../shared/errors.js';

/** An overrun as a result reports it: by how much, against what, and which quote source was wrong (runware_account lists them with the numbers). */
export type OverrunOut = string;

const usd = (n: number): string => `$${n.toFixed(4).replace(/0{1,2}$/, '')}`;

export const overrunOut = (o: Overrun): OverrunOut =>
  `${usd(o.usd)} over: charged ${usd(o.chargedUsd)} against a reservation of ${usd(o.reservedUsd)} (quote source: ${o.source}). Recorded at once; the model's learned price rose, and nothing billable goes out while today's spend is over RUNWARE_MAX_SPEND_USD.`;

/** A call's confirmation: what the caller confirmed, and how to ask the user. */
export function confirmOf(confirmCostUsd: number | undefined, ask: ConfirmOptions['ask'] | undefined): ConfirmOptions {
  // Every front-end lands here: a confirmation is a finite, non-negative amount, or none.
  if (
    confirmCostUsd !== undefined &&
    (typeof confirmCostUsd !== 'number' || !Number.isFinite(confirmCostUsd) || confirmCostUsd < 0)
  ) {
    throw new ValidationError(
      'confirmCostUsd',
      'must be a number of US dollars, 0 or more (the quote you accept)',
      'the quoteUsd of the refusal, or more',
    );
  }
  return { ...(confirmCostUsd !== undefined ? { confirmedUsd: confirmCostUsd } : {}), ...(ask ? { ask } : {}) };
}
