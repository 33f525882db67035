/**
 * Local inputs under a client without roots (Claude Desktop): RUNWARE_INPUT_DIRS allows more
 * folders, relative paths are looked for in each, and every path error names the resolved
 * path and the allowed folders.
 */
import { mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readLocalMedia } from '../../src/media/local.js';
import { readableFolders } from '../../src/services/media-inputs.js';
import type { AppContext } from '../../src/services/context.js';
import { renderImage } from '../../src/simulator/images.js';

const tmp = (p: string) => realpathSync(mkdtempSync(join(tmpdir(), p)));
const out = tmp('rw-out-');
const project = tmp('rw-project-');
const elsewhere = tmp('rw-elsewhere-');
writeFileSync(join(project, 'first.png'), renderImage('PNG', 16, 16, 1));
writeFileSync(join(elsewhere, 'other.png'), renderImage('PNG', 16, 16, 2));
symlinkSync(join(elsewhere, 'other.png'), join(project, 'sneaky.png'));

describe('RUNWARE_INPUT_DIRS', () => {
  it('is read as absolute folders (PATH-style or comma-separated), ~ expanded, relative ones refused', () => {
    expect(loadConfig({ RUNWARE_INPUT_DIRS: `${project},${elsewhere}` }).inputDirs).toEqual([project, elsewhere]);
    expect(loadConfig({ RUNWARE_INPUT_DIRS: `${project}:${elsewhere}` }).inputDirs).toEqual([project, elsewhere]);
    expect(loadConfig({}).inputDirs).toEqual([]);
    expect(loadConfig({ RUNWARE_INPUT_DIRS: '~/in', HOME: '/ignored' }).inputDirs[0]).toMatch(/\/in$/);
    expect(() => loadConfig({ RUNWARE_INPUT_DIRS: 'pictures' })).toThrow(/RUNWARE_INPUT_DIRS must be an absolute path/);
  });

  it("are readable besides the save roots, and a relative path is found in whichever holds it (the README's ./first.png)", async () => {
    const ctx = {
      config: loadConfig({ RUNWARE_OUTPUT_DIR: out, RUNWARE_INPUT_DIRS: project }),
    } as unknown as AppContext;
    const folders = readableFolders(ctx, [out]);
    expect(folders).toEqual([out, project]);
    const m = await readLocalMedia('./first.png', folders, 1 << 20, 'params.inputs.frameImages[0].image');
    expect(m.path).toBe(join(project, 'first.png'));
    const abs = await readLocalMedia(join(project, 'first.png'), folders, 1 << 20, 'path');
    expect(abs.format).toBe('PNG');
  });
});

describe('path errors name the resolved path and the allowed folders', () => {
  const folders = [out, project];
  const fail = (p: string) =>
    readLocalMedia(p, folders, 1 << 20, 'params.seedImage').then(
      () => 'read',
      (e: Error) => e.message,
    );

  it('a missing relative file: every place looked, and the folders', async () => {
    const msg = await fail('./missing.png');
    expect(msg).toContain(`looked for ${join(out, 'missing.png')}, ${join(project, 'missing.png')}`);
    expect(msg).toContain(`allowed folders: ${out}, ${project}`);
  });

  it('a missing absolute file', async () => {
    const msg = await fail(join(out, 'nope.png'));
    expect(msg).toContain(`resolved to ${join(out, 'nope.png')}`);
    expect(msg).toContain(`allowed folders: ${out}, ${project}`);
  });

  it('a file outside, and a link that points outside', async () => {
    const outside = await fail(join(elsewhere, 'other.png'));
    expect(outside).toContain(`outside the allowed folders (resolved to ${join(elsewhere, 'other.png')}`);
    expect(outside).toContain(`allowed folders: ${out}, ${project}`);
    const link = await fail('sneaky.png');
    expect(link).toContain(
      `resolved to ${join(elsewhere, 'other.png')}, through a link at ${join(project, 'sneaky.png')}`,
    );
  });
});
