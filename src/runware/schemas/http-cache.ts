/**
 * A small HTTP cache for the public catalogue services (schemas, registry,
 * pricing): memory first, then disk, honouring Cache-Control and ETag. When
 * the service cannot be reached, a stale copy (memory or disk) still answers,
 * so an offline restart keeps its schemas.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFileWithin } from '../../media/safe-read.js';
import { undici } from '../../shared/undici.js';
import { CancelledError, PolicyError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { scrubber } from '../../shared/redact.js';
import { deadline } from '../../shared/time.js';
import { CATALOG_FETCH_MS } from '../timing.js';

/** When the service says nothing about caching: the five minutes the official MCP uses. */
const DEFAULT_MAX_AGE_S = 300;
/** How long a 404 is believed before asking again. */
const NOT_FOUND_S = 300;
const FETCH_TIMEOUT_MS = CATALOG_FETCH_MS;
/** How long a failed fetch (unreachable, 5xx) is remembered, so calls meanwhile do not each wait for it. */
export const FAILED_S = 60;
/** However long the service says: a hostile or mistaken max-age must not keep an answer for years. */
export const MAX_FRESH_S = 86_400;
/** A larger answer is not a schema anyone needs; it is refused before it is parsed. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export type Fetched =
  | { status: 'ok'; body: unknown; source: 'network' | 'memory' | 'disk' | 'stale' }
  | { status: 'notFound' }
  | {
      status: 'unavailable';
      reason: string;
      /** Until when (epoch ms) the failure is remembered and the service not asked. */ retryAt: number;
    };

interface Entry {
  url: string;
  body: unknown;
  etag?: string;
  /** Epoch ms after which the entry must be revalidated. */
  freshUntil: number;
  /** Cache-Control: no-store; kept in memory for this call only. */
  noStore?: boolean;
}

export interface HttpCacheOptions {
  /** Disk folder; none = memory only. */
  dir?: string;
  userAgent: string;
  logger: Logger;
  timeoutMs?: number;
  now?: () => number;
}

export function maxAgeOf(cacheControl: string | undefined): { maxAgeS: number; noStore: boolean } {
  const cc = (cacheControl ?? '').toLowerCase();
  if (/\bno-store\b/.test(cc)) return { maxAgeS: 0, noStore: true };
  if (/\bno-cache\b/.test(cc)) return { maxAgeS: 0, noStore: false };
  const m = /\bmax-age=(\d+)/.exec(cc);
  return { maxAgeS: Math.min(MAX_FRESH_S, m ? Number(m[1]) : DEFAULT_MAX_AGE_S), noStore: false };
}

/** The low-level cause (getaddrinfo ENOTFOUND host, ECONNREFUSED, ...) rather than undici's generic wrapper. */
function causeOf(e: unknown): string {
  const err = e as Error & { code?: string; cause?: Error & { code?: string } };
  const inner = err.cause?.message || '';
  const msg = err.message || 'unreachable';
  return inner && !msg.includes(inner) ? `${msg}: ${inner}` : msg;
}

export class HttpCache {
  private readonly memory = new Map<string, Entry>();
  private readonly missing = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<Fetched>>();
  /** A short negative cache of failures: url -> when to ask again, and why it failed. */
  private readonly failed = new Map<string, { until: number; reason: string }>();
  private readonly now: () => number;

  constructor(private readonly opts: HttpCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The JSON at `url`: fresh from memory or disk, revalidated, or stale when the service is down. */
  get(url: string, signal?: AbortSignal, opts: { revalidate?: boolean } = {}): Promise<Fetched> {
    // A fresh copy in memory is answered at once: no fetch can follow, so there is nothing to check or share.
    if (!opts.revalidate) {
      const cached = this.memory.get(url);
      if (cached && cached.freshUntil > this.now() && !((this.missing.get(url) ?? 0) > this.now()))
        return Promise.resolve({ status: 'ok', body: cached.body, source: 'memory' });
    }
    // The last line of defence for guarantee 2: no URL carrying a configured secret in any form leaves the process.
    if (scrubber.text(url) !== url)
      return Promise.reject(
        new PolicyError(
          'url',
          'would carry a configured secret (an API key or token, or part of one); nothing was sent',
          'Pass a model AIR or capability id from model search, never a key.',
        ),
      );
    const key = opts.revalidate ? `revalidate ${url}` : url;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(url, signal, opts.revalidate === true).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** `revalidate`: ask the service even when the copy is fresh (a cached answer just refused a task). */
  private async load(url: string, signal?: AbortSignal, revalidate = false): Promise<Fetched> {
    // A copy written by an older process (or edited on disk) is clamped like a new answer.
    const now = revalidate ? Infinity : this.now();
    const miss = this.missing.get(url);
    if (miss !== undefined && miss > now) return { status: 'notFound' };
    let cached = this.memory.get(url);
    if (cached && cached.freshUntil > now) return { status: 'ok', body: cached.body, source: 'memory' };
    let fromDisk = false;
    if (!cached) {
      cached = await this.readDisk(url);
      fromDisk = !!cached;
      if (cached) this.memory.set(url, cached);
      if (cached && cached.freshUntil > now) return { status: 'ok', body: cached.body, source: 'disk' };
    }
    const failed = this.failed.get(url);
    if (failed && failed.until > now) return this.stale(cached, failed.reason, failed.until);
    const time = deadline(signal, this.opts.timeoutMs ?? FETCH_TIMEOUT_MS);
    try {
      const { request } = await undici();
      const res = await request(url, {
        method: 'GET',
        headers: {
          accept: 'application/json',
          'user-agent': this.opts.userAgent,
          ...(cached?.etag ? { 'if-none-match': cached.etag } : {}),
        },
        signal: time.signal,
        maxRedirections: 0,
      } as Parameters<typeof request>[1]);
      const header = (n: string): string | undefined => {
        const v = res.headers[n];
        return Array.isArray(v) ? v[0] : v;
      };
      const { maxAgeS, noStore } = maxAgeOf(header('cache-control'));
      if (res.statusCode === 304 && cached) {
        await res.body.dump();
        cached.freshUntil = this.now() + maxAgeS * 1000;
        if (!noStore) this.writeBeside(cached);
        return { status: 'ok', body: cached.body, source: fromDisk ? 'disk' : 'memory' };
      }
      if (res.statusCode === 404) {
        await res.body.dump();
        this.missing.set(url, this.now() + NOT_FOUND_S * 1000);
        return { status: 'notFound' };
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        return this.fail(url, cached, `HTTP ${res.statusCode}`);
      }
      const body = await boundedJson(res.body, MAX_BODY_BYTES);
      const etag = header('etag');
      const entry: Entry = {
        url,
        body,
        ...(etag ? { etag } : {}),
        freshUntil: this.now() + maxAgeS * 1000,
        ...(noStore ? { noStore } : {}),
      };
      this.memory.set(url, entry);
      this.missing.delete(url);
      this.failed.delete(url);
      if (!noStore) this.writeBeside(entry);
      return { status: 'ok', body, source: 'network' };
    } catch (e) {
      if (signal?.aborted) throw new CancelledError();
      return this.fail(url, cached, causeOf(e));
    } finally {
      time.done();
    }
  }

  private fail(url: string, cached: Entry | undefined, reason: string): Fetched {
    const until = this.now() + FAILED_S * 1000;
    this.failed.set(url, { until, reason });
    return this.stale(cached, reason, until);
  }

  private stale(cached: Entry | undefined, reason: string, retryAt: number): Fetched {
    if (cached) {
      this.opts.logger.info(`catalogue service unavailable (${reason}); using the cached copy of ${cached.url}`);
      return { status: 'ok', body: cached.body, source: 'stale' };
    }
    return { status: 'unavailable', reason, retryAt };
  }

  private fileFor(url: string): string | undefined {
    return this.opts.dir
      ? join(this.opts.dir, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.json`)
      : undefined;
  }

  private async readDisk(url: string): Promise<Entry | undefined> {
    const file = this.fileFor(url);
    if (!file) return undefined;
    try {
      const e = JSON.parse(
        (
          await readRegularFileWithin(file, [this.opts.dir!], {
            maxBytes: MAX_BODY_BYTES * 2,
            timeoutMs: this.opts.timeoutMs ?? FETCH_TIMEOUT_MS,
          })
        ).toString('utf8'),
      ) as Entry;
      if (!e || e.url !== url || typeof e.freshUntil !== 'number') return undefined;
      return { ...e, freshUntil: Math.min(e.freshUntil, this.now() + MAX_FRESH_S * 1000) };
    } catch {
      return undefined;
    }
  }

  private readonly writing = new Set<Promise<void>>();

  /**
   * The disk copy is written beside the call, not on its path: the answer is already in memory, and a
   * slow or hung disk must not hold a call (a copy not written is only a copy not kept).
   */
  private writeBeside(e: Entry): void {
    const w = this.writeDisk(e).finally(() => this.writing.delete(w));
    this.writing.add(w);
  }

  /** Resolves once every disk copy begun so far is written or given up. */
  async whenWritten(): Promise<void> {
    while (this.writing.size) await Promise.all([...this.writing]);
  }

  /** Written whole or not at all (a temporary file renamed), scrubbed like every other saved file. */
  private async writeDisk(e: Entry): Promise<void> {
    const file = this.fileFor(e.url);
    if (!file) return;
    // An unguessable name, created exclusively: a link planted at the temporary name is never followed
    // (and a file there never truncated); the rename replaces a link at the final name, not its target.
    const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
    let created = false;
    try {
      await mkdir(this.opts.dir!, { recursive: true, mode: 0o700 });
      const handle = await open(
        tmp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
        0o600,
      );
      created = true;
      try {
        await handle.writeFile(JSON.stringify(scrubber.value(e)));
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
      created = false;
    } catch (err) {
      if (created) await unlink(tmp).catch(() => undefined);
      this.opts.logger.debug(`schema cache not written: ${(err as Error).message}`);
    }
  }
}

/** The body as JSON, refused (the rest discarded) once it passes `max` bytes. */
async function boundedJson(
  body: AsyncIterable<Buffer> & { destroy?: (e?: Error) => unknown },
  max: number,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of body) {
    total += c.length;
    if (total > max) {
      body.destroy?.();
      throw new Error(`the answer is over ${max / 1048576} MiB`);
    }
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks, total).toString('utf8')) as unknown;
}
