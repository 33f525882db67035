/** Quotes (#27): dimensions, pricing examples read as prices, sources in order, and scaling that never goes down. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dimensionsOf, Quoter, readExamples } from '../../src/runware/quote.js';
import { loadConfig } from '../../src/config.js';

const img = (w: number, h: number, steps: number, n = 1) => ({
  taskType: 'imageInference',
  taskUUID: 'u',
  model: 'm:1@1',
  width: w,
  height: h,
  steps,
  numberResults: n,
});

describe('quotes', () => {
  it('reads pricing examples: sizes and steps scale, durations scale, the rest is flat', () => {
    expect(
      readExamples('imageInference', [
        { configuration: '1024x1024, 28 steps', price: '$0.0038' },
        { configuration: '1024x1024, 50 steps', price: '$0.0068' },
      ]).perUnit,
    ).toBeCloseTo(0.0068 / (50 / 28), 9);
    expect(
      readExamples('videoInference', [
        { configuration: '5 s, 1080p', price: '$0.92' },
        { configuration: '10 s, 1080p', price: '$1.84' },
      ]),
    ).toEqual({ perUnit: 0.92 });
    expect(readExamples('imageInference', [{ configuration: 'any size', price: '$0.04' }])).toEqual({ flat: 0.04 });
    expect(readExamples('audioInference', [{ configuration: 'up to 5 min', price: '$0.03' }])).toEqual({ flat: 0.03 });
  });

  it('takes the sources in order, with the learned bound as a floor', async () => {
    const pricing = async () => [{ configuration: '1024x1024, 28 steps', price: '$0.0038' }];
    expect(await new Quoter({ dryRun: async () => 0.005, pricing }).quote(img(1024, 1024, 28))).toMatchObject({
      usd: 0.005,
      source: 'dryRun',
    });
    expect(await new Quoter({ pricing }).quote(img(2048, 2048, 56, 2))).toMatchObject({
      usd: 0.0304 * 2,
      source: 'pricing',
    });
    expect(await new Quoter({ pricing, learned: async () => 0.01 }).quote(img(1024, 1024, 28))).toMatchObject({
      usd: 0.01,
      source: 'learned',
    });
    expect(await new Quoter({}).quote(img(2048, 2048, 28))).toMatchObject({ usd: 0.4, source: 'ceiling' });
    // RUNWARE_PRICE_CEILINGS raises a type's ceiling.
    const ceilings = loadConfig({
      HOME: '/tmp',
      RUNWARE_PRICE_CEILINGS: 'imageInference=0.5, videoInference=10',
    }).priceCeilings;
    expect(ceilings).toEqual({ imageInference: 0.5, videoInference: 10 });
    expect(await new Quoter({ ceilings }).quote(img(1024, 1024, 28))).toMatchObject({ usd: 0.5, source: 'ceiling' });
    expect(() => loadConfig({ HOME: '/tmp', RUNWARE_PRICE_CEILINGS: 'imageInference=cheap' })).toThrow(
      /RUNWARE_PRICE_CEILINGS/,
    );
  });

  it('never quotes a bigger task of the same model less than a smaller one, from any source', async () => {
    const sources = [
      {},
      { pricing: async () => [{ configuration: '1024x1024, 28 steps', price: '$0.0038' }] },
      { learned: async () => 0.0123 },
      { pricing: async () => [{ configuration: 'any size', price: '$0.04' }] },
    ];
    const dim = fc.record({
      w: fc.integer({ min: 8, max: 512 }),
      h: fc.integer({ min: 8, max: 512 }),
      steps: fc.integer({ min: 1, max: 100 }),
      n: fc.integer({ min: 1, max: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(dim, dim, fc.integer({ min: 0, max: 3 }), async (a, b, s) => {
        const small = {
          w: Math.min(a.w, b.w) * 8,
          h: Math.min(a.h, b.h) * 8,
          steps: Math.min(a.steps, b.steps),
          n: Math.min(a.n, b.n),
        };
        const big = {
          w: Math.max(a.w, b.w) * 8,
          h: Math.max(a.h, b.h) * 8,
          steps: Math.max(a.steps, b.steps),
          n: Math.max(a.n, b.n),
        };
        const q = new Quoter(sources[s]!);
        const qs = await q.quote(img(small.w, small.h, small.steps, small.n));
        const qb = await q.quote(img(big.w, big.h, big.steps, big.n));
        return qb.usd >= qs.usd;
      }),
      { numRuns: 300 },
    );
  });

  it('keys the cache by model and every billable dimension', () => {
    expect(dimensionsOf(img(1024, 1024, 28)).key).not.toBe(dimensionsOf(img(1024, 1024, 30)).key);
    expect(dimensionsOf({ taskType: 'videoInference', taskUUID: 'u', model: 'k', duration: 10 })).toMatchObject({
      size: 2,
      results: 1,
    });
  });
});
