/** Streamable HTTP sessions in-process: idle ones are closed, active ones kept. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startHttp } from '../../src/mcp/http.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { sleep } from '../helpers.js';

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
    // Generous against a loaded CI machine: activity well inside the window, silence well past it.
    const h = await startHttp(app, { sessionIdleMs: 2000 });
    try {
      const client = new Client({ name: 'idle', version: '0' });
      const transport = new StreamableHTTPClientTransport(new URL(h.url));
      await client.connect(transport);
      expect(h.sessionCount()).toBe(1);
      await client.listTools();
      await sleep(200);
      await client.listTools();
      expect(h.sessionCount()).toBe(1);
      // The sweeper runs every idleMs/4: the session goes soon after 2 s of silence (bounded, not a fixed sleep).
      const silentFrom = Date.now();
      while (h.sessionCount() > 0 && Date.now() - silentFrom < 10_000) await sleep(50);
      expect(h.sessionCount()).toBe(0);
      expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(1900);
      await expect(client.listTools()).rejects.toThrow();
    } finally {
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
      const ms = await Promise.race([closed, sleep(8000).then(() => -1)]);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThan(3000);
      expect(got).toMatch(/408/);
    } finally {
      await h.close();
      await app.close();
    }
  });
});
