/**
 * The question before an expensive task, in the CLI: asked on the terminal
 * (stderr, so stdout stays JSON) when there is one, else the run needs --yes.
 */
import { createInterface } from 'node:readline/promises';
import type { ConfirmOptions } from '../runware/spend.js';
import { money } from '../runware/quote.js';
import { SpendError } from '../shared/errors.js';

/** What a command passes on: --yes confirms any quote; a terminal is asked. */
export function cliConfirm(yes: boolean): { confirmCostUsd?: number; ask?: ConfirmOptions['ask'] } {
  if (yes) return { confirmCostUsd: Number.MAX_VALUE };
  if (!process.stdin.isTTY || !process.stderr.isTTY) return {};
  return {
    ask: async (r) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const a = await rl.question(
          `${r.what[0]!.toUpperCase()}${r.what.slice(1)} is quoted at ${money(r.quoteUsd)}; today's spend is ${money(r.spentTodayUsd)}${r.capUsd !== null ? ` of ${money(r.capUsd)}` : ''}. Run it? [y/N] `,
        );
        return /^y(es)?$/i.test(a.trim());
      } finally {
        rl.close();
      }
    },
  };
}

/** A confirmation refusal says what to do in CLI terms. */
export function asCliRefusal(e: unknown): unknown {
  if (!(e instanceof SpendError) || e.code !== 'confirmation_required') return e;
  return new SpendError(
    '--yes',
    e.code,
    e.message.slice(e.field.length + 2),
    `Nothing was sent. Run it again with --yes to spend up to ${money(e.amounts.quoteUsd)}, or from a terminal to be asked.`,
    e.amounts,
  );
}
