import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveOutputs } from '../../src/media/index.js';
import { resolveSaveTarget } from '../../src/media/save.js';
import { PolicyError, ValidationError } from '../../src/shared/errors.js';
import { renderImage } from '../../src/simulator/images.js';

const png = renderImage('PNG', 16, 16, 1);

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
    const r = await saveOutputs([{ bytes: png, name: 'x' }, { bytes: png, name: 'y' }], join(root, 'cat.png'), [root]);
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
    await expect(saveOutputs([{ bytes: png, name: 'x' }], 'link/x.png', [root])).rejects.toBeInstanceOf(PolicyError);
    mkdirSync(join(root, 'real'));
    symlinkSync(join(outside, 'target.png'), join(root, 'real', 'trap.png'));
    const r = await saveOutputs([{ bytes: png, name: 'x' }], 'real/trap.png', [root]);
    expect(r[0]!.path).toBe(join(root, 'real', 'trap-1.png'));
    expect(readdirSync(outside)).toEqual([]);
  });

  it('checks the bytes are the declared format', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-save-'));
    await expect(saveOutputs([{ bytes: png, name: 'x', expected: 'JPG' }], 'a/', [root])).rejects.toBeInstanceOf(ValidationError);
    await expect(saveOutputs([{ bytes: Buffer.from('nope'), name: 'x' }], 'a/', [root])).rejects.toBeInstanceOf(ValidationError);
  });
});
