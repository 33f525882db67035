import { z } from 'zod';
import { DEFAULT_MODEL, DEFAULT_WAIT_SECONDS, textToImage } from '../../services/text-to-image.js';
import { AIR } from '../../runware/tasks/common.js';
import { guard, mediaBlocks, ok, progressFor, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';

export const name = 'runware_text_to_image';

const dim = z.number().int().min(64).max(4096).multipleOf(8);

export const inputSchema = z
  .object({
    prompt: z.string().min(1).max(10000).describe('What to draw.'),
    negativePrompt: z.string().max(10000).optional().describe('What to avoid (ignored by some models, e.g. FLUX).'),
    model: z.string().regex(AIR, 'must be an AIR id like runware:101@1').default(DEFAULT_MODEL).describe('AIR model id (source:id@version). Default runware:101@1 (FLUX.1 dev). Find others with runware_model_search.'),
    width: dim.optional().describe('Pixels, a multiple of 8 (16 for FLUX); give with height. Omit for the model default.'),
    height: dim.optional().describe('Pixels, a multiple of 8 (16 for FLUX); give with width.'),
    steps: z.number().int().min(1).max(100).optional().describe('Sampling steps; more is slower.'),
    CFGScale: z.number().min(0).max(50).optional().describe('Prompt adherence.'),
    scheduler: z.string().max(100).optional().describe('Sampler, e.g. "Euler a", "DPM++ 2M Karras".'),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('Fix it to reproduce an image.'),
    numberResults: z.number().int().min(1).max(8).default(1).describe('How many images (1-8).'),
    outputFormat: z.enum(['JPG', 'PNG', 'WEBP']).optional().describe('Image format; default JPG, or the extension of saveTo.'),
    includeCost: z.boolean().default(true).describe('Report the cost in USD.'),
    extra: z.record(z.string(), z.unknown()).optional().describe('Further imageInference fields (lora, controlNet, seedImage, strength, outputQuality, ...), checked by the same rules.'),
    waitSeconds: z.number().min(0).max(300).default(DEFAULT_WAIT_SECONDS).describe(`How long to wait for the images (default ${DEFAULT_WAIT_SECONDS}, below the usual 60 s client timeout). 0 returns the taskUUID at once; finish with runware_poll.`),
    saveTo: z.string().min(1).max(1024).optional().describe('Save the images here: a directory (ending in /) or a file name, inside RUNWARE_OUTPUT_DIR or your MCP roots. Relative paths resolve there. Existing files are never overwritten.'),
  })
  .strict();

const image = z
  .object({
    imageUUID: z.string().optional(),
    imageURL: z.string().optional(),
    seed: z.number().optional(),
    cost: z.number().optional(),
    NSFWContent: z.boolean().optional(),
    savedTo: z.string().optional(),
    format: z.string().optional(),
    mimeType: z.string().optional(),
    bytes: z.number().optional(),
    saveError: z.string().optional(),
    saveNote: z.string().optional(),
  })
  .loose();

export const outputSchema = z.object({
  status: z.enum(['success', 'partial', 'processing', 'error', 'unknown']),
  taskUUID: z.string(),
  attempts: z.array(z.object({ taskUUID: z.string(), outcome: z.string() })).optional(),
  model: z.string(),
  progress: z.number(),
  images: z.array(image),
  cost: z.number().optional(),
  errors: z.array(z.object({ code: z.string(), message: z.string() }).loose()),
  next: z.string().optional(),
});

export function register({ server, app, roots, log, previewMaxBytes }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Generate images from text',
      description:
        'Generate images with Runware from a prompt. Waits up to waitSeconds with progress; if the images are not ready by then, returns status "processing" and the taskUUID to pass to runware_poll. ' +
        'Returns per image: imageURL, seed, cost and (with saveTo) the saved path; resource links to each image, and small inline previews. Every call is billed: do not repeat a call just to check on it, poll instead.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, extraRaw) =>
      guard(log, async () => {
        const extra = extraRaw as ToolExtra;
        const onProgress = progressFor(extra);
        const r = await textToImage(app, args, {
          signal: extra.signal,
          roots: await roots.allowed(),
          previewMaxBytes,
          ...(onProgress ? { onProgress } : {}),
        });
        await onProgress?.settle();
        const blocks = mediaBlocks(
          r.output.images.map((img, i) => ({ ...(img.savedTo ? { savedTo: img.savedTo } : {}), ...(img.imageURL ? { url: img.imageURL } : {}), ...(img.mimeType ? { mimeType: img.mimeType } : {}), name: img.imageUUID ?? 'image', description: `Generated image ${i + 1}${img.seed !== undefined ? ` (seed ${img.seed})` : ''}` })),
          r.previews,
        );
        const res = ok(r.output, blocks);
        if (r.output.status === 'error') res.isError = true;
        return res;
      }),
  );
}
