/**
 * Recognises media by magic bytes, so a saved file is proven to be what it
 * claims and gets the right extension: images, video, audio and 3D models.
 */
export type MediaFormat =
  'JPG' | 'PNG' | 'WEBP' | 'GIF' | 'SVG' | 'MP4' | 'MOV' | 'WEBM' | 'MP3' | 'M4A' | 'WAV' | 'OGG' | 'FLAC' | 'GLB';
export type MediaKind = 'image' | 'video' | 'audio' | '3d';

const TABLE: Record<MediaFormat, { mime: string; ext: string; kind: MediaKind }> = {
  JPG: { mime: 'image/jpeg', ext: 'jpg', kind: 'image' },
  PNG: { mime: 'image/png', ext: 'png', kind: 'image' },
  WEBP: { mime: 'image/webp', ext: 'webp', kind: 'image' },
  GIF: { mime: 'image/gif', ext: 'gif', kind: 'image' },
  SVG: { mime: 'image/svg+xml', ext: 'svg', kind: 'image' },
  MP4: { mime: 'video/mp4', ext: 'mp4', kind: 'video' },
  MOV: { mime: 'video/quicktime', ext: 'mov', kind: 'video' },
  WEBM: { mime: 'video/webm', ext: 'webm', kind: 'video' },
  MP3: { mime: 'audio/mpeg', ext: 'mp3', kind: 'audio' },
  M4A: { mime: 'audio/mp4', ext: 'm4a', kind: 'audio' },
  WAV: { mime: 'audio/wav', ext: 'wav', kind: 'audio' },
  OGG: { mime: 'audio/ogg', ext: 'ogg', kind: 'audio' },
  FLAC: { mime: 'audio/flac', ext: 'flac', kind: 'audio' },
  GLB: { mime: 'model/gltf-binary', ext: 'glb', kind: '3d' },
};

export const MIME_OF = Object.fromEntries(Object.entries(TABLE).map(([k, v]) => [k, v.mime])) as Record<
  MediaFormat,
  string
>;
export const EXT_OF = Object.fromEntries(Object.entries(TABLE).map(([k, v]) => [k, v.ext])) as Record<
  MediaFormat,
  string
>;
export const kindOf = (f: MediaFormat): MediaKind => TABLE[f].kind;
/** Formats an MCP client can show inline as an image block. */
export const previewable = (f: MediaFormat): boolean => f === 'JPG' || f === 'PNG' || f === 'WEBP' || f === 'GIF';

export function sniffFormat(b: Uint8Array): MediaFormat | undefined {
  const ascii = (from: number, to: number): string => Buffer.from(b.subarray(from, to)).toString('latin1');
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPG';
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'PNG';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WEBP';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'WAV';
  if (b.length >= 6 && ascii(0, 4) === 'GIF8') return 'GIF';
  if (b.length >= 8 && ascii(4, 8) === 'ftyp') {
    const brand = b.length >= 12 ? ascii(8, 12) : '';
    if (brand === 'qt  ') return 'MOV';
    if (brand === 'M4A ' || brand === 'M4B ') return 'M4A';
    return 'MP4';
  }
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'WEBM';
  if (b.length >= 3 && ascii(0, 3) === 'ID3') return 'MP3';
  if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0) return 'MP3';
  if (b.length >= 4 && ascii(0, 4) === 'OggS') return 'OGG';
  if (b.length >= 4 && ascii(0, 4) === 'fLaC') return 'FLAC';
  if (b.length >= 12 && ascii(0, 4) === 'glTF') return 'GLB';
  const head = ascii(0, Math.min(b.length, 512)).trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i.test(head)) return 'SVG';
  return undefined;
}

export function formatFromExtension(path: string): MediaFormat | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (!ext) return undefined;
  if (ext === 'jpeg') return 'JPG';
  const hit = Object.entries(TABLE).find(([, v]) => v.ext === ext);
  return hit ? (hit[0] as MediaFormat) : undefined;
}
