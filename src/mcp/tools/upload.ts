import { z } from 'zod';
import { uploadFile } from '../../services/upload.js';
import { guard, ok, type ToolExtra } from '../results.js';
import type { ToolDeps } from './types.js';
import * as shape from './shapes.js';
import type { IconKind } from '../catalog.js';

export const name = 'runware_upload';
export const icon: IconKind = 'upload';

export const inputSchema = z.object({ path: z.string().min(1).max(4096).describe('A media file inside RUNWARE_OUTPUT_DIR or your MCP roots.') }).strict();

export const outputSchema = z.object({ field: z.string(), path: z.string(), mediaUUID: z.string(), mediaURL: z.string().optional(), format: z.string(), bytes: z.number(), next: z.string() });

export function register({ server, app, roots, log }: ToolDeps): void {
  server.registerTool(
    name,
    {
      title: 'Upload a local file to Runware',
      description: 'Stores a local media file with Runware and returns its mediaUUID for any media field. runware_run uploads paths itself.',
      inputSchema,
      outputSchema: shape.published(outputSchema),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) => guard(log, async () => ok(await uploadFile(app, args.path, await roots.allowed(extra), (extra as ToolExtra).signal))),
  );
}
