import { z } from 'zod';
import { PROVIDERS } from '../../runway/types.js';
import { guard, ok, progressFor, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';

export const name = 'runway_get_task';

export const inputSchema = z
  .object({
    id: z.string().min(1).max(300).describe('The task id: a UUID (official Runway API or makevid.ai) or a useapi.net id like user:123-runwayml:you@example.com-task:<uuid>.'),
    provider: z.enum(PROVIDERS as unknown as ['runway', 'useapi', 'makevid']).optional().describe('Where the task lives. Omit to detect: composite ids go to useapi.net; UUIDs try the official API, then makevid.ai.'),
    waitSeconds: z.number().min(0).max(300).default(0).describe('0 looks once; otherwise poll at the provider\'s pace, with progress, until the task ends or this many seconds pass.'),
  })
  .strict();

const output = z
  .object({
    url: z.string(),
    previewUrls: z.array(z.string()),
    kind: z.enum(['video', 'image', 'audio', 'unknown']),
    mimeType: z.string().optional(),
    durationSec: z.number().optional(),
    width: z.number().optional(),
    height: z.number().optional(),
    frameRate: z.number().optional(),
    sizeBytes: z.number().optional(),
    expiresAt: z.string().optional(),
    assetId: z.string().optional(),
  })
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
  inputs: z.object({ initImage: z.string().optional() }).optional(),
  outputs: z.array(output),
  error: z.object({ code: z.string().optional(), message: z.string(), category: z.string().optional(), retryable: z.boolean() }).nullable(),
  pollAfterSec: z.number().optional(),
});

export function register({ server, app, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Look up a Runway task',
      description:
        'Get the status and outputs of a Runway video task started elsewhere (official Runway API, useapi.net or makevid.ai), as one normalized view: ' +
        'status (queued, throttled, running, succeeded, failed, cancelled), progress 0-1, outputs (signed URLs with expiresAt, duration, size), and error with retryable. ' +
        'If not terminal, pollAfterSec says when to look again; or pass waitSeconds to wait here.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extraRaw) =>
      guard(log, async () => {
        const extra = extraRaw as ToolExtra;
        const onProgress = progressFor(extra);
        const view = await app.runway().get(args.id, {
          waitSeconds: args.waitSeconds,
          signal: extra.signal,
          ...(args.provider ? { provider: args.provider } : {}),
          ...(onProgress ? { onProgress } : {}),
        });
        await onProgress?.settle();
        return ok(view);
      }),
  );
}
