import { describe, expect, it } from 'vitest';
import { backoffDelay, canRetry, DEFAULT_RETRY, parseRetryAfter, retryDelay } from '../../src/runware/retry.js';

describe('retry policy', () => {
  it('uses full jitter under an exponential, capped ceiling', () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, p, () => 0.999)).toBe(99);
    expect(backoffDelay(3, p, () => 0.999)).toBe(399);
    expect(backoffDelay(10, p, () => 0.999)).toBe(999);
    expect(backoffDelay(2, p, () => 0)).toBe(0);
  });

  it('never waits less than Retry-After', () => {
    expect(retryDelay(1, DEFAULT_RETRY, 3000, () => 0.1)).toBe(3000);
    expect(retryDelay(1, DEFAULT_RETRY, undefined, () => 0.5)).toBe(250);
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter('nonsense')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('bounds attempts and total time', () => {
    const p = { ...DEFAULT_RETRY, maxAttempts: 3, budgetMs: 1000 };
    expect(canRetry(2, 0, 0, p)).toBe(true);
    expect(canRetry(3, 0, 0, p)).toBe(false);
    expect(canRetry(1, 900, 200, p)).toBe(false);
  });
});
