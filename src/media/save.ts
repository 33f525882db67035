/**
 * Saving outputs inside allowed roots only: no traversal, no symlink escape,
 * never overwriting an existing file (a numbered name is chosen instead).
 */
import { constants } from 'node:fs';
import { mkdir, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PolicyError, ValidationError } from '../shared/errors.js';

export interface SaveTarget {
  /** A directory to save into, or a file path for the first output. */
  dir: string;
  /** Base name without extension, when the caller named a file. */
  stem?: string;
}

function inside(child: string, root: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'));
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
  if (roots.length === 0) throw new PolicyError(field, 'no output directory is configured', 'Set RUNWARE_OUTPUT_DIR, or use a client that offers MCP roots.');
  if (saveTo.includes('\0')) throw new ValidationError(field, 'must not contain NUL bytes');
  const abs = isAbsolute(saveTo) ? resolve(saveTo) : resolve(roots[0]!, saveTo);
  const realRoots = await Promise.all(roots.map((r) => realAncestor(resolve(r))));
  const real = await realAncestor(abs);
  if (!realRoots.some((r) => inside(real, r))) {
    throw new PolicyError(field, `${saveTo} is outside the allowed output directories`, `Save inside ${roots.join(' or ')} (RUNWARE_OUTPUT_DIR or the client's roots).`);
  }
  const looksLikeDir = saveTo.endsWith('/') || saveTo.endsWith(sep) || extname(abs) === '' || (await stat(abs).then((s) => s.isDirectory(), () => false));
  return looksLikeDir ? { dir: real } : { dir: dirname(real), stem: basename(real, extname(real)) };
}

/**
 * Writes bytes under `dir` as `name.ext`, never replacing an existing file or
 * following a symlink: O_EXCL fails on both, and a numbered name is tried next.
 */
export async function writeNew(dir: string, name: string, ext: string, bytes: Uint8Array, roots: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  // Re-check after mkdir: a directory swapped for a symlink must not move the write outside.
  const realDir = await realpath(dir);
  const realRoots = await Promise.all(roots.map((r) => realAncestor(resolve(r))));
  if (!realRoots.some((r) => inside(realDir, r))) throw new PolicyError('saveTo', 'the target directory resolves outside the allowed output directories');
  for (let i = 0; i < 1000; i++) {
    const path = join(realDir, `${name}${i === 0 ? '' : `-${i}`}.${ext}`);
    let handle;
    try {
      handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' || (e as NodeJS.ErrnoException).code === 'ELOOP') continue;
      throw e;
    }
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    return path;
  }
  throw new PolicyError('saveTo', `too many files named ${name} already exist in ${dir}`);
}
