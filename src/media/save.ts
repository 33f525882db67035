/**
 * Saving outputs inside allowed roots only: no traversal, no symlink escape,
 * never overwriting an existing file (a numbered name is chosen instead).
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, realpath, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { PolicyError, ValidationError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';
import { FILES } from '../runware/timing.js';

/** How long writing one output may take. */
const WRITE_TIMEOUT_MS = FILES.writeMs;

/** Bytes a file name may have (most file systems allow 255); room is left for "-N.ext". */
const MAX_NAME_BYTES = 200;

export interface SaveTarget {
  /** A directory to save into, or a file path for the first output. */
  dir: string;
  /** Base name without extension, when the caller named a file. */
  stem?: string;
}

/** Whether `child` is `root` or below it. `..foo` is a name inside; only a `..` component escapes. */
export function inside(child: string, root: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!isAbsolute(rel) && !rel.split(sep).includes('..'));
}

/**
 * A file name built from upstream data (an imageUUID, say) reduced to a safe
 * basename: no separators or dots that could climb, no control characters,
 * bounded length, and never a secret (a name holding one becomes its hash).
 */
/** Text the product itself puts in file names: a secret's fragment that overlaps it is a coincidence, not a leak. */
const PRODUCT_NAME_TEXT = /runware-/gi;

export function safeBasename(name: string, fallback = 'output'): string {
  // A secret is looked for in what the name carries besides the product's own text; a whole
  // FRAGMENT of a secret in that part is still found, so nothing real is missed.
  const holdsSecret = (n: string): boolean => scrubber.containsSecret(n.replace(PRODUCT_NAME_TEXT, '\n'));
  const hashed = (): string => `output-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
  if (holdsSecret(name)) return hashed();
  let out = name
    .normalize('NFKC')
    // Bidirectional and other format controls (U+202E, U+2066-2069, U+200E/F, ...) and line separators spoof how a name reads.
    .replace(/[\p{Cf}\p{Zl}\p{Zp}]+/gu, '')
    // Separators, control characters and what Windows reserves; letters and spaces stay.
    // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
    .replace(/[/\\<>:"|?*\u0000-\u001f\u007f]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+|[.-]+$/g, '');
  while (Buffer.byteLength(out) > MAX_NAME_BYTES) out = out.slice(0, -1);
  // Looked for again in what is kept: NFKC turns full-width letters into the key's, and format controls between its pieces go.
  if (holdsSecret(out)) return hashed();
  return out || fallback;
}

/** The real path of the deepest existing ancestor, plus the components below it. */
async function realAncestor(path: string): Promise<string> {
  let cur = path;
  const rest: string[] = [];
  for (;;) {
    try {
      const real = await realpath(cur);
      return rest.length ? join(real, ...rest.reverse()) : real;
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return path;
      rest.push(basename(cur));
      cur = parent;
    }
  }
}

/**
 * Resolves `saveTo` (absolute, or relative to the first root) and proves the
 * real location is inside one of `roots`. Throws PolicyError otherwise.
 */
export async function resolveSaveTarget(saveTo: string, roots: string[], field = 'saveTo'): Promise<SaveTarget> {
  if (roots.length === 0)
    throw new PolicyError(
      field,
      'no output directory is configured',
      'Set RUNWARE_OUTPUT_DIR, or use a client that offers MCP roots.',
    );
  if (saveTo.includes('\0')) throw new ValidationError(field, 'must not contain NUL bytes');
  const abs = isAbsolute(saveTo) ? resolve(saveTo) : resolve(roots[0]!, saveTo);
  const realRoots = await Promise.all(roots.map((r) => realAncestor(resolve(r))));
  const real = await realAncestor(abs);
  if (!realRoots.some((r) => inside(real, r))) {
    throw new PolicyError(
      field,
      `${saveTo} is outside the allowed output directories`,
      `Save inside ${roots.join(' or ')} (RUNWARE_OUTPUT_DIR or the client's roots).`,
    );
  }
  for (const part of abs.split(sep)) {
    if (Buffer.byteLength(part) > MAX_NAME_BYTES)
      throw new ValidationError(
        field,
        `the name "${part.slice(0, 40)}…" is ${Buffer.byteLength(part)} bytes; at most ${MAX_NAME_BYTES} per path component`,
      );
  }
  const looksLikeDir =
    saveTo.endsWith('/') ||
    saveTo.endsWith(sep) ||
    extname(abs) === '' ||
    (await stat(abs).then(
      (s) => s.isDirectory(),
      () => false,
    ));
  const target: SaveTarget = looksLikeDir ? { dir: real } : { dir: dirname(real), stem: basename(real, extname(real)) };
  await checkDirectoryPath(target.dir, field);
  return target;
}

/** The deepest existing ancestor of `dir` must be a directory (a file there would fail the write after billing). */
async function checkDirectoryPath(dir: string, field: string): Promise<void> {
  let cur = dir;
  for (;;) {
    const st = await stat(cur).catch(() => undefined);
    if (st) {
      if (!st.isDirectory())
        throw new ValidationError(
          field,
          `${cur} is a file, not a directory, so nothing can be saved under it`,
          'a directory, or a name in an existing directory',
        );
      return;
    }
    const parent = dirname(cur);
    if (parent === cur) return;
    cur = parent;
  }
}

/**
 * Writes bytes under `dir` as `name.ext`, never replacing an existing file or
 * following a symlink: O_EXCL fails on both, and a numbered name is tried next.
 */
export async function writeNew(
  dir: string,
  name: string,
  ext: string,
  bytes: Uint8Array,
  roots: string[],
): Promise<string> {
  const held = await holdDir(dir, roots);
  try {
    const stem = safeBasename(name);
    const safeExt = safeBasename(ext, 'bin');
    for (let i = 0; i < 1000; i++) {
      const file = `${stem}${i === 0 ? '' : `-${i}`}.${safeExt}`;
      let handle;
      try {
        handle = await open(
          held.at(file),
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
          0o644,
        );
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' || (e as NodeJS.ErrnoException).code === 'ELOOP') continue;
        throw e;
      }
      let timer: NodeJS.Timeout | undefined;
      let path: string;
      try {
        path = await held.settle(file, handle);
        // A write has a deadline too (a hung network file system must not hold the call for ever).
        await Promise.race([
          handle.writeFile(bytes),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`writing ${path} took over ${WRITE_TIMEOUT_MS / 1000} s`)),
              WRITE_TIMEOUT_MS,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
        await handle.close();
      }
      return path;
    }
    throw new PolicyError('saveTo', `too many files named ${name} already exist in ${dir}`);
  } finally {
    await held.release();
  }
}

/** `dir` made, then proved (by its real path, after mkdir) to lie inside a root. */
async function checkedDir(dir: string, roots: string[]): Promise<{ realDir: string; realRoots: string[] }> {
  await mkdir(dir, { recursive: true });
  // Re-check after mkdir: a directory swapped for a symlink must not move the write outside.
  const realDir = await realpath(dir);
  const realRoots = await Promise.all(roots.map((r) => realAncestor(resolve(r))));
  if (!realRoots.some((r) => inside(realDir, r))) throw outsideRoots();
  return { realDir, realRoots };
}

const outsideRoots = (): PolicyError =>
  new PolicyError('saveTo', 'the target directory resolves outside the allowed output directories');

/**
 * The directory files are created in, held open from its check to the last write. On Linux every
 * name is created through the held descriptor (`/proc/self/fd/N/name`, the kernel's openat): a
 * directory on the way swapped for a symlink after the check cannot move a write elsewhere, and
 * each file opened is checked again where the kernel says it is. Elsewhere, names go by the real
 * path checked just before.
 */
interface HeldDir {
  /** The directory, for messages. */
  readonly shown: string;
  /** The name as opened. */
  at(file: string): string;
  /**
   * Where a file just created really is (by its own descriptor when given, else the held directory's),
   * to report; one found outside every root is removed and refused.
   */
  settle(file: string, handle?: FileHandle): Promise<string>;
  release(): Promise<void>;
}

/** Where the kernel says an open descriptor is (Linux); undefined where it cannot say. Reads and saves both check this. */
export const whereIs = (fd: number): Promise<string | undefined> =>
  process.platform === 'linux' ? realpath(`/proc/self/fd/${fd}`).catch(() => undefined) : Promise.resolve(undefined);

/** A name made by safeBasename is one path component; anything else would leave the directory. */
function oneComponent(file: string): string {
  if (
    file === '' ||
    file === '.' ||
    file === '..' ||
    basename(file) !== file ||
    file.includes('/') ||
    file.includes(sep)
  )
    throw new PolicyError('saveTo', 'the file name would land outside the allowed output directories');
  return file;
}

async function holdDir(dir: string, roots: string[]): Promise<HeldDir> {
  const { realDir, realRoots } = await checkedDir(dir, roots);
  const byPath: HeldDir = {
    shown: realDir,
    at: (file) => join(realDir, oneComponent(file)),
    settle: async (file) => join(realDir, file),
    release: async () => undefined,
  };
  if (process.platform !== 'linux' || constants.O_DIRECTORY === undefined) return byPath;
  const dirHandle = await open(realDir, constants.O_RDONLY | constants.O_DIRECTORY | (constants.O_NOFOLLOW ?? 0));
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    await dirHandle.close().catch(() => undefined);
  };
  const heldAt = await whereIs(dirHandle.fd);
  if (heldAt === undefined) {
    // No /proc: the real path checked a moment ago is all there is.
    await release();
    return byPath;
  }
  if (!realRoots.some((r) => inside(heldAt, r))) {
    await release();
    throw outsideRoots();
  }
  const at = (file: string): string => `/proc/self/fd/${dirHandle.fd}/${oneComponent(file)}`;
  return {
    shown: heldAt,
    at,
    settle: async (file, handle) => {
      const where = handle ? await whereIs(handle.fd) : await whereIs(dirHandle.fd).then((d) => d && join(d, file));
      if (where !== undefined && realRoots.some((r) => inside(where, r))) return where;
      await unlink(at(file)).catch(() => undefined);
      throw outsideRoots();
    },
    release,
  };
}

/** A hidden file being written as it downloads, committed under its final name once the bytes say what it is. */
export interface PartFile {
  /** Appends a chunk; rejects when `signal` aborts first (a hung disk must not hold the call). */
  write(chunk: Uint8Array, signal: AbortSignal): Promise<void>;
  /**
   * Closes it and links it as `name.ext` (a numbered name if taken), never replacing a file; returns the path.
   * With `isSame`, a file already at `name.ext` that it says holds these very bytes is the path instead
   * (another process saved the same output there first).
   */
  commit(name: string, ext: string, isSame?: (path: string) => Promise<boolean>): Promise<string>;
  /** Closes and removes it (a failed or refused download leaves nothing behind). */
  discard(): Promise<void>;
}

/**
 * Opens a part file in `dir` (inside `roots`, checked on the real path) with
 * O_EXCL and O_NOFOLLOW. Committing hard-links it to its final name, which
 * fails rather than replaces (where links are not supported, an exclusive
 * copy), so streaming keeps every guarantee of writeNew.
 */
export async function openPart(dir: string, roots: string[]): Promise<PartFile> {
  const held = await holdDir(dir, roots);
  const partName = `.runware-${randomBytes(8).toString('hex')}.part`;
  const partPath = held.at(partName);
  let handle: FileHandle;
  try {
    handle = await open(
      partPath,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
      0o644,
    );
    await held.settle(partName, handle).catch(async (e: unknown) => {
      await handle.close().catch(() => undefined);
      throw e;
    });
  } catch (e) {
    await held.release();
    throw e;
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  const discard = async (): Promise<void> => {
    await close();
    await unlink(partPath).catch(() => undefined);
    await held.release();
  };
  return {
    write: (chunk, signal) => {
      if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return new Promise<void>((resolveWrite, reject) => {
        const onAbort = (): void => reject(new Error(`writing under ${held.shown} did not finish in time`));
        signal.addEventListener('abort', onAbort, { once: true });
        handle.write(chunk).then(
          () => {
            signal.removeEventListener('abort', onAbort);
            resolveWrite();
          },
          (e: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(e as Error);
          },
        );
      });
    },
    discard,
    commit: async (name, ext, isSame) => {
      await close();
      const stem = safeBasename(name);
      const safeExt = safeBasename(ext, 'bin');
      try {
        for (let i = 0; i < 1000; i++) {
          const file = `${stem}${i === 0 ? '' : `-${i}`}.${safeExt}`;
          try {
            await link(partPath, held.at(file));
            return await held.settle(file);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'EEXIST' && i === 0 && isSame && (await isSame(join(held.shown, file))))
              return join(held.shown, file);
            if (code === 'EEXIST') continue;
            if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
          }
          // No hard links here (some network and FAT file systems): an exclusive copy, which also fails rather than replaces.
          try {
            await copyFile(partPath, held.at(file), constants.COPYFILE_EXCL);
            return await held.settle(file);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            if (i === 0 && isSame && (await isSame(join(held.shown, file)))) return join(held.shown, file);
          }
        }
        throw new PolicyError('saveTo', `too many files named ${name} already exist in ${held.shown}`);
      } finally {
        await unlink(partPath).catch(() => undefined);
        await held.release();
      }
    },
  };
}
