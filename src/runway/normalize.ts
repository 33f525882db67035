/**
 * One task view over two shapes: the official API's tagged union and the
 * Runway web-app task that useapi.net and makevid.ai pass through.
 */
import { stripUrlSignature } from '../shared/redact.js';
import { maskEmails } from './ids.js';
import type { Provider, RunwayTaskView, TaskOutput, TaskState } from './types.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

const STATE: Record<string, TaskState> = {
  PENDING: 'queued',
  THROTTLED: 'throttled',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  CANCELED: 'cancelled',
};

/** Default pace per provider: the official SDK polls every ~6 s; useapi and makevid ask for calm. */
export const POLL_AFTER_SEC: Record<Provider, number> = { runway: 6, useapi: 10, makevid: 10 };

export function mapStatus(raw: unknown): { status: TaskState; terminal: boolean } {
  const status = STATE[String(raw ?? '').toUpperCase()] ?? 'unknown';
  // Unknown values from the web-app shape are treated as terminal: never poll forever on a surprise.
  return { status, terminal: !['queued', 'throttled', 'running'].includes(status) };
}

/** `SAFETY.*` never succeeds on retry; `INTERNAL.BAD_OUTPUT.*` may. */
export function isRetryableFailure(code: string | undefined): boolean {
  if (!code) return false;
  if (code.startsWith('SAFETY.')) return false;
  if (code.startsWith('INTERNAL.BAD_OUTPUT') || code === 'INTERNAL' || code.startsWith('INTERNAL.')) return true;
  return false;
}

/** Reads `exp` from a signed URL's `_jwt` (decoded only, never verified). */
export function jwtExpiry(url: string): string | undefined {
  try {
    const token = new URL(url).searchParams.get('_jwt');
    if (!token) {
      const amz = new URL(url).searchParams;
      const date = amz.get('X-Amz-Date');
      const secs = Number(amz.get('X-Amz-Expires'));
      if (date && Number.isFinite(secs)) {
        const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
        if (m)
          return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + secs * 1000).toISOString();
      }
      return undefined;
    }
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Obj;
    const exp = num(payload.exp);
    return exp ? new Date(exp * 1000).toISOString() : undefined;
  } catch {
    return undefined;
  }
}

const MIME_BY_EXT: Record<string, [string, TaskOutput['kind']]> = {
  mp4: ['video/mp4', 'video'],
  webm: ['video/webm', 'video'],
  mov: ['video/quicktime', 'video'],
  png: ['image/png', 'image'],
  jpg: ['image/jpeg', 'image'],
  jpeg: ['image/jpeg', 'image'],
  webp: ['image/webp', 'image'],
  gif: ['image/gif', 'image'],
  mp3: ['audio/mpeg', 'audio'],
  wav: ['audio/wav', 'audio'],
  m4a: ['audio/mp4', 'audio'],
};

function kindOf(...names: Array<string | undefined>): { mimeType?: string; kind: TaskOutput['kind'] } {
  for (const n of names) {
    if (!n) continue;
    let path = n;
    try {
      path = new URL(n).pathname;
    } catch {
      // a filename, not a URL
    }
    const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
    const hit = ext ? MIME_BY_EXT[ext] : undefined;
    if (hit) return { mimeType: hit[0], kind: hit[1] };
  }
  return { kind: 'unknown' };
}

function output(url: string, previewUrls: string[], extra: Partial<TaskOutput>, filename?: string): TaskOutput {
  const k = kindOf(extra.mimeType, filename, url);
  const expiresAt = jwtExpiry(url);
  const o: TaskOutput = { url, previewUrls, kind: k.kind, ...(k.mimeType ? { mimeType: k.mimeType } : {}), ...extra };
  if (expiresAt) o.expiresAt = expiresAt;
  return o;
}

const clamp01 = (n: number): number => Math.min(1, Math.max(0, n));

export function normalizeOfficial(raw: unknown): RunwayTaskView {
  const t = obj(raw);
  const rawStatus = String(t.status ?? '');
  const { status, terminal } = mapStatus(rawStatus);
  const progress = status === 'succeeded' ? 1 : num(t.progress) !== undefined ? clamp01(num(t.progress)!) : null;
  const previews = Array.isArray(t.previewUrls) ? t.previewUrls.filter((u): u is string => typeof u === 'string') : [];
  const outputs = (Array.isArray(t.output) ? t.output : [])
    .filter((u): u is string => typeof u === 'string')
    .map((u) => output(u, previews, {}));
  const code = str(t.failureCode);
  const failure = str(t.failure);
  return {
    id: String(t.id ?? ''),
    provider: 'runway',
    status,
    rawStatus,
    terminal,
    progress,
    createdAt: str(t.createdAt) ?? null,
    updatedAt: null,
    outputs,
    error:
      status === 'failed' || failure
        ? {
            ...(code ? { code, category: code.split('.')[0]! } : {}),
            message: failure ?? 'The task failed.',
            retryable: isRetryableFailure(code),
          }
        : null,
    ...(terminal ? {} : { pollAfterSec: POLL_AFTER_SEC.runway }),
  };
}

export function normalizeWebApp(raw: unknown, provider: 'useapi' | 'makevid'): RunwayTaskView {
  const t = obj(raw);
  const rawStatus = String(t.status ?? '');
  const { status, terminal } = mapStatus(rawStatus);
  const ratio = num(t.progressRatio);
  const progress = status === 'succeeded' ? 1 : ratio !== undefined ? clamp01(ratio) : null;
  const options = obj(t.options);
  const outputs = (Array.isArray(t.artifacts) ? t.artifacts : [])
    .map((a) => {
      const art = obj(a);
      const meta = obj(art.metadata);
      const size = obj(meta.size);
      const dims = Array.isArray(meta.dimensions) ? meta.dimensions : [];
      const width = num(size.width) ?? num(dims[0]) ?? num(meta.width);
      const height = num(size.height) ?? num(dims[1]) ?? num(meta.height);
      const extra: Partial<TaskOutput> = {};
      const duration = num(meta.duration);
      const frameRate = num(meta.frameRate);
      const bytes = num(art.fileSize);
      if (duration !== undefined) extra.durationSec = duration;
      if (width !== undefined) extra.width = width;
      if (height !== undefined) extra.height = height;
      if (frameRate !== undefined) extra.frameRate = frameRate;
      if (bytes !== undefined) extra.sizeBytes = bytes;
      const ext = str(art.fileExtStandardized);
      if (ext) {
        const k = kindOf(`x.${ext}`);
        if (k.mimeType) extra.mimeType = k.mimeType;
      }
      if (str(art.assetId)) extra.assetId = str(art.assetId)!;
      const previews = Array.isArray(art.previewUrls)
        ? art.previewUrls.filter((u): u is string => typeof u === 'string')
        : [];
      return output(String(art.url ?? ''), previews, extra, str(art.filename));
    })
    .filter((o) => o.url);
  const err = t.error;
  let error: RunwayTaskView['error'] = null;
  if (err && typeof err === 'object') {
    const e = obj(err);
    const code = str(e.reason);
    const category = str(e.moderation_category) ?? code?.split('.')[0];
    error = {
      ...(code ? { code } : {}),
      message: maskEmails(str(e.message) ?? str(e.errorMessage) ?? 'The task failed.'),
      ...(category ? { category } : {}),
      retryable: isRetryableFailure(code),
    };
  } else if (typeof err === 'string' && err) {
    error = { message: maskEmails(err), retryable: false };
  } else if (status === 'failed') {
    error = { message: 'The task failed.', retryable: false };
  }
  const initImage = str(options.init_image) ?? str(options.init_video) ?? str(options.image_prompt);
  const eta = num(t.estimatedTimeToStartSeconds);
  return {
    id: provider === 'useapi' ? String(t.taskId ?? t.id ?? '') : String(t.id ?? ''),
    provider,
    status,
    rawStatus,
    terminal,
    progress,
    createdAt: str(t.createdAt) ?? null,
    updatedAt: str(t.updatedAt) ?? null,
    ...(str(t.taskType) ? { model: str(t.taskType)! } : {}),
    ...(str(options.text_prompt) ? { prompt: str(options.text_prompt)! } : {}),
    etaToStartSec: eta ?? null,
    // Inputs are echoed without their signatures: they grant access to the user's uploads.
    ...(initImage ? { inputs: { initImage: stripUrlSignature(initImage) } } : {}),
    outputs,
    error,
    ...(terminal ? {} : { pollAfterSec: POLL_AFTER_SEC[provider] }),
  };
}
