/** The built server over Streamable HTTP: tools work, and the endpoint is guarded. */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, Capture, runCli, sleep, waitFor } from '../helpers.js';

const capture = new Capture();
const TOKEN = 'CANARYhttpToken-0a9b8c7d6e5f';
const children: ChildProcess[] = [];

async function startHttp(
  extraEnv: Record<string, string> = {},
  args: string[] = [],
): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, '--simulate', 'serve', '--http', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: capture.tempDir(), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // A process start on a busy machine: waited for with a generous deadline.
  await waitFor(() => /Streamable HTTP at (\S+)/.test(err), { timeoutMs: 15_000 }).catch(() => undefined);
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
    const r = (await client.callTool(
      { name: 'runware_text_to_image', arguments: { prompt: 'over http', width: 256, height: 256 } },
      undefined,
      { onprogress: (p) => seen.push(p.progress) },
    )) as CallToolResult;
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
    client.setRequestHandler(
      ListRootsRequestSchema,
      async () => (asked++, { roots: [{ uri: pathToFileURL(root).href, name: 'project' }] }),
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    for (let i = 0; i < 2; i++) {
      const r = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'rooted', width: 128, height: 128, saveTo: 'http/' },
      })) as CallToolResult;
      capture.add(r);
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      // Before: every call waited out a roots/list that never reached the client. Now the first call's request
      // reaches it (asked, and the file lands in its root); no wall-clock bound, which a loaded machine breaks.
      expect(asked).toBe(1);
      expect(
        (r.structuredContent as { images: Array<{ savedTo: string }> }).images[0]!.savedTo.startsWith(
          join(root, 'http'),
        ),
      ).toBe(true);
    }
    expect(asked).toBe(1);
    await client.close();
  });

  it('requires the bearer token when one is configured', async () => {
    const { url } = await startHttp({ RUNWARE_MCP_HTTP_TOKEN: TOKEN });
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } },
    };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(url, { method: 'POST', headers, body: JSON.stringify(init) });
    expect(none.status).toBe(401);
    const wrong = await fetch(url, {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer nope' },
      body: JSON.stringify(init),
    });
    expect(wrong.status).toBe(401);
    capture.add(await wrong.text());
    const client = new Client({ name: 'http-test', version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
    expect((await client.listTools()).tools.length).toBe(11);
    await client.close();
  });

  it('refuses foreign Host and Origin headers (DNS rebinding)', async () => {
    const { url } = await startHttp();
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } },
    });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const u = new URL(url);
    const { request } = await import('node:http');
    const status = (extra: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(
          { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, ...extra } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
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
    const r = (await client.callTool(
      { name: 'runware_text_to_image', arguments: { prompt: 'no session', width: 256, height: 256 } },
      undefined,
      { onprogress: (p) => seen.push(p.progress) },
    )) as CallToolResult;
    capture.add(r);
    expect(r.isError).toBeFalsy();
    expect(seen.at(-1)).toBe(100);
    // A bare tools/call with no initialize before it is served too: no instance needs to have seen the client.
    const bare = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
    });
    expect(bare.status).toBe(200);
    expect(await bare.text()).toMatch(/runware_text_to_image/);
    expect((await fetch(url, { headers: { accept: 'text/event-stream' } })).status).toBe(405);
    await client.close();
  });

  it('answers /healthz without the token, for load balancers', async () => {
    const { url } = await startHttp({ RUNWARE_MCP_HTTP_TOKEN: TOKEN });
    const h = await fetch(new URL('/healthz', url));
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({
      status: 'ok',
      state: 'embedded',
      redis: 'not used',
      mode: 'sessions',
      sessions: 0,
    });
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
  });

  it('will not bind a non-loopback host without a token', async () => {
    const r = await runCli(
      ['--simulate', 'serve', '--http', '--host', '0.0.0.0', '--port', '0'],
      { PATH: process.env.PATH ?? '', HOME: capture.tempDir() },
      capture,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RUNWARE_MCP_HTTP_TOKEN/);
  });
});

/** Reads SSE events off a response body until `stop` says enough (or the stream ends). */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  stop: (events: Array<Record<string, string>>) => boolean,
  ms = 10_000,
): Promise<Array<Record<string, string>>> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<Record<string, string>> = [];
  let buf = '';
  const timer = setTimeout(() => void reader.cancel(), ms);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += value;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: Record<string, string> = {};
        for (const line of raw.split('\n')) {
          const k = line.indexOf(':');
          if (k > 0)
            e[line.slice(0, k)] =
              (e[line.slice(0, k)] ? `${e[line.slice(0, k)]}\n` : '') + line.slice(k + 1).replace(/^ /, '');
          else if (line && !line.startsWith(':')) e[line] = '';
        }
        events.push(e);
        if (stop(events)) return events;
      }
    }
    return events;
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
}

describe('resumable streams and transport errors', () => {
  const H = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
  };
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
  };

  async function session(url: string): Promise<string> {
    const r = await fetch(url, { method: 'POST', headers: H, body: JSON.stringify(init) });
    const sid = r.headers.get('mcp-session-id')!;
    await r.text();
    await (
      await fetch(url, {
        method: 'POST',
        headers: { ...H, 'mcp-session-id': sid },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      })
    ).text();
    return sid;
  }

  it('primes every POST stream (an id and retry), and a client that dropped it resumes with Last-Event-ID and gets the result', async () => {
    const { url } = await startHttp();
    const sid = await session(url);
    const call = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: {
        name: 'runware_text_to_image',
        arguments: { prompt: 'a resumed lighthouse', width: 1024, height: 1024, steps: 40 },
        _meta: { progressToken: 'p1' },
      },
    };
    const r = await fetch(url, {
      method: 'POST',
      headers: { ...H, 'mcp-session-id': sid },
      body: JSON.stringify(call),
    });
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    // The first event primes the stream: an id, a retry, no data. Then the client drops the stream.
    const first = await readEvents(r.body!, (ev) => ev.length >= 1);
    expect(first[0]).toMatchObject({ id: expect.any(String), retry: '1000', data: '' });
    const lastId = first[0]!.id!;
    // As a client does: reconnect after the retry the stream asked for (by then the server has seen the drop).
    await sleep(Number(first[0]!.retry));
    const resumed = await fetch(url, {
      headers: {
        accept: 'text/event-stream',
        'mcp-session-id': sid,
        'mcp-protocol-version': '2025-11-25',
        'last-event-id': lastId,
      },
    });
    expect(resumed.status).toBe(200);
    const events = await readEvents(
      resumed.body!,
      (ev) => ev.some((e) => e.data && JSON.parse(e.data).id === 3),
      20_000,
    );
    const messages = events
      .filter((e) => e.data)
      .map(
        (e) =>
          JSON.parse(e.data!) as { id?: number; method?: string; result?: { structuredContent?: { status?: string } } },
      );
    const answer = messages.find((m) => m.id === 3);
    expect(answer?.result?.structuredContent?.status).toBe('success');
    // What was missed came too, in order, each with its event id.
    expect(messages.filter((m) => m.method === 'notifications/progress').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.data).every((e) => e.id)).toBe(true);
  });

  it('a session that agreed 2025-11-25 is primed even when a request header names an older revision', async () => {
    const { url } = await startHttp();
    const sid = await session(url);
    const r = await fetch(url, {
      method: 'POST',
      headers: { ...H, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-03-26' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }),
    });
    const ev = await readEvents(r.body!, (e) => e.length >= 2);
    expect(ev[0]).toMatchObject({ retry: '1000', data: '' });
  });

  it('transport errors echo the request id', async () => {
    const { url } = await startHttp();
    const sid = await session(url);
    const notAcceptable = await fetch(url, {
      method: 'POST',
      headers: { ...H, accept: 'application/json', 'mcp-session-id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
    });
    expect(notAcceptable.status).toBe(406);
    expect(await notAcceptable.json()).toMatchObject({ id: 7, error: { code: -32000 } });
    const unknownSession = await fetch(url, {
      method: 'POST',
      headers: { ...H, 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'eight', method: 'tools/list' }),
    });
    expect(unknownSession.status).toBe(404);
    expect(await unknownSession.json()).toMatchObject({ id: 'eight', error: { code: -32001 } });
    const noSession = await fetch(url, {
      method: 'POST',
      headers: H,
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(noSession.status).toBe(400);
    expect(await noSession.json()).toMatchObject({ id: 9 });
    const badVersion = await fetch(url, {
      method: 'POST',
      headers: { ...H, 'mcp-session-id': sid, 'mcp-protocol-version': '1999-01-01' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'tools/list' }),
    });
    expect(badVersion.status).toBe(400);
    expect(await badVersion.json()).toMatchObject({ id: 10 });
    // No id to echo: a notification, a batch, a body that is not JSON.
    const notJson = await fetch(url, { method: 'POST', headers: { ...H, 'mcp-session-id': sid }, body: '{"jsonrpc":' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ id: null, error: { code: -32700 } });
  });
});

describe('leaks', () => {
  it('no token in any output', () => {
    expect(capture.texts.join('\n')).not.toContain(TOKEN);
    expect(capture.leaks()).toEqual([]);
  });
});
