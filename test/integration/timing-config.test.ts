/** The retry settings of src/config.ts reach both clients: Runware's and the Runway providers'. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { account } from '../../src/services/account.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { simEnv, startSim } from '../helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.stop();
});

/** An AppContext over the simulator with `env` on top, retries fast (RUNWARE_TIME_SCALE). */
async function withContext<T>(env: Record<string, string>, fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = new AppContext(
    loadConfig(simEnv(sim, { RUNWARE_TIME_SCALE: '0.02', RUNWARE_LOG_LEVEL: 'error', ...env })),
    new Logger('error'),
  );
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

const requests = (surface: string): number => sim.state.log.filter((e) => e.surface === surface).length;

describe('RUNWARE_RETRY_ATTEMPTS', () => {
  it('Runware: a 503 is retried by default, and not at all with 1 attempt', async () => {
    sim.state.reset();
    sim.addFaults({ kind: 'http503' });
    await withContext({}, async (ctx) => expect((await account(ctx)).balance).toBeTypeOf('number'));
    expect(requests('runware')).toBe(2);

    sim.state.reset();
    sim.addFaults({ kind: 'http503' });
    const once = await withContext({ RUNWARE_RETRY_ATTEMPTS: '1' }, (ctx) => account(ctx));
    expect(once.balance).toBeUndefined();
    expect(once.balanceError).toMatch(/503|server error|unavailable/i);
    expect(requests('runware')).toBe(1);
  });

  it('Runway providers use the same policy', async () => {
    const id = '3b241101-e2bb-4255-8caf-4136c566a962';
    for (const [attempts, expected] of [
      ['3', 3],
      ['1', 1],
    ] as const) {
      sim.state.reset();
      sim.addFaults({ kind: 'http503', surface: 'runway', count: 10 });
      await withContext({ RUNWARE_RETRY_ATTEMPTS: attempts }, async (ctx) =>
        expect(ctx.runway().get(id, { provider: 'runway' })).rejects.toThrow(),
      );
      expect(requests('runway'), `RUNWARE_RETRY_ATTEMPTS=${attempts}`).toBe(expected);
    }
  });
});
