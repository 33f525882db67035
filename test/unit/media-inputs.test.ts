import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFromExtension, kindOf, sniffFormat } from '../../src/media/formats.js';
import { readLocalMedia } from '../../src/media/local.js';
import { findLocalInputs, looksLikeLocalPath } from '../../src/services/media-inputs.js';
import { PolicyError, ValidationError } from '../../src/shared/errors.js';
import { renderFile } from '../../src/simulator/runware.js';
import { renderImage } from '../../src/simulator/images.js';

describe('local paths in media fields', () => {
  it('tells paths from URLs, data URIs, base64 and media UUIDs', () => {
    for (const p of [
      './cat.png',
      '../in/a.jpg',
      '/home/me/a.webp',
      '~/Pictures/x.png',
      'file:///tmp/a.png',
      'cat.png',
      'shots/first.mp4',
      'C:\\img\\a.png',
      '/tmp/noext',
    ])
      expect(looksLikeLocalPath(p), p).toBe(true);
    const jpegB64 = renderImage('JPG', 16, 16, 1).toString('base64');
    for (const v of [
      'https://x.test/a.png',
      'data:image/png;base64,iVBOR',
      '1df8cfc7-ded1-479c-a2a4-5f438a0bb0e9',
      jpegB64,
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      'a cat',
      'first',
    ])
      expect(looksLikeLocalPath(v), v.slice(0, 30)).toBe(false);
  });

  it('finds them in every media position and nowhere else', () => {
    const found = findLocalInputs(
      {
        positivePrompt: './not-a-field.png',
        seedImage: './a.png',
        referenceImages: ['https://x.test/r.png', './r.png'],
        inputs: { frameImages: [{ image: './first.png', frame: 'first' }], video: 'clip.mp4' },
        controlNet: [{ guideImage: '/tmp/guide.png', model: 'x:1@1' }],
        outputFormat: 'PNG',
      },
      'params',
    );
    expect(found.map((f) => f.field)).toEqual([
      'params.seedImage',
      'params.referenceImages[1]',
      'params.inputs.frameImages[0].image',
      'params.inputs.video',
      'params.controlNet[0].guideImage',
    ]);
  });
});

describe('reading a local input', () => {
  const root = mkdtempSync(join(tmpdir(), 'rw-local-'));
  const outside = mkdtempSync(join(tmpdir(), 'rw-outside-'));
  writeFileSync(join(root, 'cat.png'), renderImage('PNG', 32, 32, 3));
  writeFileSync(join(root, 'notes.txt'), 'hello, not media');
  writeFileSync(join(outside, 'secret.png'), renderImage('PNG', 32, 32, 4));
  symlinkSync(join(outside, 'secret.png'), join(root, 'link.png'));
  mkdirSync(join(root, 'dir.png'));

  it('reads media inside the roots, relative paths from the first root', async () => {
    const m = await readLocalMedia('cat.png', [root], 1 << 20, 'params.seedImage');
    expect(m).toMatchObject({ format: 'PNG', kind: 'image', mimeType: 'image/png' });
    expect(m.path.endsWith('cat.png')).toBe(true);
  });

  it('refuses, naming the field: outside paths, symlink escapes, non-media, directories, missing files and oversize files', async () => {
    const field = 'params.seedImage';
    await expect(readLocalMedia(join(outside, 'secret.png'), [root], 1 << 20, field)).rejects.toThrow(PolicyError);
    await expect(
      readLocalMedia('../' + outside.split('/').pop() + '/secret.png', [root], 1 << 20, field),
    ).rejects.toThrow(/outside the allowed folders/);
    await expect(readLocalMedia('link.png', [root], 1 << 20, field)).rejects.toThrow(/through a link at/);
    await expect(readLocalMedia('notes.txt', [root], 1 << 20, field)).rejects.toThrow(
      /not a recognised image, video, audio or 3D file/,
    );
    await expect(readLocalMedia('dir.png', [root], 1 << 20, field)).rejects.toThrow(/not a regular file/);
    await expect(readLocalMedia('nope.png', [root], 1 << 20, field)).rejects.toThrow(/does not exist/);
    const big = await readLocalMedia('cat.png', [root], 10, field).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(ValidationError);
    expect((big as ValidationError).field).toBe(field);
    expect((big as ValidationError).message).toMatch(/over the 10-byte upload limit/);
  });
});

describe('media formats', () => {
  it('sniffs video, audio and 3D by their bytes and gives each its extension and kind', () => {
    expect(sniffFormat(renderFile('MP4'))).toBe('MP4');
    expect(sniffFormat(renderFile('WEBM'))).toBe('WEBM');
    expect(sniffFormat(renderFile('MP3'))).toBe('MP3');
    expect(sniffFormat(renderFile('WAV'))).toBe('WAV');
    expect(sniffFormat(renderFile('GLB'))).toBe('GLB');
    expect(sniffFormat(Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe('SVG');
    expect(sniffFormat(Buffer.from('OggS\0\x02'))).toBe('OGG');
    expect(kindOf('GLB')).toBe('3d');
    expect(kindOf('WAV')).toBe('audio');
    expect(formatFromExtension('a.webm')).toBe('WEBM');
    expect(formatFromExtension('a.glb')).toBe('GLB');
  });
});
