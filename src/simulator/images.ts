/**
 * Real image bytes for the simulator, with no dependencies: a gradient PNG,
 * a baseline JPEG built from DC-only 8×8 blocks, and a solid lossless WebP.
 * Decoders accept all three; they are small even at large sizes.
 */
import { deflateSync } from 'node:zlib';

export type Rgb = [number, number, number];
export type SimFormat = 'JPG' | 'PNG' | 'WEBP';

export const MIME: Record<SimFormat, string> = { JPG: 'image/jpeg', PNG: 'image/png', WEBP: 'image/webp' };
export const EXT: Record<SimFormat, string> = { JPG: 'jpg', PNG: 'png', WEBP: 'webp' };

/** Two colours derived from a seed, so the same seed gives the same picture. */
export function paletteFor(seed: number): [Rgb, Rgb] {
  let x = (seed >>> 0) ^ 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % 256;
  };
  return [
    [next(), next(), next()],
    [next(), next(), next()],
  ];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => Math.round(a[i]! + (b[i]! - a[i]!) * t)) as Rgb;
}

export function renderImage(format: SimFormat, width: number, height: number, seed: number): Buffer {
  const [a, b] = paletteFor(seed);
  if (format === 'PNG') return encodePng(width, height, a, b);
  if (format === 'JPG') return encodeJpeg(width, height, a, b);
  return encodeWebpSolid(width, height, mix(a, b, 0.5));
}

// ---------- PNG ----------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

export function encodePng(width: number, height: number, a: Rgb, b: Rgb): Buffer {
  const row = width * 3 + 1;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    raw[y * row] = 0;
    for (let x = 0; x < width; x++) {
      const c = mix(a, b, (x + y) / Math.max(1, width + height - 2));
      raw.set(c, y * row + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------- JPEG (baseline, DC-only blocks) ----------

class BitWriter {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;
  constructor(private readonly msbFirst: boolean) {}
  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      const bit = this.msbFirst ? (value >>> (bits - 1 - i)) & 1 : (value >>> i) & 1;
      if (this.msbFirst) this.acc = (this.acc << 1) | bit;
      else this.acc |= bit << this.n;
      this.n++;
      if (this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc & 0xff);
    // JPEG entropy data stuffs a zero after every 0xFF.
    if (this.msbFirst && (this.acc & 0xff) === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.n = 0;
  }
  finish(): Buffer {
    if (this.n > 0) {
      if (this.msbFirst)
        this.write((1 << (8 - this.n)) - 1, 8 - this.n); // pad with ones
      else this.flushByte();
    }
    return Buffer.from(this.bytes);
  }
}

/** Standard luminance DC table (ITU T.81 K.3): categories 0..11. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

function huffmanCodes(bits: number[], vals: number[]): Map<number, { code: number; len: number }> {
  const out = new Map<number, { code: number; len: number }>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]!; i++) out.set(vals[k++]!, { code: code++, len });
    code <<= 1;
  }
  return out;
}

function segment(marker: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xff00 | marker, 0);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

export function encodeJpeg(width: number, height: number, a: Rgb, b: Rgb): Buffer {
  const dc = huffmanCodes(DC_BITS, DC_VALS);
  const bw = new BitWriter(true);
  const pred = [0, 0, 0];
  const bx = Math.ceil(width / 8);
  const by = Math.ceil(height / 8);
  for (let y = 0; y < by; y++) {
    for (let x = 0; x < bx; x++) {
      const [r, g, bl] = mix(a, b, (x + y) / Math.max(1, bx + by - 2));
      const ycc = [
        0.299 * r + 0.587 * g + 0.114 * bl,
        128 - 0.168736 * r - 0.331264 * g + 0.5 * bl,
        128 + 0.5 * r - 0.418688 * g - 0.081312 * bl,
      ];
      for (let c = 0; c < 3; c++) {
        // With every quantizer at 8, the quantized DC term equals the level-shifted mean.
        const v = Math.max(-127, Math.min(127, Math.round(ycc[c]! - 128)));
        const diff = v - pred[c]!;
        pred[c] = v;
        const mag = Math.abs(diff);
        const cat = mag === 0 ? 0 : Math.floor(Math.log2(mag)) + 1;
        const h = dc.get(cat)!;
        bw.write(h.code, h.len);
        if (cat > 0) bw.write(diff > 0 ? diff : diff + (1 << cat) - 1, cat);
        bw.write(0, 1); // EOB: the only AC symbol, coded as a single 0 bit
      }
    }
  }
  const sof = Buffer.from([
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
    1,
    0x11,
    0,
    2,
    0x11,
    0,
    3,
    0x11,
    0,
  ]);
  const dqt = Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 8)]);
  const dht = Buffer.concat([
    Buffer.from([0x00]),
    Buffer.from(DC_BITS),
    Buffer.from(DC_VALS),
    Buffer.from([0x10]),
    Buffer.from([1, ...new Array(15).fill(0)]),
    Buffer.from([0x00]),
  ]);
  const sos = Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])),
    segment(0xdb, dqt),
    segment(0xc0, sof),
    segment(0xc4, dht),
    segment(0xda, sos),
    bw.finish(),
    Buffer.from([0xff, 0xd9]),
  ]);
}

// ---------- WebP (lossless, one colour) ----------

/** A VP8L image whose every prefix code has one symbol, so pixels cost zero bits. */
export function encodeWebpSolid(width: number, height: number, [r, g, b]: Rgb): Buffer {
  const bw = new BitWriter(false);
  bw.write(0x2f, 8);
  bw.write(width - 1, 14);
  bw.write(height - 1, 14);
  bw.write(0, 1); // alpha not used
  bw.write(0, 3); // version
  bw.write(0, 1); // no transform
  bw.write(0, 1); // no colour cache
  bw.write(0, 1); // one prefix-code group
  for (const v of [g, r, b, 255]) {
    bw.write(1, 1); // simple code
    bw.write(0, 1); // one symbol
    bw.write(1, 1); // 8-bit symbol
    bw.write(v, 8);
  }
  bw.write(1, 1); // distance code: simple, one symbol, 1-bit symbol 0
  bw.write(0, 1);
  bw.write(0, 1);
  bw.write(0, 1);
  const data = bw.finish();
  const pad = data.length % 2;
  const chunk = Buffer.alloc(8 + data.length + pad);
  chunk.write('VP8L', 0, 'ascii');
  chunk.writeUInt32LE(data.length, 4);
  data.copy(chunk, 8);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(4 + chunk.length, 4);
  head.write('WEBP', 8, 'ascii');
  return Buffer.concat([head, chunk]);
}
