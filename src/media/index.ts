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
}

/** The bytes of one output, from whichever form the API returned. */
export async function loadBytes(src: MediaSource, signal?: AbortSignal): Promise<Buffer> {
  if (src.base64) return Buffer.from(src.base64, 'base64');
  if (src.dataURI) {
    const m = /^data:[^;,]+;base64,(.*)$/s.exec(src.dataURI);
    if (!m) throw new ValidationError('dataURI', 'is not a base64 data URI');
    return Buffer.from(m[1]!, 'base64');
  }
  if (src.url) return download(src.url, signal ? { signal } : {});
  throw new ValidationError('output', 'has no URL or inline data to save');
}

/** Saves outputs under `saveTo` inside `roots`; returns where each landed. */
export async function saveOutputs(
  items: Array<{ bytes: Buffer; name: string; expected?: MediaFormat }>,
  saveTo: string,
  roots: string[],
): Promise<SavedMedia[]> {
  const target = await resolveSaveTarget(saveTo, roots);
  const out: SavedMedia[] = [];
  for (const [i, it] of items.entries()) {
    const format = sniffFormat(it.bytes);
    if (!format) throw new ValidationError('output', `${it.name} is not a recognised image or video`);
    if (it.expected && it.expected !== format) throw new ValidationError('outputFormat', `expected ${it.expected} but the output is ${format}`);
    const stem = target.stem ? (items.length > 1 ? `${target.stem}-${i + 1}` : target.stem) : it.name;
    const path = await writeNew(target.dir, stem, EXT_OF[format], it.bytes, roots);
    out.push({ path, format, mimeType: MIME_OF[format], bytes: it.bytes.length });
  }
  return out;
}

