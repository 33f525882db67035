/** A catalogue service that cannot be reached: remembered for a minute, reported as what it is. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILED_S, HttpCache } from '../../src/runware/schemas/http-cache.js';
import { ModelCatalog } from '../../src/runware/schemas/catalog.js';
import { NetworkError } from '../../src/shared/errors.js';
import { Logger } from '../../src/shared/log.js';

const logger = new Logger('error');
let server: Server;
let base = '';
let connections = 0;
let answer: 'drop' | 'ok' | '503' = 'drop';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (answer === 'drop') return req.socket.destroy();
    if (answer === '503') return res.writeHead(503).end();
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ requestSchema: { type: 'object' } }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('a failed catalogue fetch', () => {
  it('is remembered for a minute: calls meanwhile do not ask (nor wait), and the next one after it does', async () => {
    let now = 5_000_000;
    const cache = new HttpCache({ userAgent: 't', logger, now: () => now });
    connections = 0;
    answer = 'drop';
    const first = await cache.get(`${base}/resolve/x`);
    expect(first).toMatchObject({ status: 'unavailable', retryAt: now + FAILED_S * 1000 });
    expect(connections).toBe(1);
    now += 30_000;
    const t0 = performance.now();
    expect(await cache.get(`${base}/resolve/x`)).toMatchObject({ status: 'unavailable' });
    // No connection is the proof it did not ask; the bound only says it did not wait on a deadline
    // (seconds), and is wide for a busy machine.
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(connections).toBe(1);
    // A 5xx is remembered the same way.
    answer = '503';
    now += 31_000;
    expect(await cache.get(`${base}/resolve/x`)).toMatchObject({ status: 'unavailable', reason: 'HTTP 503' });
    expect(connections).toBe(2);
    expect(await cache.get(`${base}/resolve/x`)).toMatchObject({ status: 'unavailable' });
    expect(connections).toBe(2);
    // Back: the next call after the minute fetches, and the failure is forgotten.
    answer = 'ok';
    now += 61_000;
    expect(await cache.get(`${base}/resolve/x`)).toMatchObject({ status: 'ok', source: 'network' });
    expect(connections).toBe(3);
  });

  it("says so in the lookup's detail (which becomes the result's note)", async () => {
    answer = 'drop';
    const catalog = new ModelCatalog({ schemasUrl: base, contentUrl: base, userAgent: 't', logger });
    const r = await catalog.schema('klingai:5@3');
    expect(r.missing?.reason).toBe('unavailable');
    expect(r.missing?.detail).toMatch(
      /could not be reached \(.+; remembered until \d{4}-\d\d-\d\dT[\d:.]+Z, so calls meanwhile do not wait for it\)/,
    );
  });
});

describe('NetworkError', () => {
  it('is retryable when nothing was sent, and says so in its JSON', () => {
    expect(new NetworkError('x', false, 'ENOTFOUND').toJSON()).toMatchObject({
      kind: 'network',
      retryable: true,
      code: 'ENOTFOUND',
    });
    expect(new NetworkError('x', true).toJSON()).toMatchObject({ kind: 'network', retryable: false });
  });
});
