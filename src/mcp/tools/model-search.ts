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
    search: z.string().min(1).max(200).optional().describe('Name, maker or style, e.g. "kling", "anime".'),
    capability: z.string().min(1).max(100).optional().describe('e.g. image-to-video, text-to-speech, upscale, background-removal, text-to-image.'),
    category: z.enum(['checkpoint', 'lora', 'lycoris', 'controlnet', 'vae', 'embeddings']).optional().describe('Community only, as are architecture, type, tags.'),
    architecture: z.string().max(50).optional().describe('e.g. sdxl, flux1d, sd1x, pony.'),
    type: z.enum(['base', 'inpainting', 'refiner']).optional(),
    tags: z.array(z.string().max(100)).max(10).optional(),
    limit: z.number().int().min(L.limit.min).max(L.limit.max).default(10),
    offset: z.number().int().min(L.offset.min).max(L.offset.max).default(0),
  })
  .strict();

const model = z.object({ air: z.string(), name: z.string(), source: z.enum(['curated', 'community']), taskType: z.string().optional(), validated: z.boolean() }).loose();

export const outputSchema = z
  .object({
    totalResults: z.number(),
    offset: z.number(),
    results: z.array(model),
    note: z.string().optional(),
  })
  .loose();

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Search Runware models',
      description:
        'Find a model by capability or name: curated (video, audio, 3D, upscaling, editing) and community (checkpoints, LoRAs). ' +
        'Hits: air (the model id), capabilities, taskType, price, validated (live schema). Then runware_model_info, then runware_run. Free.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extra) => guard(log, async () => ok(await modelSearch(app, args, (extra as ToolExtra).signal))),
  );
}
