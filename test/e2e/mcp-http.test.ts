/** The built server over Streamable HTTP: tools work, and the endpoint is guarded. */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOTS_TIMEOUT_MS } from '../../src/mcp/roots.js';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, Capture, runCli, sleep } from '../helpers.js';

const capture = new Capture();
const TOKEN = 'CANARYhttpToken-0a9b8c7d6e5f';
const children: ChildProcess[] = [];

async function startHttp(extraEnv: Record<string, string> = {}, args: string[] = []): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, '--simulate', 'serve', '--http', '--port', '0', ...args], { env: { PATH: process.env.PATH ?? '', HOME: capture.tempDir(), ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 100 && !/Streamable HTTP at (\S+)/.test(err); i++) await sleep(30);
  const url = /Streamable HTTP at (\S+)/.exec(err)?.[1];
  if (!url) throw new Error(`server did not start: ${err}`);
  return { url, stderr: () => (capture.add(err, out), err) };
}

afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
});

describe('Streamable HTTP', () => {
  it('serves the tools at /mcp', async () => {
    const { url } = await startHttp();
    const client = new Client({ name: 'http-test', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    expect((await client.listTools()).tools).toHaveLength(11);
    const seen: number[] = [];
    const r = (await client.callTool({ name: 'runware_text_to_image', arguments: { prompt: 'over http', width: 256, height: 256 } }, undefined, { onprogress: (p) => seen.push(p.progress) })) as CallToolResult;
    capture.add(r);
    expect(r.isError).toBeFalsy();
    expect(seen.at(-1)).toBe(100);
    await client.close();
  });

  it('asks a client with roots through the call itself: no stall, and the file lands in its root', async () => {
    const root = capture.tempDir('rw-http-root-');
    const { url } = await startHttp();
    const client = new Client({ name: 'http-roots', version: '0' }, { capabilities: { roots: { listChanged: true } } });
    let asked = 0;
    client.setRequestHandler(ListRootsRequestSchema, async () => (asked++, { roots: [{ uri: pathToFileURL(root).href, name: 'project' }] }));
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      const r = (await client.callTool({ name: 'runware_text_to_image', arguments: { prompt: 'rooted', width: 128, height: 128, saveTo: 'http/' } })) as CallToolResult;
      capture.add(r);
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      // Before: every call waited out a 5 s roots/list that never reached the client.
      expect(Date.now() - t0).toBeLessThan(ROOTS_TIMEOUT_MS);
      expect((r.structuredContent as { images: Array<{ savedTo: string }> }).images[0]!.savedTo.startsWith(join(root, 'http'))).toBe(true);
    }
    expect(asked).toBe(1);
    await client.close();
  });

  it('requires the bearer token when one is configured', async () => {
    const { url } = await startHttp({ RUNWARE_MCP_HTTP_TOKEN: TOKEN });
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(url, { method: 'POST', headers, body: JSON.stringify(init) });
    expect(none.status).toBe(401);
    const wrong = await fetch(url, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope' }, body: JSON.stringify(init) });
    expect(wrong.status).toBe(401);
    capture.add(await wrong.text());
    const client = new Client({ name: 'http-test', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    expect((await client.listTools()).tools.length).toBe(11);
    await client.close();
  });

  it('refuses foreign Host and Origin headers (DNS rebinding)', async () => {
    const { url } = await startHttp();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const u = new URL(url);
    const { request } = await import('node:http');
    const status = (extra: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, ...extra } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await status({ host: `evil.example.com:${u.port}` })).toBe(403);
    expect(await status({ origin: 'https://evil.example.com' })).toBe(403);
    expect(await status({})).toBe(200);
    expect((await fetch(new URL('/other', url))).status).toBe(404);
  });

  it('serves stateless with --stateless: every POST stands alone, no session id, GET refused', async () => {
    const { url } = await startHttp({}, ['--stateless']);
    const transport = new StreamableHTTPClientTransport(new URL(url));
    const client = new Client({ name: 'http-stateless', version: '0' });
    await client.connect(transport);
    expect(transport.sessionId).toBeUndefined();
    expect((await client.listTools()).tools).toHaveLength(11);
    const seen: number[] = [];
    const r = (await client.callTool({ name: 'runware_text_to_image', arguments: { prompt: 'no session', width: 256, height: 256 } }, undefined, { onprogress: (p) => seen.push(p.progress) })) as CallToolResult;
    capture.add(r);
    expect(r.isError).toBeFalsy();
    expect(seen.at(-1)).toBe(100);
    // A bare tools/call with no initialize before it is served too: no instance needs to have seen the client.
    const bare = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }) });
    expect(bare.status).toBe(200);
    expect(await bare.text()).toMatch(/runware_text_to_image/);
    expect((await fetch(url, { headers: { accept: 'text/event-stream' } })).status).toBe(405);
    await client.close();
  });

  it('answers /healthz without the token, for load balancers', async () => {
    const { url } = await startHttp({ RUNWARE_MCP_HTTP_TOKEN: TOKEN });
    const h = await fetch(new URL('/healthz', url));
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ status: 'ok', state: 'embedded', redis: 'not used', mode: 'sessions', sessions: 0 });
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
  });

  it('will not bind a non-loopback host without a token', async () => {
    const r = await runCli(['--simulate', 'serve', '--http', '--host', '0.0.0.0', '--port', '0'], { PATH: process.env.PATH ?? '', HOME: capture.tempDir() }, capture);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RUNWARE_MCP_HTTP_TOKEN/);
  });
});

describe('leaks', () => {
  it('no token in any output', () => {
    expect(capture.texts.join('\n')).not.toContain(TOKEN);
    expect(capture.leaks()).toEqual([]);
  });
});
