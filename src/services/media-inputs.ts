/**
 * Local files as inputs. A local path in a media field (seedImage, maskImage,
 * inputImage, referenceImages, frameImages, inputs.*, ...) is read and
 * checked first, for every field, so a refused path means nothing was sent;
 * then each distinct file is uploaded once with mediaStorage and the field
 * gets the upload's mediaUUID.
 */
import { dataUri, readLocalMedia, type LocalMedia } from '../media/local.js';
import { UpstreamError } from '../shared/errors.js';
import type { AppContext } from './context.js';
import { BUDGETS } from '../runware/timing.js';

/** Field names that hold media: seedImage, referenceImages, frameImages, inputVideo, guideImage, maskImage, ... */
const MEDIA_KEY = /(image|images|mask|masks|video|videos|audio|audios|media|frame|frames)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MEDIA_EXT = /\.(jpe?g|png|webp|gif|svg|bmp|tiff?|mp4|mov|webm|mkv|mp3|m4a|wav|ogg|flac|glb|gltf|obj)$/i;

/** Whether a string in a media field names a local file (not a URL, data URI, base64 or media UUID). */
export function looksLikeLocalPath(s: string): boolean {
  if (s.startsWith('file://')) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith('data:') || UUID.test(s)) return false;
  if (s.length > 4096 || /[\r\n]/.test(s)) return false;
  if (/^(\/|\.\.?[\\/]|~[\\/]|[A-Za-z]:[\\/])/.test(s)) {
    // JPEG base64 starts with "/9j/"; long unbroken base64 is data, not a path.
    if (s.startsWith('/9j/') || (s.length >= 64 && /^[A-Za-z0-9+/]+={0,2}$/.test(s) && !MEDIA_EXT.test(s)))
      return false;
    return true;
  }
  return MEDIA_EXT.test(s) && !/[*?"<>|]/.test(s);
}

export interface LocalInput {
  /** Where in the params, as the caller spells it (e.g. `params.inputs.frameImages[0].image`). */
  field: string;
  path: string[];
  value: string;
}

/** Every local path in a media position of `params`. */
export function findLocalInputs(params: Record<string, unknown>, prefix: string): LocalInput[] {
  const out: LocalInput[] = [];
  const walk = (v: unknown, path: string[], media: boolean): void => {
    if (typeof v === 'string') {
      if (media && looksLikeLocalPath(v)) out.push({ field: fieldName(prefix, path), path, value: v });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, String(i)], media));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k], media || k === 'inputs' || MEDIA_KEY.test(k));
  };
  walk(params, [], false);
  return out;
}

const fieldName = (prefix: string, path: string[]): string =>
  path.reduce((a, p) => (/^\d+$/.test(p) ? `${a}[${p}]` : a ? `${a}.${p}` : p), prefix);

export interface Upload {
  field: string;
  path: string;
  mediaUUID: string;
  mediaURL?: string;
  format: string;
  bytes: number;
}

/** Where local inputs may come from: the save roots (the first is where relative paths resolve first), then RUNWARE_INPUT_DIRS. */
export const readableFolders = (ctx: AppContext, roots: string[]): string[] => [
  ...new Set([...roots, ...ctx.config.inputDirs]),
];

/** Reads and checks every local input; throws (naming the field) before anything is sent. */
export async function readLocalInputs(
  ctx: AppContext,
  inputs: LocalInput[],
  roots: string[],
): Promise<Map<LocalInput, LocalMedia>> {
  const read = new Map<LocalInput, LocalMedia>();
  const folders = readableFolders(ctx, roots);
  for (const i of inputs) read.set(i, await readLocalMedia(i.value, folders, ctx.config.uploadMaxBytes, i.field));
  return read;
}

/** Uploads one checked file with mediaStorage; returns its reusable reference. */
export async function uploadMedia(
  ctx: AppContext,
  m: LocalMedia,
  field: string,
  opts: { signal?: AbortSignal; deadlineMs?: number } = {},
): Promise<Upload> {
  const r = await ctx
    .runware()
    .submit(
      { taskType: 'mediaStorage', operation: 'upload', media: dataUri(m) },
      { deadlineMs: opts.deadlineMs ?? BUDGETS.uploadMs, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
  const t = r.tasks[0]!;
  const item = t.results.find((x) => typeof x.mediaUUID === 'string' || typeof x.imageUUID === 'string');
  const mediaUUID = (item?.mediaUUID ?? item?.imageUUID) as string | undefined;
  if (t.status !== 'success' || !mediaUUID) {
    const e = t.errors[0] ?? r.requestErrors[0];
    throw new UpstreamError(
      `Uploading ${m.path} (${field}) failed${e ? `: ${e.code}: ${e.message}` : t.status === 'unknown' ? ': no answer in time' : ''}. Nothing else was sent.`,
      {
        category: e?.retryable ? 'serverError' : 'validation',
        retryable: !!e?.retryable || t.status === 'unknown',
        ...(e?.code ? { code: e.code } : {}),
      },
    );
  }
  const mediaURL = (item?.mediaURL ?? item?.imageURL) as string | undefined;
  return { field, path: m.path, mediaUUID, ...(mediaURL ? { mediaURL } : {}), format: m.format, bytes: m.bytes.length };
}

/** Uploads each distinct file once and puts its mediaUUID where the path was. */
export async function uploadLocalInputs(
  ctx: AppContext,
  params: Record<string, unknown>,
  read: Map<LocalInput, LocalMedia>,
  opts: { signal?: AbortSignal; deadlineMs?: number },
): Promise<Upload[]> {
  const byFile = new Map<string, Promise<Upload>>();
  const uploads: Upload[] = [];
  for (const [input, media] of read) {
    let p = byFile.get(media.path);
    if (!p) {
      p = uploadMedia(ctx, media, input.field, opts);
      byFile.set(media.path, p);
    }
    const u = await p;
    setAt(params, input.path, u.mediaUUID);
    uploads.push({ ...u, field: input.field });
  }
  return uploads;
}

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  path.slice(0, -1).forEach((k) => (node = node[k] as Record<string, unknown>));
  node[path[path.length - 1]!] = value;
}
