/** The Runway providers' GET retries under the one retry policy (runware/retry.ts), not numbers of its own. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderHttp } from '../../src/runway/http.js';
import { Logger } from '../../src/shared/log.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A stub that answers each request with the next status of `statuses` (the last one repeats). */
async function stub(statuses: number[]): Promise<{ url: string; hits: () => number }> {
  let n = 0;
  server = createServer((_req, res) => {
    const status = statuses[Math.min(n++, statuses.length - 1)]!;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', status: 'SUCCEEDED' }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/tasks/x`, hits: () => n };
}

const fast = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10, budgetMs: 5_000 };

describe('ProviderHttp retries', () => {
  it('retries a 503 under the policy and returns the answer', async () => {
    const s = await stub([503, 502, 200]);
    const http = new ProviderHttp(new Logger('error'), 'test', fast);
    const r = await http.get('runway', s.url, {}, Date.now() + 5_000);
    expect(r.status).toBe(200);
    expect(s.hits()).toBe(3);
    await http.close();
  });

  it("stops at the policy's maxAttempts", async () => {
    const s = await stub([503]);
    const http = new ProviderHttp(new Logger('error'), 'test', { ...fast, maxAttempts: 2 });
    await expect(http.get('runway', s.url, {}, Date.now() + 5_000)).rejects.toMatchObject({ kind: 'upstream' });
    expect(s.hits()).toBe(2);
    await http.close();
  });

  it('never retries a refusal that is final (401)', async () => {
    const s = await stub([401, 200]);
    const http = new ProviderHttp(new Logger('error'), 'test', fast);
    await expect(http.get('runway', s.url, {}, Date.now() + 5_000)).rejects.toMatchObject({ kind: 'upstream' });
    expect(s.hits()).toBe(1);
    await http.close();
  });
});
