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
    search: z.string().min(1).max(200).optional().describe('Name, maker or style, e.g. "kling", "flux", "anime".'),
    capability: z.string().min(1).max(100).optional().describe('What it must do, e.g. image-to-video, text-to-speech, upscale, background-removal, text-to-image.'),
    category: z.enum(['checkpoint', 'lora', 'lycoris', 'controlnet', 'vae', 'embeddings']).optional().describe('Community filter (as are architecture, type, tags).'),
    architecture: z.string().max(50).optional().describe('e.g. sdxl, flux1d, sd1x, pony.'),
    type: z.enum(['base', 'inpainting', 'refiner']).optional(),
    tags: z.array(z.string().max(100)).max(10).optional(),
    limit: z.number().int().min(L.limit.min).max(L.limit.max).default(10),
    offset: z.number().int().min(L.offset.min).max(L.offset.max).default(0),
  })
  .strict();

const model = z
  .object({ air: z.string(), name: z.string(), source: z.enum(['curated', 'community']), capabilities: z.array(z.string()).optional(), taskType: z.string().optional(), price: z.string().optional(), validated: z.boolean(), use: z.string().optional() })
  .loose();

export const outputSchema = z.object({
  totalResults: z.number(),
  offset: z.number(),
  capability: z.string().optional(),
  results: z.array(model),
  taskUUID: z.string().optional(),
  note: z.string().optional(),
  next: z.string().optional(),
});

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Search Runware models',
      description:
        "Find a model by what it does (capability) or by name, across Runware's curated models (video, audio, 3D, upscaling, editing) and the community catalogue (checkpoints, LoRAs). " +
        'Each hit: air (pass as model), capabilities, taskType, price, validated (checked by a live schema). Then runware_model_info, then runware_run. Free.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extra) => guard(log, async () => ok(await modelSearch(app, args, (extra as ToolExtra).signal))),
  );
}
