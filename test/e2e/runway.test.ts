/** Runway task lookup over stdio, for each provider, against the server's own simulator. */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capture, connectStdio, runCli, settledCount, sleep, waitFor } from '../helpers.js';

const capture = new Capture();
let client: Client;
let close: () => Promise<void>;
let control: string;

const text = (r: CallToolResult): string =>
  r.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');
const post = async (path: string, body: unknown): Promise<Record<string, unknown>> =>
  (await (await fetch(`${control}${path}`, { method: 'POST', body: JSON.stringify(body) })).json()) as Record<
    string,
    unknown
  >;
const simLog = async (): Promise<Array<{ surface: string; path: string; status?: number }>> =>
  (
    (await (await fetch(`${control}/log`)).json()) as {
      requests: Array<{ surface: string; path: string; status?: number }>;
    }
  ).requests;
const runwayRequests = async () => (await simLog()).filter((e) => ['runway', 'useapi', 'makevid'].includes(e.surface));
const newTask = async (
  provider: string,
  scenario = 'success',
  durationMs = 30_000,
  clockAt?: number,
): Promise<string> => String((await post('/runway/tasks', { provider, scenario, durationMs, clockAt })).id);

async function call(
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: { progress: number; message?: string }) => void,
): Promise<CallToolResult> {
  const r = (await client.callTool(
    { name, arguments: args },
    undefined,
    onprogress ? { onprogress } : {},
  )) as CallToolResult;
  capture.add(r);
  return r;
}

beforeAll(async () => {
  const c = await connectStdio(
    ['--simulate'],
    {
      PATH: process.env.PATH ?? '',
      HOME: capture.tempDir(),
      RUNWARE_SIM_TIME_SCALE: '0.05',
      RUNWARE_LOG_LEVEL: 'debug',
    },
    capture,
  );
  client = c.client;
  close = c.close;
  const line = await waitFor(() => /simulator running at (\S+);/.exec(c.stderr()), {
    timeoutMs: 15_000,
    what: "the simulator's address on stderr",
  });
  control = `${line[1]}/__sim`;
});
afterAll(async () => {
  await close?.();
});

describe.each(['runway', 'useapi', 'makevid'] as const)('%s', (provider) => {
  it('a task moves PENDING -> RUNNING -> SUCCEEDED while waiting, with monotonic progress', async () => {
    // The task's clock is the test's: queued until the wait has reported it queued, then running
    // until it has reported that, then finished. Each phase is seen whatever the machine's load.
    const id = await newTask(provider, 'success', 80_000, 0);
    const seen: Array<{ progress: number; message?: string }> = [];
    const moves: Array<Promise<unknown>> = [];
    const r = await call('runway_get_task', { id, waitSeconds: 30 }, (p) => {
      seen.push(p);
      if (/^queued/.test(p.message ?? '')) moves.push(post('/runway/clock', { id, at: 0.5 }));
      if (/^running/.test(p.message ?? '')) moves.push(post('/runway/clock', { id, at: 1 }));
    });
    await Promise.all(moves);
    expect(r.isError, text(r)).toBeFalsy();
    const v = r.structuredContent as {
      id: string;
      provider: string;
      status: string;
      terminal: boolean;
      progress: number;
      outputs: Array<{ url: string; expiresAt: string; kind: string }>;
      inputs?: { initImage: string };
    };
    expect(v).toMatchObject({ id, provider, status: 'succeeded', terminal: true, progress: 1 });
    expect(v.outputs[0]!.kind).toBe('video');
    expect(v.outputs[0]!.url).toContain('_jwt=');
    expect(Date.parse(v.outputs[0]!.expiresAt)).toBeGreaterThan(Date.now());
    if (v.inputs) expect(v.inputs.initImage).not.toContain('_jwt');
    const messages = seen.map((p) => p.message ?? '');
    expect(messages[0]).toMatch(/^queued/);
    expect(messages.some((m) => m.startsWith('running'))).toBe(true);
    expect(messages.at(-1), JSON.stringify(seen)).toMatch(/^succeeded/);
    const progress = seen.map((p) => p.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);
  });

  it('a FAILED task with a SAFETY code is not retryable; a BAD_OUTPUT one is', async () => {
    const safety = await call('runway_get_task', { id: await newTask(provider, 'safety', 100), waitSeconds: 10 });
    expect(safety.structuredContent).toMatchObject({
      status: 'failed',
      error: { code: 'SAFETY.INPUT.TEXT', retryable: false },
    });
    const bad = await call('runway_get_task', { id: await newTask(provider, 'badOutput', 100), waitSeconds: 10 });
    expect(bad.structuredContent).toMatchObject({
      status: 'failed',
      error: { code: 'INTERNAL.BAD_OUTPUT.CODE01', retryable: true },
    });
  });

  it('a 429 with Retry-After is honoured, then the lookup succeeds', async () => {
    const id = await newTask(provider, 'success', 100);
    await sleep(50);
    const before = (await runwayRequests()).length;
    await post('/faults', { surface: provider, kind: 'http429', retryAfter: 1 });
    const t0 = Date.now();
    const r = await call('runway_get_task', { id, provider });
    expect(r.isError, text(r)).toBeFalsy();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    const reqs = (await runwayRequests()).slice(before);
    expect(reqs.map((e) => e.status)).toEqual([429, 200]);
  });

  it('a not-found id is a clear error', async () => {
    const missing = '0f0f0f0f-1111-4222-8333-444444444444';
    const r = await call(
      'runway_get_task',
      provider === 'useapi' ? { id: `user:1-runwayml:creator@example.com-task:${missing}` } : { id: missing, provider },
    );
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/no task with this id|No task with this id/);
  });
});

describe('provider-specific', () => {
  it('a useapi 596 gets its own message: re-add the account', async () => {
    const id = await newTask('useapi', 'success', 100);
    await post('/faults', { surface: 'useapi', kind: 'http596' });
    const r = await call('runway_get_task', { id });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/session is broken/);
    expect(text(r)).toMatch(/add it again|re-add/);
    expect(text(r)).not.toMatch(/creator@example\.com/);
  });

  it('status errors become sentences: 401, 410, 412, 422, 503', async () => {
    const id = await newTask('useapi', 'success', 100);
    const cases: Array<[string, RegExp]> = [
      ['http401', /rejected the credentials[\s\S]*USEAPI_API_TOKEN/],
      ['http410', /expired/],
      ['http412', /credits/],
      ['http422', /moderated/],
    ];
    for (const [kind, re] of cases) {
      await post('/faults', { surface: 'useapi', kind });
      const r = await call('runway_get_task', { id });
      expect(r.isError, kind).toBe(true);
      expect(text(r), kind).toMatch(re);
    }
    await post('/faults', { surface: 'useapi', kind: 'http503' });
    expect((await call('runway_get_task', { id })).isError).toBeFalsy();
  });

  it('a bare UUID is found by trying the configured providers in turn', async () => {
    const id = await newTask('makevid', 'success', 100);
    const before = (await runwayRequests()).length;
    const r = await call('runway_get_task', { id });
    expect(r.structuredContent).toMatchObject({ provider: 'makevid', id });
    expect((await runwayRequests()).slice(before).map((e) => `${e.surface}:${e.status}`)).toEqual([
      'runway:404',
      'makevid:200',
    ]);
  });

  it('the makevid documentation example normalizes correctly', async () => {
    const r = await call('runway_get_task', { id: '2c8dec65-7882-494b-9365-d1418676cd62', provider: 'makevid' });
    const v = r.structuredContent as Record<string, unknown> & { outputs: Array<Record<string, unknown>> };
    expect(v).toMatchObject({
      provider: 'makevid',
      status: 'succeeded',
      rawStatus: 'SUCCEEDED',
      model: 'gen3a_turbo',
      prompt: 'A cat walking in the garden',
      progress: 1,
      createdAt: '2024-10-29T09:41:06.745Z',
      updatedAt: '2024-10-29T09:42:02.227Z',
      error: null,
    });
    expect(v.outputs).toHaveLength(1);
    expect(v.outputs[0]).toMatchObject({
      kind: 'video',
      mimeType: 'video/mp4',
      durationSec: 10.542,
      width: 1280,
      height: 768,
      frameRate: 24,
      sizeBytes: 3567105,
    });
    expect(String((v.inputs as { initImage: string }).initImage)).not.toContain('_jwt');
  });
});

describe('cancellation', () => {
  it('cancelling a wait stops the polling at once', async () => {
    const id = await newTask('runway', 'success', 600_000);
    const ac = new AbortController();
    let progressed = false;
    const p = client.callTool({ name: 'runway_get_task', arguments: { id, waitSeconds: 120 } }, undefined, {
      signal: ac.signal,
      onprogress: () => (progressed = true),
    });
    const count = async (): Promise<number> => (await runwayRequests()).filter((e) => e.path.includes(id)).length;
    // Polling has begun: progress reported, and a second look at the task made.
    await waitFor(async () => progressed && (await count()) >= 2, {
      timeoutMs: 10_000,
      what: 'a second poll of the task',
    });
    ac.abort();
    await expect(p).rejects.toThrow();
    // A request already on the wire may still land (however slow the machine); after that, an absence window.
    const after = await settledCount(count, { what: 'the polls of the cancelled task' });
    expect(after).toBeGreaterThanOrEqual(2);
    await sleep(1000);
    expect(await count()).toBe(after);
  });
});

describe('accounts', () => {
  it('runway_list_accounts never shows a password or a session token', async () => {
    const password = 'CANARYpassword-4e7d1b9a';
    const jwtToken = 'eyJhbGciOiJIUzI1NiJ9.eyJDQU5BUlkiOiJqd3QifQ.CANARYjwtsig8c2f';
    await post('/runway/accounts', { email: 'second@example.com', password, jwtToken, maxJobs: 3 });
    const r = await call('runway_list_accounts', {});
    expect(r.isError, text(r)).toBeFalsy();
    const accounts = (r.structuredContent as { accounts: Array<Record<string, unknown>> }).accounts;
    expect(accounts.find((a) => a.email === 'second@example.com')).toMatchObject({ maxJobs: 3, sessionValid: true });
    const all = JSON.stringify(r);
    for (const secret of [password, jwtToken, 'CANARYjwtsig', 'pw-']) expect(all).not.toContain(secret);
    const cli = await runCli(
      ['--simulate', 'runway-accounts'],
      { PATH: process.env.PATH ?? '', HOME: capture.tempDir() },
      capture,
    );
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).accounts[0]).toEqual({
      email: 'creator@example.com',
      maxJobs: 5,
      sessionExpiresAt: expect.any(String),
      sessionValid: true,
    });
    expect(cli.stdout).not.toMatch(/password|"token"|pw-/);
  });
});

describe('hostile ids', () => {
  it.each([
    '../etc/passwd',
    '2c8dec65-7882-494b-9365-d1418676cd62/../x',
    '%2F',
    '2c8dec65%2F7882',
    'a b',
    '2c8dec65-7882-494b-9365-d1418676cd62?x=1',
    '2c8dec65-7882-494b-9365-d1418676cd62#f',
    'tasks/1',
    'user:1-runwayml:a@b.com-task:2c8dec65-7882-494b-9365-d1418676cd62/../../accounts',
  ])('refuses %j with no request sent', async (id) => {
    const before = (await runwayRequests()).length;
    for (const provider of [undefined, 'runway', 'useapi', 'makevid']) {
      const r = await call('runway_get_task', { id, ...(provider ? { provider } : {}) });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/id/);
    }
    expect((await runwayRequests()).length).toBe(before);
  });
});

describe('CLI', () => {
  it('runway-task prints the normalized view; exit 1 for a failed task', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: capture.tempDir() };
    const ok = await runCli(['--simulate', 'runway-task', '2c8dec65-7882-494b-9365-d1418676cd62'], env, capture);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ provider: 'makevid', status: 'succeeded' });
    const bad = await runCli(['--simulate', 'runway-task', '../x'], env, capture);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.field).toBe('id');
  });
});

describe('leaks', () => {
  it('no secret in any output', () => {
    const all = capture.texts.join('\n');
    expect(all).not.toContain('CANARYpassword');
    expect(all).not.toContain('CANARYjwtsig');
    expect(capture.leaks()).toEqual([]);
  });
});
