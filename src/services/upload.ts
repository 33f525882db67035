/** runware_upload: a local file inside the roots becomes a mediaUUID any task can use as an input. */
import { readLocalMedia } from '../media/local.js';
import type { AppContext } from './context.js';
import { readableFolders, uploadMedia, type Upload } from './media-inputs.js';
import { cliCommand } from './next-step.js';

export async function uploadFile(ctx: AppContext, path: string, roots: string[], signal?: AbortSignal): Promise<Upload & { next: string }> {
  ctx.runware();
  // Checked in full (roots, links, size, media type) before anything is sent.
  const media = await readLocalMedia(path, readableFolders(ctx, roots), ctx.config.uploadMaxBytes, 'path');
  const u = await uploadMedia(ctx, media, 'path', signal ? { signal } : {});
  const next =
    ctx.frontend === 'cli'
      ? `Pass it as a media parameter: ${cliCommand()} run MODEL --param inputImage=${u.mediaUUID} (or seedImage, referenceImages, inputs.*).`
      : `Pass "${u.mediaUUID}" in a media field of runware_run (params: {"inputImage":"${u.mediaUUID}"}; or seedImage, referenceImages, inputs.*) or of runware_text_to_image (extra: {"seedImage":"${u.mediaUUID}"}).`;
  return { ...u, next };
}
