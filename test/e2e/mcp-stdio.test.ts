/** The built server over stdio, driven by the SDK Client, against the simulator. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffFormat } from '../../src/media/formats.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, CLI, Capture, connectStdio, settledCount, simEnv, sleep, startSim, waitFor } from '../helpers.js';
import { portabilityProblems } from '../portability.js';
import { SNAPSHOT_DIR, toolSnapshot } from '../tool-snapshot.js';

let sim: Simulator;
let client: Client;
let close: () => Promise<void>;
let outDir: string;
const capture = new Capture();
const errors: Error[] = [];

const text = (r: CallToolResult): string =>
  r.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');
async function call(
  name: string,
  args: Record<string, unknown>,
  opts: Parameters<Client['callTool']>[2] = {},
): Promise<CallToolResult> {
  const r = (await client.callTool({ name, arguments: args }, undefined, opts)) as CallToolResult;
  capture.add(r);
  return r;
}

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.05 });
  outDir = capture.tempDir('rw-out-');
  const c = await connectStdio(
    [],
    simEnv(sim, { RUNWARE_OUTPUT_DIR: outDir, RUNWARE_SIM_TIME_SCALE: '0.05' }),
    capture,
  );
  client = c.client;
  close = c.close;
  client.onerror = (e) => errors.push(e);
});
afterAll(async () => {
  await close?.();
  await sim.stop();
});

describe('tools/list', () => {
  it('lists the eleven tools with titles, schemas and annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      'runware_model_search',
      'runware_model_info',
      'runware_text_to_image',
      'runware_run',
      'runware_upload',
      'runware_request',
      'runware_poll',
      'runware_tasks',
      'runware_account',
      'runway_get_task',
      'runway_list_accounts',
    ]);
    for (const t of tools) {
      expect(t.title, t.name).toBeTruthy();
      expect(t.description!.length, t.name).toBeGreaterThan(80);
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type, t.name).toBe('object');
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const)
        expect(typeof t.annotations?.[hint], `${t.name}.${hint}`).toBe('boolean');
    }
    // runware_poll reads the task, but with saveTo it writes files: not read-only (#14).
    expect(tools.find((t) => t.name === 'runware_poll')!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
    });
    expect(tools.find((t) => t.name === 'runware_text_to_image')!.annotations!.idempotentHint).toBe(false);
  });

  it('publishes portable schemas: no empty schema, no type array (what the Inspector --strict warns about)', async () => {
    const { tools } = await client.listTools();
    for (const t of tools) {
      expect(portabilityProblems(t.inputSchema), t.name).toEqual([]);
      expect(portabilityProblems(t.outputSchema), t.name).toEqual([]);
      // Every output schema takes the structured error of an isError result.
      expect((t.outputSchema?.properties as Record<string, unknown>).error, t.name).toBeTruthy();
    }
  });

  it('the built bin lists each tool as its committed snapshot has it (test/snapshots/tools/<name>.json)', async () => {
    const { tools } = await client.listTools();
    expect(readdirSync(SNAPSHOT_DIR).sort()).toEqual(tools.map((t) => `${t.name}.json`).sort());
    // Written by test/integration/tool-snapshots.test.ts (in-process); read here, never updated.
    for (const t of tools)
      expect(toolSnapshot(t), t.name).toBe(readFileSync(join(SNAPSHOT_DIR, `${t.name}.json`), 'utf8'));
  });

  it('sends instructions that teach the workflow and the rules', () => {
    const ins = client.getInstructions() ?? '';
    expect(ins).toMatch(/runware_poll/);
    expect(ins).toMatch(/apiKey/);
  });
});

describe('each tool on a valid call', () => {
  it('runware_model_search', async () => {
    const r = await call('runware_model_search', { search: 'flux', limit: 3 });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as { results: Array<{ air: string }>; totalResults: number };
    expect(s.results).toHaveLength(3);
    expect(JSON.parse(text(r))).toEqual(s);
  });

  it('runware_text_to_image: resource links, a small preview, cost and seed; never base64 in text', async () => {
    const r = await call('runware_text_to_image', {
      prompt: 'a lighthouse at dusk',
      width: 256,
      height: 256,
      numberResults: 2,
      outputFormat: 'PNG',
    });
    expect(r.isError, text(r)).toBeFalsy();
    const s = r.structuredContent as {
      status: string;
      images: Array<{ imageURL: string; seed: number; cost: number }>;
      cost: number;
    };
    expect(s.status).toBe('success');
    expect(s.images).toHaveLength(2);
    expect(s.images[0]!.seed).toBeTypeOf('number');
    expect(s.cost).toBeGreaterThan(0);
    expect(r.content.filter((c) => c.type === 'resource_link')).toHaveLength(2);
    const previews = r.content.filter((c) => c.type === 'image') as Array<{ data: string; mimeType: string }>;
    expect(previews).toHaveLength(2);
    expect(sniffFormat(Buffer.from(previews[0]!.data, 'base64'))).toBe('PNG');
    expect(text(r)).not.toMatch(/iVBORw0KGgo/);
  });

  it('inline previews stay within one byte budget per result', async () => {
    const c = await connectStdio(
      ['--simulate'],
      {
        PATH: process.env.PATH ?? '',
        HOME: capture.tempDir(),
        RUNWARE_PREVIEW_MAX_BYTES: '2500',
        RUNWARE_SIM_TIME_SCALE: '0.05',
      },
      capture,
    );
    try {
      const r = (await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'budget', width: 256, height: 256, numberResults: 4, outputFormat: 'JPG', seed: 5 },
      })) as CallToolResult;
      capture.add(r);
      const images = r.content.filter((x) => x.type === 'image') as Array<{ data: string }>;
      const total = images.reduce((n, x) => n + Buffer.from(x.data, 'base64').length, 0);
      expect(images.length).toBeGreaterThan(0);
      expect(images.length).toBeLessThan(4);
      expect(total).toBeLessThanOrEqual(2500);
      expect(r.content.filter((x) => x.type === 'resource_link')).toHaveLength(4);
    } finally {
      await c.close();
    }
  });

  it('runware_request: per-task outcomes, isError only when all fail', async () => {
    const r = await call('runware_request', {
      tasks: [
        { taskType: 'promptEnhance', prompt: 'a cat' },
        { taskType: 'imageInference', positivePrompt: 'x', model: 'runware:101@1', width: 4000, height: 512 },
      ],
    });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as {
      tasks: Array<{ status: string; errors: Array<{ parameter: string }> }>;
      anyFailed: boolean;
    };
    expect(s.tasks.map((t) => t.status)).toEqual(['success', 'error']);
    expect(s.tasks[1]!.errors[0]!.parameter).toBe('width');
    const all = await call('runware_request', {
      tasks: { taskType: 'imageInference', positivePrompt: 'x', model: 'runware:101@1', width: 4000, height: 512 },
    });
    expect(all.isError).toBe(true);
  });

  it('runware_text_to_image with waitSeconds 0 returns a taskUUID that runware_poll completes', async () => {
    const r = await call('runware_text_to_image', { prompt: 'a harbour', waitSeconds: 0, numberResults: 2 });
    const s = r.structuredContent as { status: string; taskUUID: string; next: string };
    expect(s.status).toBe('processing');
    // The exact tool and arguments, as JSON a model can copy.
    const args = JSON.parse(/runware_poll with (\{.*?\})/.exec(s.next)![1]!) as Record<string, unknown>;
    expect(args).toEqual({ taskUUID: s.taskUUID, waitSeconds: 60, numberResults: 2 });
    const p = await call('runware_poll', { ...args, waitSeconds: 20 });
    expect(p.isError, text(p)).toBeFalsy();
    expect(p.structuredContent).toMatchObject({ status: 'success', progress: 100 });
    expect((p.structuredContent as { results: unknown[] }).results).toHaveLength(2);
  });
});

describe('progress and cancellation', () => {
  it('progress arrives in order with a token, and none without', async () => {
    // --simulate runs the server's polling on the same scaled clock as its simulator.
    const c = await connectStdio(
      ['--simulate'],
      { PATH: process.env.PATH ?? '', HOME: capture.tempDir(), RUNWARE_SIM_TIME_SCALE: '0.1' },
      capture,
    );
    const errs: Error[] = [];
    c.client.onerror = (e) => errs.push(e);
    try {
      const seen: number[] = [];
      const r = (await c.client.callTool(
        { name: 'runware_text_to_image', arguments: { prompt: 'slow one', steps: 100, width: 1024, height: 1024 } },
        undefined,
        { onprogress: (p) => seen.push(p.progress) },
      )) as CallToolResult;
      capture.add(r);
      expect(r.isError, text(r)).toBeFalsy();
      expect(seen.length).toBeGreaterThan(2);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.at(-1)).toBe(100);
      const quiet = (await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'slow two', steps: 100, width: 1024, height: 1024 },
      })) as CallToolResult;
      expect(quiet.isError).toBeFalsy();
      expect(errs.filter((e) => /progress/i.test(e.message))).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('cancelling a call stops its sync wait, and nothing polls the task afterwards', async () => {
    const ac = new AbortController();
    let uuid: string | undefined;
    const p = call(
      'runware_text_to_image',
      { prompt: 'cancel me', steps: 100, width: 2048, height: 2048, waitSeconds: 120 },
      { signal: ac.signal, onprogress: () => undefined },
    );
    // Wait until the task is sent (sync: the request is held until the image exists), then cancel.
    for (let i = 0; i < 100 && !uuid; i++) {
      await sleep(50);
      const sent = sim
        .runwareRequests()
        .flatMap(
          (e) =>
            e.body as Array<{ taskType: string; positivePrompt?: string; taskUUID: string; deliveryMethod?: string }>,
        )
        .find((t) => t.positivePrompt === 'cancel me');
      if (sent) {
        expect(sent.deliveryMethod).toBe('sync');
        uuid = sent.taskUUID;
      }
    }
    expect(uuid).toBeDefined();
    ac.abort();
    await expect(p).rejects.toThrow();
    const count = (): number =>
      sim
        .runwareRequests()
        .flatMap((e) => e.body as Array<{ taskType: string; taskUUID: string }>)
        .filter((t) => t.taskUUID === uuid).length;
    // A request already on the wire may still land (however slow the machine); then an absence window.
    const after = await settledCount(count, { quietMs: 200, what: 'the requests for the cancelled task' });
    await sleep(1000);
    expect(count()).toBe(after);
  });
});

describe('saving files', () => {
  it('saveTo writes a real file of the declared format inside the output dir', async () => {
    const r = await call('runware_text_to_image', {
      prompt: 'a cat',
      width: 256,
      height: 256,
      saveTo: 'cats/cat.webp',
    });
    expect(r.isError, text(r)).toBeFalsy();
    const img = (r.structuredContent as { images: Array<{ savedTo: string; format: string }> }).images[0]!;
    expect(img.savedTo).toBe(join(outDir, 'cats', 'cat.webp'));
    expect(sniffFormat(readFileSync(img.savedTo))).toBe('WEBP');
    const link = r.content.find((c) => c.type === 'resource_link') as { uri: string };
    expect(link.uri).toBe(pathToFileURL(img.savedTo).href);
    const again = await call('runware_text_to_image', {
      prompt: 'a cat',
      width: 256,
      height: 256,
      saveTo: 'cats/cat.webp',
    });
    expect((again.structuredContent as { images: Array<{ savedTo: string }> }).images[0]!.savedTo).toBe(
      join(outDir, 'cats', 'cat-1.webp'),
    );
  });

  it('runware_poll saves the results of an async task with saveTo', async () => {
    const sub = await call('runware_text_to_image', {
      prompt: 'later',
      width: 128,
      height: 128,
      numberResults: 2,
      outputFormat: 'PNG',
      waitSeconds: 0,
      saveTo: 'ignored-when-async/',
    });
    const uuid = (sub.structuredContent as { taskUUID: string }).taskUUID;
    expect((sub.structuredContent as { next: string }).next).toContain('"saveTo":"ignored-when-async/"');
    const r = await call('runware_poll', { taskUUID: uuid, waitSeconds: 20, numberResults: 2, saveTo: 'polled/' });
    expect(r.isError, text(r)).toBeFalsy();
    const files = (r.structuredContent as { files: Array<{ savedTo: string; format: string }> }).files;
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(f.savedTo.startsWith(join(outDir, 'polled'))).toBe(true);
      expect(sniffFormat(readFileSync(f.savedTo))).toBe('PNG');
    }
    expect(r.content.filter((c) => c.type === 'resource_link').map((c) => (c as { uri: string }).uri)).toEqual(
      files.map((f) => pathToFileURL(f.savedTo).href),
    );
    const outside = await call('runware_poll', { taskUUID: uuid, saveTo: '../../nope/' });
    expect(outside.isError).toBe(true);
  });

  it('a path outside the roots is refused with nothing written and nothing sent', async () => {
    const outside = capture.tempDir('rw-outside-');
    const before = sim.runwareRequests().length;
    for (const saveTo of [join(outside, 'x.png'), '../escape.png', '../../etc/']) {
      const r = await call('runware_text_to_image', { prompt: 'a cat', saveTo });
      expect(r.isError, saveTo).toBe(true);
      expect(text(r)).toMatch(/saveTo/);
    }
    expect(readdirSync(outside)).toEqual([]);
    expect(sim.runwareRequests().length).toBe(before);
  });
});

describe('bad input', () => {
  it('is refused naming the field, nothing is sent, and the server keeps serving', async () => {
    const before = sim.runwareRequests().length;
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['runware_text_to_image', { prompt: 'x', width: 500, height: 512 }, /width/],
      ['runware_text_to_image', { prompt: 'x', colour: 'red' }, /colour/],
      ['runware_text_to_image', { prompt: 'x', extra: { apiKey: 'k' } }, /extra\.apiKey/],
      ['runware_text_to_image', { prompt: 'x', extra: { widht: 5 } }, /extra\.widht/],
      ['runware_text_to_image', { prompt: 'x', extra: { taskUUID: 'a' } }, /extra\.taskUUID/],
      ['runware_request', { tasks: [{ taskType: 'authentication', apiKey: 'k' }] }, /authentication/],
      [
        'runware_request',
        { tasks: { taskType: 'imageInference', positivePrompt: `key ${CANARY.apiKey}`, model: 'runware:101@1' } },
        /secret/,
      ],
      ['runware_poll', { taskUUID: 'not-a-uuid' }, /taskUUID/],
      ['runware_model_search', { search: 'x', limit: 500 }, /limit/],
    ];
    for (const [name, args, re] of cases) {
      const r = await call(name, args);
      expect(r.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      expect(text(r)).toMatch(re);
    }
    expect(sim.runwareRequests().length).toBe(before);
    expect((await call('runware_model_search', { search: 'flux', limit: 1 })).isError).toBeFalsy();
  });
});

describe('logging', () => {
  it('retries go out as scrubbed MCP log messages', async () => {
    const got: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      got.push(n.params);
    });
    await client.setLoggingLevel('info');
    sim.addFaults({ kind: 'http503' });
    const r = await call('runware_model_search', { search: 'flux', limit: 1 });
    expect(r.isError).toBeFalsy();
    await waitFor(() => /did not run .*will send it again/.test(JSON.stringify(got)), {
      what: "the retry's log message",
    });
    expect(JSON.stringify(got)).not.toContain(CANARY.apiKey);
    capture.add(got);
  });
});

describe('client roots', () => {
  it('without RUNWARE_OUTPUT_DIR, saves into the client root; asks once, and again only after list_changed', async () => {
    const root = capture.tempDir('rw-root-');
    const other = capture.tempDir('rw-root2-');
    mkdirSync(join(root, 'inner'));
    const env = simEnv(sim, { RUNWARE_SIM_TIME_SCALE: '0.05' });
    const c = await connectStdio([], env, capture, { roots: { listChanged: true } });
    let asked = 0;
    let current = root;
    c.client.setRequestHandler(
      ListRootsRequestSchema,
      async () => (asked++, { roots: [{ uri: pathToFileURL(current).href, name: 'project' }] }),
    );
    const draw = async (saveTo: string): Promise<string> => {
      const r = (await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a root', width: 128, height: 128, saveTo },
      })) as CallToolResult;
      capture.add(r);
      expect(r.isError, text(r)).toBeFalsy();
      return (r.structuredContent as { images: Array<{ savedTo: string }> }).images[0]!.savedTo;
    };
    try {
      expect(asked).toBe(0);
      const saved = await draw('inner/');
      expect(saved.startsWith(join(root, 'inner'))).toBe(true);
      expect(existsSync(saved)).toBe(true);
      await draw('inner/');
      expect(asked).toBe(1);
      current = other;
      // No wait needed: stdio delivers the notification before the next call, and it is handled first.
      await c.client.sendRootsListChanged();
      expect((await draw('x.png')).startsWith(other)).toBe(true);
      expect(asked).toBe(2);
    } finally {
      await c.close();
    }
  });
});

describe('RUNWARE_TRANSPORT=ws', () => {
  it('every Runware tool works over the WebSocket transport', async () => {
    const dir = capture.tempDir('rw-ws-');
    const c = await connectStdio(
      ['--simulate'],
      {
        PATH: process.env.PATH ?? '',
        HOME: capture.tempDir(),
        RUNWARE_TRANSPORT: 'ws',
        RUNWARE_OUTPUT_DIR: dir,
        RUNWARE_SIM_TIME_SCALE: '0.05',
      },
      capture,
    );
    try {
      const cl = c.client;
      const ms = (await cl.callTool({
        name: 'runware_model_search',
        arguments: { search: 'flux', limit: 2 },
      })) as CallToolResult;
      expect(ms.isError, text(ms)).toBeFalsy();
      const img = (await cl.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'ws', width: 128, height: 128, saveTo: 'ws/' },
      })) as CallToolResult;
      expect(img.isError, text(img)).toBeFalsy();
      expect(existsSync((img.structuredContent as { images: Array<{ savedTo: string }> }).images[0]!.savedTo)).toBe(
        true,
      );
      const req = (await cl.callTool({
        name: 'runware_request',
        arguments: { tasks: [{ taskType: 'promptEnhance', prompt: 'x' }, { taskType: 'ping' }] },
      })) as CallToolResult;
      expect((req.structuredContent as { tasks: Array<{ status: string }> }).tasks.map((t) => t.status)).toEqual([
        'success',
        'success',
      ]);
      capture.add(ms, img, req);
    } finally {
      await c.close();
    }
  });
});

describe('no key and no --simulate', () => {
  it('starts, lists tools, and every tool explains how to set it up', async () => {
    // The public catalogue services out of reach as well: curated models need no key, and would otherwise answer.
    const c = await connectStdio(
      [],
      {
        PATH: process.env.PATH ?? '',
        HOME: capture.tempDir(),
        RUNWARE_CONTENT_URL: 'http://127.0.0.1:9',
        RUNWARE_SCHEMAS_URL: 'http://127.0.0.1:9',
      },
      capture,
    );
    try {
      expect((await c.client.listTools()).tools).toHaveLength(11);
      const calls: Array<[string, Record<string, unknown>, RegExp]> = [
        ['runware_model_search', { search: 'x' }, /RUNWARE_API_KEY[\s\S]*--simulate/],
        ['runware_text_to_image', { prompt: 'x' }, /RUNWARE_API_KEY/],
        ['runware_run', { model: 'klingai:5@3', params: { positivePrompt: 'waves' } }, /RUNWARE_API_KEY/],
        ['runware_upload', { path: 'cat.png' }, /RUNWARE_API_KEY/],
        ['runware_request', { tasks: { taskType: 'ping' } }, /RUNWARE_API_KEY/],
        ['runware_poll', { taskUUID: '3b241101-e2bb-4255-8caf-4136c566a962' }, /RUNWARE_API_KEY/],
        ['runway_get_task', { id: '3b241101-e2bb-4255-8caf-4136c566a962' }, /RUNWAYML_API_SECRET|MAKEVID_API_KEY/],
        ['runway_list_accounts', {}, /USEAPI_API_TOKEN/],
      ];
      for (const [name, args, re] of calls) {
        const r = (await c.client.callTool({ name, arguments: args })) as CallToolResult;
        capture.add(r);
        expect(r.isError, name).toBe(true);
        expect(text(r), name).toMatch(re);
      }
    } finally {
      await c.close();
    }
  });
});

describe('stdout is only the protocol', () => {
  it('exits on SIGTERM even while its parent keeps stdin open', async () => {
    const child = spawn(process.execPath, [CLI, '--simulate'], {
      env: { PATH: process.env.PATH ?? '', HOME: capture.tempDir() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } })}\n`,
    );
    for (let i = 0; i < 100 && !out.includes('"id":1'); i++) await sleep(30);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(5000).then(() => 'still running' as const)]);
    if (code === 'still running') child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('every stdout line of a whole session is a JSON-RPC message', async () => {
    const child = spawn(process.execPath, [CLI, '--simulate'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: capture.tempDir(),
        RUNWARE_LOG_LEVEL: 'debug',
        RUNWARE_OUTPUT_DIR: capture.tempDir(),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const send = (m: unknown): boolean => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    await waitFor(() => out.includes('"id":1'), { timeoutMs: 10_000, what: 'the answer to initialize' });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'debug' } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    send({
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { name: 'runware_model_search', arguments: { search: 'flux' } },
    });
    send({
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: {
        name: 'runware_text_to_image',
        arguments: { prompt: 'a fox', width: 128, height: 128, saveTo: 'a/' },
        _meta: { progressToken: 'p1' },
      },
    });
    send({
      jsonrpc: '2.0',
      id: 6,
      method: 'tools/call',
      params: { name: 'runware_text_to_image', arguments: { prompt: 'x', width: 13 } },
    });
    send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'nope', arguments: {} } });
    // Call 5 polls and may finish after 6 and 7: wait for every response, not the last id.
    const answered = (): number =>
      new Set(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { id?: number }).id)
          .filter((id) => id !== undefined),
      ).size;
    for (let i = 0; i < 300 && answered() < 7; i++) await sleep(100);
    child.stdin.end();
    await new Promise((r) => child.on('close', r));
    capture.add(out, err);
    const lines = out.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(7);
    for (const l of lines) {
      const m = JSON.parse(l) as { jsonrpc: string };
      expect(m.jsonrpc).toBe('2.0');
    }
    expect(out).toContain('notifications/progress');
    expect(err).toMatch(/simulator running/);
  });
});

describe('leaks', () => {
  it('no canary in any result, log message or file', () => {
    expect(capture.leaks()).toEqual([]);
  });
});
