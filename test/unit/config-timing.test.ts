/** Retry and timing numbers come from src/config.ts, with src/runware/timing.ts's defaults; numbers are plain decimals. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_RETRY } from '../../src/runware/retry.js';
import { TASK_TYPES } from '../../src/runware/task-types.js';
import { TUNABLE } from '../../src/runware/timing.js';
import { ROOT } from '../helpers.js';

const HOME = { HOME: '/tmp' };

describe('retry and timing settings', () => {
  it('default to src/runware/timing.ts, and the default retry policy is the same one', () => {
    const t = loadConfig(HOME).timing;
    expect(t).toEqual({
      retry: {
        maxAttempts: TUNABLE.retryAttempts,
        baseDelayMs: TUNABLE.retryBaseMs,
        maxDelayMs: TUNABLE.retryMaxDelayMs,
        budgetMs: TUNABLE.retryBudgetMs,
      },
      readTimeoutMs: TUNABLE.readTimeoutMs,
      requestTimeoutMs: TUNABLE.requestTimeoutMs,
      pollMaxMs: TUNABLE.pollMaxMs,
      downloadTimeoutMs: TUNABLE.downloadTimeoutMs,
    });
    expect(t.retry).toEqual(DEFAULT_RETRY);
  });

  it('are read in seconds (decimals allowed) and kept in milliseconds', () => {
    const t = loadConfig({
      ...HOME,
      RUNWARE_RETRY_ATTEMPTS: '6',
      RUNWARE_RETRY_BASE_SECONDS: '0.25',
      RUNWARE_RETRY_MAX_DELAY_SECONDS: '20',
      RUNWARE_RETRY_BUDGET_SECONDS: '1.1',
      RUNWARE_READ_TIMEOUT_SECONDS: '30',
      RUNWARE_REQUEST_TIMEOUT_SECONDS: '600',
      RUNWARE_POLL_MAX_SECONDS: '15',
      RUNWARE_DOWNLOAD_TIMEOUT_SECONDS: '300',
    }).timing;
    expect(t).toEqual({
      retry: { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 20_000, budgetMs: 1100 },
      readTimeoutMs: 30_000,
      requestTimeoutMs: 600_000,
      pollMaxMs: 15_000,
      downloadTimeoutMs: 300_000,
    });
  });

  it('refuse values out of range, naming the variable and the range', () => {
    expect(() => loadConfig({ ...HOME, RUNWARE_RETRY_ATTEMPTS: '0' })).toThrow(
      /RUNWARE_RETRY_ATTEMPTS must be an integer from 1 to 10/,
    );
    expect(() => loadConfig({ ...HOME, RUNWARE_RETRY_ATTEMPTS: '2.5' })).toThrow(
      /RUNWARE_RETRY_ATTEMPTS must be an integer/,
    );
    expect(() => loadConfig({ ...HOME, RUNWARE_REQUEST_TIMEOUT_SECONDS: '1' })).toThrow(
      /RUNWARE_REQUEST_TIMEOUT_SECONDS must be a decimal number from 5 to 3600/,
    );
    expect(() => loadConfig({ ...HOME, RUNWARE_READ_TIMEOUT_SECONDS: '-3' })).toThrow(
      /RUNWARE_READ_TIMEOUT_SECONDS must be a decimal number from 1 to 300/,
    );
  });
});

describe('numbers in the environment are plain decimals', () => {
  // Number() takes all of these; each is more likely a typo than what was meant.
  for (const bad of ['0x10', '1e3', ' 5', '5 ', '0b1', '0o7', 'Infinity', '+5', '1_000', '5s']) {
    it(`refuse ${JSON.stringify(bad)}, naming the variable and the value`, () => {
      expect(() => loadConfig({ ...HOME, RUNWARE_MAX_CONCURRENCY: bad })).toThrow(
        `RUNWARE_MAX_CONCURRENCY must be an integer from 1 to 64 written in plain digits (no spaces, +, hex or exponent), not "${bad}"`,
      );
      expect(() => loadConfig({ ...HOME, RUNWARE_RETRY_BUDGET_SECONDS: bad })).toThrow(
        /RUNWARE_RETRY_BUDGET_SECONDS must be a decimal number/,
      );
      expect(() => loadConfig({ ...HOME, RUNWARE_MAX_SPEND_USD: bad })).toThrow(
        /RUNWARE_MAX_SPEND_USD must be a number of US dollars/,
      );
    });
  }

  it('take 16, 0.5 and .5, and treat empty as unset', () => {
    expect(loadConfig({ ...HOME, RUNWARE_MAX_CONCURRENCY: '16' }).runware.maxConcurrency).toBe(16);
    expect(loadConfig({ ...HOME, RUNWARE_MCP_HTTP_IDLE_SECONDS: '1.5' }).http.idleMs).toBe(1500);
    expect(loadConfig({ ...HOME, RUNWARE_RETRY_BASE_SECONDS: '.5' }).timing.retry.baseDelayMs).toBe(500);
    expect(loadConfig({ ...HOME, RUNWARE_MAX_SPEND_USD: '12.50' }).maxSpendUsd).toBe(12.5);
    expect(loadConfig({ ...HOME, RUNWARE_MAX_CONCURRENCY: '' }).runware.maxConcurrency).toBe(4);
  });
});

describe('RUNWARE_PRICE_CEILINGS', () => {
  it('takes known task types', () => {
    expect(loadConfig({ ...HOME, RUNWARE_PRICE_CEILINGS: 'imageInference=0.5,3dInference:2' }).priceCeilings).toEqual({
      imageInference: 0.5,
      '3dInference': 2,
    });
  });

  for (const type of ['imageInferense', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    it(`refuses "${type}", naming the variable and the task types it takes`, () => {
      let message = '';
      try {
        loadConfig({ ...HOME, RUNWARE_PRICE_CEILINGS: `imageInference=0.5,${type}=1` });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(`RUNWARE_PRICE_CEILINGS: "${type}" is not a task type; use one of `);
      for (const known of Object.keys(TASK_TYPES)) expect(message).toContain(known);
    });
  }
});

describe('the README', () => {
  it('names every setting src/config.ts reads in its configuration table (XDG_* appear in the defaults)', () => {
    const src = readFileSync(join(ROOT, 'src', 'config.ts'), 'utf8');
    const block = /const envSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(src)?.[1] ?? '';
    const names = [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)]
      .map((m) => m[1]!)
      .filter((n) => !n.startsWith('XDG_'));
    expect(names).toContain('RUNWARE_RETRY_ATTEMPTS');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'));
    expect(
      names.filter(
        (n) => !table.includes(`| \`${n}\``) && !table.includes(`, \`${n}\``) && !table.includes(`/ \`${n}\``),
      ),
    ).toEqual([]);
  });
});
