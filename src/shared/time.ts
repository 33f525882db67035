import { CancelledError } from './errors.js';

/** Sleeps for `ms`, rejecting with CancelledError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new CancelledError());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for `p` (whose failure is ignored), but no longer than `ms`; the timer does not hold the process. */
export function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    late,
  ]).finally(() => clearTimeout(timer));
}

/**
 * Resolves two turns of the event loop from now: undici writes a request from an
 * immediate, so work begun after this runs while the request is on the wire.
 */
export const afterRequestWritten = (): Promise<void> =>
  new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

/** A deadline for one request: `signal` aborts when the caller's does or when time is up. */
export interface Deadline {
  signal: AbortSignal;
  /** Whether it was time, not the caller, that aborted it. */
  readonly expired: boolean;
  /** Clears the timer and the listener; call it when the request is over. */
  done(): void;
}

/**
 * One controller, one timer and one listener, all released by done(), for every
 * request with a time limit. AbortSignal.any plus .timeout cost a few times more
 * per call on Node 20, and stay reachable with their timers for up to a minute.
 */
export function deadline(parent: AbortSignal | undefined, ms: number): Deadline {
  const ctl = new AbortController();
  return timed(ctl.signal, (reason) => ctl.abort(reason), parent, ms);
}

/** The timer and the parent's listener both deadlines share: `abort` fires once, with the parent's reason or a deadline error. */
function timed<S>(signal: S, abort: (reason: unknown) => void, parent: AbortSignal | undefined, ms: number) {
  let expired = false;
  const onAbort = (): void => abort(parent?.reason);
  const timer = setTimeout(
    () => {
      expired = true;
      abort(new Error('deadline'));
    },
    Math.max(1, Math.floor(ms)),
  );
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal,
    get expired() {
      return expired;
    },
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The abort signal undici takes, as small as one can be: `aborted`, `reason`, and the two
 * listener methods undici calls (it adds one listener, once, and removes it when the request
 * ends). An AbortController cost 0.1 to 0.2 ms of a call; against an EventEmitter this measured
 * no different (bench/PER-CALL.md), it is only less code.
 */
export class RequestSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | undefined;
  addEventListener(_type: 'abort', listener: () => void): void {
    (this.listeners ??= []).push(listener);
  }
  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }
  /** Each listener is called once, the first time. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const l of listeners ?? []) l();
  }
}

/** deadline() for an undici request, on the hot path of every call: the same contract, with a RequestSignal. */
export interface RequestDeadline {
  signal: RequestSignal;
  readonly expired: boolean;
  done(): void;
}

export function requestDeadline(parent: AbortSignal | undefined, ms: number): RequestDeadline {
  const signal = new RequestSignal();
  return timed(signal, (reason) => signal.abort(reason), parent, ms);
}
