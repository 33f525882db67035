/**
 * Inline previews sized for the context window: a large output is downscaled
 * into the budget (never dropped), four outputs become one numbered contact
 * sheet, and without sharp the old behaviour holds and stderr says so once.
 */
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useSharpLoader } from '../../src/media/preview.js';
import { materialize } from '../../src/services/outputs.js';

/** A noisy image compresses badly: a 2048² PNG of it is megabytes. */
async function noisy(size: number, seed = 1): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 3);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < raw.length; i++) {
    // xorshift32: cheap noise no encoder can shrink.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    raw[i] = x & 0xff;
  }
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}
const result = (png: Buffer) => ({
  taskType: 'imageInference',
  taskUUID: 'x',
  imageBase64Data: png.toString('base64'),
});

afterEach(() => {
  useSharpLoader(undefined);
  vi.restoreAllMocks();
});

describe('previews', () => {
  it('a 2048² output arrives as a preview within the budget, its long side at most 512', async () => {
    const big = await noisy(2048);
    expect(big.length).toBeGreaterThan(5_000_000);
    const budget = 150_000;
    const { previews, info } = await materialize([result(big)], 'x', { roots: [], previewMaxBytes: budget });
    const p = previews.get(0)!;
    expect(p).toBeDefined();
    expect(p.mimeType).toBe('image/webp');
    expect(p.data.length).toBeLessThanOrEqual(budget);
    const meta = await sharp(p.data).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(512);
    // The output itself is described as it is.
    expect(info[0]).toMatchObject({ format: 'PNG', bytes: big.length });
  });

  it('four outputs arrive as one contact sheet with numbered tiles, after the last link', async () => {
    const imgs = await Promise.all([1, 2, 3, 4].map((s) => noisy(640, s)));
    const budget = 200_000;
    const { previews } = await materialize(imgs.map(result), 'x', { roots: [], previewMaxBytes: budget });
    expect([...previews.keys()]).toEqual([3]);
    const sheet = previews.get(3)!;
    expect(sheet.data.length).toBeLessThanOrEqual(budget);
    const meta = await sharp(sheet.data).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(512);
    // 2×2 tiles: a square sheet.
    expect(meta.width).toBe(meta.height);
  });

  it('two outputs share the budget, one preview each', async () => {
    const imgs = await Promise.all([1, 2].map((s) => noisy(512, s)));
    const { previews } = await materialize(imgs.map(result), 'x', { roots: [], previewMaxBytes: 100_000 });
    expect([...previews.keys()]).toEqual([0, 1]);
    for (const p of previews.values()) expect(p.data.length).toBeLessThanOrEqual(50_000);
  });

  it('with sharp unavailable: originals within the budget as before, the big one left out, one line on stderr', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    useSharpLoader(() => Promise.reject(new Error("Cannot find module 'sharp'")));
    const small = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    const big = await noisy(1024);
    const budget = 100_000;
    const a = await materialize([result(small), result(big)], 'x', { roots: [], previewMaxBytes: budget });
    expect(a.previews.get(0)).toEqual({ data: small, mimeType: 'image/png' });
    expect(a.previews.has(1)).toBe(false);
    await materialize([result(small)], 'x', { roots: [], previewMaxBytes: budget });
    const said = lines.filter((l) => /sharp could not be loaded/.test(l));
    expect(said).toHaveLength(1);
  });
});

describe('image sizes from headers', () => {
  it('reads PNG, JPEG, WebP (lossy, lossless, extended) and GIF sizes as sharp does', async () => {
    const { imageSize } = await import('../../src/media/preview.js');
    const base = sharp({ create: { width: 300, height: 170, channels: 4, background: '#0a0' } });
    const cases: Array<[Buffer, 'PNG' | 'JPG' | 'WEBP' | 'GIF']> = [
      [await base.clone().png().toBuffer(), 'PNG'],
      [await base.clone().jpeg().toBuffer(), 'JPG'],
      [await base.clone().webp().toBuffer(), 'WEBP'],
      [await base.clone().webp({ lossless: true }).toBuffer(), 'WEBP'],
      [await base.clone().gif().toBuffer(), 'GIF'],
    ];
    for (const [bytes, format] of cases) expect(imageSize(bytes, format), format).toEqual({ width: 300, height: 170 });
    expect(imageSize(Buffer.from([0xff, 0xd8, 0xff]), 'JPG')).toBeUndefined();
  });

  it('small outputs pass through as they are, without loading sharp', async () => {
    let loads = 0;
    useSharpLoader(async () => {
      loads++;
      return (await import('sharp')).default as never;
    });
    const small = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#00f' } })
      .png()
      .toBuffer();
    const { previews } = await materialize([result(small)], 'x', { roots: [], previewMaxBytes: 100_000 });
    expect(previews.get(0)).toEqual({ data: small, mimeType: 'image/png' });
    expect(loads).toBe(0);
  });
});
