/**
 * A batch's outputs are saved as each arrives, in process (real createServer()
 * + SDK Client, against the simulator): the simulator holds a batch's later
 * results back until the test releases them, so what is on disk meanwhile is
 * seen, not guessed at. A call that runs out of wait reports (and records) what
 * it saved; a later poll, in another process, saves only the rest.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, withSimulator } from '../../src/config.js';
import { durationKey } from '../../src/runware/delivery.js';
import { oncePerResult, resultsOf } from '../../src/runware/early-results.js';
import type { DataItem } from '../../src/runware/errors.js';
import { ledgerTask, outcomeRecord } from '../../src/runware/ledger-records.js';
import { AppContext } from '../../src/services/context.js';
import { Journal } from '../../src/state/journal.js';
import { SqliteState } from '../../src/state/sqlite.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { startSim, waitFor } from '../helpers.js';
import { serveInProcess } from '../in-process.js';

const SCALE = 0.02;
let sim: Simulator;
let out: string;
const opened: Array<{ app: AppContext; client: Client }> = [];

/** A server process of its own (in process): its own client and transport, the journal in `stateDir`. */
async function open(stateDir: string, env: Record<string, string> = {}): Promise<Client> {
  const app = new AppContext(
    withSimulator(
      loadConfig({
        RUNWARE_STATE_DIR: stateDir,
        RUNWARE_OUTPUT_DIR: out,
        RUNWARE_SIM_TIME_SCALE: String(SCALE),
        RUNWARE_LOG_LEVEL: 'error',
        // A contact sheet of four costs more time than the rest of a test (previews: test/unit/preview.test.ts).
        RUNWARE_PREVIEW_MAX_BYTES: '0',
        ...env,
      }),
      sim.info,
    ),
    new Logger('error'),
  );
  const { client } = await serveInProcess(app, { name: 'early-save' });
  opened.push({ app, client });
  return client;
}

type Out = Record<string, unknown> & { taskUUID: string; status: string };
async function call(client: Client, name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<Out> {
  const r = await client.callTool({ name, arguments: args }, undefined, {
    timeout: 30_000,
    ...(signal ? { signal } : {}),
  });
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return r.structuredContent as Out;
}

const batch = (extra: Record<string, unknown>) => ({
  prompt: 'four lighthouses',
  width: 512,
  height: 512,
  numberResults: 4,
  ...extra,
});
/** Files in `dir`: the saved ones, and part files of downloads in flight. */
const saved = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : []);
const parts = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.part')) : []);
/** Whether a promise has settled yet (one turn of the event loop decides). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

beforeAll(async () => {
  sim = await startSim({ timeScale: SCALE });
  out = mkdtempSync(join(tmpdir(), 'rw-early-save-'));
});
afterEach(() => sim.state.reset());
afterAll(async () => {
  for (const o of opened) {
    await o.client.close();
    await o.app.close();
  }
  await sim.stop();
});

describe('a batch is saved as each output arrives', () => {
  it('runware_poll saves the first output while the other three are still held, then the rest, once each', async () => {
    const client = await open(join(out, 'state-poll'));
    const dir = join(out, 'polled');
    sim.state.hold({ resultsFrom: 1 });
    const sent = await call(client, 'runware_text_to_image', batch({ waitSeconds: 0 }));
    expect(sent.status).toBe('processing');
    const polling = call(client, 'runware_poll', { taskUUID: sent.taskUUID, waitSeconds: 20, saveTo: 'polled/' });
    await waitFor(() => saved(dir).length === 1, { what: 'the first output on disk while the others are held' });
    expect(await settled(polling)).toBe(false);
    sim.state.release();
    const r = await polling;
    expect(r.status).toBe('success');
    const files = r.files as Array<{ index: number; savedTo?: string }>;
    expect(files.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    expect(new Set(files.map((f) => f.savedTo)).size).toBe(4);
    expect(saved(dir).sort()).toEqual(files.map((f) => f.savedTo!.split('/').pop()).sort());
    expect(parts(dir)).toEqual([]);
  });

  it('over a WebSocket whose sync answer comes one frame per result, the first is on disk before the last frame', async () => {
    const client = await open(join(out, 'state-ws'), { RUNWARE_TRANSPORT: 'ws' });
    const dir = join(out, 'frames');
    sim.state.hold({ resultsFrom: 1 });
    const running = call(client, 'runware_text_to_image', batch({ waitSeconds: 20, saveTo: 'frames/' }));
    await waitFor(() => saved(dir).length === 1, { what: 'the first frame saved while the others are held' });
    expect(await settled(running)).toBe(false);
    sim.state.release();
    const r = await running;
    expect(r.status).toBe('success');
    const images = r.images as Array<{ savedTo?: string }>;
    expect(new Set(images.map((i) => i.savedTo)).size).toBe(4);
    expect(saved(dir)).toHaveLength(4);
    // It went sync, over the socket (the case the framing switch is about).
    expect(sim.state.log.some((e) => String(JSON.stringify(e.body)).includes('"deliveryMethod":"sync"'))).toBe(true);

    // The other answer of the unknown, one frame per task: the four come together and each is saved once.
    sim.state.options.wsFraming = 'oneFrame';
    const one = await call(client, 'runware_text_to_image', batch({ waitSeconds: 20, saveTo: 'oneframe/' }));
    expect(one.status).toBe('success');
    expect(saved(join(out, 'oneframe'))).toHaveLength(4);
  });

  it('a call cancelled with a download in flight leaves no part file', async () => {
    const client = await open(join(out, 'state-cancel'), { RUNWARE_TRANSPORT: 'ws' });
    const dir = join(out, 'cancelled');
    sim.state.hold({ resultsFrom: 1, media: true });
    const ac = new AbortController();
    const running = call(client, 'runware_text_to_image', batch({ waitSeconds: 20, saveTo: 'cancelled/' }), ac.signal);
    await waitFor(() => parts(dir).length === 1, { what: "the first output's download in flight" });
    ac.abort();
    await expect(running).rejects.toThrow();
    await waitFor(() => parts(dir).length === 0, { what: 'the part file removed' });
    expect(saved(dir)).toEqual([]);
  });
});

describe('a call that runs out of wait after some outputs were saved', () => {
  it('reports the 2 saved with the poll step; a poll in another process saves exactly the other 2', async () => {
    const state = join(out, 'state-shared');
    const first = await open(state);
    const dir = join(out, 'halfway');
    // A first call pays the process's cold start (lookups, caches), so the one-second wait below is all waiting.
    await call(first, 'runware_text_to_image', { prompt: 'warm up', width: 512, height: 512, waitSeconds: 0 });
    // Learned as longer than the wait: sent async and polled (sync would hold the whole answer back).
    const ctx = opened.at(-1)!.app;
    // 3.3 s against a 4 s wait: async (over 80% of it), first poll aimed at 3.2 s, then tight polls to the end
    // of the wait, so the first two outputs are seen even when a loaded machine makes one poll miss.
    ctx.journal.durations.learn(durationKey({ taskType: 'imageInference', model: 'runware:101@1' }), 3300);
    sim.state.hold({ resultsFrom: 2 });
    const r = await call(first, 'runware_text_to_image', batch({ waitSeconds: 4, saveTo: 'halfway/' }));
    expect(r.status).toBe('processing');
    const early = (r.images as Array<{ savedTo?: string; imageUUID?: string }>).filter((i) => i.savedTo);
    expect(early).toHaveLength(2);
    expect(saved(dir)).toHaveLength(2);
    expect(String(r.next)).toContain('runware_poll');
    expect(String(r.next)).toContain('halfway/');
    // Recorded, so another process knows.
    const rec = await (await ctx.journal.state()).getTask(r.taskUUID);
    expect(rec?.outputs.filter((o) => o.savedTo).map((o) => o.savedTo)).toEqual(early.map((i) => i.savedTo));

    sim.state.release();
    const other = await open(state);
    const p = await call(other, 'runware_poll', { taskUUID: r.taskUUID, waitSeconds: 10 });
    expect(p.status).toBe('success');
    const files = p.files as Array<{ index: number; savedTo?: string }>;
    expect(files).toHaveLength(4);
    expect(new Set(files.map((f) => f.savedTo)).size).toBe(4);
    for (const e of early) expect(files.map((f) => f.savedTo)).toContain(e.savedTo);
    expect(saved(dir)).toHaveLength(4);
    // Polling again saves nothing more.
    const again = await call(other, 'runware_poll', { taskUUID: r.taskUUID, saveTo: 'halfway/' });
    expect((again.files as Array<{ savedTo?: string }>).map((f) => f.savedTo)).toEqual(files.map((f) => f.savedTo));
    expect(saved(dir)).toHaveLength(4);
  });
});

describe('a sync wait over a WebSocket that runs out after some frames', () => {
  it('reports the frames it saved (the outcome does not list them) and records them; a poll saves only the rest', async () => {
    const state = join(out, 'state-ws-out');
    const client = await open(state, { RUNWARE_TRANSPORT: 'ws' });
    const dir = join(out, 'wsout');
    await call(client, 'runware_text_to_image', { prompt: 'warm up', width: 512, height: 512, waitSeconds: 0 });
    sim.state.hold({ resultsFrom: 2 });
    const r = await call(client, 'runware_text_to_image', batch({ waitSeconds: 2, saveTo: 'wsout/' }));
    expect(['processing', 'unknown']).toContain(r.status);
    const early = (r.images as Array<{ savedTo?: string }>).filter((i) => i.savedTo).map((i) => i.savedTo);
    expect(early).toHaveLength(2);
    expect(r.progress).toBeGreaterThanOrEqual(50);
    expect(String(r.next)).toContain('runware_poll');
    sim.state.release();
    const p = await call(await open(state), 'runware_poll', {
      taskUUID: r.taskUUID,
      waitSeconds: 10,
      saveTo: 'wsout/',
    });
    expect(p.status).toBe('success');
    const files = (p.files as Array<{ savedTo?: string }>).map((f) => f.savedTo);
    expect(new Set(files).size).toBe(4);
    for (const e of early) expect(files).toContain(e);
    expect(saved(dir)).toHaveLength(4);
  });
});

describe("each result is told once, and only the task's own", () => {
  it('a repeated frame, another task, another type or an unfinished item are not told', () => {
    const told: DataItem[] = [];
    const hook = resultsOf(
      { taskUUID: 'a', taskType: 'imageInference' },
      oncePerResult((i) => told.push(i)),
    );
    const img = { taskType: 'imageInference', taskUUID: 'a', imageUUID: 'u1', imageURL: 'https://x/u1.jpg' };
    hook(img);
    hook({ ...img });
    hook({ ...img, taskUUID: 'b', imageUUID: 'u2' });
    hook({ ...img, taskType: 'videoInference', imageUUID: 'u3' });
    hook({ taskType: 'imageInference', taskUUID: 'a', status: 'processing' });
    hook({ ...img, imageUUID: 'u4', imageURL: 'https://x/u4.jpg' });
    expect(told.map((i) => i.imageUUID)).toEqual(['u1', 'u4']);
  });
});

describe('the journal keeps saves by output UUID', () => {
  it('a save the outcome did not list is added, survives the next outcome, and lands on its own output whatever the order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-early-journal-'));
    const journal = new Journal({
      open: async () => SqliteState.open(dir),
      logger: new Logger('error'),
      maxSpendUsd: undefined,
    });
    try {
      const task = ledgerTask({
        taskType: 'imageInference',
        taskUUID: randomUUID(),
        model: 'runware:101@1',
        deliveryMethod: 'sync',
        numberResults: 3,
      });
      await journal.admit([task], []);
      const item = (n: number) => ({
        taskUUID: task.taskUUID,
        imageUUID: `u${n}`,
        imageURL: `https://x/${n}.png`,
        cost: 0.01,
      });
      // The wait ran out before the outcome knew any result; two were saved from their frames.
      await journal.recordOutcome(
        task,
        outcomeRecord({ taskUUID: task.taskUUID, status: 'processing', results: [], errors: [] }),
      );
      await journal.recordSaves(task.taskUUID, ['/out/a.png', '/out/b.png'], ['u2', 'u0']);
      const store = await journal.state();
      expect((await store.getTask(task.taskUUID))?.outputs).toEqual([
        { uuid: 'u2', savedTo: '/out/a.png' },
        { uuid: 'u0', savedTo: '/out/b.png' },
      ]);
      // The poll's outcome lists all three, in its own order: each saved path stays with its output.
      const all = outcomeRecord({
        taskUUID: task.taskUUID,
        status: 'success',
        results: [item(0), item(1), item(2)],
        errors: [],
      });
      await journal.recordOutcome(undefined, all);
      expect((await store.getTask(task.taskUUID))?.outputs.map((o) => [o.uuid, o.savedTo])).toEqual([
        ['u0', '/out/b.png'],
        ['u1', undefined],
        ['u2', '/out/a.png'],
      ]);
    } finally {
      await journal.close();
    }
  });
});
