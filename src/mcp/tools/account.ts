import { z } from 'zod';
import { account } from '../../services/account.js';
import { defineTool } from './define.js';

export const inputSchema = z.object({}).strict();

export const outputSchema = z.object({
  balance: z.number().optional().describe('USD'),
  organizationName: z.string().optional(),
  balanceError: z.string().optional(),
  spend: z.object({
    today: z.number(),
    pendingToday: z.number(),
    session: z.number(),
    total: z.number(),
    day: z.string(),
  }),
  cap: z.object({ usd: z.number(), left: z.number(), resetsAt: z.string() }).optional(),
  overruns: z.object({}).loose().optional(),
  journal: z.string().optional(),
  note: z.string().optional(),
});

export default defineTool({
  name: 'runware_account',
  order: 90,
  title: 'Runware balance and spend',
  description:
    'Balance, USD spent today (UTC), this session and in total, overruns, and the daily cap RUNWARE_MAX_SPEND_USD with what is left. Free; never refused by the cap.',
  guide: 'balance, spend today and the daily cap.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  icon: 'account',
  handler: async (_args, call) => ({ output: await account(call.app, call.signal) }),
});
