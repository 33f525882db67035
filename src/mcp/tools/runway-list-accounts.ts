import { z } from 'zod';
import { guard, ok, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';
import * as shape from './shapes.js';
import type { IconKind } from '../catalog.js';

export const name = 'runway_list_accounts';
export const icon: IconKind = 'account';

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

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'List useapi.net Runway accounts',
      description:
        'The Runway accounts linked at useapi.net: email, maxJobs, and when the session expires (why tasks stall). Never shows passwords or tokens.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (_args, extra) => guard(log, async () => ok({ accounts: await app.runway().accounts((extra as ToolExtra).signal) })),
  );
}
