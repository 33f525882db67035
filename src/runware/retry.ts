/**
 * Backoff with full jitter, `Retry-After` honoured, and a budget on both the
 * number of attempts and the total time.
 */
import { TUNABLE } from './timing.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts after this much time since the first attempt. */
  budgetMs: number;
}

/** The defaults (src/runware/timing.ts); src/config.ts builds the one a process uses from RUNWARE_RETRY_*. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: TUNABLE.retryAttempts,
  baseDelayMs: TUNABLE.retryBaseMs,
  maxDelayMs: TUNABLE.retryMaxDelayMs,
  budgetMs: TUNABLE.retryBudgetMs,
};

/** `policy` on a faster clock (simulated time, tests): the same attempts, delays and budget scaled, with floors. */
export function scaledRetry(policy: RetryPolicy, scale: number): RetryPolicy {
  if (scale === 1) return policy;
  return {
    maxAttempts: policy.maxAttempts,
    baseDelayMs: Math.max(10, policy.baseDelayMs * scale),
    maxDelayMs: policy.maxDelayMs * scale,
    budgetMs: Math.max(2000, policy.budgetMs * scale),
  };
}

/** Delay before retry number `retry` (1-based): full jitter over base·2^(retry-1), capped. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** The delay to wait: at least the server's Retry-After, at most the remaining budget. */
export function retryDelay(retry: number, policy: RetryPolicy, retryAfterMs?: number, random?: () => number): number {
  const jitter = backoffDelay(retry, policy, random);
  return retryAfterMs !== undefined ? Math.max(retryAfterMs, jitter) : jitter;
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Whether another attempt fits in the policy, given the elapsed time and the next delay. */
export function canRetry(attemptsMade: number, elapsedMs: number, nextDelayMs: number, policy: RetryPolicy): boolean {
  return attemptsMade < policy.maxAttempts && elapsedMs + nextDelayMs <= policy.budgetMs;
}
