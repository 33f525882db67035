/**
 * RUNWARE_MAX_CONCURRENCY across every instance that shares a Redis: a
 * weighted semaphore per API key, as a sorted set of leases scored by their
 * expiry. A holder renews its lease while it works; an instance that dies
 * stops renewing, and its permits come back when the lease expires.
 *
 * Waiters are woken by a release message, and look again on a short timer
 * besides (a message can be missed, and an expiry sends none). In front sits
 * this process's FairLimiter, so its own callers keep their FIFO order.
 */
import { randomUUID } from 'node:crypto';
import { CancelledError, StateUnavailableError } from '../shared/errors.js';
import { FairLimiter, type Limiter } from '../shared/limiter.js';
import type { Logger } from '../shared/log.js';
import { Script, type RedisLink, type RedisState } from './redis.js';

const ACQUIRE = new Script(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do held = held + tonumber(string.match(m, '|(%d+)$')) end
local n = tonumber(ARGV[4])
if held + n > tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[5])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1`);

export interface GlobalLimiterOptions {
  capacity: number;
  /** Resolves the shared state (opened on first use). */
  state: () => Promise<RedisState>;
  /** A hash of the API key: each key has its own limit, and the key itself is never stored. */
  keyId: string;
  /** How long a lease lives without renewal. */
  leaseMs: number;
  logger: Logger;
  /** How long to look for a free permit before giving up; every wait has a deadline. */
  maxWaitMs?: number;
}

export class GlobalLimiter implements Limiter {
  readonly capacity: number;
  private readonly local: FairLimiter;
  private readonly wakers = new Set<() => void>();
  private subscribed: Promise<void> | undefined;
  private subscriber: RedisLink | undefined;

  constructor(private readonly opts: GlobalLimiterOptions) {
    this.capacity = opts.capacity;
    this.local = new FairLimiter(opts.capacity);
  }

  private key(s: RedisState): string {
    return `${s.prefix}leases:${this.opts.keyId}`;
  }

  private channel(s: RedisState): string {
    return `${s.prefix}released:${this.opts.keyId}`;
  }

  /** One subscriber connection per process, made on first wait. */
  private subscribe(s: RedisState): void {
    this.subscribed ??= (async () => {
      const sub: RedisLink = s.redis.duplicate();
      this.subscriber = sub;
      sub.on('error', () => undefined);
      await sub.connect();
      await sub.subscribe(this.channel(s), () => this.wakeAll());
    })().catch(() => {
      // Without it, waiters still look on their timer.
      this.subscriber?.destroy();
      this.subscriber = undefined;
      this.subscribed = undefined;
    });
  }

  close(): void {
    this.subscriber?.destroy();
    this.subscriber = undefined;
    this.subscribed = undefined;
  }

  private wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }

  async run<T>(n: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.local.run(
      n,
      async () => {
        const s = await this.opts.state();
        const want = Math.min(Math.max(1, n), this.capacity);
        const member = `${randomUUID()}|${want}`;
        await this.acquire(s, member, want, signal);
        // Renewed while held, so a long request keeps its permits and a dead instance's expire.
        const renew = setInterval(
          () => {
            void s
              .call((r) => r.sendCommand(['ZADD', this.key(s), 'XX', String(Date.now() + this.opts.leaseMs), member]))
              .catch(() => undefined);
          },
          Math.max(50, Math.floor(this.opts.leaseMs / 3)),
        );
        renew.unref();
        try {
          return await fn();
        } finally {
          clearInterval(renew);
          await s
            .call(async (r) => {
              await r.sendCommand(['ZREM', this.key(s), member]);
              await r.sendCommand(['PUBLISH', this.channel(s), '1']);
            })
            .catch((e: unknown) =>
              this.opts.logger.warn(
                `lease ${member} not released (${(e as Error).message}); it expires in ${this.opts.leaseMs} ms`,
              ),
            );
        }
      },
      signal,
    );
  }

  private async acquire(s: RedisState, member: string, n: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.opts.maxWaitMs ?? 10 * 60_000);
    let delay = 5;
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      const got = await s.call((r) =>
        ACQUIRE.run(r, [this.key(s)], [Date.now(), this.opts.leaseMs, this.capacity, n, member]),
      );
      if (Number(got) === 1) return;
      if (Date.now() >= deadline)
        throw new StateUnavailableError(
          `No permit of the shared RUNWARE_MAX_CONCURRENCY=${this.capacity} came free within ${Math.round((this.opts.maxWaitMs ?? 600_000) / 1000)} s.`,
        );
      this.subscribe(s);
      // A release wakes us at once; otherwise look again soon (an expired lease sends no message).
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          this.wakers.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, delay + Math.random() * delay);
        this.wakers.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
      delay = Math.min(200, delay * 2);
    }
  }
}
