import { CancelledError } from './errors.js';

/** What the client needs of a limit on requests in flight: this process's, or one shared by instances. */
export interface Limiter {
  readonly capacity: number;
  run<T>(n: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * A weighted semaphore with a FIFO queue: a large request is never starved by
 * a stream of small ones, because nobody overtakes the head of the queue.
 */
export class FairLimiter implements Limiter {
  private available: number;
  private readonly queue: Array<{ n: number; grant: () => void }> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.available = capacity;
  }

  get inFlight(): number {
    return this.capacity - this.available;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Waits for `n` permits (capped at capacity) and returns their release function. */
  async acquire(n = 1, signal?: AbortSignal): Promise<() => void> {
    const want = Math.min(Math.max(1, n), this.capacity);
    if (this.queue.length === 0 && this.available >= want) {
      this.available -= want;
      return this.releaser(want);
    }
    return new Promise((resolve, reject) => {
      const entry = {
        n: want,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser(want));
        },
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new CancelledError());
        this.drain();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
      this.drain();
    });
  }

  async run<T>(n: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(n, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(n: number): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.available += n;
      this.drain();
    };
  }

  private drain(): void {
    while (this.queue.length > 0 && this.available >= this.queue[0]!.n) {
      const head = this.queue.shift()!;
      this.available -= head.n;
      head.grant();
    }
  }
}
