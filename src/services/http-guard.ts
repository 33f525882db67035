/**
 * The checks every local HTTP front-end makes before it serves anything: a
 * token compared in constant time, and Host and Origin against DNS
 * rebinding (a page elsewhere that resolves its name to 127.0.0.1 sends its
 * own Host and Origin, and is refused).
 */
import { timingSafeEqual } from 'node:crypto';

export const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Whether two tokens are equal, in time that does not depend on where they differ. */
export function sameToken(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The Host headers a server on `host`:`port` answers: loopback names, its own address, and any extra names. */
export function allowedHosts(host: string, port: number, extra: readonly string[] = []): Set<string> {
  return new Set([
    ...[...LOOPBACK].map((h) => `${h}:${port}`),
    ...(LOOPBACK.has(host) ? [] : [`${host}:${port}`]),
    ...extra.flatMap((h) => (h.includes(':') && !h.startsWith('[') ? [h] : [h, `${h}:${port}`])),
  ]);
}

/** An Origin header (when sent) must name a loopback host, the server's own, or an extra name. */
export function originAllowed(origin: string, host: string, extra: readonly string[] = []): boolean {
  try {
    const name = new URL(origin).hostname.toLowerCase();
    return LOOPBACK.has(name) || name === host || extra.some((h) => h.split(':')[0] === name);
  } catch {
    return false;
  }
}

/** A request body as text, refused past `maxBytes` (the server's request timeout bounds the wait). */
export async function readBodyText(req: AsyncIterable<unknown>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > maxBytes) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
