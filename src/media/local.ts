/**
 * Reading a local file to use as an input: only inside the allowed roots
 * (symlinks resolved first, so a link cannot point out), only a regular file,
 * only media (proven by its bytes), and only up to the size limit.
 */
import { open, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyError, ValidationError } from '../shared/errors.js';
import { kindOf, MIME_OF, sniffFormat, type MediaFormat, type MediaKind } from './formats.js';
import { inside } from './save.js';

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

/** What every path error ends with: where inputs may come from, and how to allow another folder. */
export const allowedFoldersText = (roots: string[]): string => `allowed folders: ${roots.map((r) => resolve(r)).join(', ')}`;
const ALLOW_HINT = "Use a file inside one of the allowed folders (RUNWARE_OUTPUT_DIR, RUNWARE_INPUT_DIRS or the client's roots), add its folder to RUNWARE_INPUT_DIRS, or pass a URL.";

/**
 * A relative path is looked for in each allowed folder in turn (the first holds it when
 * none does), so a client without roots still finds `./first.png` in RUNWARE_INPUT_DIRS.
 */
async function locate(p: string, roots: string[]): Promise<{ abs: string; tried: string[] }> {
  if (p.startsWith('file://') || p === '~' || p.startsWith('~/') || isAbsolute(p)) return { abs: expandPath(p, roots), tried: [expandPath(p, roots)] };
  const tried = [...new Set(roots.map((r) => resolve(r, p)))];
  for (const t of tried) if (await stat(t).then(() => true, () => false)) return { abs: t, tried };
  return { abs: tried[0]!, tried };
}

export async function readLocalMedia(p: string, roots: string[], maxBytes: number, field = 'path'): Promise<LocalMedia> {
  if (p.includes('\0')) throw new ValidationError(field, 'must not contain NUL bytes');
  if (roots.length === 0) throw new PolicyError(field, 'no folder is allowed for reading', 'Set RUNWARE_INPUT_DIRS or RUNWARE_OUTPUT_DIR, or use a client that offers MCP roots.');
  const { abs, tried } = await locate(p, roots);
  const real = await realpath(abs).catch((e: NodeJS.ErrnoException) => {
    const where = tried.length > 1 ? `looked for ${tried.join(', ')}` : `resolved to ${abs}`;
    throw new ValidationError(field, e.code === 'ENOENT' ? `${p} does not exist (${where}; ${allowedFoldersText(roots)})` : `${p} cannot be read (${e.code ?? e.message}; resolved to ${abs})`);
  });
  const realRoots = await Promise.all(roots.map((r) => realpath(resolve(r)).catch(() => resolve(r))));
  if (!realRoots.some((r) => inside(real, r))) {
    throw new PolicyError(field, `${p} is outside the allowed folders (resolved to ${real}${real !== abs ? `, through a link at ${abs}` : ''}; ${allowedFoldersText(roots)})`, ALLOW_HINT);
  }
  const st = await stat(real);
  if (!st.isFile()) throw new ValidationError(field, `${p} is not a regular file`);
  if (st.size > maxBytes) throw new ValidationError(field, `${p} is ${st.size} bytes, over the ${maxBytes}-byte upload limit`, `files up to ${maxBytes} bytes (RUNWARE_UPLOAD_MAX_BYTES), or a URL`);
  if (st.size === 0) throw new ValidationError(field, `${p} is empty`);
  const handle = await open(real, 'r');
  let bytes: Buffer;
  try {
    // Read at most the limit, whatever the file grew to since stat.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) throw new ValidationError(field, `${p} is over the ${maxBytes}-byte upload limit`);
    bytes = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const format = sniffFormat(bytes);
  if (!format) throw new ValidationError(field, `${p} is not a recognised image, video, audio or 3D file`, 'JPG, PNG, WEBP, GIF, SVG, MP4, MOV, WEBM, MP3, M4A, WAV, OGG, FLAC or GLB');
  return { path: real, bytes, format, kind: kindOf(format), mimeType: MIME_OF[format] };
}

/** A data URI of a file, the form mediaStorage takes. */
export const dataUri = (m: LocalMedia): string => `data:${m.mimeType};base64,${m.bytes.toString('base64')}`;
