import { z } from 'zod';
import { pollTask } from '../../services/poll.js';
import { TEXT_TO_IMAGE_LIMITS } from '../../services/text-to-image.js';
import { mediaSource } from '../../services/outputs.js';
import { failedOutput, guard, mediaBlocks, ok, progressFor, type ToolExtra } from '../results.js';
import * as shape from './shapes.js';
import type { ToolDeps } from './types.js';
import type { IconKind } from '../catalog.js';

export const name = 'runware_poll';
export const icon: IconKind = 'task';
/** Long (it can wait minutes): a client may run it as a task (tasks/get, tasks/result, tasks/cancel). */
export const task = true;

export const inputSchema = z
  .object({
    taskUUID: shape.taskUUID.describe('Of any earlier task, sync or async.'),
    waitSeconds: z.number().min(0).max(300).default(0).describe('0 polls once; else wait with progress up to this long (stay under your client timeout).'),
    numberResults: z.number().int().min(TEXT_TO_IMAGE_LIMITS.numberResults.min).max(TEXT_TO_IMAGE_LIMITS.numberResults.max).optional().describe('Results the task was asked for; omit to use what the journal knows.'),
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
  files: z.array(z.object({ index: z.number(), savedTo: z.string().optional(), saveError: z.string().optional() }).loose()).optional(),
  overrun: shape.overrun,
  next: z.string().optional(),
});

export function register({ server, app, roots, log, previewMaxBytes, confirmProgress }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Poll an earlier Runware task',
      description:
        'Check on, or wait for, any earlier Runware task by taskUUID. Returns status (processing, success, partial, error, or unknown when Runware has no record), progress 0-100, results, errors, and saved files. ' +
        'Free and safe to repeat: it never re-runs the task.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extraRaw) =>
      guard(log, async () => {
        const extra = extraRaw as ToolExtra;
        const onProgress = progressFor(extra, confirmProgress);
        const { output, previews } = await pollTask(app, args, { signal: extra.signal, roots: await roots.allowed(extraRaw), previewMaxBytes, ...(onProgress ? { onProgress } : {}) });
        await onProgress?.settle();
        const files = new Map((output.files ?? []).map((f) => [f.index, f]));
        const blocks = mediaBlocks(
          output.results.map((r, i) => {
            const src = mediaSource(r);
            const f = files.get(i);
            return { ...(f?.savedTo ? { savedTo: f.savedTo } : {}), ...(src.url ? { url: src.url } : {}), ...(f?.mimeType ? { mimeType: f.mimeType } : {}), name: src.uuid ?? `result-${i + 1}`, description: `Result ${i + 1} of task ${output.taskUUID}` };
          }),
          previews,
        );
        return output.status === 'error' ? failedOutput(output, output.errors, blocks) : ok(output, blocks);
      }),
  );
}
