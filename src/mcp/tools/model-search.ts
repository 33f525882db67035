import { z } from 'zod';
import { MODEL_SEARCH_LIMITS as L, modelSearch } from '../../services/model-search.js';
import { defineTool } from './define.js';

export const inputSchema = z
  .object({
    search: z.string().min(1).max(200).optional().describe('Name, maker or style, e.g. "kling", "anime".'),
    capability: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('e.g. image-to-video, text-to-speech, upscale, background-removal, text-to-image.'),
    category: z
      .enum(['checkpoint', 'lora', 'lycoris', 'controlnet', 'vae', 'embeddings'])
      .optional()
      .describe('Community only, as are architecture, type, tags.'),
    architecture: z.string().max(50).optional().describe('e.g. sdxl, flux1d, sd1x, pony.'),
    type: z.enum(['base', 'inpainting', 'refiner']).optional(),
    tags: z.array(z.string().max(100)).max(10).optional(),
    limit: z.number().int().min(L.limit.min).max(L.limit.max).default(10),
    offset: z.number().int().min(L.offset.min).max(L.offset.max).default(0),
  })
  .strict();

const model = z
  .object({
    air: z.string(),
    name: z.string(),
    source: z.enum(['curated', 'community']),
    taskType: z.string().optional(),
    validated: z.boolean(),
  })
  .loose();

export const outputSchema = z
  .object({
    totalResults: z.number(),
    offset: z.number(),
    results: z.array(model),
    note: z.string().optional(),
  })
  .loose();

export default defineTool({
  name: 'runware_model_search',
  order: 10,
  title: 'Search Runware models',
  description:
    'Find a model by capability or name: curated (video, audio, 3D, upscaling, editing) and community (checkpoints, LoRAs). ' +
    'Hits: air (the model id), capabilities, taskType, price, validated (live schema). Then runware_model_info, then runware_run. Free.',
  guide: 'by capability (image-to-video, text-to-speech, upscale, ...) or name.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  icon: 'search',
  handler: async (args, call) => ({ output: await modelSearch(call.app, args, call.signal) }),
});
