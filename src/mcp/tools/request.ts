import { z } from 'zod';
import { rawRequest } from '../../services/request.js';
import { guard, ok, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';

export const name = 'runware_request';

const task = z.record(z.string(), z.unknown());

export const inputSchema = z
  .object({
    tasks: z
      .union([z.array(task).min(1).max(50), task])
      .describe('One Runware task object, or an array of them, e.g. [{"taskType":"promptEnhance","prompt":"a cat","promptVersions":2}]. Omit taskUUID (the server assigns fresh ones) and never include apiKey or authentication tasks.'),
  })
  .strict();

const apiError = z.object({ code: z.string(), message: z.string() }).loose();

export const outputSchema = z.object({
  tasks: z.array(
    z
      .object({
        index: z.number(),
        taskType: z.string(),
        taskUUID: z.string(),
        status: z.enum(['success', 'partial', 'processing', 'error', 'unknown']),
        results: z.array(z.record(z.string(), z.unknown())),
        errors: z.array(apiError),
        attempts: z.array(z.object({ taskUUID: z.string(), outcome: z.string() })),
        note: z.string().optional(),
      })
      .loose(),
  ),
  requestErrors: z.array(apiError),
  anyFailed: z.boolean(),
  allFailed: z.boolean(),
  next: z.string().optional(),
});

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Send raw Runware tasks',
      description:
        'Send any Runware task types (imageInference, promptEnhance, upscale, removeBackground, caption, videoInference, accountManagement, ...) as one request, under the same rules as the other tools. ' +
        'Use it when no dedicated tool fits. Each task gets a fresh taskUUID; the result lists every task\'s outcome by taskUUID (status, results, errors, attempts), plus request-level errors. ' +
        'Async tasks (deliveryMethod "async", and all videoInference) come back "processing": finish them with runware_poll. It is an error only when every task failed.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guard(log, async () => {
        const r = await rawRequest(app, args.tasks, (extra as ToolExtra).signal);
        const res = ok(r);
        if (r.allFailed) res.isError = true;
        return res;
      }),
  );
}
