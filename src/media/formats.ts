/** Recognises media by magic bytes, so a saved file is proven to be what it claims. */
export type MediaFormat = 'JPG' | 'PNG' | 'WEBP' | 'GIF' | 'MP4';

export const MIME_OF: Record<MediaFormat, string> = {
  JPG: 'image/jpeg',
  PNG: 'image/png',
  WEBP: 'image/webp',
  GIF: 'image/gif',
  MP4: 'video/mp4',
};

export const EXT_OF: Record<MediaFormat, string> = { JPG: 'jpg', PNG: 'png', WEBP: 'webp', GIF: 'gif', MP4: 'mp4' };

export function sniffFormat(b: Uint8Array): MediaFormat | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPG';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'PNG';
  const ascii = (from: number, to: number): string => Buffer.from(b.subarray(from, to)).toString('latin1');
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WEBP';
  if (b.length >= 6 && ascii(0, 4) === 'GIF8') return 'GIF';
  if (b.length >= 8 && ascii(4, 8) === 'ftyp') return 'MP4';
  return undefined;
}

export function formatFromExtension(path: string): MediaFormat | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (!ext) return undefined;
  if (ext === 'jpg' || ext === 'jpeg') return 'JPG';
  if (ext === 'png') return 'PNG';
  if (ext === 'webp') return 'WEBP';
  if (ext === 'gif') return 'GIF';
  if (ext === 'mp4') return 'MP4';
  return undefined;
}
