import { z } from 'zod';
import { imageInferenceTask } from './image-inference.js';
import { air, UUID_ANY } from './common.js';

export const modelSearchTask = z
  .object({
    taskType: z.literal('modelSearch'),
    taskUUID: z.string().optional(),
    search: z.string().max(200).optional(),
    tags: z.array(z.string().max(100)).max(20).optional(),
    category: z.enum(['checkpoint', 'lora', 'lycoris', 'controlnet', 'vae', 'embeddings']).optional(),
    type: z.string().max(50).optional(),
    architecture: z.string().max(50).optional(),
    conditioning: z.string().max(50).optional(),
    visibility: z.enum(['public', 'private', 'all', 'favorite', 'owned']).optional(),
    source: z.string().max(50).optional(),
    capabilities: z.array(z.string()).optional(),
    sort: z.string().max(50).optional(),
    limit: z.number().int().min(1).max(100).optional(),
    offset: z.number().int().min(0).max(100000).optional(),
    includeCost: z.boolean().optional(),
  })
  .strict();

export const getResponseTask = z
  .object({
    taskType: z.literal('getResponse'),
    taskUUID: z.string().regex(UUID_ANY, { message: 'must be the UUID of an earlier task' }),
  })
  .strict();

export const getTaskDetailsTask = z
  .object({
    taskType: z.literal('getTaskDetails'),
    taskUUID: z.string().regex(UUID_ANY, { message: 'must be the UUID of an earlier task' }),
  })
  .strict();

export const pingTask = z
  .object({ taskType: z.literal('ping'), taskUUID: z.string().optional(), ping: z.boolean().optional() })
  .strict();

/** Task types the API knows (current names and legacy aliases). */
export const KNOWN_TASK_TYPES = [
  'imageInference', 'videoInference', 'audioInference', 'textInference', '3dInference', 'photoMaker',
  'upscale', 'imageUpscale', 'removeBackground', 'imageBackgroundRemoval', 'caption', 'imageCaption',
  'controlNetPreprocess', 'imageControlNetPreProcess', 'imageMasking', 'vectorize', 'promptEnhance',
  'imageUpload', 'mediaStorage', 'modelSearch', 'modelUpload', 'accountManagement', 'getResponse',
  'getTaskDetails', 'training', 'ping',
] as const;

/** Task types checked field by field; the others get the generic rules only. */
export const STRICT_SCHEMAS: Partial<Record<string, z.ZodType>> = {
  imageInference: imageInferenceTask,
  modelSearch: modelSearchTask,
  getResponse: getResponseTask,
  getTaskDetails: getTaskDetailsTask,
  ping: pingTask,
};

/** Generic shape of a task type we do not check field by field. */
export const genericTask = z
  .object({ taskType: z.string(), taskUUID: z.string().optional(), model: air.optional() })
  .loose();

