/**
 * Recovery through the built server over stdio: bounded waits whatever the
 * upstream does, transient failures learned from a poll retried as new tasks,
 * sync tasks recovered by their UUID, and the model's default size.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { Capture, connectStdio, imageTask, runCli, simEnv, startSim } from '../helpers.js';

const capture = new Capture();
let sim: Simulator;
let client: Client;
let close: () => Promise<void>;
let env: Record<string, string>;

async function call(
  name: string,
  args: Record<string, unknown>,
): Promise<{ r: CallToolResult; sc: Record<string, unknown>; ms: number }> {
  const t0 = Date.now();
  const r = (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
  capture.add(r);
  return { r, sc: (r.structuredContent ?? {}) as Record<string, unknown>, ms: Date.now() - t0 };
}

const imageRequests = () =>
  sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<Record<string, unknown>>) : []))
    .filter((t) => t.taskType === 'imageInference');

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  // Real client timings (no RUNWARE_TIME_SCALE): the waits below are the production ones.
  env = simEnv(sim, { HOME: capture.tempDir(), RUNWARE_OUTPUT_DIR: capture.tempDir() });
  const c = await connectStdio([], env, capture);
  client = c.client;
  close = c.close;
});
afterAll(async () => {
  await close?.();
  await sim?.stop();
});

describe('waits are bounded', () => {
  it('a submit that is never answered: text-to-image returns within waitSeconds, with the UUID', async () => {
    sim.state.reset();
    sim.addFaults({ kind: 'latency', ms: 60_000, count: 20 });
    const { sc, ms } = await call('runware_text_to_image', {
      prompt: 'a fox',
      width: 512,
      height: 512,
      waitSeconds: 3,
    });
    // The wait plus a margin for a busy machine; unbounded, it would last the minute the answer is held.
    expect(ms).toBeLessThan(3000 + 5000);
    expect(['unknown', 'processing']).toContain(sc.status);
    expect(sc.taskUUID).toMatch(/^[0-9a-f-]{36}$/);
    expect(String(sc.next)).toContain('runware_poll');
    sim.state.reset();
  }, 30_000);

  it('polls that are never answered: runware_poll returns within waitSeconds', async () => {
    sim.addFaults({ kind: 'latency', ms: 60_000, count: 50 });
    const { ms } = await call('runware_poll', { taskUUID: '3b241101-e2bb-4255-8caf-4136c566a962', waitSeconds: 2 });
    // The wait plus a margin for a busy machine; each unanswered poll alone would take its 10 s read timeout.
    expect(ms).toBeLessThan(2000 + 5000);
    sim.state.reset();
  }, 30_000);
});

describe('transient failures, however learned', () => {
  it('a timeoutProvider learned from a poll of async work is retried as a new task under a fresh UUID', async () => {
    sim.state.reset();
    sim.addFaults({ kind: 'asyncError', code: 'timeoutProvider' });
    // Video is always async (images now go sync when they fit the wait).
    const { sc } = await call('runware_run', {
      model: 'klingai:5@3',
      params: { positivePrompt: 'waves', duration: 5 },
      waitSeconds: 20,
    });
    expect(sc.status).toBe('success');
    const attempts = sc.attempts as Array<{ taskUUID: string; outcome: string }>;
    expect(attempts.some((a) => a.outcome.includes('timeoutProvider'))).toBe(true);
    const uuids = new Set(attempts.map((a) => a.taskUUID));
    expect(uuids.size).toBe(2);
    expect(sc.taskUUID).toBe(attempts.at(-1)!.taskUUID);
    const sent = sim
      .runwareRequests()
      .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<Record<string, unknown>>) : []))
      .filter((t) => t.taskType === 'videoInference')
      .map((t) => t.taskUUID);
    expect(new Set(sent).size).toBe(2);
  }, 60_000);

  it('a timeoutProvider on a sync image is retried as a new task under a fresh UUID', async () => {
    sim.state.reset();
    sim.addFaults({ kind: 'taskError', code: 'timeoutProvider' });
    const { sc } = await call('runware_text_to_image', { prompt: 'a fox', width: 512, height: 512, waitSeconds: 20 });
    expect(sc.status).toBe('success');
    expect(imageRequests().every((t) => t.deliveryMethod === 'sync')).toBe(true);
    const attempts = sc.attempts as Array<{ taskUUID: string; outcome: string }>;
    expect(attempts.some((a) => a.outcome.includes('timeoutProvider'))).toBe(true);
    expect(new Set(imageRequests().map((t) => t.taskUUID)).size).toBe(2);
  }, 60_000);

  it('a permanent code (modelUnavailable) is never retried', async () => {
    sim.state.reset();
    sim.addFaults({ kind: 'taskError', code: 'modelUnavailable' });
    const { r, sc } = await call('runware_text_to_image', {
      prompt: 'a fox',
      width: 512,
      height: 512,
      waitSeconds: 10,
    });
    expect(r.isError).toBe(true);
    expect((sc.errors as Array<{ code: string }>)[0]!.code).toBe('modelUnavailable');
    expect(imageRequests()).toHaveLength(1);
  });
});

describe('reads are reads', () => {
  it('runware_poll and CLI poll recover a sync task by its UUID (getTaskDetails), sending nothing new', async () => {
    sim.state.reset();
    const { sc } = await call('runware_request', { tasks: [imageTask({ numberResults: 2 })] });
    const uuid = (sc.tasks as Array<{ taskUUID: string }>)[0]!.taskUUID;
    const p = await call('runware_poll', { taskUUID: uuid, numberResults: 2 });
    expect(p.sc.status).toBe('success');
    expect(p.sc.results).toHaveLength(2);
    const cli = await runCli(['poll', uuid, '--number-results', '2'], env, capture);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).results).toHaveLength(2);
    expect(imageRequests()).toHaveLength(1);
    const reads = sim
      .runwareRequests()
      .flatMap((e) => e.body as Array<{ taskType: string; taskUUID: string }>)
      .filter((t) => t.taskType === 'getTaskDetails');
    expect(reads.every((t) => t.taskUUID === uuid)).toBe(true);
  });

  it('a UUID Runware has no record of comes back "unknown", with what to do', async () => {
    sim.state.reset();
    const p = await call('runware_poll', { taskUUID: '3b241101-e2bb-4255-8caf-4136c566a962' });
    expect(p.sc.status).toBe('unknown');
    expect(String(p.sc.next)).toMatch(/no record/);
  });
});

describe('sizes', () => {
  it("text-to-image without a size sends the model's default from model search", async () => {
    sim.state.reset();
    const { sc } = await call('runware_text_to_image', {
      prompt: 'a portrait',
      model: 'civitai:4201@130072',
      waitSeconds: 20,
    });
    expect(sc.status).toBe('success');
    expect(imageRequests()[0]).toMatchObject({ width: 512, height: 768 });
  });
});

describe('leaks', () => {
  it('no canary in any output', () => {
    expect(capture.leaks()).toEqual([]);
  });
});
