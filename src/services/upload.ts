/** Upload: a local file inside the roots becomes a mediaUUID any task can use as an input. */
import { readLocalMedia } from '../media/local.js';
import type { AppContext } from './context.js';
import { readableFolders, uploadMedia, type Upload } from './media-inputs.js';
import { next, step, type Next } from '../shared/next-step.js';

export async function uploadFile(
  ctx: AppContext,
  path: string,
  roots: string[],
  signal?: AbortSignal,
): Promise<Upload & { next: Next }> {
  ctx.runware();
  // Checked in full (roots, links, size, media type) before anything is sent.
  const media = await readLocalMedia(path, readableFolders(ctx, roots), ctx.config.uploadMaxBytes, 'path');
  const u = await uploadMedia(ctx, media, 'path', signal ? { signal } : {});
  return {
    ...u,
    next: next(`Pass "${u.mediaUUID}" in a media field of {step}.`, step('useMedia', { mediaUUID: u.mediaUUID })),
  };
}
