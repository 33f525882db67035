import { z } from 'zod';
import { modelSearch } from '../../services/model-search.js';
import { guard, ok, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';

export const name = 'runware_model_search';

export const inputSchema = z
  .object({
    search: z.string().min(1).max(200).describe('Free text: a model name, style or base (e.g. "flux", "anime", "juggernaut").'),
    category: z.enum(['checkpoint', 'lora', 'lycoris', 'controlnet', 'vae', 'embeddings']).optional().describe('Kind of model; checkpoints are what text-to-image needs.'),
    architecture: z.string().max(50).optional().describe('Base architecture, e.g. sdxl, flux1d, sd1x, pony.'),
    type: z.enum(['base', 'inpainting', 'refiner']).optional().describe('Checkpoint type.'),
    tags: z.array(z.string().max(100)).max(10).optional().describe('Every tag must match.'),
    limit: z.number().int().min(1).max(50).default(10).describe('Results per page (1-50).'),
    offset: z.number().int().min(0).max(10000).default(0).describe('Skip this many results (paging).'),
  })
  .strict();

const model = z
  .object({
    air: z.string(),
    name: z.string(),
    version: z.string().optional(),
    category: z.string().optional(),
    architecture: z.string().optional(),
    type: z.string().optional(),
    defaultWidth: z.number().optional(),
    defaultHeight: z.number().optional(),
    defaultSteps: z.number().optional(),
    defaultCFG: z.number().optional(),
    defaultScheduler: z.string().optional(),
    positiveTriggerWords: z.string().optional(),
    tags: z.array(z.string()),
  })
  .loose();

export const outputSchema = z.object({
  taskUUID: z.string(),
  totalResults: z.number(),
  offset: z.number(),
  results: z.array(model),
});

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Search Runware models',
      description:
        'Find image models on Runware by name, style or architecture. Use it before runware_text_to_image when the user wants a particular model or style. ' +
        'Returns compact entries: air (the model id to pass as `model`), name, version, category, architecture, default width/height/steps/CFG, and tags; plus totalResults for paging with offset.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extra) => guard(log, async () => ok(await modelSearch(app, args, (extra as ToolExtra).signal))),
  );
}
