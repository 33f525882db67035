/**
 * Reading a local file to use as an input: only inside the allowed roots
 * (symlinks resolved first, so a link cannot point out), only a regular file,
 * only media (proven by its bytes), and only up to the size limit.
 */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyError, ValidationError } from '../shared/errors.js';
import { kindOf, MIME_OF, sniffFormat, type MediaFormat, type MediaKind } from './formats.js';
import { readFileWithin, UnsafeFileError } from './safe-read.js';
import { FILES } from '../runware/timing.js';

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
export const LOCAL_READ_TIMEOUT_MS = FILES.localReadMs;

/** What every path error ends with: where inputs may come from. */
export const allowedFoldersText = (roots: string[]): string =>
  `allowed folders: ${roots.map((r) => resolve(r)).join(', ')}`;
const ALLOW_HINT =
  "Use a file inside one of the allowed folders (RUNWARE_OUTPUT_DIR, RUNWARE_INPUT_DIRS or the client's roots), add its folder to RUNWARE_INPUT_DIRS, or pass a URL.";

/**
 * A relative path is looked for in each allowed folder in turn (the first holds it when
 * none does), so a client without roots still finds `./first.png` in RUNWARE_INPUT_DIRS.
 * Only where to look is chosen here; the read itself checks what it opens.
 */
async function locate(p: string, roots: string[]): Promise<{ abs: string; tried: string[] }> {
  if (p.startsWith('file://') || p === '~' || p.startsWith('~/') || isAbsolute(p))
    return { abs: expandPath(p, roots), tried: [expandPath(p, roots)] };
  const tried = [...new Set(roots.map((r) => resolve(r, p)))];
  for (const t of tried)
    if (
      await stat(t).then(
        () => true,
        () => false,
      )
    )
      return { abs: t, tried };
  return { abs: tried[0]!, tried };
}

export async function readLocalMedia(
  p: string,
  roots: string[],
  maxBytes: number,
  field = 'path',
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<LocalMedia> {
  if (p.includes('\0')) throw new ValidationError(field, 'must not contain NUL bytes');
  if (roots.length === 0)
    throw new PolicyError(
      field,
      'no folder is allowed for reading',
      'Set RUNWARE_INPUT_DIRS or RUNWARE_OUTPUT_DIR, or use a client that offers MCP roots.',
    );
  const { abs, tried } = await locate(p, roots);
  // Opened once; the open descriptor is what is checked and read (no second lookup of the name).
  const { bytes, realPath: real } = await readFileWithin(abs, roots, {
    maxBytes,
    timeoutMs: opts.timeoutMs ?? LOCAL_READ_TIMEOUT_MS,
    ...(opts.signal ? { signal: opts.signal } : {}),
  }).catch((e: unknown) => {
    throw localError(e, p, abs, roots, field, maxBytes, tried);
  });
  if (bytes.length === 0) throw new ValidationError(field, `${p} is empty`);
  const format = sniffFormat(bytes);
  if (!format)
    throw new ValidationError(
      field,
      `${p} is not a recognised image, video, audio or 3D file`,
      'JPG, PNG, WEBP, GIF, SVG, MP4, MOV, WEBM, MP3, M4A, WAV, OGG, FLAC or GLB',
    );
  return { path: real, bytes, format, kind: kindOf(format), mimeType: MIME_OF[format] };
}

/** A data URI of a file, the form mediaStorage takes. */
export const dataUri = (m: LocalMedia): string => `data:${m.mimeType};base64,${m.bytes.toString('base64')}`;

/** A refused read in the words of the field it came from. */
function localError(
  e: unknown,
  p: string,
  abs: string,
  roots: string[],
  field: string,
  maxBytes: number,
  tried: string[] = [abs],
): unknown {
  if (!(e instanceof UnsafeFileError)) return e;
  const detail = e.message
    .slice(e.field.length + 2)
    .split(abs)
    .join(p);
  // Every path error names where the path led and the folders allowed.
  switch (e.reason) {
    case 'missing':
      return new ValidationError(
        field,
        `${p} does not exist (${tried.length > 1 ? `looked for ${tried.join(', ')}` : `resolved to ${abs}`}; ${allowedFoldersText(roots)})`,
      );
    case 'outside': {
      const real = e.realPath ?? abs;
      return new PolicyError(
        field,
        `${p} is outside the allowed folders (resolved to ${real}${real !== abs ? `, through a link at ${abs}` : ''}; ${allowedFoldersText(roots)})`,
        ALLOW_HINT,
      );
    }
    case 'unreadable':
      return new ValidationError(field, `${detail} (resolved to ${abs}; ${allowedFoldersText(roots)})`);
    case 'tooLarge':
      return new ValidationError(
        field,
        detail.replace('-byte limit', '-byte upload limit'),
        `files up to ${maxBytes} bytes (RUNWARE_UPLOAD_MAX_BYTES), or a URL`,
      );
    case 'link':
    case 'changed':
      return new PolicyError(field, detail, 'Keep the file still while it is read, or pass a URL.');
    default:
      return new ValidationError(field, detail);
  }
}
