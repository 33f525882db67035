import { z } from 'zod';
import { AIR } from '../../runware/tasks/common.js';
import { modelInfo } from '../../services/model-info.js';
import { defineTool } from './define.js';

export const inputSchema = z
  .object({
    model: z.string().regex(AIR, 'must be an AIR id like runware:101@1').describe('AIR id, e.g. klingai:5@3.'),
  })
  .strict();

export const outputSchema = z
  .object({
    model: z.string(),
    taskType: z.string().optional(),
    deliveryMethods: z.array(z.enum(['sync', 'async'])).optional(),
    deliveryUsed: z.enum(['sync', 'async']).optional(),
    schema: z.enum(['live', 'cached', 'none']),
    parameters: z.array(
      z
        .object({
          name: z.string(),
          type: z.string(),
          required: z.boolean().optional(),
          allowed: z.string().optional(),
        })
        .loose(),
    ),
    rules: z.array(z.string()).optional(),
    documentation: z.string().optional(),
    pricing: z
      .object({ overview: z.string().optional(), examples: z.array(z.record(z.string(), z.string())) })
      .optional(),
    examples: z.array(z.record(z.string(), z.unknown())).optional(),
    note: z.string().optional(),
  })
  // Also name, source, capabilities, about (a schema-less model's defaults) and use (for LoRAs and the like).
  .loose();

export default defineTool({
  name: 'runware_model_info',
  order: 20,
  title: 'What a Runware model takes',
  description:
    'Any AIR from runware_model_search: task type, delivery, parameters (type, required, allowed, default), rules, docs, pricing, and examples whose params runware_run takes. Free.',
  guide: "a model's parameters and examples.",
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  icon: 'search',
  handler: async (args, call) => ({ output: await modelInfo(call.app, args.model, call.signal) }),
});
