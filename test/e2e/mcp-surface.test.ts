/**
 * The whole MCP surface of the built server, over stdio and Streamable HTTP
 * alike, against the simulator: resources (journal tasks and saved outputs,
 * list_changed, subscriptions), prompts, completions, task-augmented calls
 * (followed to a result, and cancelled), structured errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  CancelTaskResultSchema,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, Capture, connectStdio, settledCount, simEnv, sleep, startSim } from '../helpers.js';
import type { Simulator } from '../../src/simulator/server.js';

const capture = new Capture();
const children: ChildProcess[] = [];
let sim: Simulator;

beforeAll(async () => {
  // Real-time enough that a video (10 s at scale 1) is still running when it is cancelled.
  sim = await startSim({ timeScale: 0.3 });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await sim.stop();
});

async function startHttp(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 200 && !/Streamable HTTP at (\S+)/.test(err); i++) await sleep(25);
  const url = /Streamable HTTP at (\S+)/.exec(err)?.[1];
  if (!url) throw new Error(`server did not start: ${err}`);
  child.on('exit', () => capture.add(err));
  return url;
}

interface Conn {
  client: Client;
  notes: string[];
  close: () => Promise<void>;
}

type Transport = 'stdio' | 'http';

async function connect(kind: Transport, env: Record<string, string>, url?: string, token?: string): Promise<Conn> {
  const notes: string[] = [];
  let client: Client;
  let close: () => Promise<void>;
  if (kind === 'stdio') {
    const c = await connectStdio([], env, capture);
    client = c.client;
    close = c.close;
  } else {
    client = new Client({ name: 'surface', version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(
        new URL(url ?? (await startHttp(env))),
        token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {},
      ),
    );
    close = () => client.close();
  }
  client.fallbackNotificationHandler = async (n) => void notes.push(n.method);
  return { client, notes, close };
}

const until = async (what: () => boolean | Promise<boolean>, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(25);
  }
};

describe.each(['stdio', 'http'] as const)('over %s', (kind) => {
  let env: Record<string, string>;
  let url: string | undefined;
  let out: string;
  beforeAll(async () => {
    out = capture.tempDir('rw-surface-');
    env = simEnv(sim, { RUNWARE_OUTPUT_DIR: out, RUNWARE_LOG_LEVEL: 'info' });
    url = kind === 'http' ? await startHttp(env) : undefined;
  });

  it('lists and reads the journal as resources, with list_changed and subscriptions', async () => {
    const { client, notes, close } = await connect(kind, env, url);
    try {
      const r = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a resource', width: 256, height: 256, saveTo: 'res/' },
      })) as CallToolResult;
      capture.add(r);
      expect(r.isError).toBeFalsy();
      const uuid = (r.structuredContent as { taskUUID: string }).taskUUID;
      await until(() => notes.includes('notifications/resources/list_changed'));

      const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
      expect(templates).toEqual(
        expect.arrayContaining(['runware://tasks/{taskUUID}', 'runware://tasks/{taskUUID}/outputs/{index}']),
      );
      const listed = (await client.listResources()).resources;
      expect(listed.find((x) => x.uri === `runware://tasks/${uuid}`)).toMatchObject({ mimeType: 'application/json' });
      expect(listed.find((x) => x.uri === `runware://tasks/${uuid}/outputs/0`)).toMatchObject({
        mimeType: 'image/jpeg',
      });

      const record = await client.readResource({ uri: `runware://tasks/${uuid}` });
      expect(JSON.parse((record.contents[0] as { text: string }).text)).toMatchObject({
        taskUUID: uuid,
        status: 'success',
      });
      const file = (await client.readResource({ uri: `runware://tasks/${uuid}/outputs/0` })).contents[0] as {
        blob: string;
        mimeType: string;
      };
      expect(file.mimeType).toBe('image/jpeg');
      expect(Buffer.from(file.blob, 'base64').subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));

      // A read of a task the journal lacks is an invalid-params error naming what to do.
      await expect(
        client.readResource({ uri: 'runware://tasks/3b241101-e2bb-4255-8caf-4136c566a962' }),
      ).rejects.toThrow(/no task .* in the journal.*Next: resources\/list/);

      // Subscribed: saving its output again updates the record, and the client hears of it.
      await client.subscribeResource({ uri: `runware://tasks/${uuid}` });
      notes.length = 0;
      await client.callTool({ name: 'runware_poll', arguments: { taskUUID: uuid, saveTo: 'again/' } });
      await until(() => notes.includes('notifications/resources/updated'));
      await client.unsubscribeResource({ uri: `runware://tasks/${uuid}` });
      const secrets = JSON.stringify(record);
      for (const v of Object.values(env)) if (/CANARY/.test(v)) expect(secrets).not.toContain(v);
    } finally {
      await close();
    }
  });

  it('lists and gets prompts, and completes model and taskUUID arguments', async () => {
    const { client, close } = await connect(kind, env, url);
    try {
      const prompts = (await client.listPrompts()).prompts;
      expect(prompts.map((p) => p.name)).toEqual(['generate_image', 'image_to_video', 'find_model', 'check_task']);
      for (const p of prompts) expect(p.description!.length).toBeGreaterThan(20);
      const got = await client.getPrompt({
        name: 'generate_image',
        arguments: { subject: 'a lighthouse at dusk', style: 'watercolor' },
      });
      const text = (got.messages[0]!.content as { text: string }).text;
      expect(text).toContain('runware_model_search');
      expect(text).toContain('runware_text_to_image');
      expect(text).toContain('watercolor');
      const video = await client.getPrompt({ name: 'image_to_video', arguments: { image: 'cat.png' } });
      expect((video.messages[0]!.content as { text: string }).text).toMatch(
        /runware_model_info[\s\S]*runware_run[\s\S]*runware_poll/,
      );
      await expect(client.getPrompt({ name: 'find_model', arguments: {} })).rejects.toThrow(/need/);

      const models = await client.complete({
        ref: { type: 'ref/prompt', name: 'generate_image' },
        argument: { name: 'model', value: 'runware:10' },
      });
      expect(models.completion.values.length).toBeGreaterThan(0);
      for (const v of models.completion.values) expect(v.startsWith('runware:10')).toBe(true);

      const r = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'for completion', width: 128, height: 128 },
      })) as CallToolResult;
      const uuid = (r.structuredContent as { taskUUID: string }).taskUUID;
      const byTemplate = await client.complete({
        ref: { type: 'ref/resource', uri: 'runware://tasks/{taskUUID}' },
        argument: { name: 'taskUUID', value: uuid.slice(0, 4) },
      });
      expect(byTemplate.completion.values).toContain(uuid);
      const byPrompt = await client.complete({
        ref: { type: 'ref/prompt', name: 'check_task' },
        argument: { name: 'taskUUID', value: uuid.slice(0, 6) },
      });
      expect(byPrompt.completion.values).toEqual([uuid]);
    } finally {
      await close();
    }
  });

  it('runs a task-augmented text-to-image to its result, and leaves calls without task unchanged', async () => {
    const { client, close } = await connect(kind, env, url);
    try {
      const tools = (await client.listTools()).tools;
      const support = Object.fromEntries(tools.map((t) => [t.name, t.execution?.taskSupport]));
      expect(support).toMatchObject({
        runware_text_to_image: 'optional',
        runware_run: 'optional',
        runware_poll: 'optional',
        runway_get_task: 'optional',
        runware_model_search: 'forbidden',
      });
      expect(client.getServerCapabilities()?.tasks).toMatchObject({
        requests: { tools: { call: {} } },
        cancel: {},
        list: {},
      });

      const t0 = Date.now();
      const created = await client.request(
        {
          method: 'tools/call',
          params: {
            name: 'runware_text_to_image',
            arguments: { prompt: 'a task', width: 512, height: 512, saveTo: 'tasks/' },
            task: { ttl: 600_000 },
          },
        },
        CreateTaskResultSchema,
      );
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(created.task).toMatchObject({ status: 'working', ttl: 600_000 });
      const got = await client.request(
        { method: 'tasks/get', params: { taskId: created.task.taskId } },
        GetTaskResultSchema,
      );
      expect(['working', 'completed']).toContain(got.status);
      const result = await client.request(
        { method: 'tasks/result', params: { taskId: created.task.taskId } },
        CallToolResultSchema,
        { timeout: 30_000 },
      );
      capture.add(result);
      expect(result.isError).toBeFalsy();
      const sc = result.structuredContent as { status: string; images: Array<{ savedTo?: string }> };
      expect(sc.status).toBe('success');
      expect(sc.images[0]!.savedTo).toContain(out);
      expect(
        (await client.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema))
          .status,
      ).toBe('completed');
      const list = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
      expect(list.tasks.map((t) => t.taskId)).toContain(created.task.taskId);

      // A tool without task support refuses `task`; a call without it is answered as always.
      await expect(
        client.request(
          { method: 'tools/call', params: { name: 'runware_model_search', arguments: { search: 'flux' }, task: {} } },
          CreateTaskResultSchema,
        ),
      ).rejects.toThrow(/does not run as a task/);
      const plain = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'plain', width: 128, height: 128 },
      })) as CallToolResult;
      expect((plain.structuredContent as { status: string }).status).toBe('success');
    } finally {
      await close();
    }
  });

  it('cancels a task-augmented video: the polling stops and the record says cancelled', async () => {
    // A server of its own whose client waits run 5 times faster (first poll of a video after 1 s, then
    // about every 0.2 s), so the polls are seen soon and an absence of them is short to prove.
    const { client, close } = await connect(kind, { ...env, RUNWARE_TIME_SCALE: '0.2' });
    // A 10 s video, in real time: still running when it is cancelled.
    const scale = sim.state.options.timeScale;
    sim.state.options.timeScale = 1;
    try {
      const created = await client.request(
        {
          method: 'tools/call',
          params: {
            name: 'runware_run',
            arguments: { model: 'klingai:5@3', params: { positivePrompt: 'waves', duration: 5 }, waitSeconds: 120 },
            task: {},
          },
        },
        CreateTaskResultSchema,
      );
      const id = created.task.taskId;
      // Wait until the video was sent and is being polled.
      const polls = (): number => sim.state.log.filter((e) => JSON.stringify(e).includes('getResponse')).length;
      const before = polls();
      await until(() => polls() > before, 8000);
      const cancelled = await client.request(
        { method: 'tasks/cancel', params: { taskId: id } },
        CancelTaskResultSchema,
      );
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.statusMessage).toMatch(/polling stopped.*runware_poll/);
      // A poll already on the wire may still land (however slow the machine); then no more across several poll intervals.
      const after = await settledCount(polls, { quietMs: 300, what: 'the polls of the cancelled task' });
      await sleep(800);
      expect(polls()).toBe(after);
      const result = await client.request({ method: 'tasks/result', params: { taskId: id } }, CallToolResultSchema);
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({ error: { kind: 'cancelled' } });
      expect((await client.request({ method: 'tasks/get', params: { taskId: id } }, GetTaskResultSchema)).status).toBe(
        'cancelled',
      );
      // Cancelling twice is refused: a done task never moves again.
      await expect(
        client.request({ method: 'tasks/cancel', params: { taskId: id } }, CancelTaskResultSchema),
      ).rejects.toThrow(/terminal/);
      // The video itself is still in the journal, for runware_poll.
      const tasks = (await client.callTool({ name: 'runware_tasks', arguments: { limit: 5 } })) as CallToolResult;
      expect(JSON.stringify(tasks.structuredContent)).toContain('videoInference');
    } finally {
      sim.state.options.timeScale = scale;
      await close();
    }
  });

  it('puts structured errors beside the text: bad input, a refused payload, an upstream failure', async () => {
    const { client, close } = await connect(kind, env, url);
    try {
      const bad = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'x', width: 100 },
      })) as CallToolResult;
      expect(bad.isError).toBe(true);
      expect(bad.structuredContent).toMatchObject({
        error: { kind: 'validation', field: 'width', next: expect.stringMatching(/nothing was sent/) },
      });
      expect((bad.content[0] as { text: string }).text).toMatch(/width/);

      const refused = (await client.callTool({
        name: 'runware_request',
        arguments: {
          tasks: [{ taskType: 'imageInference', positivePrompt: 'x', model: 'runware:101@1', apiKey: 'sneaky' }],
        },
      })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(refused.structuredContent).toMatchObject({
        error: { kind: 'policy', field: expect.stringContaining('apiKey'), next: expect.any(String) },
      });

      sim.addFaults({ kind: 'taskError', code: 'insufficientCredits', taskType: 'imageInference' });
      const upstream = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a red fox', width: 256, height: 256 },
      })) as CallToolResult;
      expect(upstream.isError, JSON.stringify(upstream.structuredContent)).toBe(true);
      // The task's own fields stay (status, errors, lineage), with the error beside them.
      expect(upstream.structuredContent, JSON.stringify(upstream.structuredContent)).toMatchObject({
        status: 'error',
        errors: [{ code: 'insufficientCredits' }],
        error: { kind: 'upstream', code: 'insufficientCredits', next: expect.any(String) },
      });
      expect(JSON.parse((upstream.content[0] as { text: string }).text)).toMatchObject({
        error: { code: 'insufficientCredits' },
      });

      // An unknown tool is a protocol error (-32602), not a tool result.
      const unknown = await client.callTool({ name: 'no_such_tool', arguments: {} }).catch((x: unknown) => x);
      expect(unknown).toBeInstanceOf(McpError);
      expect((unknown as McpError).code).toBe(-32602);
    } finally {
      await close();
    }
  });
});

describe('tasks across connections', () => {
  it('with a token, a task begun in one HTTP session is followed to its result from a reconnect of that token', async () => {
    const token = 'surface-token-5b2c7e91d04a';
    const env = simEnv(sim, { RUNWARE_OUTPUT_DIR: capture.tempDir('rw-surface-x-'), RUNWARE_MCP_HTTP_TOKEN: token });
    const url = await startHttp(env);
    const a = await connect('http', env, url, token);
    const created = await a.client.request(
      {
        method: 'tools/call',
        params: { name: 'runware_text_to_image', arguments: { prompt: 'outlives', width: 512, height: 512 }, task: {} },
      },
      CreateTaskResultSchema,
    );
    await a.close();
    const b = await connect('http', env, url, token);
    try {
      const result = await b.client.request(
        { method: 'tasks/result', params: { taskId: created.task.taskId } },
        CallToolResultSchema,
        { timeout: 30_000 },
      );
      expect((result.structuredContent as { status: string }).status).toBe('success');
      // Reachable by id, but not listed: tasks/list is the session's own.
      const listed = await b.client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
      expect(listed.tasks.map((t) => t.taskId)).not.toContain(created.task.taskId);
    } finally {
      await b.close();
    }
  });

  it('without a token, another process reaches a finished task through the journal, not by task id', async () => {
    const env = simEnv(sim, { RUNWARE_OUTPUT_DIR: capture.tempDir('rw-surface-y-') });
    const a = await connect('stdio', env);
    const created = await a.client.request(
      {
        method: 'tools/call',
        params: { name: 'runware_text_to_image', arguments: { prompt: 'kept', width: 128, height: 128 }, task: {} },
      },
      CreateTaskResultSchema,
    );
    await a.client.request({ method: 'tasks/result', params: { taskId: created.task.taskId } }, CallToolResultSchema);
    await a.close();
    const b = await connect('stdio', env);
    try {
      await expect(
        b.client.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema),
      ).rejects.toThrow(/not found/i);
      const listed = (await b.client.callTool({ name: 'runware_tasks', arguments: { limit: 5 } })) as CallToolResult;
      const tasks = (listed.structuredContent as { tasks: Array<{ taskUUID: string; status: string }> }).tasks;
      expect(tasks[0]).toMatchObject({ status: 'success' });
      const again = (await b.client.callTool({
        name: 'runware_poll',
        arguments: { taskUUID: tasks[0]!.taskUUID },
      })) as CallToolResult;
      expect((again.structuredContent as { status: string }).status).toBe('success');
      await expect(
        b.client.request(
          { method: 'tasks/get', params: { taskId: '00000000-0000-4000-8000-000000000000' } },
          GetTaskResultSchema,
        ),
      ).rejects.toThrow(/not found/i);
    } finally {
      await b.close();
    }
  });
});
