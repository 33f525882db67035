/**
 * Reading a local file to use as an input: only inside the allowed roots
 * (symlinks resolved first, so a link cannot point out), only a regular file,
 * only media (proven by its bytes), and only up to the size limit.
 */
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyError, ValidationError } from '../shared/errors.js';
import { kindOf, MIME_OF, sniffFormat, type MediaFormat, type MediaKind } from './formats.js';
import { readFileWithin, UnsafeFileError } from './safe-read.js';

export interface LocalMedia {
  /** The real path read. */
  path: string;
  bytes: Buffer;
  format: MediaFormat;
  kind: MediaKind;
  mimeType: string;
}

/** `~/x`, `file:///x`, absolute, or relative to the first root. */
export function expandPath(p: string, roots: string[]): string {
  if (p.startsWith('file://')) return fileURLToPath(p);
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? resolve(p) : resolve(roots[0] ?? process.cwd(), p);
}

/** How long checking and reading one local input may take. */
export const LOCAL_READ_TIMEOUT_MS = 30_000;

export async function readLocalMedia(p: string, roots: string[], maxBytes: number, field = 'path', opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<LocalMedia> {
  if (p.includes('\0')) throw new ValidationError(field, 'must not contain NUL bytes');
  if (roots.length === 0) throw new PolicyError(field, 'no directory is allowed for reading', 'Set RUNWARE_OUTPUT_DIR, or use a client that offers MCP roots.');
  const abs = expandPath(p, roots);
  // Opened once; the open descriptor is what is checked and read (no second lookup of the name).
  const { bytes, realPath: real } = await readFileWithin(abs, roots, { maxBytes, timeoutMs: opts.timeoutMs ?? LOCAL_READ_TIMEOUT_MS, ...(opts.signal ? { signal: opts.signal } : {}) }).catch((e: unknown) => {
    throw localError(e, p, abs, roots, field, maxBytes);
  });
  if (bytes.length === 0) throw new ValidationError(field, `${p} is empty`);
  const format = sniffFormat(bytes);
  if (!format) throw new ValidationError(field, `${p} is not a recognised image, video, audio or 3D file`, 'JPG, PNG, WEBP, GIF, SVG, MP4, MOV, WEBM, MP3, M4A, WAV, OGG, FLAC or GLB');
  return { path: real, bytes, format, kind: kindOf(format), mimeType: MIME_OF[format] };
}

/** A data URI of a file, the form mediaStorage takes. */
export const dataUri = (m: LocalMedia): string => `data:${m.mimeType};base64,${m.bytes.toString('base64')}`;

/** A refused read in the words of the field it came from. */
function localError(e: unknown, p: string, abs: string, roots: string[], field: string, maxBytes: number): unknown {
  if (!(e instanceof UnsafeFileError)) return e;
  const detail = e.message.slice(e.field.length + 2).split(abs).join(p);
  switch (e.reason) {
    case 'outside':
      return new PolicyError(field, detail, `Use a file inside ${roots.join(' or ')} (RUNWARE_OUTPUT_DIR or the client's roots), or pass a URL.`);
    case 'tooLarge':
      return new ValidationError(field, detail.replace('-byte limit', '-byte upload limit'), `files up to ${maxBytes} bytes (RUNWARE_UPLOAD_MAX_BYTES), or a URL`);
    case 'link':
    case 'changed':
      return new PolicyError(field, detail, 'Keep the file still while it is read, or pass a URL.');
    default:
      return new ValidationError(field, detail);
  }
}
