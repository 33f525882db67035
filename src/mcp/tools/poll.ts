import { z } from 'zod';
import { pollTask } from '../../services/poll.js';
import { guard, ok, progressFor, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';

export const name = 'runware_poll';

export const inputSchema = z
  .object({
    taskUUID: z.uuid({ message: 'must be the taskUUID of an earlier async task' }).describe('The taskUUID returned by runware_text_to_image or runware_request.'),
    waitSeconds: z.number().min(0).max(300).default(0).describe('0 polls once; otherwise keep polling (with progress) until done or this many seconds pass. Stay under your client timeout (often 60 s).'),
    numberResults: z.number().int().min(1).max(20).default(1).describe('How many results the task was asked for, so the wait knows when it is complete.'),
  })
  .strict();

export const outputSchema = z.object({
  taskUUID: z.string(),
  taskType: z.string().optional(),
  status: z.enum(['processing', 'success', 'partial', 'error']),
  progress: z.number(),
  results: z.array(z.record(z.string(), z.unknown())),
  errors: z.array(z.object({ code: z.string(), message: z.string() }).loose()),
  polls: z.number(),
  transientFailures: z.number(),
  next: z.string().optional(),
});

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Poll an async Runware task',
      description:
        'Check on (or wait for) an async Runware task by its taskUUID, using getResponse. Returns status (processing, success, partial, error), progress 0-100, the results accumulated so far, and errors scoped to the task. ' +
        'Free to call repeatedly: it never re-runs the task.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extraRaw) =>
      guard(log, async () => {
        const extra = extraRaw as ToolExtra;
        const onProgress = progressFor(extra);
        const r = await pollTask(app, args, { signal: extra.signal, ...(onProgress ? { onProgress } : {}) });
        await onProgress?.settle();
        const res = ok(r);
        if (r.status === 'error') res.isError = true;
        return res;
      }),
  );
}
