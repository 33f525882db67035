import { z } from 'zod';
import { account } from '../../services/account.js';
import { guard, ok, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';
import * as shape from './shapes.js';
import type { IconKind } from '../catalog.js';

export const name = 'runware_account';
export const icon: IconKind = 'account';

export const inputSchema = z.object({}).strict();

export const outputSchema = z.object({
  balance: z.number().optional().describe('USD'),
  organizationName: z.string().optional(),
  balanceError: z.string().optional(),
  spend: z.object({ today: z.number(), pendingToday: z.number(), session: z.number(), total: z.number(), day: z.string() }),
  cap: z.object({ usd: z.number(), left: z.number(), resetsAt: z.string() }).optional(),
  overruns: z.object({}).loose().optional(),
  journal: z.string().optional(),
  note: z.string().optional(),
});

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Runware balance and spend',
      description: 'Balance, USD spent today (UTC), this session and in total, overruns, and the daily cap RUNWARE_MAX_SPEND_USD with what is left. Free; never refused by the cap.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (_args, extra) => guard(log, async () => ok(await account(app, (extra as ToolExtra).signal))),
  );
}
