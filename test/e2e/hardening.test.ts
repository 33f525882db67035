/**
 * A hostile upstream, hostile input and the HTTP boundary, against the built
 * server (MCP over stdio and HTTP) and the CLI. One describe per class of the
 * hardening issue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, CLI, Capture, connectStdio, imageTask, runCli, simEnv, sleep, startSim, waitFor } from '../helpers.js';

const capture = new Capture();
let sim: Simulator;
let client: Client;
let close: () => Promise<void>;
let env: Record<string, string>;
let out: string;
const text = (r: CallToolResult): string =>
  r.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');

async function call(
  name: string,
  args: Record<string, unknown>,
  c = client,
): Promise<{ r: CallToolResult; sc: Record<string, unknown> }> {
  const r = (await c.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
  capture.add(r);
  return { r, sc: (r.structuredContent ?? {}) as Record<string, unknown> };
}

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  const home = capture.tempDir();
  out = join(home, 'out');
  mkdirSync(out);
  env = simEnv(sim, { HOME: home, RUNWARE_OUTPUT_DIR: out, RUNWARE_TIME_SCALE: '0.05' });
  const c = await connectStdio([], env, capture);
  client = c.client;
  close = c.close;
});
afterAll(async () => {
  await close?.();
  await sim?.stop();
});

describe('1. names chosen by the upstream', () => {
  it('a traversal imageUUID, or one holding the key, is saved under a safe name inside the root', async () => {
    sim.state.reset();
    sim.state.options.hostile = true;
    const outside = join(out, '..', 'outside');
    const { sc } = await call('runware_text_to_image', {
      prompt: 'a fox',
      width: 512,
      height: 512,
      numberResults: 2,
      saveTo: 'hostile/',
      waitSeconds: 20,
    });
    sim.state.options.hostile = false;
    expect(sc.status).toBe('success');
    const images = sc.images as Array<{ savedTo?: string; saveError?: string }>;
    expect(images.every((i) => i.savedTo?.startsWith(join(out, 'hostile')))).toBe(true);
    expect(existsSync(outside)).toBe(false);
    const names = readdirSync(join(out, 'hostile'));
    expect(names).toHaveLength(2);
    for (const n of names) expect(n).not.toContain(CANARY.apiKey.slice(0, 12));
  });

  it('the same through the CLI: text-to-image --out keeps every file inside the folder, no key in a name', async () => {
    sim.state.reset();
    sim.state.options.hostile = true;
    const dir = join(out, 'cli-hostile');
    const r = await runCli(
      [
        'text-to-image',
        '--prompt',
        'a fox',
        '--width',
        '512',
        '--height',
        '512',
        '--number-results',
        '2',
        '--out',
        dir,
      ],
      env,
      capture,
    );
    sim.state.options.hostile = false;
    expect(r.code).toBe(0);
    const names = readdirSync(dir);
    expect(names).toHaveLength(2);
    for (const n of names) expect(n).not.toContain(CANARY.apiKey.slice(0, 12));
    expect(existsSync(join(out, '..', 'outside'))).toBe(false);
  });

  it('"..foo/x.jpg" is inside the root, and is saved', async () => {
    sim.state.reset();
    const { sc } = await call('runware_text_to_image', {
      prompt: 'a fox',
      width: 512,
      height: 512,
      saveTo: '..foo/x.jpg',
      waitSeconds: 20,
    });
    expect((sc.images as Array<{ savedTo?: string }>)[0]!.savedTo).toBe(join(out, '..foo', 'x.jpg'));
  });
});

describe('2. the upstream cannot crash the server', () => {
  it('null items, malformed envelopes and errors naming no task: results still come, the server still answers', async () => {
    sim.state.reset();
    sim.state.options.hostile = true;
    const m = await call('runware_model_search', { search: 'flux', limit: 3 });
    expect(m.r.isError).toBeFalsy();
    expect(text(m.r)).not.toMatch(/Internal error/);
    const req = await call('runware_request', {
      tasks: [imageTask(), { taskType: 'promptEnhance', prompt: 'a', promptVersions: 1 }],
    });
    expect((req.sc.tasks as Array<{ status: string }>).map((t) => t.status)).toEqual(['success', 'success']);
    sim.state.options.hostile = false;
    await client.ping();
  });

  it('over WebSocket: frames {"data":[null]}, {"errors":[null]}, {"error":[null]} and errors naming no task', async () => {
    const c = await connectStdio(['--transport', 'ws'], env, capture);
    try {
      sim.state.reset();
      sim.state.options.hostile = true;
      const r = await call('runware_request', { tasks: [imageTask({ numberResults: 2 })] }, c.client);
      expect((r.sc.tasks as Array<{ status: string; results: unknown[] }>)[0]).toMatchObject({ status: 'success' });
      expect([...sim.state.accepted.values()]).toEqual([1]);
      await c.client.ping();
    } finally {
      sim.state.options.hostile = false;
      await c.close();
    }
  });

  it('a 200 from Runway that is not JSON is an error, not a normal result', async () => {
    sim.state.reset();
    sim.addFaults({ kind: 'proxy', surface: 'runway', status: 200, count: 10 });
    const { r } = await call('runway_get_task', { id: '3b241101-e2bb-4255-8caf-4136c566a962', provider: 'runway' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/not JSON/);
  });
});

describe('3. a billed result is never thrown away', () => {
  it('a save that fails after billing keeps the taskUUID and URL, with the save error beside them', async () => {
    sim.state.reset();
    // The (sync) answer is slow; meanwhile a file takes the directory's name, so the write fails after billing.
    sim.addFaults({ kind: 'latency', ms: 700, taskType: 'imageInference' });
    const pending = call('runware_text_to_image', {
      prompt: 'a fox',
      width: 512,
      height: 512,
      saveTo: 'later/',
      waitSeconds: 20,
    });
    // Once the task is at the simulator (its answer held back), the folder is taken.
    await waitFor(
      () => sim.runwareRequests().some((e) => JSON.stringify(e.body).includes('"positivePrompt":"a fox"')),
      { timeoutMs: 10_000, what: 'the task to reach the simulator' },
    );
    writeFileSync(join(out, 'later'), 'a file where the directory should be');
    const { r, sc } = await pending;
    expect(r.isError).toBeFalsy();
    expect(sc.status).toBe('success');
    const img = (sc.images as Array<{ imageURL?: string; saveError?: string }>)[0]!;
    expect(img.imageURL).toMatch(/^http/);
    expect(img.saveError).toMatch(/not saved: .*The task ran/);
    expect(text(r)).not.toMatch(/nothing was sent/);
  });

  it('names and parents are checked before sending: a parent that is a file, a name too long', async () => {
    sim.state.reset();
    writeFileSync(join(out, 'plainfile'), 'x');
    for (const saveTo of ['plainfile/x.png', `${'n'.repeat(300)}.png`]) {
      const { r } = await call('runware_text_to_image', { prompt: 'a fox', width: 512, height: 512, saveTo });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/saveTo/);
    }
    expect(sim.runwareRequests()).toHaveLength(0);
  });

  it('a transient request-level error on a poll does not fail a healthy task', async () => {
    sim.state.reset();
    sim.state.options.hostile = true; // every answer carries an error that names no task
    const { sc } = await call('runware_text_to_image', { prompt: 'a fox', width: 512, height: 512, waitSeconds: 20 });
    sim.state.options.hostile = false;
    expect(sc.status).toBe('success');
  });
});

describe('4. hostile input from the client', () => {
  function rawStdio(): { child: ChildProcess; lines: () => string[]; stderr: () => string } {
    const child = spawn(process.execPath, [CLI], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let o = '';
    let e = '';
    child.stdout!.on('data', (d: Buffer) => (o += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (e += d.toString()));
    return { child, lines: () => o.split('\n').filter(Boolean), stderr: () => e };
  }
  const waitFor = async (pred: () => boolean, ms = 5000): Promise<void> => {
    for (let t = 0; t < ms && !pred(); t += 20) await sleep(20);
  };

  it('a line over 10 MiB gets a JSON-RPC error and one stderr line; the server goes on serving', async () => {
    const { child, lines, stderr } = rawStdio();
    try {
      const big = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"runware_request","arguments":{"tasks":[{"taskType":"promptEnhance","prompt":"${'x'.repeat(11 * 1024 * 1024)}"}]}}}\n`;
      child.stdin!.write(big);
      child.stdin!.write('{"jsonrpc":"2.0","id":8,"method":"ping"}\n');
      await waitFor(() => lines().length >= 2);
      const msgs = lines().map(
        (l) => JSON.parse(l) as { id: unknown; error?: { code: number; message: string }; result?: unknown },
      );
      expect(msgs[0]).toMatchObject({ id: 7, error: { code: -32600 } });
      expect(msgs[0]!.error!.message).toMatch(/too large/);
      expect(msgs[1]).toMatchObject({ id: 8, result: {} });
      expect(
        stderr()
          .split('\n')
          .filter((l) => /over the .*-byte limit/.test(l)),
      ).toHaveLength(1);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill();
    }
  });

  it('invalid JSON-RPC with an id gets an error with that id; invalid JSON gets -32700', async () => {
    const { child, lines } = rawStdio();
    try {
      child.stdin!.write(
        '{"jsonrpc":"1.0","id":41,"method":"ping"}\n{not json\n{"jsonrpc":"2.0","id":"q","method":7}\n',
      );
      await waitFor(() => lines().length >= 3);
      const msgs = lines().map((l) => JSON.parse(l) as { id: unknown; error: { code: number } });
      expect(msgs.map((m) => [m.id, m.error.code])).toEqual([
        [41, -32600],
        [null, -32700],
        ['q', -32600],
      ]);
    } finally {
      child.kill();
    }
  });

  it('a bad logging/setLevel gets -32602 naming the levels, not a zod dump', async () => {
    const e = await client.setLoggingLevel('loud' as never).then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e?.message).toMatch(/-32602.*params.level must be one of debug, info/);
    expect(e?.message).not.toMatch(/invalid_value|"path"/);
  });

  it('__proto__ in a raw task is refused over MCP as over the CLI, naming the path, nothing sent', async () => {
    sim.state.reset();
    const raw =
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"runware_request","arguments":{"tasks":[{"taskType":"imageInference","positivePrompt":"a","model":"runware:101@1","__proto__":{"admin":true}}]}}}';
    const { child, lines } = rawStdio();
    try {
      child.stdin!.write(
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n' +
          raw +
          '\n',
      );
      await waitFor(() => lines().some((l) => l.includes('"id":5')));
      const reply = JSON.parse(lines().find((l) => l.includes('"id":5'))!) as { result: CallToolResult };
      expect(reply.result.isError).toBe(true);
      expect(text(reply.result)).toMatch(/tasks\[0\]\.__proto__/);
    } finally {
      child.kill();
    }
    const cli = await runCli(
      ['raw', '-'],
      env,
      capture,
      '[{"taskType":"imageInference","positivePrompt":"a","model":"runware:101@1","__proto__":{"admin":true}}]',
    );
    expect(cli.code).toBe(2);
    expect(cli.stdout + cli.stderr).toMatch(/__proto__/);
    expect(sim.runwareRequests()).toHaveLength(0);
  });

  it('a refused batch spends no caller UUID', async () => {
    const u = '6f1f5a8e-2b1c-4d3e-9f4a-5b6c7d8e9f01';
    const dup = await call('runware_request', { tasks: [imageTask({ taskUUID: u }), imageTask({ taskUUID: u })] });
    expect(dup.r.isError).toBe(true);
    expect(text(dup.r)).toMatch(/appears twice/);
    const ok = await call('runware_request', { tasks: [imageTask({ taskUUID: u })] });
    expect((ok.sc.tasks as Array<{ taskUUID: string }>)[0]!.taskUUID).toBe(u);
  });
});

describe('5. secrets in their other forms', () => {
  it('an upstream error echoing the key (any case, base64), a JWT and a password reaches no output', async () => {
    sim.state.reset();
    sim.state.options.hostile = true;
    const r = await call('runware_request', { tasks: [imageTask()] });
    const cli = await runCli(['raw', '-'], env, capture, JSON.stringify([imageTask()]));
    sim.state.options.hostile = false;
    for (const t of [text(r.r), cli.stdout, cli.stderr]) {
      expect(t).not.toContain('hunter22');
      expect(t).not.toContain('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9');
      expect(t.toLowerCase()).not.toContain(CANARY.apiKey.toLowerCase());
      expect(t).not.toContain(Buffer.from(CANARY.apiKey).toString('base64').slice(0, 20));
    }
  });

  it('lookalike credential names are refused, naming the field', async () => {
    for (const name of ['x-api-key', 'runwareApiKey', 'аpiKey', 'ａｐｉＫｅｙ', 'api\u200bkey', 'password']) {
      const { r } = await call('runware_request', { tasks: [imageTask({ providerSettings: { [name]: 'v' } })] });
      expect(r.isError, name).toBe(true);
      expect(text(r)).toMatch(/credentials never travel/);
    }
  });

  it('a key too short to protect is refused at start-up with a clear configuration error', async () => {
    const r = await runCli(['model-search', '--search', 'flux'], { ...env, RUNWARE_API_KEY: 'abc12' }, capture);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/RUNWARE_API_KEY: is shorter than 12 characters/);
  });

  it('ordinary words survive: "a basic watercolor of a fox"', async () => {
    sim.state.reset();
    const { sc } = await call('runware_request', {
      tasks: [{ taskType: 'promptEnhance', prompt: 'a basic watercolor of a fox', promptVersions: 1 }],
    });
    expect(JSON.stringify(sc)).toContain('a basic watercolor of a fox');
  });
});

describe('8. permanent errors are never retried', () => {
  it.each(['', 'unknownError', 'modelUnavailable', 'invalidTimeoutValue', 'providerSettingsInvalid'])(
    'task error code "%s": sent once',
    async (code) => {
      sim.state.reset();
      sim.addFaults({ kind: 'taskError', code });
      const { sc } = await call('runware_request', { tasks: [imageTask()] });
      expect((sc.tasks as Array<{ status: string }>)[0]!.status).toBe('error');
      expect(
        sim.runwareRequests().filter((e) => (e.body as Array<{ taskType: string }>)[0]?.taskType === 'imageInference'),
      ).toHaveLength(1);
    },
  );
});

describe('6. the HTTP boundary', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
  });
  async function startHttp(extra: Record<string, string> = {}, args: string[] = []): Promise<string> {
    const child = spawn(process.execPath, [CLI, 'serve', '--http', '--port', '0', ...args], {
      env: { ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(() => /Streamable HTTP at (\S+)/.test(err), { timeoutMs: 15_000, what: 'the HTTP server to start' });
    capture.add(err);
    return /Streamable HTTP at (\S+)/.exec(err)![1]!;
  }
  const connectHttp = async (url: string, headers: Record<string, string> = {}): Promise<Client> => {
    const c = new Client({ name: 'h', version: '0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return c;
  };

  it('log notifications go only to the session whose work they describe', async () => {
    const url = await startHttp();
    const a = await connectHttp(url);
    const b = await connectHttp(url);
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    a.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void gotA.push(n.params));
    b.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void gotB.push(n.params));
    await a.setLoggingLevel('debug');
    await b.setLoggingLevel('debug');
    sim.state.reset();
    sim.addFaults({ kind: 'http503' });
    const r = (await a.callTool({
      name: 'runware_model_search',
      arguments: { search: 'flux', limit: 1 },
    })) as CallToolResult;
    capture.add(r, gotA, gotB);
    await waitFor(() => /did not run/.test(JSON.stringify(gotA)), {
      what: "the retry's log message on the session that made the call",
    });
    expect(JSON.stringify(gotB)).not.toMatch(/did not run|taskUUID/);
    await a.close();
    await b.close();
  });

  it('sessions are capped: the longest idle is evicted for a new one', async () => {
    const url = await startHttp({ RUNWARE_MCP_HTTP_MAX_SESSIONS: '2' });
    const first = await connectHttp(url);
    await sleep(50);
    const second = await connectHttp(url);
    await second.listTools();
    const third = await connectHttp(url);
    await third.listTools();
    await second.listTools();
    await expect(first.listTools()).rejects.toThrow();
    for (const c of [second, third]) await c.close();
  });

  it('--allowed-hosts lets a server behind a name answer that Host; others are still refused', async () => {
    const url = new URL(await startHttp({}, ['--allowed-hosts', 'mcp.example.test']));
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } },
    });
    const send = (host: string): Promise<number> =>
      new Promise((resolve) => {
        const s = connect(Number(url.port), url.hostname, () => {
          s.write(
            `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(init)}\r\nConnection: close\r\n\r\n${init}`,
          );
        });
        let d = '';
        s.on('data', (c: Buffer) => {
          d += c.toString();
          const m = /HTTP\/1.1 (\d+)/.exec(d);
          if (m) {
            resolve(Number(m[1]));
            s.destroy();
          }
        });
        s.on('close', () => resolve(0));
      });
    expect(await send('mcp.example.test')).toBe(200);
    expect(await send(`mcp.example.test:${url.port}`)).toBe(200);
    expect(await send('evil.example.test')).toBe(403);
  });
});

describe('8. input is checked before anything is sent (second wave)', () => {
  it('CLI model-info with the key, or any non-AIR, as its argument sends nothing to the schema or pricing service', async () => {
    sim.state.reset();
    for (const arg of [CANARY.apiKey, `a:${CANARY.apiKey}`, '../../registry.json', 'runware:101@1/../../x']) {
      const r = await runCli(['model-info', arg], env, capture);
      expect(r.code).not.toBe(0);
      expect(r.stderr + r.stdout).toMatch(/AIR/);
    }
    const catalogue = sim.state.log.filter((e) => e.surface === 'schemas' || e.surface === 'content');
    expect(catalogue.map((e) => e.path)).toEqual([]);
  });

  it('an AIR-shaped id that holds the key, or a part of it, goes into no URL: model-info and run refuse it first', async () => {
    sim.state.reset();
    const [head, tail] = [CANARY.apiKey.slice(0, 16), CANARY.apiKey.slice(17)];
    for (const model of [
      `runware:${CANARY.apiKey}@1`,
      `${head}:${tail}@1`,
      `runware:x@${CANARY.apiKey.toLowerCase()}`,
    ]) {
      const info = await runCli(['model-info', model], env, capture);
      expect(info.code).not.toBe(0);
      expect(info.stdout + info.stderr).toMatch(/secret/);
      const run = await runCli(['run', model, '--param', 'positivePrompt=cat'], env, capture);
      expect(run.code).not.toBe(0);
    }
    expect(sim.state.log.filter((e) => e.surface === 'schemas' || e.surface === 'content').map((e) => e.path)).toEqual(
      [],
    );
    expect(sim.state.log.filter((e) => e.surface === 'runware').length).toBe(0);
  });
});

describe('leaks', () => {
  it('no canary, in any encoded form, in any output or file', () => {
    expect(capture.leaks()).toEqual([]);
  });
});
