import { describe, expect, it } from 'vitest';
import { renderImage } from '../../src/simulator/images.js';
import { formatFromExtension, sniffFormat } from '../../src/media/formats.js';

/** Reads width/height from each format's header, as a decoder would. */
function dims(b: Buffer): [number, number] {
  if (b[0] === 0x89) return [b.readUInt32BE(16), b.readUInt32BE(20)];
  if (b[0] === 0xff) {
    let i = 2;
    while (i < b.length) {
      const marker = b[i + 1]!;
      const len = b.readUInt16BE(i + 2);
      if (marker === 0xc0) return [b.readUInt16BE(i + 7), b.readUInt16BE(i + 5)];
      i += 2 + len;
    }
  }
  if (b.toString('latin1', 12, 16) === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return [(bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1];
  }
  throw new Error('unknown');
}

describe('simulator images', () => {
  it.each(['JPG', 'PNG', 'WEBP'] as const)('%s has its magic bytes and the requested size', (fmt) => {
    const b = renderImage(fmt, 1024, 768, 7);
    expect(sniffFormat(b)).toBe(fmt);
    expect(dims(b)).toEqual([1024, 768]);
  });

  it('JPEG ends with EOI and stuffs 0xFF bytes in entropy data', () => {
    const b = renderImage('JPG', 640, 480, 123);
    expect(b.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    const sos = b.indexOf(Buffer.from([0xff, 0xda]));
    const data = b.subarray(sos + 2 + b.readUInt16BE(sos + 2), b.length - 2);
    for (let i = 0; i < data.length - 1; i++) if (data[i] === 0xff) expect(data[i + 1]).toBe(0);
  });

  it('is deterministic per seed', () => {
    expect(renderImage('PNG', 64, 64, 5).equals(renderImage('PNG', 64, 64, 5))).toBe(true);
    expect(renderImage('PNG', 64, 64, 5).equals(renderImage('PNG', 64, 64, 6))).toBe(false);
  });

  it('sniffs and maps extensions', () => {
    expect(sniffFormat(Buffer.from('GIF89a'))).toBe('GIF');
    expect(sniffFormat(Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]))).toBe('MP4');
    expect(sniffFormat(Buffer.from('hello'))).toBeUndefined();
    expect(formatFromExtension('a/b.JPEG')).toBe('JPG');
    expect(formatFromExtension('a/b')).toBeUndefined();
  });
});
