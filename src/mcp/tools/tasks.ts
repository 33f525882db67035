import { z } from 'zod';
import { listTasks } from '../../services/tasks.js';
import { guard, ok } from '../results.js';
import type { ToolDeps } from './types.js';
import * as shape from './shapes.js';
import type { IconKind } from '../catalog.js';

export const name = 'runware_tasks';
export const icon: IconKind = 'task';

const statuses = ['submitted', 'processing', 'success', 'partial', 'error', 'unknown'] as const;

export const inputSchema = z
  .object({
    status: z.enum(statuses).optional(),
    since: z.string().max(40).optional().describe('ISO time, or back from now: 30m, 2h, 7d.'),
    model: z.string().max(200).optional(),
    limit: z.number().int().min(1).max(200).default(20),
  })
  .strict();

export const outputSchema = z.object({
  tasks: z.array(z.object({ taskUUID: z.string(), status: z.string(), cost: z.number().optional() }).loose()),
  journal: z.string(),
  skipped: z.array(z.string()).optional(),
});

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Recent Runware tasks',
      description: 'What was generated, by any process of this user: status, cost, output URLs and saved paths, newest first. Free. Whole record: resource runware://tasks/{taskUUID}.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) => guard(log, async () => ok(await listTasks(app, args))),
  );
}
