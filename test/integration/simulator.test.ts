/** The simulator's own protocol, spoken over plain HTTP (no client code involved). */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffFormat } from '../../src/media/formats.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, CLI, sleep, startSim, waitFor } from '../helpers.js';

let sim: Simulator;
type Body = { data?: Array<Record<string, unknown>>; errors?: Array<Record<string, unknown>> };

async function post(
  tasks: unknown,
  auth: string | null = `Bearer ${CANARY.apiKey}`,
): Promise<{ status: number; body: Body }> {
  const res = await fetch(sim.info.runwareUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify(tasks),
  });
  return { status: res.status, body: (await res.json()) as Body };
}
const img = (extra: Record<string, unknown> = {}) => ({
  taskType: 'imageInference',
  taskUUID: randomUUID(),
  positivePrompt: 'a cat',
  model: 'runware:101@1',
  width: 256,
  height: 256,
  ...extra,
});

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
});
afterAll(async () => {
  await sim.stop();
});

describe('auth', () => {
  it('accepts Bearer, or an authentication task first; refuses others with invalidApiKey', async () => {
    expect((await post([img()])).status).toBe(200);
    const viaTask = await post([{ taskType: 'authentication', apiKey: CANARY.apiKey }, img()], null);
    expect(viaTask.status).toBe(200);
    expect(viaTask.body.data).toHaveLength(1);
    const bad = await post([img()], 'Bearer wrong');
    expect(bad.status).toBe(401);
    expect(bad.body.errors![0]).toMatchObject({
      code: 'invalidApiKey',
      parameter: 'apiKey',
      taskType: 'authentication',
    });
    expect((await post([img()], null)).body.errors![0]!.code).toBe('missingApiKey');
  });
});

describe('imageInference', () => {
  it('returns base64Data and dataURI outputs of the requested format, with cost and seed', async () => {
    const a = await post([img({ outputType: 'base64Data', outputFormat: 'WEBP', includeCost: true, seed: 42 })]);
    const item = a.body.data![0]!;
    expect(sniffFormat(Buffer.from(String(item.imageBase64Data), 'base64'))).toBe('WEBP');
    expect(item).toMatchObject({ seed: 42 });
    expect(item.cost).toBeGreaterThan(0);
    const b = await post([img({ outputType: 'dataURI', outputFormat: 'PNG' })]);
    expect(String(b.body.data![0]!.imageDataURI)).toMatch(/^data:image\/png;base64,iVBOR/);
  });

  it('serves real media bytes from its URLs', async () => {
    const r = await post([img({ outputFormat: 'JPG' })]);
    const res = await fetch(String(r.body.data![0]!.imageURL));
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(sniffFormat(Buffer.from(await res.arrayBuffer()))).toBe('JPG');
  });

  it('checks sizes as documented: multiples of 8, and of 16 for FLUX', async () => {
    const r = await post([
      img({ width: 520, height: 512 }),
      img({ model: 'civitai:101055@128078', width: 520, height: 512 }),
      img({ width: 528, height: 512 }),
    ]);
    expect(r.body.errors!.map((e) => e.parameter)).toEqual(['width']);
    expect(r.body.data).toHaveLength(2);
  });

  it('names the parameter in validation errors', async () => {
    const r = await post([img({ width: 250 }), img({ positivePrompt: '' }), img({ numberResults: 50 })]);
    expect(r.status).toBe(400);
    expect(r.body.errors!.map((e) => e.parameter)).toEqual(['width', 'positivePrompt', 'numberResults']);
  });

  it('answers a reused UUID as each possibility says: conflict, conflict naming no task, or a second run', async () => {
    for (const mode of ['conflict', 'conflictNoUuid', 'runsAgain'] as const) {
      sim.state.options.reusedUuid = mode;
      const t = img();
      await post([t]);
      const again = await post([t]);
      if (mode === 'runsAgain') {
        expect(again.status).toBe(200);
        expect(sim.state.accepted.get(t.taskUUID)).toBe(2);
      } else {
        expect(again.body.errors![0]!.code).toBe('conflictTaskUUID');
        expect(again.body.errors![0]!.taskUUID).toBe(mode === 'conflict' ? t.taskUUID : undefined);
        expect(sim.state.accepted.get(t.taskUUID)).toBe(1);
      }
    }
  });

  it('getTaskDetails knows every received task, sync or async, and answers unknown UUIDs as each possibility says', async () => {
    sim.state.options.reusedUuid = 'conflict';
    // The lag is its own test (below); here getTaskDetails knows a task at once.
    sim.state.options.taskDetailsLag = 0;
    const t = img();
    await post([t]);
    const d = await post([{ taskType: 'getTaskDetails', taskUUID: t.taskUUID }]);
    const item = d.body.data![0] as { request: unknown[]; response: { data: unknown[] } };
    expect(item.request).toHaveLength(1);
    expect(item.response.data).toHaveLength(1);
    const unknown = '0b8e5a0e-3c43-4d1e-9f43-3d2f6c7f9a11';
    const answers: Record<string, unknown> = {};
    for (const mode of ['error', 'empty', 'noResponse', 'http404'] as const) {
      sim.state.options.taskDetailsUnknown = mode;
      const r = await post([{ taskType: 'getTaskDetails', taskUUID: unknown }]);
      answers[mode] = { status: r.status, data: r.body.data, code: r.body.errors?.[0]?.code };
    }
    expect(answers).toEqual({
      error: { status: 400, data: [], code: 'taskNotFound' },
      empty: { status: 200, data: [], code: undefined },
      noResponse: { status: 200, data: [{ taskType: 'getTaskDetails', taskUUID: unknown }], code: undefined },
      http404: { status: 404, data: undefined, code: 'taskNotFound' },
    });
  });

  it('async: ACK, then cumulative getResponse with progress', async () => {
    sim.state.options.timeScale = 0.3;
    try {
      const t = img({ deliveryMethod: 'async', numberResults: 2, steps: 56 });
      expect((await post([t])).body.data).toEqual([{ taskType: 'imageInference', taskUUID: t.taskUUID }]);
      const first = await post([{ taskType: 'getResponse', taskUUID: t.taskUUID }]);
      expect(first.body.data!.map((d) => d.status)).toEqual(['processing', 'processing']);
      // Polled as a client does, until done (the simulated run takes about 0.6 s here).
      const later = await waitFor(
        async () => {
          const r = await post([{ taskType: 'getResponse', taskUUID: t.taskUUID }]);
          return r.body.data!.every((d) => d.status !== 'processing') && r;
        },
        { timeoutMs: 10_000, intervalMs: 50, what: 'the async task to finish' },
      );
      expect(later.body.data!.every((d) => d.status === 'success' && d.imageURL)).toBe(true);
    } finally {
      sim.state.options.timeScale = 0.02;
    }
  });
});

describe('modelSearch', () => {
  it('has at least 30 models, with filters, limit and offset', async () => {
    const all = await post([{ taskType: 'modelSearch', taskUUID: randomUUID(), search: '', limit: 100 }]);
    expect(all.body.data![0]!.totalResults).toBeGreaterThanOrEqual(30);
    const lora = await post([
      { taskType: 'modelSearch', taskUUID: randomUUID(), search: 'detail', category: 'lora', architecture: 'sdxl' },
    ]);
    expect((lora.body.data![0]!.results as Array<{ air: string }>).map((m) => m.air)).toEqual([
      'civitai:122359@135867',
    ]);
    const p1 = await post([{ taskType: 'modelSearch', taskUUID: randomUUID(), search: 'sdxl', limit: 2, offset: 0 }]);
    const p2 = await post([{ taskType: 'modelSearch', taskUUID: randomUUID(), search: 'sdxl', limit: 2, offset: 2 }]);
    const ids = [
      ...(p1.body.data![0]!.results as Array<{ air: string }>),
      ...(p2.body.data![0]!.results as Array<{ air: string }>),
    ].map((m) => m.air);
    expect(new Set(ids).size).toBe(4);
  });
});

describe('faults and the control endpoint', () => {
  it('injects latency, statuses and task errors through /__sim/faults, and logs requests at /__sim/log', async () => {
    const control = sim.info.controlUrl;
    sim.state.options.retryAfter = true;
    await fetch(`${control}/faults`, {
      method: 'POST',
      body: JSON.stringify([
        { kind: 'latency', ms: 300 },
        { kind: 'http429', retryAfter: 7 },
        { kind: 'taskError', code: 'providerRateLimitExceeded' },
      ]),
    });
    const t0 = Date.now();
    expect((await post([{ taskType: 'ping' }])).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const r429 = await fetch(sim.info.runwareUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${CANARY.apiKey}` },
      body: '[{"taskType":"ping"}]',
    });
    expect(r429.status).toBe(429);
    expect(r429.headers.get('retry-after')).toBe('7');
    const te = await post([img()]);
    expect(te.body.errors![0]).toMatchObject({ code: 'providerRateLimitExceeded' });
    const log = (await (await fetch(`${control}/log`)).json()) as {
      requests: Array<{ fault?: string }>;
      accepted: Record<string, number>;
    };
    expect(log.requests.map((r) => r.fault).filter(Boolean)).toEqual(['latency', 'http429', 'taskError']);
    expect(log.accepted).toBeTypeOf('object');
  });
});

describe('Runway task clocks', () => {
  it('a task frozen by /__sim/runway/clock stays in its phase until moved; without "at" it runs on from there', async () => {
    const control = sim.info.controlUrl;
    const task = async (id: string): Promise<Record<string, unknown>> =>
      (await (
        await fetch(`${sim.info.runwayUrl}/v1/tasks/${id}`, {
          headers: { authorization: `Bearer ${CANARY.runwaySecret}`, 'x-runway-version': '2024-11-06' },
        })
      ).json()) as Record<string, unknown>;
    const clock = (body: Record<string, unknown>): Promise<Response> =>
      fetch(`${control}/runway/clock`, { method: 'POST', body: JSON.stringify(body) });
    // 10 s of task time (0.2 s at this scale), frozen at the start: queued however long it is watched.
    const { id } = (await (
      await fetch(`${control}/runway/tasks`, {
        method: 'POST',
        body: JSON.stringify({ provider: 'runway', durationMs: 10_000, clockAt: 0 }),
      })
    ).json()) as { id: string };
    expect(await task(id)).toMatchObject({ status: 'PENDING' });
    await sleep(300);
    expect(await task(id)).toMatchObject({ status: 'PENDING' });
    expect((await clock({ id, at: 0.575 })).status).toBe(200);
    const running = async (): Promise<void> => {
      const t = await task(id);
      expect(t.status).toBe('RUNNING');
      expect(t.progress).toBeCloseTo(0.5, 6);
    };
    await running();
    await sleep(300);
    await running();
    expect((await clock({ id })).status).toBe(200);
    await waitFor(async () => (await task(id)).status === 'SUCCEEDED', { what: 'the released task to finish' });
    expect((await clock({ id: randomUUID(), at: 1 })).status).toBe(404);
  });
});

describe('dry runs (UNKNOWN: every possibility)', () => {
  const dry = async (): Promise<Body> => {
    const res = await fetch(sim.info.runwareUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${CANARY.apiKey}`,
        'x-runware-dry-run': '1',
      },
      body: JSON.stringify([img({ includeCost: true })]),
    });
    return (await res.json()) as Body;
  };
  it('ignored by default: the "dry" task runs and would be billed, which is why the client never relies on it', async () => {
    sim.state.reset();
    const b = await dry();
    expect(b.data?.[0]?.imageURL).toBeTruthy();
    expect(sim.state.accepted.size).toBe(1);
  });
  it('or acknowledged, or priced, without running', async () => {
    for (const mode of ['ack', 'priced'] as const) {
      sim.state.reset();
      sim.state.options.dryRun = mode;
      const b = await dry();
      expect(b.data?.[0]).toMatchObject({ dryRun: true, ...(mode === 'priced' ? { cost: expect.any(Number) } : {}) });
      expect(sim.state.accepted.size).toBe(0);
    }
    sim.state.reset();
  });
});

describe('simulator subcommand', () => {
  it('prints its URLs and the keys it accepts, then serves until stopped', async () => {
    const child = spawn(process.execPath, [CLI, 'simulator', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.trim().endsWith('}'), { timeoutMs: 15_000, what: "the simulator's address" });
    const info = JSON.parse(out) as { simulator: { runwareUrl: string }; env: Record<string, string> };
    const res = await fetch(info.simulator.runwareUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.env.RUNWARE_API_KEY}` },
      body: '[{"taskType":"ping"}]',
    });
    expect(res.status).toBe(200);
    child.kill('SIGINT');
    await new Promise((r) => child.on('close', r));
  });
});
