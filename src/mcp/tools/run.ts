import { z } from 'zod';
import { AIR } from '../../runware/tasks/common.js';
import { DEFAULT_RUN_WAIT_SECONDS, runModel } from '../../services/run.js';
import { mediaBlocks } from '../results.js';
import { defineTool } from './define.js';
import * as shape from './shapes.js';

export const inputSchema = z
  .object({
    model: z.string().regex(AIR, 'must be an AIR id like klingai:5@3').describe('AIR id; see runware_model_info.'),
    params: z
      .union([z.record(z.string(), z.unknown()), z.string()])
      .optional()
      .describe(
        'By their API names, e.g. {"positivePrompt":"waves","duration":5}. Local paths in media fields are uploaded.',
      ),
    waitSeconds: z
      .number()
      .min(0)
      .max(300)
      .default(DEFAULT_RUN_WAIT_SECONDS)
      .describe('Default 45; 0 returns the taskUUID for runware_poll.'),
    confirmCostUsd: shape.confirmCostUsd,
    saveTo: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe('Directory (ending in /) or file name inside the output roots; real extensions.'),
  })
  .strict();

const item = z
  .object({
    kind: z.string(),
    url: z.string().optional(),
    text: z.string().optional(),
    savedTo: z.string().optional(),
    saveError: z.string().optional(),
  })
  .loose();

export const outputSchema = z.object({
  status: shape.status,
  taskUUID: z.string(),
  taskType: z.string(),
  model: z.string(),
  deliveryMethod: z.enum(['sync', 'async']).optional(),
  progress: z.number(),
  outputs: z.array(item),
  cost: z.number().optional(),
  errors: shape.errors,
  attempts: shape.attempts,
  validation: z.enum(['checked', 'skipped']),
  note: z.string().optional(),
  uploads: shape.uploads,
  overrun: shape.overrun,
  next: z.string().optional(),
});

export default defineTool({
  name: 'runware_run',
  order: 40,
  title: 'Run any Runware model',
  description:
    'Any model (video, audio, 3D, editing...): params checked against its live schema, local files uploaded, waited for with progress, outputs saved or returned as text. ' +
    'Prefer it to runware_request. Billed per call: on "processing", use runware_poll.',
  guide: 'any model; params by their API names; local paths in media fields are uploaded.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  icon: 'generate',
  task: true,
  studio: true,
  handler: async (args, call) => {
    const r = await runModel(call.app, args, { ...(await call.serviceOptions()), ask: call.ask });
    const media = r.output.outputs.map((o, i) => ({
      ...(o.savedTo ? { savedTo: o.savedTo } : {}),
      ...(o.url ? { url: o.url } : {}),
      ...(o.mimeType ? { mimeType: o.mimeType } : {}),
      name: o.uuid ?? `output-${i + 1}`,
      description: `${o.kind} output ${i + 1}`,
    }));
    const texts = r.output.outputs
      .filter((o) => o.kind === 'text')
      .map((o) => ({ type: 'text' as const, text: o.text! }));
    const content = [
      ...texts,
      ...mediaBlocks(
        media.map((m, i) => (r.output.outputs[i]!.kind === 'text' ? { name: m.name, description: m.description } : m)),
        r.previews,
      ),
    ];
    return { output: r.output, content, ...(r.output.status === 'error' ? { failed: r.output.errors } : {}) };
  },
});
