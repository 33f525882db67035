import { z } from 'zod';
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

// Which task types exist, and which of these schemas checks each: src/runware/task-types.ts.

/** Generic shape of a task type we do not check field by field. */
export const genericTask = z
  .object({ taskType: z.string(), taskUUID: z.string().optional(), model: air.optional() })
  .loose();
