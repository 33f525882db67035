import { z } from 'zod';
import {
  DEFAULT_MODEL,
  DEFAULT_WAIT_SECONDS,
  TEXT_TO_IMAGE_LIMITS as L,
  textToImage,
} from '../../services/text-to-image.js';
import { AIR } from '../../runware/tasks/common.js';
import { mediaBlocks } from '../results.js';
import { defineTool } from './define.js';
import * as shape from './shapes.js';

const dim = z.number().int().min(L.width.min).max(L.width.max).multipleOf(L.width.multipleOf);

export const inputSchema = z
  .object({
    prompt: z.string().min(1).max(10000).describe('What to draw.'),
    negativePrompt: z.string().max(10000).optional().describe('What to avoid.'),
    model: z
      .string()
      .regex(AIR, 'must be an AIR id like runware:101@1')
      .default(DEFAULT_MODEL)
      .describe('AIR id; default FLUX.1 dev. See runware_model_search.'),
    width: dim.optional().describe('Multiple of 8 (16 for FLUX); omit for the model default.'),
    height: dim.optional(),
    steps: z.number().int().min(L.steps.min).max(L.steps.max).optional(),
    CFGScale: z.number().min(L.CFGScale.min).max(L.CFGScale.max).optional(),
    scheduler: z.string().max(100).optional(),
    seed: z.number().int().min(L.seed.min).max(L.seed.max).optional(),
    numberResults: z.number().int().min(L.numberResults.min).max(L.numberResults.max).default(1),
    outputFormat: z.enum(['JPG', 'PNG', 'WEBP']).optional().describe('Default JPG, or the extension of saveTo.'),
    includeCost: z.boolean().default(true),
    extra: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Other schema fields (lora, seedImage, strength, ...); local image paths are uploaded.'),
    waitSeconds: z
      .number()
      .min(0)
      .max(300)
      .default(DEFAULT_WAIT_SECONDS)
      .describe('Default 45 (under the usual 60 s client timeout); 0 returns the taskUUID at once.'),
    confirmCostUsd: shape.confirmCostUsd,
    saveTo: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe('Folder (ending in /) or file in RUNWARE_OUTPUT_DIR or your roots; never overwrites.'),
  })
  .strict();

const image = z
  .object({
    imageURL: z.string().optional(),
    seed: z.number().optional(),
    savedTo: z.string().optional(),
    saveError: z.string().optional(),
  })
  .loose();

export const outputSchema = z.object({
  status: shape.status,
  taskUUID: z.string(),
  attempts: shape.attempts,
  model: z.string(),
  progress: z.number(),
  images: z.array(image),
  cost: z.number().optional(),
  errors: shape.errors,
  validation: z.enum(['checked', 'skipped']),
  note: z.string().optional(),
  uploads: shape.uploads,
  overrun: shape.overrun,
  next: z.string().optional(),
});

export default defineTool({
  name: 'runware_text_to_image',
  order: 30,
  title: 'Generate images from text',
  description:
    'Generate images from a prompt, checked against the model\'s live schema. Waits up to waitSeconds with progress, else returns "processing" and the taskUUID for runware_poll. ' +
    'Billed per call: poll, never repeat.',
  guide: 'images from a prompt.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  icon: 'generate',
  task: true,
  studio: true,
  handler: async (args, call) => {
    const r = await textToImage(call.app, args, { ...(await call.serviceOptions()), ask: call.ask });
    const content = mediaBlocks(
      r.output.images.map((img, i) => ({
        ...(img.savedTo ? { savedTo: img.savedTo } : {}),
        ...(img.imageURL ? { url: img.imageURL } : {}),
        ...(img.mimeType ? { mimeType: img.mimeType } : {}),
        name: img.imageUUID ?? 'image',
        description: `Generated image ${i + 1}${img.seed !== undefined ? ` (seed ${img.seed})` : ''}`,
      })),
      r.previews,
    );
    return { output: r.output, content, ...(r.output.status === 'error' ? { failed: r.output.errors } : {}) };
  },
});
