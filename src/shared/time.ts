import { CancelledError } from './errors.js';

/** Sleeps for `ms`, rejecting with CancelledError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new CancelledError());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal that aborts when any input aborts or when `ms` elapses. */
export function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const t = AbortSignal.timeout(Math.max(1, ms));
  return signal ? AbortSignal.any([signal, t]) : t;
}

/** A deadline for one request: `signal` aborts when the caller's does or when time is up. */
export interface Deadline {
  signal: AbortSignal;
  /** Whether it was time, not the caller, that aborted it. */
  readonly expired: boolean;
  /** Clears the timer and the listener; call it when the request is over. */
  done(): void;
}

/**
 * The per-request form of withTimeout, for hot paths: one controller, one timer
 * and one listener, all released by done(). AbortSignal.any and .timeout cost
 * a few times more per call on Node 20 and stay reachable until they fire.
 */
export function deadline(parent: AbortSignal | undefined, ms: number): Deadline {
  const ctl = new AbortController();
  let expired = false;
  const onAbort = (): void => ctl.abort(parent?.reason);
  const timer = setTimeout(() => {
    expired = true;
    ctl.abort(new Error('deadline'));
  }, Math.max(1, Math.floor(ms)));
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ctl.signal,
    get expired() {
      return expired;
    },
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
