import { z } from 'zod';
import { pollTask } from '../../services/poll.js';
import { TEXT_TO_IMAGE_LIMITS } from '../../services/text-to-image.js';
import { mediaSource } from '../../services/outputs.js';
import { mediaBlocks } from '../results.js';
import { defineTool } from './define.js';
import * as shape from './shapes.js';

export const inputSchema = z
  .object({
    taskUUID: shape.taskUUID.describe('Of any earlier task, sync or async.'),
    waitSeconds: z
      .number()
      .min(0)
      .max(300)
      .default(0)
      .describe('0 polls once; else wait with progress up to this long (stay under your client timeout).'),
    numberResults: z
      .number()
      .int()
      .min(TEXT_TO_IMAGE_LIMITS.numberResults.min)
      .max(TEXT_TO_IMAGE_LIMITS.numberResults.max)
      .optional()
      .describe('Results the task was asked for; omit to use what the journal knows.'),
    saveTo: z.string().min(1).max(1024).optional().describe('Save finished outputs here, as runware_run does.'),
  })
  .strict();

export const outputSchema = z.object({
  taskUUID: z.string(),
  taskType: z.string().optional(),
  status: shape.status,
  attempts: shape.attempts,
  progress: z.number(),
  results: z.array(z.record(z.string(), z.unknown())),
  errors: shape.errors,
  polls: z.number(),
  transientFailures: z.number(),
  files: z
    .array(z.object({ index: z.number(), savedTo: z.string().optional(), saveError: z.string().optional() }).loose())
    .optional(),
  overrun: shape.overrun,
  next: z.string().optional(),
});

export default defineTool({
  name: 'runware_poll',
  order: 70,
  title: 'Poll an earlier Runware task',
  description:
    'Check on, or wait for, any earlier Runware task by taskUUID. Returns status (processing, success, partial, error, or unknown when Runware has no record), progress 0-100, results, errors, and saved files. ' +
    'Free and safe to repeat: it never re-runs the task.',
  guide: 'an earlier task by taskUUID; never runs it again.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  icon: 'task',
  task: true,
  studio: true,
  handler: async (args, call) => {
    const { output, previews } = await pollTask(call.app, args, await call.serviceOptions());
    const files = new Map((output.files ?? []).map((f) => [f.index, f]));
    const content = mediaBlocks(
      output.results.map((r, i) => {
        const src = mediaSource(r);
        const f = files.get(i);
        return {
          ...(f?.savedTo ? { savedTo: f.savedTo } : {}),
          ...(src.url ? { url: src.url } : {}),
          ...(f?.mimeType ? { mimeType: f.mimeType } : {}),
          name: src.uuid ?? `result-${i + 1}`,
          description: `Result ${i + 1} of task ${output.taskUUID}`,
        };
      }),
      previews,
    );
    return { output, content, ...(output.status === 'error' ? { failed: output.errors } : {}) };
  },
});
