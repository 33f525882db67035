/**
 * Inline previews sized for a context window: hosts do not shrink images, so
 * the server does. Each preview has a long side of at most 512 px and is
 * WebP, re-encoded smaller until the byte budget holds; more than two images
 * become one contact sheet with numbered tiles. sharp (native) loads on the
 * first preview, never at start-up; where it cannot load, the caller keeps
 * its old behaviour (originals within the budget) and stderr says so once.
 */
import type { Sharp, SharpOptions } from 'sharp';
import { MIME_OF, type MediaFormat } from './formats.js';
import { Logger, stderrSink } from '../shared/log.js';

export const PREVIEW_LONG_SIDE = 512;
/** Tiles per contact sheet beyond which the rest are left out (numberResults is at most 20). */
const MAX_TILES = 20;
const QUALITIES = [80, 65, 50, 35, 20];

export interface PreviewSource {
  /** The output's index in the result. */
  index: number;
  bytes: Buffer;
  format: MediaFormat;
}

export interface Preview {
  data: Buffer;
  mimeType: string;
}

type SharpFactory = (input?: Buffer | SharpOptions, options?: SharpOptions) => Sharp;
type Loader = () => Promise<SharpFactory>;

const defaultLoader: Loader = async () => ((await import('sharp')) as unknown as { default: SharpFactory }).default;
let loader: Loader = defaultLoader;
let loaded: Promise<SharpFactory | undefined> | undefined;
let warned = false;

/** Tests swap the loader (a sharp that cannot load); undefined restores the real one. */
export function useSharpLoader(l: Loader | undefined): void {
  loader = l ?? defaultLoader;
  loaded = undefined;
  warned = false;
}

function sharpOrNothing(): Promise<SharpFactory | undefined> {
  loaded ??= loader().catch((e: unknown) => {
    if (!warned) {
      warned = true;
      const log = new Logger('warning', 'previews');
      log.addSink(stderrSink);
      log.warn(
        `sharp could not be loaded (${(e as Error).message.split('\n')[0]}); inline previews are the original images, within RUNWARE_PREVIEW_MAX_BYTES`,
      );
    }
    return undefined;
  });
  return loaded;
}

/** Encodes `img` as WebP at decreasing quality, then smaller, until it fits `budget`; undefined if even the smallest does not. */
async function fit(sharp: SharpFactory, img: Buffer, longSide: number, budget: number): Promise<Buffer | undefined> {
  for (let side = longSide; side >= 32; side = Math.floor(side * 0.7)) {
    for (const quality of QUALITIES) {
      const out = await sharp(img)
        .resize(side, side, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality, effort: 2 })
        .toBuffer();
      if (out.length <= budget) return out;
    }
  }
  return undefined;
}

/** Digits drawn as seven-segment paths: numbers on tiles without depending on any installed font. */
const SEGMENTS: Record<string, string> = {
  '0': 'abcdef',
  '1': 'bc',
  '2': 'abged',
  '3': 'abgcd',
  '4': 'fgbc',
  '5': 'afgcd',
  '6': 'afgedc',
  '7': 'abc',
  '8': 'abcdefg',
  '9': 'abcdfg',
};
function digitPath(d: string, x: number, y: number, w: number, h: number, t: number): string {
  const seg: Record<string, [number, number, number, number]> = {
    a: [x, y, w, t],
    b: [x + w - t, y, t, h / 2],
    c: [x + w - t, y + h / 2, t, h / 2],
    d: [x, y + h - t, w, t],
    e: [x, y + h / 2, t, h / 2],
    f: [x, y, t, h / 2],
    g: [x, y + h / 2 - t / 2, w, t],
  };
  return [...(SEGMENTS[d] ?? '')]
    .map((s) => `<rect x="${seg[s]![0]}" y="${seg[s]![1]}" width="${seg[s]![2]}" height="${seg[s]![3]}"/>`)
    .join('');
}
function badge(n: number, size: number): Buffer {
  const text = String(n);
  const h = Math.max(10, Math.round(size * 0.12));
  const w = Math.round(h * 0.55);
  const t = Math.max(2, Math.round(h * 0.14));
  const pad = Math.round(h * 0.3);
  const bw = pad * 2 + text.length * w + (text.length - 1) * t;
  const bh = h + pad * 2;
  const digits = [...text].map((d, i) => digitPath(d, pad + i * (w + t), pad, w, h, t)).join('');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${bw}" height="${bh}"><rect width="${bw}" height="${bh}" rx="${pad}" fill="#000" fill-opacity="0.7"/><g fill="#fff">${digits}</g></svg>`,
  );
}

/** One image of the numbered tiles, `cols` across, whose long side is PREVIEW_LONG_SIDE. */
async function contactSheet(sharp: SharpFactory, images: PreviewSource[]): Promise<Buffer> {
  const n = images.length;
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const gap = 4;
  const tile = Math.floor((PREVIEW_LONG_SIDE - gap * (cols + 1)) / cols);
  const width = cols * tile + gap * (cols + 1);
  const height = rows * tile + gap * (rows + 1);
  const tiles = await Promise.all(
    images.map(async (img, k) => {
      const left = gap + (k % cols) * (tile + gap);
      const top = gap + Math.floor(k / cols) * (tile + gap);
      const body = await sharp(img.bytes)
        .resize(tile, tile, { fit: 'contain', background: '#20202a' })
        .flatten({ background: '#20202a' })
        .png()
        .toBuffer();
      const label = await sharp(badge(img.index + 1, tile))
        .png()
        .toBuffer();
      return [
        { input: body, left, top },
        { input: label, left: left + 4, top: top + 4 },
      ];
    }),
  );
  return sharp({ create: { width, height, channels: 3, background: '#101016' } })
    .composite(tiles.flat())
    .png()
    .toBuffer();
}

/** Width and height from the header of a PNG, GIF, JPEG or WebP, without decoding it; undefined if not found. */
export function imageSize(b: Buffer, format: MediaFormat): { width: number; height: number } | undefined {
  try {
    if (format === 'PNG' && b.length >= 24) return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
    if (format === 'GIF' && b.length >= 10) return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
    if (format === 'WEBP' && b.length >= 30) {
      const chunk = b.toString('latin1', 12, 16);
      if (chunk === 'VP8X') return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
      if (chunk === 'VP8L') {
        const bits = b.readUInt32LE(21);
        return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
      }
      if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    }
    if (format === 'JPG') {
      // Walk the segments to the first start-of-frame marker.
      for (let i = 2; i + 9 < b.length;) {
        if (b[i] !== 0xff) return undefined;
        const marker = b[i + 1]!;
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
          return { width: b.readUInt16BE(i + 7), height: b.readUInt16BE(i + 5) };
        i += 2 + b.readUInt16BE(i + 2);
      }
    }
  } catch {
    // A truncated header: unknown.
  }
  return undefined;
}

/**
 * Previews for `images` within `budget` bytes in all, by output index: up to
 * two images one each (half the budget apiece), more as one contact sheet
 * (under the last image's index, so it follows every link). undefined when
 * sharp is unavailable: the caller does what it did before.
 */
export async function fitPreviews(images: PreviewSource[], budget: number): Promise<Map<number, Preview> | undefined> {
  const out = new Map<number, Preview>();
  if (!images.length || budget <= 0) return out;
  // Already small enough (read from the header): shown as they are, and sharp is not even loaded.
  const share = Math.floor(budget / images.length);
  const small = (img: PreviewSource): boolean => {
    const size = imageSize(img.bytes, img.format);
    return !!size && Math.max(size.width, size.height) <= PREVIEW_LONG_SIDE && img.bytes.length <= share;
  };
  if (images.length <= 2 && images.every(small)) {
    for (const img of images) out.set(img.index, { data: img.bytes, mimeType: MIME_OF[img.format] });
    return out;
  }
  const sharp = await sharpOrNothing();
  if (!sharp) return undefined;
  try {
    if (images.length > 2) {
      const shown = images.slice(0, MAX_TILES);
      const sheet = await fit(sharp, await contactSheet(sharp, shown), PREVIEW_LONG_SIDE, budget);
      if (sheet) out.set(shown[shown.length - 1]!.index, { data: sheet, mimeType: 'image/webp' });
      return out;
    }
    for (const img of images) {
      if (small(img)) {
        out.set(img.index, { data: img.bytes, mimeType: MIME_OF[img.format] });
        continue;
      }
      const fitted = await fit(sharp, img.bytes, PREVIEW_LONG_SIDE, share);
      if (fitted) out.set(img.index, { data: fitted, mimeType: 'image/webp' });
    }
    return out;
  } catch {
    // An image sharp cannot decode: the old behaviour for this result.
    return undefined;
  }
}
