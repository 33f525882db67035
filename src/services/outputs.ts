/**
 * Turning result items into files: load their bytes (URL, base64 or data URI)
 * only when saving or previewing, save inside the allowed roots, and keep
 * small images for inline previews.
 */
import type { ConfirmOptions } from '../runware/spend.js';
import type { DataItem } from '../runware/errors.js';
import type { Progress } from '../runware/poll.js';
import { loadBytes, saveOutputs, streamOutput } from '../media/index.js';
import { MIME_OF, previewable, sniffFormat, type MediaFormat } from '../media/formats.js';
import { safeBasename } from '../media/save.js';
import { fitPreviews, type PreviewSource } from '../media/preview.js';
import { CancelledError } from '../shared/errors.js';
import { BUDGETS, TUNABLE } from '../runware/timing.js';
import { setMaxListeners } from 'node:events';
import type { TaskLedger } from '../state/ledger.js';
import { MEDIA_KINDS, outputFiles } from '../runware/task-types.js';

export interface MediaInfo {
  savedTo?: string;
  format?: MediaFormat;
  mimeType?: string;
  bytes?: number;
  /** Why the output was not saved (or not loaded); the result and its URL are kept. */
  saveError?: string;
  saveNote?: string;
}

export interface Materialized {
  /** One entry per result, in order. */
  info: MediaInfo[];
  /** Bytes of results previewed inline (within the byte budget), by result index. */
  previews: Map<number, { data: Buffer; mimeType: string }>;
}

/** Inline previews of a result, by output index. */
export type Previews = Map<number, { data: Buffer; mimeType: string }>;

/** What a call that makes media takes besides its input: cancellation, progress, where it may save, previews. */
export interface MediaCallOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Directories saving (and reading local inputs) is allowed in; the first is where relative paths resolve. */
  roots: string[];
  /** Byte budget for inline previews (0 = none). */
  previewMaxBytes?: number;
  /** How a quote that needs confirmation is answered (src/runware/spend.ts): the front-end's question, or none. */
  ask?: ConfirmOptions['ask'];
}

export interface MaterializeOptions {
  saveTo?: string;
  roots: string[];
  previewMaxBytes?: number;
  /** The format the caller asked for (a different one is saved as what it is, and said). */
  expected?: MediaFormat;
  signal?: AbortSignal;
  /** Bound on each download, so saving cannot stretch a call past its wait. */
  downloadTimeoutMs?: number;
  /** With saveTo: where each output was saved is recorded for this task (the one place saves are recorded). */
  record?: { ledger: Pick<TaskLedger, 'recordSaves'>; taskUUID: string };
}

/** Downloads get what is left of the wait plus a margin: at least 3 s, at most `capMs` (RUNWARE_DOWNLOAD_TIMEOUT_SECONDS). */
export function downloadBudget(deadline: number, capMs: number = TUNABLE.downloadTimeoutMs): number {
  return Math.min(capMs, Math.max(BUDGETS.downloadFloorMs, deadline - Date.now() + BUDGETS.downloadMarginMs));
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Where a result's bytes are, whatever kind of output it is. */
export function mediaSource(r: DataItem): { url?: string; base64?: string; dataURI?: string; uuid?: string } {
  for (const k of MEDIA_KINDS) {
    const url = str(r[`${k}URL`]);
    const base64 = str(r[`${k}Base64Data`]);
    const dataURI = str(r[`${k}DataURI`]);
    if (url || base64 || dataURI)
      return {
        ...(url ? { url } : {}),
        ...(base64 ? { base64 } : {}),
        ...(dataURI ? { dataURI } : {}),
        ...(str(r[`${k}UUID`]) ? { uuid: str(r[`${k}UUID`])! } : {}),
      };
  }
  return {};
}

/** Result items with one media source each: a 3D result's `outputs.files` become one item per file. */
export function mediaItems(results: DataItem[]): DataItem[] {
  return results.flatMap((r) => {
    const files = outputFiles(r);
    if (!files) return [r];
    return (files as Array<Record<string, unknown>>)
      .filter((f) => f && typeof f === 'object')
      .map(
        (f) =>
          ({
            ...r,
            outputs: undefined,
            mediaURL: f.url,
            mediaUUID: f.uuid,
            mediaDataURI: f.dataURI,
            mediaBase64Data: f.base64Data,
          }) as DataItem,
      );
  });
}

export async function materialize(
  results: DataItem[],
  fallbackName: string,
  opts: MaterializeOptions,
): Promise<Materialized> {
  // One listener on the caller's signal, however many outputs: each download's deadline listens to this one instead.
  const call = new AbortController();
  setMaxListeners(MAX_OUTPUTS_LISTENING, call.signal);
  const onAbort = (): void => call.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await materializeOn(results, fallbackName, { ...opts, signal: call.signal });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Downloads listening on one call's signal at once, before Node warns of a leak (a batch is at most a few dozen). */
const MAX_OUTPUTS_LISTENING = 256;

async function materializeOn(
  results: DataItem[],
  fallbackName: string,
  opts: MaterializeOptions,
): Promise<Materialized> {
  const info: MediaInfo[] = results.map(() => ({}));
  const previews = new Map<number, { data: Buffer; mimeType: string }>();
  const previewMax = opts.previewMaxBytes ?? 0;
  const sources = results.map(mediaSource);
  const wanted = sources.map((s) => (s.url || s.base64 || s.dataURI) && (opts.saveTo !== undefined || previewMax > 0));
  if (!wanted.some(Boolean)) return { info, previews };
  const loadErrors = new Map<number, string>();
  const saved = new Map<number, Awaited<ReturnType<typeof saveOutputs>>[number]>();
  /** What streamed outputs are, by index: their bytes are on disk, not here. */
  const streamed = new Map<number, { format: MediaFormat; bytes: number }>();
  const count = wanted.filter(Boolean).length;
  let slot = 0;
  const slots = wanted.map((w) => (w ? slot++ : -1));
  // Every output downloads at once, and each is saved the moment its bytes are in (the first while the others still load).
  const loaded = await Promise.all(
    sources.map(async (s, i) => {
      if (!wanted[i]) return undefined;
      if (s.url && opts.saveTo !== undefined) {
        // Straight to disk as it downloads; the bytes stay in memory only when an inline preview wants them.
        const r = await streamOutput(
          s.url,
          {
            name: `runware-${safeBasename(s.uuid ?? fallbackName)}`,
            slot: { index: slots[i]!, of: count },
            ...(opts.expected ? { expected: opts.expected } : {}),
          },
          opts.saveTo,
          opts.roots,
          {
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.downloadTimeoutMs !== undefined ? { timeoutMs: opts.downloadTimeoutMs } : {}),
            keep: (f) => previewMax > 0 && f !== undefined && previewable(f),
          },
        ).catch((e: unknown) => {
          if (e instanceof CancelledError) throw e;
          loadErrors.set(i, `not downloaded: ${(e as Error).message}`);
          return undefined;
        });
        if (!r) return undefined;
        saved.set(i, r.saved);
        if (r.format) streamed.set(i, { format: r.format, bytes: r.bytes });
        return r.data;
      }
      const bytes = await loadBytes({ name: s.uuid ?? fallbackName, ...s }, opts.signal, opts.downloadTimeoutMs).catch(
        (e: unknown) => {
          if (e instanceof CancelledError) throw e;
          loadErrors.set(i, `not downloaded: ${(e as Error).message}`);
          return undefined;
        },
      );
      if (bytes && opts.saveTo !== undefined) {
        const [r] = await saveOutputs(
          [
            {
              bytes,
              name: `runware-${safeBasename(s.uuid ?? fallbackName)}`,
              slot: { index: slots[i]!, of: count },
              ...(opts.expected ? { expected: opts.expected } : {}),
            },
          ],
          opts.saveTo,
          opts.roots,
        );
        if (r) saved.set(i, r);
      }
      return bytes;
    }),
  );
  // previewMax is a budget for all previews of one result, so many images cannot flood a context.
  const candidates: PreviewSource[] = [];
  for (const [i, m] of streamed) info[i] = { format: m.format, mimeType: MIME_OF[m.format], bytes: m.bytes };
  loaded.forEach((bytes, i) => {
    const format = bytes ? sniffFormat(bytes) : undefined;
    if (!bytes || !format) return;
    info[i] = { format, mimeType: MIME_OF[format], bytes: bytes.length };
    if (previewMax > 0 && previewable(format)) candidates.push({ index: i, bytes, format });
  });
  // Downscaled to fit (a contact sheet for more than two); without sharp, originals that fit, as before.
  const fitted = candidates.length ? await fitPreviews(candidates, previewMax) : undefined;
  if (fitted) for (const [i, p] of fitted) previews.set(i, p);
  else {
    let budget = previewMax;
    for (const c of candidates) {
      if (c.bytes.length > budget) continue;
      previews.set(c.index, { data: c.bytes, mimeType: MIME_OF[c.format] });
      budget -= c.bytes.length;
    }
  }
  if (opts.saveTo !== undefined) {
    for (const [i, why] of loadErrors) info[i] = { ...info[i], saveError: why };
    for (const [i, s] of saved)
      Object.assign(
        info[i]!,
        'error' in s ? { saveError: s.error } : { savedTo: s.path, ...(s.note ? { saveNote: s.note } : {}) },
      );
    if (opts.record)
      await opts.record.ledger.recordSaves(
        opts.record.taskUUID,
        info.map((m) => m.savedTo),
      );
  }
  return { info, previews };
}
