import { z } from 'zod';
import { PROVIDERS } from '../../runway/types.js';
import { defineTool } from './define.js';

export const inputSchema = z
  .object({
    id: z.string().min(1).max(300).describe('A UUID, or a useapi.net id like user:1-runwayml:me@x.com-task:<uuid>.'),
    provider: z
      .enum(PROVIDERS as unknown as ['runway', 'useapi', 'makevid'])
      .optional()
      .describe('Omit to detect from the id.'),
    waitSeconds: z
      .number()
      .min(0)
      .max(300)
      .default(0)
      .describe('0 looks once; else wait with progress until it ends or this long passes.'),
  })
  .strict();

const output = z
  .object({ url: z.string(), kind: z.enum(['video', 'image', 'audio', 'unknown']), expiresAt: z.string().optional() })
  .loose();

export const outputSchema = z.object({
  id: z.string(),
  provider: z.enum(['runway', 'useapi', 'makevid']),
  status: z.enum(['queued', 'throttled', 'running', 'succeeded', 'failed', 'cancelled', 'unknown']),
  rawStatus: z.string(),
  terminal: z.boolean(),
  progress: z.number().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  model: z.string().optional(),
  prompt: z.string().optional(),
  etaToStartSec: z.number().nullable().optional(),
  inputs: z.record(z.string(), z.unknown()).optional(),
  outputs: z.array(output),
  error: z.object({ message: z.string(), retryable: z.boolean() }).loose().nullable(),
  pollAfterSec: z.number().optional(),
});

export default defineTool({
  name: 'runway_get_task',
  order: 100,
  title: 'Look up a Runway task',
  description:
    'Status and outputs of a Runway video task (official API, useapi.net or makevid.ai), normalized: status, progress 0-1, outputs (signed URLs with expiresAt), error with retryable. ' +
    'If not terminal, pollAfterSec says when to look again.',
  guide: 'a Runway video task by id (official API, useapi.net or makevid.ai); output URLs expire at expiresAt.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  icon: 'video',
  task: true,
  handler: async (args, call) => ({
    output: await call.app.runway().get(args.id, {
      waitSeconds: args.waitSeconds,
      signal: call.signal,
      ...(args.provider ? { provider: args.provider } : {}),
      ...(call.progress ? { onProgress: call.progress } : {}),
    }),
  }),
});
