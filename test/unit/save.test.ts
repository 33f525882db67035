import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveOutputs as saveAll, type SaveResult, type SavedMedia } from '../../src/media/index.js';
import { inside, resolveSaveTarget, safeBasename, writeNew } from '../../src/media/save.js';
import { scrubber } from '../../src/shared/redact.js';
import { PolicyError, ValidationError } from '../../src/shared/errors.js';
import { renderImage } from '../../src/simulator/images.js';

const png = renderImage('PNG', 16, 16, 1);
/** Saved outputs, or the first save error thrown as the error it was. */
async function saveOutputs(...a: Parameters<typeof saveAll>): Promise<SavedMedia[]> {
  const r: SaveResult[] = await saveAll(...a);
  return r.map((x) => {
    if ('error' in x) throw new Error(x.error);
    return x;
  });
}

describe('saving inside roots', () => {
  it('saves into a directory and never overwrites', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    const a = await saveOutputs([{ bytes: png, name: 'img' }], 'out/', [root]);
    const b = await saveOutputs([{ bytes: png, name: 'img' }], 'out/', [root]);
    expect(a[0]!.path).toBe(join(root, 'out', 'img.png'));
    expect(b[0]!.path).toBe(join(root, 'out', 'img-1.png'));
    expect(readdirSync(join(root, 'out')).sort()).toEqual(['img-1.png', 'img.png']);
  });

  it('honours a file name, numbering several results', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    const r = await saveOutputs(
      [
        { bytes: png, name: 'x' },
        { bytes: png, name: 'y' },
      ],
      join(root, 'cat.png'),
      [root],
    );
    expect(r.map((s) => s.path)).toEqual([join(root, 'cat-1.png'), join(root, 'cat-2.png')]);
    writeFileSync(join(root, 'dog.png'), 'keep me');
    const d = await saveOutputs([{ bytes: png, name: 'x' }], 'dog.png', [root]);
    expect(d[0]!.path).toBe(join(root, 'dog-1.png'));
    expect(readFileSync(join(root, 'dog.png'), 'utf8')).toBe('keep me');
  });

  it('refuses traversal, absolute paths outside, and symlink escapes, writing nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    const outside = mkdtempSync(join(tmpdir(), 'rw-outside-'));
    await expect(resolveSaveTarget('../escape/', [root])).rejects.toBeInstanceOf(PolicyError);
    await expect(resolveSaveTarget(`${outside}/x.png`, [root])).rejects.toBeInstanceOf(PolicyError);
    symlinkSync(outside, join(root, 'link'));
    await expect(saveOutputs([{ bytes: png, name: 'x' }], 'link/x.png', [root])).rejects.toThrow(
      /outside the allowed output directories/,
    );
    mkdirSync(join(root, 'real'));
    symlinkSync(join(outside, 'target.png'), join(root, 'real', 'trap.png'));
    const r = await saveOutputs([{ bytes: png, name: 'x' }], 'real/trap.png', [root]);
    expect(r[0]!.path).toBe(join(root, 'real', 'trap-1.png'));
    expect(readdirSync(outside)).toEqual([]);
  });

  it('saves by the real format and says so when it differs; unrecognised bytes are a per-output error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    const r = await saveAll(
      [
        { bytes: png, name: 'x', expected: 'JPG' },
        { bytes: Buffer.from('nope'), name: 'y' },
      ],
      'a/',
      [root],
    );
    expect(r[0]).toMatchObject({ path: join(root, 'a', 'x.png'), note: expect.stringMatching(/not the JPG/) });
    expect(r[1]).toMatchObject({ error: expect.stringMatching(/not saved: .*The task ran/) });
  });

  it('upstream names are reduced to safe basenames, and a secret never becomes a file name', () => {
    expect(safeBasename('x/../../../outside/pwned')).toBe('x-.-.-.-outside-pwned');
    expect(safeBasename('..')).toBe('output');
    expect(safeBasename('a\u0000b:c')).toBe('a-b-c');
    scrubber.addSecrets('save-test-secret-0123456789');
    expect(safeBasename('save-test-secret-0123456789')).toMatch(/^output-[0-9a-f]{16}$/);
    expect(Buffer.byteLength(safeBasename('é'.repeat(500)))).toBeLessThanOrEqual(200);
  });

  it('bidirectional and other format controls never reach a file name (U+202E, U+2066-2069, U+200E/F, U+FEFF)', () => {
    expect(safeBasename('invoice\u202Egpj.exe')).toBe('invoicegpj.exe');
    expect(safeBasename('\u2066a\u2067b\u2068c\u2069\u200Ed\u200Fe\uFEFF\u2028f')).toBe('abcdef');
  });

  it('every write is checked inside the root, whatever the name', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    const outside = mkdtempSync(join(tmpdir(), 'rw-outside-'));
    const p = await writeNew(root, '../../../x', 'png', png, [root]);
    expect(p.startsWith(root)).toBe(true);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('"..foo" is a name inside the root; only a ".." component escapes', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    expect(inside(join(root, '..foo', 'x.jpg'), root)).toBe(true);
    expect(inside(join(root, '..', 'x.jpg'), root)).toBe(false);
    await expect(resolveSaveTarget('..foo/x.jpg', [root])).resolves.toMatchObject({ dir: join(root, '..foo') });
  });

  it('refuses before sending: a parent that is a file, and names too long', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    writeFileSync(join(root, 'afile'), 'x');
    await expect(resolveSaveTarget('afile/x.png', [root])).rejects.toBeInstanceOf(ValidationError);
    await expect(resolveSaveTarget(`${'n'.repeat(300)}.png`, [root])).rejects.toBeInstanceOf(ValidationError);
  });
});
