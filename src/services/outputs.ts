/**
 * Turning result items into files: load their bytes (URL, base64 or data URI)
 * only when saving or previewing, save inside the allowed roots, and keep
 * small images for inline previews.
 */
import type { ConfirmOptions } from '../runware/spend.js';
import type { DataItem } from '../runware/errors.js';
import type { Progress } from '../runware/poll.js';
import { loadBytes, saveOutputs, streamOutput, type SaveResult } from '../media/index.js';
import { MIME_OF, previewable, sniffFormat, type MediaFormat } from '../media/formats.js';
import { safeBasename } from '../media/save.js';
import { fitPreviews, type PreviewSource } from '../media/preview.js';
import { CancelledError } from '../shared/errors.js';
import { BUDGETS, TUNABLE } from '../runware/timing.js';
import { setMaxListeners } from 'node:events';
import type { TaskLedger } from '../state/ledger.js';
import { MEDIA_KINDS, outputFiles } from '../runware/task-types.js';
import { resultKey, resultNames } from '../runware/poll.js';

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
  /** Bound on each download, so saving cannot stretch a call past its wait (a function: asked as each download begins). */
  downloadTimeoutMs?: number | (() => number);
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

/** Saves (or previews) every output of `results` at once, each saved as soon as its bytes are in. */
export function materialize(
  results: DataItem[],
  fallbackName: string,
  opts: MaterializeOptions,
): Promise<Materialized> {
  return new OutputBatch(fallbackName, opts).finish(results);
}

/** Why an output was not fetched when its result is one more than the task makes. */
const BEYOND_COUNT = 'not downloaded: Runware listed more results than the task makes; its URL is kept';

/** Downloads listening on one call's signal at once, before Node warns of a leak (a batch is at most a few dozen). */
const MAX_OUTPUTS_LISTENING = 256;

export interface OutputBatchOptions extends Omit<MaterializeOptions, 'record'> {
  /** With saveTo: where the saves are recorded, for the task forTask() names (else the one its results name). */
  record?: { ledger: Pick<TaskLedger, 'recordSaves'>; taskUUID?: string };
  /** The items of a result list that hold media, in output order (default: every item). */
  media?: (results: DataItem[]) => DataItem[];
  /** How many outputs the task makes, so a batch saved piece by piece is named as one (default: those finished). */
  count?: number;
  /** Outputs an earlier call already saved, by output UUID: reported as they are, never saved again. */
  earlier?: ReadonlyMap<string, MediaInfo>;
}

/** One output fetched: its bytes (when kept), what streaming found, its save, or why it did not load. */
interface Fetched {
  bytes?: Buffer;
  streamed?: { format: MediaFormat; bytes: number };
  saved?: SaveResult;
  loadError?: string;
  /** Saved by an earlier call (OutputBatchOptions.earlier). */
  earlier?: MediaInfo;
}

type Source = ReturnType<typeof mediaSource>;
const hasBytes = (s: Source): boolean => !!(s.url || s.base64 || s.dataURI);
/** One output's identity across polls and frames: its UUID, else where its bytes are. */
const sourceKey = (s: Source): string => s.uuid ?? s.url ?? (s.dataURI ?? s.base64 ?? '').slice(0, 256);

/** The file name an output is saved under when saveTo names only a folder: its own UUID (or the task's). */
export const outputName = (uuid: string): string => `runware-${safeBasename(uuid)}`;

/**
 * A call's outputs, fetched as each result arrives: `onResult` (the client's
 * hook, src/runware/early-results.ts) starts downloading and saving a result
 * the moment a poll or frame shows it, beside the wait for the others;
 * `finish` starts whatever is left, waits for all, fits the previews and
 * records the saves. Every download listens to the call's signal, so a
 * cancelled call aborts them (a part file is removed as its download ends);
 * `settle` waits for that and records what was saved before the call failed.
 */
export class OutputBatch {
  private readonly call = new AbortController();
  private readonly started = new Map<string, { source: Source; fetched: Promise<Fetched> }>();
  private readonly seen = new Map<string, DataItem>();
  /** File-name slots given out (a batch saved piece by piece keeps one numbering). */
  private readonly slots = new Set<number>();
  private readonly wanted: boolean;
  private readonly previewMax: number;
  private unlink: () => void = () => undefined;
  private taskUUID: string | undefined;
  /** Every name of the results whose outputs are fetched, and how many such results (at most `count`). */
  private readonly counted = { names: new Set<string>(), results: 0 };

  constructor(
    private readonly fallbackName: string,
    private readonly opts: OutputBatchOptions,
  ) {
    this.previewMax = opts.previewMaxBytes ?? 0;
    this.taskUUID = opts.record?.taskUUID;
    // Outputs saved earlier hold the first places of the numbering (they were the first to finish).
    for (let i = 0; opts.saveTo !== undefined && i < (opts.earlier?.size ?? 0); i++) this.slots.add(i);
    this.wanted = opts.saveTo !== undefined || this.previewMax > 0;
    // One listener on the caller's signal, however many outputs: each download's deadline listens to this one instead.
    setMaxListeners(MAX_OUTPUTS_LISTENING, this.call.signal);
    const outer = opts.signal;
    const onAbort = (): void => this.call.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    else if (outer) {
      outer.addEventListener('abort', onAbort, { once: true });
      this.unlink = () => outer.removeEventListener('abort', onAbort);
    }
  }

  /** Whether outputs are saved or previewed at all (else nothing is fetched). */
  get active(): boolean {
    return this.wanted;
  }

  /** The task the outputs are recorded for (a retry may have given it a new UUID since its first result). */
  forTask(taskUUID: string): this {
    this.taskUUID = taskUUID;
    return this;
  }

  /** The results told so far, in the order they came (a call may end before its outcome lists them). */
  results(): DataItem[] {
    return [...this.seen.values()];
  }

  /** The client's hook: a finished result's outputs start downloading (and saving) now. */
  readonly onResult = (item: DataItem): void => {
    const key = resultKey(item);
    if (this.seen.has(key)) return;
    this.seen.set(key, item);
    if (typeof item.taskUUID === 'string') this.taskUUID ??= item.taskUUID;
    if (!this.wanted || this.call.signal.aborted) return;
    const sources = this.media([item]).map(mediaSource).filter(hasBytes);
    if (sources.length && !this.withinCount(item)) return;
    const of = Math.max(this.opts.count ?? 1, this.slots.size + sources.length);
    // An output already begun (another result naming the same output) is not fetched again: one output, one file.
    for (const s of sources)
      if (!this.isEarlier(s) && !this.started.has(sourceKey(s))) this.begin(s, this.freeSlot(this.slots.size), of);
  };

  /**
   * Every output of `results`, in order: those begun early are awaited, the
   * rest begun now (named in the batch's numbering), those saved by an earlier
   * call reported as they are; then previews and the saves' record.
   */
  async finish(results: DataItem[]): Promise<Materialized> {
    try {
      const perResult = results.map((r) => this.media([r]).map(mediaSource));
      const sources = perResult.flat();
      // The outputs of results past the task's count (an answer listing more than it makes) are not fetched.
      const beyond = new Set<number>();
      if (this.wanted)
        perResult.reduce((at, group, k) => {
          if (group.some(hasBytes) && !this.withinCount(results[k]!)) group.forEach((_, j) => beyond.add(at + j));
          return at + group.length;
        }, 0);
      if (!this.wanted || !sources.some(hasBytes)) {
        await this.recordBegun();
        return { info: sources.map(() => ({})), previews: new Map() };
      }
      const of = Math.max(this.opts.count ?? 0, sources.filter(hasBytes).length);
      // An output saved earlier keeps its place in the numbering.
      sources.forEach((s, i) => this.isEarlier(s) && this.slots.add(i));
      const fetched = await Promise.all(
        sources.map((s, i): Promise<Fetched | undefined> | undefined => {
          if (!hasBytes(s)) return undefined;
          if (beyond.has(i)) return Promise.resolve({ loadError: BEYOND_COUNT });
          const begun = this.started.get(sourceKey(s));
          if (begun) return begun.fetched;
          const earlier = this.isEarlier(s);
          if (earlier)
            // Not saved again; loaded only for its preview.
            return this.previewMax > 0
              ? this.fetch(s, { index: i, of }, false).then((f) => ({ ...f, earlier }))
              : Promise.resolve({ earlier });
          return this.begin(s, this.freeSlot(i), of);
        }),
      );
      // Whatever began and is not among the results (it should be) still ends before the call does.
      await Promise.allSettled([...this.started.values()].map((b) => b.fetched));
      return await this.assemble(fetched, sources);
    } catch (e) {
      await this.recordBegun();
      throw e;
    } finally {
      this.unlink();
    }
  }

  /** After a failed or cancelled call: waits for the downloads begun (aborted with the call) and records what they saved. */
  async settle(): Promise<void> {
    try {
      await this.recordBegun();
    } finally {
      this.unlink();
    }
  }

  /** Waits for every download begun and records the ones that saved (by output UUID: the outcome may not list them). */
  private async recordBegun(): Promise<void> {
    const begun = [...this.started.values()];
    const done = await Promise.allSettled(begun.map((b) => b.fetched));
    const saved = done.map((d) =>
      d.status === 'fulfilled' && d.value.saved && 'path' in d.value.saved ? d.value.saved.path : undefined,
    );
    if (this.opts.record && this.taskUUID && this.opts.saveTo !== undefined && saved.some(Boolean))
      await this.opts.record.ledger.recordSaves(
        this.taskUUID,
        saved,
        begun.map((b) => b.source.uuid),
      );
  }

  /**
   * Whether a result's outputs may be fetched: one already counted (under any of its names,
   * resultNames) is; a new one only while fewer than `count` are, so a hostile answer listing
   * more results than the task makes cannot fill the folder (its results are still reported).
   */
  private withinCount(item: DataItem): boolean {
    const names = resultNames(item);
    if (names.some((n) => this.counted.names.has(n))) return true;
    if (this.opts.count !== undefined && this.counted.results >= Math.max(1, this.opts.count)) return false;
    this.counted.results++;
    for (const n of names) this.counted.names.add(n);
    return true;
  }

  private media(results: DataItem[]): DataItem[] {
    return this.opts.media ? this.opts.media(results) : results;
  }

  private isEarlier(s: Source): MediaInfo | undefined {
    return s.uuid !== undefined && this.opts.saveTo !== undefined ? this.opts.earlier?.get(s.uuid) : undefined;
  }

  /** `wish` if no output has it yet, else the lowest free one. */
  private freeSlot(wish: number): number {
    let slot = wish;
    if (this.slots.has(slot)) for (slot = 0; this.slots.has(slot);) slot++;
    return slot;
  }

  private begin(s: Source, index: number, of: number): Promise<Fetched> {
    this.slots.add(index);
    const fetched = this.fetch(s, { index, of }, true);
    // Awaited by finish or settle; until then a cancelled download is not an unhandled rejection.
    fetched.catch(() => undefined);
    this.started.set(sourceKey(s), { source: s, fetched });
    return fetched;
  }

  /** One output's bytes, saved (with saveTo and `save`) straight to disk as they download, or kept for a preview. */
  private async fetch(s: Source, slot: { index: number; of: number }, save: boolean): Promise<Fetched> {
    const { opts, previewMax } = this;
    const signal = this.call.signal;
    const saveTo = save ? opts.saveTo : undefined;
    const timeoutMs = typeof opts.downloadTimeoutMs === 'function' ? opts.downloadTimeoutMs() : opts.downloadTimeoutMs;
    const fallback = this.taskUUID ?? this.fallbackName;
    const name = outputName(s.uuid ?? fallback);
    const failed = (e: unknown): Fetched => {
      if (e instanceof CancelledError) throw e;
      return { loadError: `not downloaded: ${(e as Error).message}` };
    };
    if (s.url && saveTo !== undefined) {
      // Straight to disk as it downloads; the bytes stay in memory only when an inline preview wants them.
      try {
        const r = await streamOutput(
          s.url,
          { name, slot, own: s.uuid !== undefined, ...(opts.expected ? { expected: opts.expected } : {}) },
          saveTo,
          opts.roots,
          {
            signal,
            ...(timeoutMs !== undefined ? { timeoutMs } : {}),
            keep: (f) => previewMax > 0 && f !== undefined && previewable(f),
          },
        );
        return {
          saved: r.saved,
          ...(r.format ? { streamed: { format: r.format, bytes: r.bytes } } : {}),
          ...(r.data ? { bytes: r.data } : {}),
        };
      } catch (e) {
        return failed(e);
      }
    }
    let bytes: Buffer;
    try {
      bytes = await loadBytes({ name: s.uuid ?? fallback, ...s }, signal, timeoutMs);
    } catch (e) {
      return failed(e);
    }
    if (saveTo === undefined) return { bytes };
    const [r] = await saveOutputs(
      [{ bytes, name, slot, ...(opts.expected ? { expected: opts.expected } : {}) }],
      saveTo,
      opts.roots,
    );
    return { bytes, ...(r ? { saved: r } : {}) };
  }

  /** What each output became, the previews (within their budget), and the saves recorded for the task. */
  private async assemble(fetched: Array<Fetched | undefined>, sources: Source[]): Promise<Materialized> {
    const { opts, previewMax } = this;
    const info: MediaInfo[] = fetched.map(() => ({}));
    const previews = new Map<number, { data: Buffer; mimeType: string }>();
    // previewMax is a budget for all previews of one result, so many images cannot flood a context.
    const candidates: PreviewSource[] = [];
    fetched.forEach((f, i) => {
      if (!f) return;
      if (f.streamed)
        info[i] = { format: f.streamed.format, mimeType: MIME_OF[f.streamed.format], bytes: f.streamed.bytes };
      const format = f.bytes ? sniffFormat(f.bytes) : undefined;
      if (!f.bytes || !format) return;
      info[i] = { format, mimeType: MIME_OF[format], bytes: f.bytes.length };
      if (previewMax > 0 && previewable(format)) candidates.push({ index: i, bytes: f.bytes, format });
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
      fetched.forEach((f, i) => {
        if (f?.loadError && !f.earlier) info[i] = { ...info[i], saveError: f.loadError };
      });
      fetched.forEach((f, i) => {
        if (f?.earlier) Object.assign(info[i]!, f.earlier);
        else if (f?.saved)
          Object.assign(
            info[i]!,
            'error' in f.saved
              ? { saveError: f.saved.error }
              : { savedTo: f.saved.path, ...(f.saved.note ? { saveNote: f.saved.note } : {}) },
          );
      });
      if (opts.record && this.taskUUID)
        await opts.record.ledger.recordSaves(
          this.taskUUID,
          info.map((m) => m.savedTo),
          sources.map((s) => s.uuid),
        );
    }
    return { info, previews };
  }
}
