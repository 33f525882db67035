/** runware_upload: a local file inside the roots becomes a mediaUUID any task can use as an input. */
import { readLocalMedia } from '../media/local.js';
import type { AppContext } from './context.js';
import { uploadMedia, type Upload } from './media-inputs.js';

export async function uploadFile(ctx: AppContext, path: string, roots: string[], signal?: AbortSignal): Promise<Upload & { next: string }> {
  ctx.runware();
  // Checked in full (roots, links, size, media type) before anything is sent.
  const media = await readLocalMedia(path, roots, ctx.config.uploadMaxBytes, 'path');
  const u = await uploadMedia(ctx, media, 'path', signal ? { signal } : {});
  return { ...u, next: `Pass mediaUUID "${u.mediaUUID}" in a media field (seedImage, inputImage, referenceImages, inputs.*) of runware_run or runware_text_to_image.` };
}
