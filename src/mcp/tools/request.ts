import { z } from 'zod';
import { rawRequest } from '../../services/request.js';
import { failedOutput, guard, ok, type ToolExtra } from '../results.js';
import * as shape from './shapes.js';
import type { ToolDeps } from './types.js';
import type { IconKind } from '../catalog.js';

export const name = 'runware_request';
export const icon: IconKind = 'generate';

const task = z.record(z.string(), z.unknown());

export const inputSchema = z
  .object({
    tasks: z
      .union([z.array(task).min(1).max(50), task])
      .describe('A task object or an array, e.g. [{"taskType":"promptEnhance","prompt":"a cat","promptVersions":2}]. No taskUUID, apiKey or authentication tasks.'),
  })
  .strict();

export const outputSchema = z.object({
  tasks: z.array(z.object({ index: z.number(), taskType: z.string(), taskUUID: z.string(), status: shape.status, results: z.array(z.record(z.string(), z.unknown())), errors: shape.errors, note: z.string().optional() }).loose()),
  requestErrors: shape.errors,
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
        'Raw escape hatch: any task types as one request, under the usage rules but not checked against model schemas. For one model task use runware_run. ' +
        'Each task gets a fresh taskUUID and its own outcome (status, results, errors). Async tasks come back "processing": finish with runware_poll.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guard(log, async () => {
        const r = await rawRequest(app, args.tasks, (extra as ToolExtra).signal);
        return r.allFailed ? failedOutput(r, [...r.requestErrors, ...r.tasks.flatMap((t) => t.errors)]) : ok(r);
      }),
  );
}
