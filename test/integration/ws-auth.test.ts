/** A key Runware refuses over WebSocket: one connection, one clear error, however many calls follow. */
import { describe, expect, it } from 'vitest';
import { CANARY, clientFor, imageTask, useSim } from '../helpers.js';

const getSim = useSim();

describe('WebSocket authentication refused', () => {
  it('is permanent: later calls get the same auth error without connecting again', async () => {
    const sim = getSim();
    const auths = (): number =>
      sim
        .runwareRequests()
        .filter((e) => e.method === 'WS' && (e.body as Array<{ taskType?: string }>)[0]?.taskType === 'authentication')
        .length;
    const { client } = clientFor(sim, { transport: 'ws' });
    sim.state.credentials.apiKey = 'another-key-entirely';
    try {
      const first = await client.submit(imageTask());
      const second = await client.submit({ taskType: 'modelSearch', search: 'flux' });
      const third = await client.submit(imageTask({ deliveryMethod: 'async' }));
      for (const r of [first, second, third]) {
        expect(r.tasks[0]!.status).toBe('error');
        expect(r.tasks[0]!.errors[0]).toMatchObject({ code: 'invalidApiKey', category: 'auth', retryable: false });
        expect(r.tasks[0]!.errors[0]!.message).toMatch(/^Runware refused the key/);
      }
      expect(auths()).toBe(1);
    } finally {
      sim.state.credentials.apiKey = CANARY.apiKey;
      await client.close();
    }
  });
});
