import { z } from 'zod';
import { MODEL_SEARCH_LIMITS as L, modelSearch } from '../../services/model-search.js';
import { guard, ok, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';
import * as shape from './shapes.js';
import type { IconKind } from '../catalog.js';

export const name = 'runware_model_search';
export const icon: IconKind = 'search';

export const inputSchema = z
  .object({
    search: z.string().min(1).max(200).describe('A model name, style or base, e.g. "flux", "anime".'),
    category: z.enum(['checkpoint', 'lora', 'lycoris', 'controlnet', 'vae', 'embeddings']).optional().describe('Checkpoints are what text-to-image needs.'),
    architecture: z.string().max(50).optional().describe('e.g. sdxl, flux1d, sd1x, pony.'),
    type: z.enum(['base', 'inpainting', 'refiner']).optional(),
    tags: z.array(z.string().max(100)).max(10).optional().describe('All must match.'),
    limit: z.number().int().min(L.limit.min).max(L.limit.max).default(10),
    offset: z.number().int().min(L.offset.min).max(L.offset.max).default(0),
  })
  .strict();

const model = z.object({ air: z.string(), name: z.string(), category: z.string().optional(), architecture: z.string().optional(), defaultWidth: z.number().optional(), defaultHeight: z.number().optional() }).loose();

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
        'Find models on Runware by name, style or architecture. Returns compact entries: air (the id to pass as model), name, category, architecture, defaults and tags; totalResults for paging.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extra) => guard(log, async () => ok(await modelSearch(app, args, (extra as ToolExtra).signal))),
  );
}
