import type { AppContext } from '../services/context.js';
import { uploadFile } from '../services/upload.js';
import { parse } from './args.js';
import { EXIT_OK, UsageError, printJson } from './output.js';
import { readRoots } from './roots.js';

export const usage = `Usage: runware-mcp-server upload PATH

Stores a local image, video, audio or 3D file with Runware (mediaStorage) and prints its
mediaUUID, usable in any media field. PATH must be inside the current directory or
RUNWARE_OUTPUT_DIR, a media file, and at most RUNWARE_UPLOAD_MAX_BYTES.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, true);
  if (positionals.length !== 1) throw new UsageError('upload needs exactly one PATH');
  printJson(await uploadFile(ctx, positionals[0]!, readRoots(ctx)));
  return EXIT_OK;
}
