/**
 * The HTTP edge in process, over real sockets: every refusal is a clear
 * JSON-RPC error and the server goes on serving; two instances sharing one
 * store serve one session (and no token reaches the store); a store that does
 * not answer gives 503s with Retry-After, and /healthz says degraded; listen
 * errors are settings to change.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startHttp, type HttpHandle, type HttpOptions } from '../../src/mcp/http.js';
import { AppContext } from '../../src/services/context.js';
import { ConfigError } from '../../src/shared/errors.js';
import { Logger } from '../../src/shared/log.js';
import { MemorySessionStore } from '../../src/state/memory-sessions.js';
import type { SharedSessions } from '../../src/state/sessions.js';
import { CANARY, Capture } from '../helpers.js';

const TOKEN = 'edge-token-CANARY-3c9d51e0b7a2';
const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
const MCP = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

const capture = new Capture();
const running: Array<{ h: HttpHandle; app: AppContext }> = [];
afterEach(async () => {
  for (const { h, app } of running.splice(0)) {
    await h.close();
    await app.close();
  }
});

async function serve(
  http: { token?: string; stateless?: boolean; host?: string; port?: number } = {},
  opts: HttpOptions = {},
): Promise<HttpHandle> {
  const home = capture.tempDir('rw-edge-');
  // The key and the token come in as in production, so both are known secrets; every log line is kept and scanned.
  const config = loadConfig({
    HOME: home,
    RUNWARE_STATE_DIR: join(home, 'state'),
    RUNWARE_API_KEY: CANARY.apiKey,
    ...(http.token ? { RUNWARE_MCP_HTTP_TOKEN: http.token } : {}),
  });
  const logger = new Logger('debug');
  logger.addSink((r) => capture.add(r));
  const app = new AppContext(
    {
      ...config,
      http: {
        ...config.http,
        enabled: true,
        host: http.host ?? '127.0.0.1',
        port: http.port ?? 0,
        allowedHosts: [],
        maxSessions: 200,
        idleMs: 600_000,
        stateless: !!http.stateless,
      },
    },
    logger,
  );
  try {
    const h = await startHttp(app, opts);
    running.push({ h, app });
    return h;
  } catch (e) {
    await app.close();
    throw e;
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => { error?: { code: number; message: string }; id?: unknown; result?: unknown };
}

/** A raw request (any Host, any body); the answer read whole. */
function send(
  url: string,
  o: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: o.path ?? u.pathname,
        method: o.method ?? 'POST',
        headers: { host: u.host, ...o.headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on(
          'end',
          () => (
            capture.add(text),
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              text,
              json: () => JSON.parse(text) as ReturnType<Answer['json']>,
            })
          ),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
  send(url, { headers: { ...MCP, ...headers }, body: JSON.stringify(body) });

/** A session begun the way a client begins one; its id. */
async function session(url: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await post(url, INIT, headers);
  expect(r.status).toBe(200);
  const sid = String(r.headers['mcp-session-id']);
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...headers, 'mcp-session-id': sid });
  return sid;
}

describe('6. every refusal is a clear error, and the server keeps serving', () => {
  it('path, method, Host, Origin, token, body, session: each refused with its status and what to do', async () => {
    const h = await serve({ token: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const cases: Array<[string, Promise<Answer>, number, RegExp, number?]> = [
      ['path', send(h.url, { method: 'GET', path: '/other', headers: auth }), 404, /the MCP endpoint is \/mcp/],
      [
        'host',
        send(h.url, { headers: { ...MCP, ...auth, host: 'evil.example.test' }, body: JSON.stringify(INIT) }),
        403,
        /unexpected Host header/,
      ],
      ['origin', post(h.url, INIT, { ...auth, origin: 'https://evil.example.test' }), 403, /cross-origin/],
      [
        'token',
        post(h.url, INIT, { authorization: 'Bearer not-the-token' }),
        401,
        /Authorization: Bearer <RUNWARE_MCP_HTTP_TOKEN>/,
      ],
      ['method', send(h.url, { method: 'PUT', headers: auth }), 405, /Method not allowed/],
      ['not JSON', send(h.url, { headers: { ...MCP, ...auth }, body: '{"jsonrpc":' }), 400, /^Parse error/, -32700],
      [
        'too large',
        send(h.url, { headers: { ...MCP, ...auth }, body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x20) }),
        413,
        /over 16 MiB/,
        -32600,
      ],
      ['no session', post(h.url, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, auth), 400, /send initialize first/],
      [
        'unknown session',
        post(h.url, { jsonrpc: '2.0', id: 6, method: 'tools/list' }, { ...auth, 'mcp-session-id': 'no-such-session' }),
        404,
        /initialize again/,
        -32001,
      ],
      [
        'GET without a session',
        send(h.url, { method: 'GET', headers: { ...auth, accept: 'text/event-stream' } }),
        400,
        /Missing Mcp-Session-Id/,
      ],
    ];
    for (const [what, pending, status, message, code] of cases) {
      const r = await pending;
      expect(r.status, what).toBe(status);
      expect(r.headers['content-type'], what).toMatch(/application\/json/);
      const m = r.json();
      expect(m.error?.message, what).toMatch(message);
      if (code) expect(m.error?.code, what).toBe(code);
      expect(r.text, what).not.toContain(TOKEN);
      expect(r.text, what).not.toContain('not-the-token');
    }
    // Answers a client can match: the id of the request comes back with the error.
    expect((await cases[7]![1]).json().id).toBe(5);
    expect((await cases[8]![1]).json().id).toBe(6);
    expect((await cases[1]![1]).headers['www-authenticate']).toBeUndefined();
    expect((await cases[3]![1]).headers['www-authenticate']).toBe('Bearer');
    expect((await cases[4]![1]).headers.allow).toBe('GET, POST, DELETE');
    // After all of that, a client is served as ever.
    const client = new Client({ name: 'after', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(h.url), { requestInit: { headers: auth } }));
    expect((await client.listTools()).tools.length).toBeGreaterThan(5);
    await client.close();
  });

  it('--stateless serves each POST alone and refuses GET with Allow: POST', async () => {
    const h = await serve({ stateless: true });
    const get = await send(h.url, { method: 'GET', headers: { accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const init = await post(h.url, INIT);
    expect(init.status).toBe(200);
    expect(init.headers['mcp-session-id']).toBeUndefined();
    const list = await post(h.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(list.text).toMatch(/runware_text_to_image/);
  });

  it('/healthz answers without the token and says what it runs on', async () => {
    const h = await serve({ token: TOKEN });
    const r = await send(h.url, { method: 'GET', path: '/healthz' });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.json()).toMatchObject({
      status: 'ok',
      sessions: 0,
      mode: 'sessions',
      state: 'embedded',
      redis: 'not used',
    });
  });
});

describe('instances sharing one session store', () => {
  it('a session begun on A is served by B, ended on B it is ended on A, and the token is in no stored value', async () => {
    const store = new MemorySessionStore();
    const a = await serve({ token: TOKEN }, { sharedSessions: store });
    const b = await serve({ token: TOKEN }, { sharedSessions: store });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const sid = await session(a.url, auth);
    const call = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'runware_tasks', arguments: { limit: 1 } },
    };
    const onB = await post(b.url, call, { ...auth, 'mcp-session-id': sid });
    expect(onB.status).toBe(200);
    expect(onB.text).toMatch(/"id":3/);
    expect(b.sessionCount()).toBe(1);
    // B's stream is in the shared store: its events carry ids A could resume.
    expect(store.dump().some((v) => v.startsWith(`${sid}~`))).toBe(true);
    expect(
      (
        await send(b.url, {
          method: 'DELETE',
          headers: { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
        })
      ).status,
    ).toBe(200);
    const onA = await post(a.url, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, { ...auth, 'mcp-session-id': sid });
    expect(onA.status).toBe(404);
    expect(onA.json()).toMatchObject({ error: { code: -32001 }, id: 4 });
    expect(store.dump().length).toBeGreaterThan(0);
    for (const v of store.dump()) expect(v).not.toContain(TOKEN);
    capture.add(store.dump());
  });

  it('a store that does not answer: 503 with Retry-After for a session held elsewhere, /healthz degraded, new sessions still served here', async () => {
    const store = new MemorySessionStore();
    const elsewhere = await serve({}, { sharedSessions: store });
    const sid = await session(elsewhere.url);
    const down = (): Promise<never> => Promise.reject(new Error('connection refused'));
    const away: SharedSessions = {
      kind: 'redis',
      putSession: down,
      touchSession: down,
      getSession: down,
      deleteSession: down,
      appendEvent: down,
      eventsAfter: down,
      ping: async () => false,
    };
    const h = await serve({}, { sharedSessions: away });
    const r = await post(h.url, { jsonrpc: '2.0', id: 8, method: 'tools/list' }, { 'mcp-session-id': sid });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json()).toMatchObject({ error: { message: expect.stringMatching(/unreachable.*retry shortly/) }, id: 8 });
    const health = await send(h.url, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(503);
    expect(health.json()).toMatchObject({ status: 'degraded', state: 'redis', redis: 'unreachable' });
    const mine = await session(h.url);
    const list = await post(h.url, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, { 'mcp-session-id': mine });
    expect(list.status).toBe(200);
    expect(list.text).toMatch(/runware_text_to_image/);
  });
});

describe('7. every call to the shared store has a deadline', () => {
  it('a store that hangs counts as away once the deadline passes: 503 for the session, /healthz degraded, new sessions still served', async () => {
    const hang = (): Promise<never> => new Promise<never>(() => undefined);
    const hung: SharedSessions = {
      kind: 'redis',
      putSession: hang,
      touchSession: hang,
      getSession: hang,
      deleteSession: hang,
      appendEvent: hang,
      eventsAfter: hang,
      ping: hang,
    };
    const h = await serve({}, { sharedSessions: hung, storeDeadlineMs: 200 });
    let t0 = Date.now();
    const r = await post(
      h.url,
      { jsonrpc: '2.0', id: 8, method: 'tools/list' },
      { 'mcp-session-id': 'held-elsewhere' },
    );
    expect(r.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(3000);
    t0 = Date.now();
    expect((await send(h.url, { method: 'GET', path: '/healthz' })).json()).toMatchObject({
      status: 'degraded',
      redis: 'unreachable',
    });
    expect(Date.now() - t0).toBeLessThan(3000);
    // A session begun here is served here: its record and its events wait no longer than the deadline each.
    const mine = await session(h.url);
    const list = await post(h.url, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, { 'mcp-session-id': mine });
    expect(list.status).toBe(200);
    expect(list.text).toMatch(/runware_text_to_image/);
  });
});

describe('listening', () => {
  it('a port in use, or an address not of this machine, is a setting to change (ConfigError)', async () => {
    const first = await serve();
    const port = Number(new URL(first.url).port);
    await expect(serve({ port })).rejects.toThrow(ConfigError);
    await expect(serve({ port })).rejects.toThrow(/already in use/);
    // 192.0.2.1 (TEST-NET-1) is no address of this machine; off loopback the token is required first.
    await expect(serve({ host: '192.0.2.1' })).rejects.toThrow(/without RUNWARE_MCP_HTTP_TOKEN/);
    await expect(serve({ host: '192.0.2.1', token: TOKEN })).rejects.toThrow(/no such local address/);
    // The first one is still serving.
    expect((await send(first.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
  });
});

describe('leaks', () => {
  it('no key and no token in any answer, log line, stored value or file', () => {
    expect(capture.texts.length).toBeGreaterThan(20);
    expect(capture.leaks()).toEqual([]);
    expect(capture.texts.filter((t) => t.includes(TOKEN))).toEqual([]);
  });
});
