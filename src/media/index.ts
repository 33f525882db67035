/** Fetching generated outputs and saving them safely. */
import { ValidationError } from '../shared/errors.js';
import { download, streamDownload } from './download.js';
import { EXT_OF, MIME_OF, sniffFormat, type MediaFormat } from './formats.js';
import { openPart, resolveSaveTarget, writeNew } from './save.js';
import { createHash } from 'node:crypto';
import { readRegularFileWithin } from './safe-read.js';
import { FILES } from '../runware/timing.js';

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
  if (src.url)
    return download(src.url, { ...(signal ? { signal } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
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
      out.push({
        path,
        format,
        mimeType: MIME_OF[format],
        bytes: it.bytes.length,
        ...(it.expected && it.expected !== format
          ? { note: `saved as ${format}: the output is ${format}, not the ${it.expected} asked for` }
          : {}),
      });
    } catch (e) {
      out.push({ error: describeSaveError(e) });
    }
  }
  return out;
}

/** How many leading bytes tell a format apart (sniffFormat looks at most this far, for SVG). */
const SNIFF_BYTES = 512;

/**
 * Downloads one output straight to a file under `saveTo` (a hidden part file,
 * named once its bytes say what it is), so a large video never sits in memory.
 * `keep(format)` asks for the bytes too (previews); they are kept only then.
 * A failure to save is the result's `error`, as in saveOutputs; a failure to
 * download (or cancellation) throws, as loadBytes does.
 */
export async function streamOutput(
  url: string,
  /** `own`: the name is this output's alone (its UUID), so a file already under it with the same bytes is this output, saved by another process. */
  item: { name: string; expected?: MediaFormat; slot: { index: number; of: number }; own?: boolean },
  saveTo: string,
  roots: string[],
  opts: { signal?: AbortSignal; timeoutMs?: number; keep?: (format: MediaFormat | undefined) => boolean },
): Promise<{ saved: SaveResult; data?: Buffer; format?: MediaFormat; bytes: number }> {
  let part: Awaited<ReturnType<typeof openPart>>;
  let target: Awaited<ReturnType<typeof resolveSaveTarget>>;
  try {
    target = await resolveSaveTarget(saveTo, roots);
    part = await openPart(target.dir, roots);
  } catch (e) {
    // Nothing can be written: the output comes into memory as before, for what it is and its preview.
    const data = await loadBytes({ url, name: item.name }, opts.signal, opts.timeoutMs);
    const format = sniffFormat(data);
    return {
      saved: { error: describeSaveError(e) },
      ...(opts.keep?.(format) ? { data } : {}),
      ...(format ? { format } : {}),
      bytes: data.length,
    };
  }
  let head = Buffer.alloc(0);
  let format: MediaFormat | undefined;
  // Chunks are held only until the head says what the output is, and after that only if `keep` wants it.
  const early: Buffer[] = [];
  let decided = false;
  let keep: Buffer[] | undefined;
  let writeError: unknown;
  let bytes: number;
  // Hashed only where a file already under this output's own name may be the same output (commit's isSame).
  const sameCheck = !target.stem && item.own === true;
  const digest = sameCheck ? createHash('sha256') : undefined;
  try {
    bytes = await streamDownload(
      url,
      async (chunk, signal) => {
        if (!decided) {
          head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
          format = sniffFormat(head);
          early.push(chunk);
          if (format || head.length >= SNIFF_BYTES) {
            decided = true;
            if (opts.keep?.(format)) keep = early;
          }
        } else keep?.push(chunk);
        digest?.update(chunk);
        if (writeError) return;
        await part.write(chunk, signal).catch((e: unknown) => {
          // The disk failed, not the download: keep reading (a preview may still want the bytes), say why at the end.
          writeError = e;
        });
      },
      {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      },
    );
  } catch (e) {
    await part.discard();
    throw e;
  }
  format = sniffFormat(head);
  if (!decided && opts.keep?.(format)) keep = early;
  const data = keep ? Buffer.concat(keep) : undefined;
  const withData = { ...(data ? { data } : {}), ...(format ? { format } : {}), bytes };
  try {
    if (writeError) throw writeError;
    if (!format) throw new ValidationError('output', 'is not a recognised image, video or audio file');
    const stem = target.stem ? (item.slot.of > 1 ? `${target.stem}-${item.slot.index + 1}` : target.stem) : item.name;
    const sum = digest?.digest('hex');
    // Two polls of one task saving into one folder at once: the second finds the first's file and reports it.
    const isSame = async (existing: string): Promise<boolean> => {
      const held = await readRegularFileWithin(existing, [target.dir], {
        maxBytes: bytes,
        timeoutMs: FILES.writeMs,
        // A file with a second name may be changed through it: not one to report as this output.
        singleLink: true,
        ...(opts.signal ? { signal: opts.signal } : {}),
      }).catch(() => undefined);
      return held?.length === bytes && createHash('sha256').update(held).digest('hex') === sum;
    };
    const path = await part.commit(stem, EXT_OF[format], sameCheck ? isSame : undefined);
    return {
      saved: {
        path,
        format,
        mimeType: MIME_OF[format],
        bytes,
        ...(item.expected && item.expected !== format
          ? { note: `saved as ${format}: the output is ${format}, not the ${item.expected} asked for` }
          : {}),
      },
      ...withData,
    };
  } catch (e) {
    await part.discard();
    return { saved: { error: describeSaveError(e) }, ...withData };
  }
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
  // A name created through a held directory reads /proc/self/fd/N/name: the name alone says more.
  const message = (e instanceof Error ? e.message : String(e)).replace(/\/proc\/self\/fd\/\d+\//g, '');
  const base = code && why[code] ? why[code] : message;
  return `not saved: ${base}. The task ran; use its URL, or poll it again with another saveTo.`;
}
