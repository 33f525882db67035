/**
 * The one way a file named by someone else (a journal record, a caller, a
 * page) is read: a path is never trusted because of who holds it.
 *
 * The file is opened once, without following a link at the last step and
 * without blocking on a FIFO or device (O_NOFOLLOW | O_NONBLOCK where the
 * platform has them), then the open descriptor itself is checked: a regular
 * file, the same device and inode as the path checked inside the allowed
 * directories, and (where /proc/self/fd exists) really located inside them.
 * Bytes come from that descriptor only, under a size bound and a deadline.
 */
import { constants } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CancelledError, PolicyError } from '../shared/errors.js';
import { inside, whereIs } from './save.js';

export type UnsafeFileReason =
  'missing' | 'outside' | 'link' | 'notRegular' | 'changed' | 'tooLarge' | 'timeout' | 'unreadable';

/** Why a file was not read; nothing was read. Callers name their own field and say what to do. */
export class UnsafeFileError extends PolicyError {
  constructor(
    readonly reason: UnsafeFileReason,
    /** The path as given. */
    readonly path: string,
    detail: string,
    /** Where the path really leads, when that was learnt. */
    readonly realPath?: string,
  ) {
    super('path', detail, 'Use a regular file inside the allowed directories.');
  }
}

export interface SafeReadOptions {
  /** More than this is refused (and never read past). */
  maxBytes: number;
  /** The whole check-open-read has this long. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Refuse a file with more than one hard link. For files the server wrote itself (saved outputs,
   * which have one): a second name may be a file from outside the directories, linked in.
   */
  singleLink?: boolean;
}

const FLAGS =
  constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = 1 << 20;

/** The real directories allowed now (ones that do not exist allow nothing). */
async function realDirs(dirs: readonly string[]): Promise<string[]> {
  const out = await Promise.all(dirs.map((d) => realpath(resolve(d)).catch(() => undefined)));
  return out.filter((d): d is string => d !== undefined);
}

/**
 * Reads `path` if, at the moment it is opened, it is a regular file inside one
 * of `allowedDirs`. Throws UnsafeFileError (or CancelledError) otherwise.
 */
export async function readRegularFileWithin(
  path: string,
  allowedDirs: readonly string[],
  opts: SafeReadOptions,
): Promise<Buffer> {
  return (await readFileWithin(path, allowedDirs, opts)).bytes;
}

/** readRegularFileWithin, also saying where the file really is (the path that was checked). */
export async function readFileWithin(
  path: string,
  allowedDirs: readonly string[],
  opts: SafeReadOptions,
): Promise<{ bytes: Buffer; realPath: string }> {
  if (opts.signal?.aborted) throw new CancelledError();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UnsafeFileError('timeout', path, `${path} could not be read within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    onAbort = () => reject(new CancelledError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
  const state = { over: false };
  const work = readChecked(path, allowedDirs, opts.maxBytes, state, opts.singleLink === true);
  try {
    return await Promise.race([work, stop]);
  } finally {
    state.over = true;
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    // A read that lost the race still closes its descriptor when it ends.
    work.catch(() => undefined);
  }
}

async function readChecked(
  path: string,
  allowedDirs: readonly string[],
  maxBytes: number,
  state: { over: boolean },
  singleLink: boolean,
): Promise<{ bytes: Buffer; realPath: string }> {
  if (path.includes('\0')) throw new UnsafeFileError('unreadable', path, 'the path holds a NUL byte');
  const abs = resolve(path);
  const roots = await realDirs(allowedDirs);
  const real = await realpath(abs).catch((e: NodeJS.ErrnoException) => {
    throw new UnsafeFileError(
      e.code === 'ENOENT' ? 'missing' : 'unreadable',
      path,
      e.code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${e.code ?? e.message})`,
    );
  });
  if (!roots.some((r) => inside(real, r)))
    throw new UnsafeFileError(
      'outside',
      path,
      `${path} is outside the allowed directories${real !== abs ? ' (it is a link that points outside)' : ''}`,
      real,
    );
  const before = await lstat(real).catch(() => undefined);
  if (!before) throw new UnsafeFileError('changed', path, `${path} changed while it was being checked`, real);
  if (!before.isFile()) throw new UnsafeFileError('notRegular', path, `${path} is not a regular file`, real);
  if (before.size > maxBytes)
    throw new UnsafeFileError(
      'tooLarge',
      path,
      `${path} is ${before.size} bytes, over the ${maxBytes}-byte limit`,
      real,
    );

  let handle: FileHandle;
  try {
    handle = await open(real, FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK')
      throw new UnsafeFileError('link', path, `${path} became a link while it was being checked`, real);
    if (code === 'ENOENT') throw new UnsafeFileError('missing', path, `${path} does not exist`, real);
    throw new UnsafeFileError('unreadable', path, `${path} cannot be read (${code ?? (e as Error).message})`, real);
  }
  try {
    if (state.over) throw new UnsafeFileError('timeout', path, `${path} could not be read in time`, real);
    const st = await handle.stat();
    if (!st.isFile()) throw new UnsafeFileError('notRegular', path, `${path} is not a regular file`, real);
    if (st.dev !== before.dev || st.ino !== before.ino)
      throw new UnsafeFileError('changed', path, `${path} was replaced while it was being opened`, real);
    if (singleLink && st.nlink > 1)
      throw new UnsafeFileError(
        'link',
        path,
        `${path} has ${st.nlink} hard links; a saved output has one, so this may be a file from elsewhere`,
        real,
      );
    const at = await whereIs(handle.fd);
    if (at !== undefined && !roots.some((r) => inside(at, r)))
      throw new UnsafeFileError('outside', path, `${path} resolves outside the allowed directories`, at);
    if (st.size > maxBytes)
      throw new UnsafeFileError('tooLarge', path, `${path} is ${st.size} bytes, over the ${maxBytes}-byte limit`, real);
    return { bytes: await readAll(handle, path, maxBytes, state), realPath: real };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** At most maxBytes from the descriptor, whatever the file grew to since it was checked. */
async function readAll(handle: FileHandle, path: string, maxBytes: number, state: { over: boolean }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    if (state.over) throw new UnsafeFileError('timeout', path, `${path} could not be read in time`);
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
    const { bytesRead } = await handle.read(buf, 0, buf.length, total);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) throw new UnsafeFileError('tooLarge', path, `${path} is over the ${maxBytes}-byte limit`);
  }
  return Buffer.concat(chunks, total);
}
