import { z } from 'zod';
import { uploadFile } from '../../services/upload.js';
import { defineTool } from './define.js';

export const inputSchema = z
  .object({ path: z.string().min(1).max(4096).describe('A media file inside RUNWARE_OUTPUT_DIR or your MCP roots.') })
  .strict();

export const outputSchema = z.object({
  field: z.string(),
  path: z.string(),
  mediaUUID: z.string(),
  mediaURL: z.string().optional(),
  format: z.string(),
  bytes: z.number(),
  next: z.string(),
});

export default defineTool({
  name: 'runware_upload',
  order: 50,
  title: 'Upload a local file to Runware',
  description:
    'Stores a local media file with Runware and returns its mediaUUID for any media field. runware_run uploads paths itself.',
  guide: 'a local file to a mediaUUID.',
  input: inputSchema,
  output: outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  icon: 'upload',
  handler: async (args, call) => ({ output: await uploadFile(call.app, args.path, await call.roots(), call.signal) }),
});
