import { z } from 'zod';
import { defineTool } from './define.js';

export const inputSchema = z.object({}).strict();

export const outputSchema = z.object({
  accounts: z.array(
    z.object({
      email: z.string(),
      maxJobs: z.number().nullable(),
      sessionExpiresAt: z.string().nullable(),
      sessionValid: z.boolean().nullable(),
    }),
  ),
});

export default defineTool({
  name: 'runway_list_accounts',
  order: 110,
  title: 'List useapi.net Runway accounts',
  description:
    'The Runway accounts linked at useapi.net: email, maxJobs, and when the session expires (why tasks stall). Never shows passwords or tokens.',
  guide: 'useapi.net accounts, without secrets.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  icon: 'account',
  handler: async (_args, call) => ({ output: { accounts: await call.app.runway().accounts(call.signal) } }),
});
