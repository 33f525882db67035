import { z } from 'zod';
import { air } from './common.js';

/** Upper-case output formats; lowercase spellings seen in newer docs are normalized. */
export const IMAGE_FORMATS = ['JPG', 'PNG', 'WEBP'] as const;
export const imageFormat = z.preprocess(
  (v) => (typeof v === 'string' ? (v.toUpperCase() === 'JPEG' ? 'JPG' : v.toUpperCase()) : v),
  z.enum(IMAGE_FORMATS),
);

/** Dimensions: multiples of 8 (16 for FLUX); per-model limits are checked upstream. */
export const dimension = z
  .number()
  .int()
  .min(64)
  .max(4096)
  .refine((n) => n % 8 === 0, { message: 'must be a multiple of 8 (16 for FLUX models), between 64 and 4096' });

const weighted = z.object({ model: z.string().min(1), weight: z.number().min(-10).max(10).optional() }).loose();
const open = z.record(z.string(), z.unknown());

/**
 * The imageInference fields the server knows, type-checked. Other fields pass:
 * Runware adds parameters per model (watermark, trueCFGScale, acePlusPlus, ...),
 * and the model's live schema, not this list, says which it takes.
 */
export const imageInferenceShape = {
  taskType: z.literal('imageInference'),
  taskUUID: z.string().optional(),
  positivePrompt: z.string().min(1).max(10000),
  negativePrompt: z.string().max(10000).optional(),
  model: air,
  width: dimension.optional(),
  height: dimension.optional(),
  steps: z.number().int().min(1).max(100).optional(),
  CFGScale: z.number().min(0).max(50).optional(),
  scheduler: z.string().min(1).max(100).optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  numberResults: z.number().int().min(1).max(20).optional(),
  outputType: z.enum(['URL', 'base64Data', 'dataURI']).optional(),
  outputFormat: imageFormat.optional(),
  outputQuality: z.number().int().min(20).max(99).optional(),
  includeCost: z.boolean().optional(),
  deliveryMethod: z.enum(['sync', 'async']).optional(),
  webhookURL: z.url().optional(),
  uploadEndpoint: z.url().optional(),
  ttl: z.number().int().min(60).optional(),
  checkNSFW: z.boolean().optional(),
  safety: open.optional(),
  clipSkip: z.number().int().min(0).max(2).optional(),
  promptWeighting: z.enum(['compel', 'sdEmbeds']).optional(),
  usePromptWeighting: z.boolean().optional(),
  vae: z.string().optional(),
  seedImage: z.string().min(1).optional(),
  maskImage: z.string().min(1).optional(),
  maskMargin: z.number().int().min(0).optional(),
  strength: z.number().min(0).max(1).optional(),
  outpaint: open.optional(),
  inputs: open.optional(),
  referenceImages: z.array(z.string()).optional(),
  lora: z.array(weighted).optional(),
  embeddings: z.array(weighted).optional(),
  controlNet: z.array(open).optional(),
  ipAdapters: z.array(open).optional(),
  refiner: open.optional(),
  acceleratorOptions: open.optional(),
  providerSettings: open.optional(),
  advancedFeatures: open.optional(),
  hiresFix: z.union([z.boolean(), open]).optional(),
  ultralytics: open.optional(),
  photoMaker: open.optional(),
  outputs: open.optional(),
  settings: open.optional(),
};

export const imageInferenceTask = z
  .object(imageInferenceShape)
  .loose()
  .refine((t) => (t.width === undefined) === (t.height === undefined), {
    message: 'width and height must be given together',
    path: ['width'],
  });
