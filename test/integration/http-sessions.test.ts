/** Streamable HTTP sessions in-process: idle ones are closed, active ones kept. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startHttp } from '../../src/mcp/http.js';
import { HttpSessions } from '../../src/mcp/http-sessions.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { sleep, waitFor } from '../helpers.js';

describe('HTTP sessions', () => {
  it('closes sessions left idle, and a closed session must initialize again', async () => {
    const app = new AppContext(
      {
        ...loadConfig({ HOME: '/tmp' }),
        http: {
          enabled: true,
          host: '127.0.0.1',
          port: 0,
          token: undefined,
          allowedHosts: [],
          maxSessions: 200,
          idleMs: 600_000,
          stateless: false,
        },
      },
      new Logger('error'),
    );
    // Sessions go idle by the test's clock; only the sweeper's timer is real (every IDLE/4), so a
    // busy machine changes how soon a sweep comes, never what it decides.
    const IDLE = 400;
    let now = 1_000_000;
    const sweeps = vi.spyOn(HttpSessions.prototype, 'sweep');
    const sweepsFrom = async (n: number): Promise<void> => {
      const from = sweeps.mock.calls.length;
      await waitFor(() => sweeps.mock.calls.length >= from + n, { timeoutMs: 10_000, what: `${n} sweeps` });
    };
    // Requests whose answer has not begun: the server renews a session when a request comes in,
    // so the clock moves only once the client's requests (its own GET stream too) have all arrived.
    const pending = new Set<Promise<Response>>();
    const tracked = (url: string | URL, init?: RequestInit): Promise<Response> => {
      const p = fetch(url, init);
      pending.add(p);
      const forget = (): void => void pending.delete(p);
      p.then(forget, forget);
      return p;
    };
    const arrived = (): Promise<true> =>
      waitFor(() => pending.size === 0, { timeoutMs: 10_000, what: "the client's requests to be answered" });
    const h = await startHttp(app, { sessionIdleMs: IDLE, now: () => now });
    try {
      const client = new Client({ name: 'idle', version: '0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(h.url), { fetch: tracked }));
      expect(h.sessionCount()).toBe(1);
      await client.listTools();
      // Activity inside the window renews the session.
      now += IDLE - 1;
      await client.listTools();
      await arrived();
      // Exactly the idle time since the last request (nearly twice since the first): kept.
      now += IDLE;
      await sweepsFrom(2);
      expect(h.sessionCount()).toBe(1);
      // One millisecond past it: the next sweep closes it.
      now += 1;
      await waitFor(() => h.sessionCount() === 0, { timeoutMs: 10_000, what: 'the idle session to be closed' });
      await expect(client.listTools()).rejects.toThrow();
    } finally {
      sweeps.mockRestore();
      await h.close();
      await app.close();
    }
  });

  it('cuts off a client that sends its headers slowly (the timeout the server sets, checked every second)', async () => {
    const app = new AppContext(
      {
        ...loadConfig({ HOME: '/tmp' }),
        http: {
          enabled: true,
          host: '127.0.0.1',
          port: 0,
          token: undefined,
          allowedHosts: [],
          maxSessions: 200,
          idleMs: 600_000,
          stateless: false,
        },
      },
      new Logger('error'),
    );
    const h = await startHttp(app, { headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    try {
      const url = new URL(h.url);
      const sock = connect(Number(url.port), url.hostname);
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString()));
      const t0 = Date.now();
      const closed = new Promise<number>((resolve) => sock.on('close', () => resolve(Date.now() - t0)));
      sock.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      // Due within 1.5 s (0.5 s, checked every second); without these settings it would take 10 s (the
      // default headers timeout) or 30 s (Node's default check): wide bounds below both, for a busy machine.
      const ms = await Promise.race([closed, sleep(9000).then(() => -1)]);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThan(6000);
      expect(got).toMatch(/408/);
    } finally {
      await h.close();
      await app.close();
    }
  });
});
