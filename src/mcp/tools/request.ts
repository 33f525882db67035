import { z } from 'zod';
import { rawRequest } from '../../services/request.js';
import { defineTool } from './define.js';
import * as shape from './shapes.js';

const task = z.record(z.string(), z.unknown());

export const inputSchema = z
  .object({
    tasks: z
      .union([z.array(task).min(1).max(50), task])
      .describe(
        'A task object or an array, e.g. [{"taskType":"promptEnhance","prompt":"a cat","promptVersions":2}]. No taskUUID, apiKey or authentication tasks.',
      ),
  })
  .strict();

export const outputSchema = z.object({
  tasks: z.array(
    z
      .object({
        index: z.number(),
        taskType: z.string(),
        taskUUID: z.string(),
        status: shape.status,
        results: z.array(z.record(z.string(), z.unknown())),
        errors: shape.errors,
        note: z.string().optional(),
      })
      .loose(),
  ),
  requestErrors: shape.errors,
  anyFailed: z.boolean(),
  allFailed: z.boolean(),
  next: z.string().optional(),
});

export default defineTool({
  name: 'runware_request',
  order: 60,
  title: 'Send raw Runware tasks',
  description:
    'Raw escape hatch: any task types as one request, under the usage rules but not checked against model schemas. For one model task use runware_run. ' +
    'Each task gets a fresh taskUUID and its own outcome (status, results, errors). Async tasks come back "processing": finish with runware_poll.',
  guide: 'raw task arrays, not checked against model schemas.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  icon: 'generate',
  handler: async (args, call) => {
    const r = await rawRequest(call.app, args.tasks, call.signal);
    return { output: r, ...(r.allFailed ? { failed: [...r.requestErrors, ...r.tasks.flatMap((t) => t.errors)] } : {}) };
  },
});
