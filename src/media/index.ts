/** Fetching generated outputs and saving them safely. */
import { ValidationError } from '../shared/errors.js';
import { download } from './download.js';
import { EXT_OF, MIME_OF, sniffFormat, type MediaFormat } from './formats.js';
import { resolveSaveTarget, writeNew } from './save.js';

export interface MediaSource {
  /** A URL, a data URI, or raw base64. */
  url?: string;
  dataURI?: string;
  base64?: string;
  /** A stable name for the file (e.g. the imageUUID). */
  name: string;
}

export interface SavedMedia {
  path: string;
  format: MediaFormat;
  mimeType: string;
  bytes: number;
  /** Set when the saved format differs from the one asked for. */
  note?: string;
}

/** The bytes of one output, from whichever form the API returned. */
export async function loadBytes(src: MediaSource, signal?: AbortSignal, timeoutMs?: number): Promise<Buffer> {
  if (src.base64) return Buffer.from(src.base64, 'base64');
  if (src.dataURI) {
    const m = /^data:[^;,]+;base64,(.*)$/s.exec(src.dataURI);
    if (!m) throw new ValidationError('dataURI', 'is not a base64 data URI');
    return Buffer.from(m[1]!, 'base64');
  }
  if (src.url) return download(src.url, { ...(signal ? { signal } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  throw new ValidationError('output', 'has no URL or inline data to save');
}

/** One output's fate: saved, or why not (the output itself, already billed, is kept either way). */
export type SaveResult = SavedMedia | { error: string };

/**
 * Saves outputs under `saveTo` inside `roots`, each on its own: one that
 * cannot be saved (full disk, read-only, an unexpected format) does not stop
 * the others, and says why.
 */
export async function saveOutputs(
  /** `slot`: the item's place in a larger set saved piece by piece (as each download ends), for its file name. */
  items: Array<{ bytes: Buffer; name: string; expected?: MediaFormat; slot?: { index: number; of: number } }>,
  saveTo: string,
  roots: string[],
): Promise<SaveResult[]> {
  let target: Awaited<ReturnType<typeof resolveSaveTarget>>;
  try {
    target = await resolveSaveTarget(saveTo, roots);
  } catch (e) {
    return items.map(() => ({ error: describeSaveError(e) }));
  }
  const out: SaveResult[] = [];
  for (const [i, it] of items.entries()) {
    try {
      const format = sniffFormat(it.bytes);
      if (!format) throw new ValidationError('output', 'is not a recognised image, video or audio file');
      // The extension follows the bytes; a different format than asked for is said, not hidden.
      const place = it.slot ?? { index: i, of: items.length };
      const stem = target.stem ? (place.of > 1 ? `${target.stem}-${place.index + 1}` : target.stem) : it.name;
      const path = await writeNew(target.dir, stem, EXT_OF[format], it.bytes, roots);
      out.push({ path, format, mimeType: MIME_OF[format], bytes: it.bytes.length, ...(it.expected && it.expected !== format ? { note: `saved as ${format}: the output is ${format}, not the ${it.expected} asked for` } : {}) });
    } catch (e) {
      out.push({ error: describeSaveError(e) });
    }
  }
  return out;
}

/** A save failure in one sentence; the task itself ran and its URL is still given. */
export function describeSaveError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOTDIR: 'a part of the path is a file, not a directory',
    ENAMETOOLONG: 'the file name is too long',
    EISDIR: 'the target is a directory',
  };
  const base = code && why[code] ? why[code] : e instanceof Error ? e.message : String(e);
  return `not saved: ${base}. The task ran; use its URL, or poll it again with another saveTo.`;
}

