import { z } from 'zod';
import { pollTask } from '../../services/poll.js';
import { mediaSource } from '../../services/outputs.js';
import { guard, mediaBlocks, ok, progressFor, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';

export const name = 'runware_poll';

export const inputSchema = z
  .object({
    taskUUID: z.uuid({ message: 'must be the taskUUID of an earlier task' }).describe('The taskUUID of any earlier task (sync or async), from runware_text_to_image, runware_request or an "unknown" result.'),
    waitSeconds: z.number().min(0).max(300).default(0).describe('0 polls once; otherwise keep polling (with progress) until done or this many seconds pass. Stay under your client timeout (often 60 s).'),
    numberResults: z.number().int().min(1).max(20).default(1).describe('How many results the task was asked for, so the wait knows when it is complete.'),
    saveTo: z.string().min(1).max(1024).optional().describe('Save finished outputs here, as runware_text_to_image does: a directory (ending in /) or a file name, inside RUNWARE_OUTPUT_DIR or your MCP roots. Existing files are never overwritten.'),
  })
  .strict();

export const outputSchema = z.object({
  taskUUID: z.string(),
  taskType: z.string().optional(),
  status: z.enum(['processing', 'success', 'partial', 'error', 'unknown']),
  attempts: z.array(z.object({ taskUUID: z.string(), outcome: z.string() })).optional(),
  progress: z.number(),
  results: z.array(z.record(z.string(), z.unknown())),
  errors: z.array(z.object({ code: z.string(), message: z.string() }).loose()),
  polls: z.number(),
  transientFailures: z.number(),
  files: z.array(z.object({ index: z.number(), savedTo: z.string().optional(), format: z.string().optional(), mimeType: z.string().optional(), bytes: z.number().optional(), saveError: z.string().optional(), saveNote: z.string().optional() })).optional(),
  next: z.string().optional(),
});

export function register({ server, app, roots, log, previewMaxBytes }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Poll an earlier Runware task',
      description:
        'Check on (or wait for) any earlier Runware task by its taskUUID: getResponse for async work, getTaskDetails where getResponse does not know it (sync tasks, or a task whose answer was lost). ' +
        'Returns status (processing, success, partial, error, or unknown when Runware has no record of it), progress 0-100, the results so far, errors scoped to the task, and with saveTo the saved files. ' +
        'Free to call repeatedly: it never re-runs the task.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extraRaw) =>
      guard(log, async () => {
        const extra = extraRaw as ToolExtra;
        const onProgress = progressFor(extra);
        const { output, previews } = await pollTask(app, args, { signal: extra.signal, roots: await roots.allowed(), previewMaxBytes, ...(onProgress ? { onProgress } : {}) });
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
        const res = ok(output, blocks);
        if (output.status === 'error') res.isError = true;
        return res;
      }),
  );
}
