/**
 * The HTTP edge's guards, each refusal on its own: Host and Origin (DNS
 * rebinding), the bearer token, the body cap and JSON, the deadlines, the
 * start-up refusal off loopback, and listen errors as settings to change.
 * No refusal repeats a token, the configured one or the one sent.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  applyDeadlines,
  checkRequest,
  HEADERS_TIMEOUT_MS,
  MAX_BODY,
  readJsonBody,
  REQUEST_TIMEOUT_MS,
  requireTokenOffLoopback,
  type GuardConfig,
} from '../../src/mcp/http-guards.js';
import { endpointUrl, listenError } from '../../src/mcp/http-listen.js';
import { ConfigError } from '../../src/shared/errors.js';

const TOKEN = 'edge-token-9f3b27c1d04e';
let port = 4100;
const guard = (extra: Partial<GuardConfig> = {}): GuardConfig => ({
  host: '127.0.0.1',
  port: () => port,
  token: undefined,
  allowedHosts: [],
  ...extra,
});

/** A request body as the server reads it: chunks. */
async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

describe('Host and Origin (DNS rebinding)', () => {
  it('refuses a foreign Host, a missing one, and a loopback name on another port', () => {
    for (const host of ['evil.example.test', 'evil.example.test:4100', '', '127.0.0.1:9999']) {
      const r = checkRequest({ host }, guard());
      expect(r, host).toMatchObject({ status: 403 });
      expect(r!.message).toMatch(/Host header.*--allowed-hosts/);
    }
  });

  it('serves loopback names on the port actually bound, read when the request comes (--port 0)', () => {
    port = 4100;
    const g = guard();
    for (const host of ['127.0.0.1:4100', 'localhost:4100', 'LOCALHOST:4100', '[::1]:4100'])
      expect(checkRequest({ host }, g), host).toBeUndefined();
    port = 4200;
    expect(checkRequest({ host: '127.0.0.1:4100' }, g)).toMatchObject({ status: 403 });
    expect(checkRequest({ host: '127.0.0.1:4200' }, g)).toBeUndefined();
    port = 4100;
  });

  it('an --allowed-hosts name is served with or without the port; its neighbours are not', () => {
    const g = guard({ allowedHosts: ['mcp.example.test'] });
    expect(checkRequest({ host: 'mcp.example.test' }, g)).toBeUndefined();
    expect(checkRequest({ host: 'mcp.example.test:4100' }, g)).toBeUndefined();
    expect(checkRequest({ host: 'mcp.example.test.evil.test' }, g)).toMatchObject({ status: 403 });
  });

  it('refuses a foreign or unreadable Origin; a loopback or allowed one passes', () => {
    const g = guard({ allowedHosts: ['mcp.example.test'] });
    for (const origin of ['https://evil.example.test', 'null', 'not a url'])
      expect(checkRequest({ host: '127.0.0.1:4100', origin }, g), origin).toEqual({
        status: 403,
        message: 'Forbidden: cross-origin requests are not allowed.',
      });
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1', 'https://mcp.example.test'])
      expect(checkRequest({ host: '127.0.0.1:4100', origin }, g), origin).toBeUndefined();
  });
});

describe('the bearer token', () => {
  const g = guard({ token: TOKEN });
  const host = '127.0.0.1:4100';

  it('refuses no header, another scheme, an empty token, and a wrong one, with WWW-Authenticate and no token in the answer', () => {
    const sent = 'wrong-token-CANARY-4411';
    for (const authorization of [undefined, `Basic ${TOKEN}`, 'Bearer ', `Bearer ${sent}`, `Bearer ${TOKEN}x`, TOKEN]) {
      const r = checkRequest({ host, ...(authorization !== undefined ? { authorization } : {}) }, g);
      expect(r, String(authorization)).toEqual({
        status: 401,
        message: 'Unauthorized: send Authorization: Bearer <RUNWARE_MCP_HTTP_TOKEN>.',
        headers: { 'www-authenticate': 'Bearer' },
      });
      expect(JSON.stringify(r)).not.toContain(TOKEN);
      expect(JSON.stringify(r)).not.toContain(sent);
    }
  });

  it('passes the right token, the scheme in any case', () => {
    expect(checkRequest({ host, authorization: `Bearer ${TOKEN}` }, g)).toBeUndefined();
    expect(checkRequest({ host, authorization: `bearer ${TOKEN}` }, g)).toBeUndefined();
  });

  it('checks Host first: a rebinding page learns nothing about the token', () => {
    expect(checkRequest({ host: 'evil.example.test', authorization: `Bearer ${TOKEN}` }, g)).toMatchObject({
      status: 403,
    });
  });

  it('is required off loopback, at start', () => {
    expect(() => requireTokenOffLoopback('0.0.0.0', undefined)).toThrow(ConfigError);
    expect(() => requireTokenOffLoopback('0.0.0.0', undefined)).toThrow(/without RUNWARE_MCP_HTTP_TOKEN/);
    expect(() => requireTokenOffLoopback('0.0.0.0', TOKEN)).not.toThrow();
    for (const h of ['127.0.0.1', 'localhost', '::1'])
      expect(() => requireTokenOffLoopback(h, undefined)).not.toThrow();
  });
});

describe('the body', () => {
  it('is JSON, or empty', async () => {
    expect(await readJsonBody(chunks('{"jsonrpc":', '"2.0","id":1,"method":"ping"}'))).toEqual({
      body: { jsonrpc: '2.0', id: 1, method: 'ping' },
    });
    expect(await readJsonBody(chunks())).toEqual({ body: undefined });
  });

  it('not JSON: 400 with a parse error (-32700)', async () => {
    const r = await readJsonBody(chunks('{"jsonrpc": "2.0", '));
    expect(r).toMatchObject({ refusal: { status: 400, code: -32700 } });
    expect('refusal' in r && r.refusal.message).toMatch(/^Parse error: /);
  });

  it('past the cap: 413 (-32600), reading stopped at the cap', async () => {
    let read = 0;
    async function* big(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 100; i++) {
        read++;
        yield Buffer.alloc(1024, 0x20);
      }
    }
    expect(await readJsonBody(big(), 10 * 1024)).toEqual({
      refusal: { status: 413, message: `Request body over ${MAX_BODY / 1024 / 1024} MiB.`, code: -32600 },
    });
    expect(read).toBe(11);
  });
});

describe('deadlines and listening', () => {
  it('every request has a deadline for its headers and for the whole of it', () => {
    const s = createServer();
    applyDeadlines(s);
    expect([s.headersTimeout, s.requestTimeout]).toEqual([HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS]);
    expect(HEADERS_TIMEOUT_MS).toBeGreaterThan(0);
    expect(REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
    applyDeadlines(s, { headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    expect([s.headersTimeout, s.requestTimeout]).toEqual([500, 1000]);
  });

  it('listen errors are settings to change (ConfigError, exit 2), naming what to do', () => {
    const err = (code: string): Error => listenError(Object.assign(new Error(code), { code }), '127.0.0.1', 80);
    expect(err('EADDRINUSE')).toBeInstanceOf(ConfigError);
    expect(err('EADDRINUSE').message).toMatch(/port 80 on 127.0.0.1 is already in use/);
    expect((err('EADDRINUSE') as ConfigError).hint).toMatch(/--port 0/);
    expect(err('EACCES')).toBeInstanceOf(ConfigError);
    expect((err('EACCES') as ConfigError).hint).toMatch(/higher --port/);
    expect(err('EADDRNOTAVAIL')).toBeInstanceOf(ConfigError);
    expect(err('ENOTFOUND').message).toMatch(/no such local address/);
    expect(err('EMFILE')).not.toBeInstanceOf(ConfigError);
  });

  it('the endpoint URL puts an IPv6 address in brackets', () => {
    expect(endpointUrl('127.0.0.1', 3000)).toBe('http://127.0.0.1:3000/mcp');
    expect(endpointUrl('::1', 3000)).toBe('http://[::1]:3000/mcp');
    expect(endpointUrl('[::1]', 3000)).toBe('http://[::1]:3000/mcp');
  });
});
