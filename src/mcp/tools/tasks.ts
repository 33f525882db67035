import { z } from 'zod';
import { listTasks } from '../../services/tasks.js';
import { defineTool } from './define.js';

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

export default defineTool({
  name: 'runware_tasks',
  order: 80,
  title: 'Recent Runware tasks',
  description:
    'What was generated, by any process of this user: status, cost, output URLs and saved paths, newest first. Free. Whole record: resource runware://tasks/{taskUUID}.',
  guide: 'what was generated (cost, files).',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  icon: 'task',
  studio: true,
  handler: async (args, call) => ({ output: await listTasks(call.app, args) }),
});
