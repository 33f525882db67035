/**
 * Early saves under attack, in process (real createServer() + SDK Client,
 * against the simulator): what a poll takes as "saved earlier" is checked on
 * the file itself, two polls of one task at once do not save an output twice,
 * and a cancelled poll leaves no part file.
 */
import { linkSync, mkdtempSync, readdirSync, existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, withSimulator } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { startSim, waitFor } from '../helpers.js';
import { durationKey } from '../../src/runware/delivery.js';
import { serveInProcess } from '../in-process.js';

const SCALE = 0.02;
let sim: Simulator;
let out: string;
let outside: string;
const opened: Array<{ app: AppContext; client: Client }> = [];

async function open(stateDir: string, env: Record<string, string> = {}): Promise<{ client: Client; app: AppContext }> {
  const app = new AppContext(
    withSimulator(
      loadConfig({
        RUNWARE_STATE_DIR: stateDir,
        RUNWARE_OUTPUT_DIR: out,
        RUNWARE_SIM_TIME_SCALE: String(SCALE),
        RUNWARE_LOG_LEVEL: 'error',
        RUNWARE_PREVIEW_MAX_BYTES: '0',
        ...env,
      }),
      sim.info,
    ),
    new Logger('error'),
  );
  const { client } = await serveInProcess(app, { name: 'early-save-attacks' });
  opened.push({ app, client });
  return { client, app };
}

type Out = Record<string, unknown> & { taskUUID: string; status: string };
type File = { index: number; savedTo?: string; saveError?: string };
async function call(client: Client, name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<Out> {
  const r = await client.callTool({ name, arguments: args }, undefined, {
    timeout: 30_000,
    ...(signal ? { signal } : {}),
  });
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return r.structuredContent as Out;
}
const listed = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);
const image = (extra: Record<string, unknown>) => ({ prompt: 'a lighthouse', width: 512, height: 512, ...extra });

beforeAll(async () => {
  sim = await startSim({ timeScale: SCALE });
  out = mkdtempSync(join(tmpdir(), 'rw-early-attack-'));
  outside = mkdtempSync(join(tmpdir(), 'rw-early-outside-'));
});
afterEach(() => sim.state.reset());
afterAll(async () => {
  for (const o of opened) {
    await o.client.close();
    await o.app.close();
  }
  await sim.stop();
});

describe('what a poll takes as saved earlier is checked on the file itself', () => {
  it('a saved output now hard-linked from elsewhere, or swapped for a symlink, is saved again, never reported as it is', async () => {
    const { client } = await open(join(out, 'state-links'));
    const dir = join(out, 'links');
    const r = await call(
      client,
      'runware_text_to_image',
      image({ numberResults: 2, waitSeconds: 20, saveTo: 'links/' }),
    );
    expect(r.status).toBe('success');
    const [a, b] = (r.images as Array<{ savedTo: string }>).map((i) => i.savedTo);
    // One gains a second name outside the folder; the other becomes a link to a file outside.
    linkSync(a!, join(outside, 'second-name.png'));
    rmSync(b!);
    writeFileSync(join(outside, 'elsewhere.png'), 'not the output');
    symlinkSync(join(outside, 'elsewhere.png'), b!);
    const p = await call(client, 'runware_poll', { taskUUID: r.taskUUID, saveTo: 'links/' });
    const files = (p.files as File[]).map((f) => f.savedTo);
    expect(files).toHaveLength(2);
    expect(files).not.toContain(a);
    expect(files).not.toContain(b);
    expect(new Set(files).size).toBe(2);
    // The link and the linked file are left as they were.
    expect(listed(dir)).toHaveLength(4);
    expect(listed(outside).sort()).toEqual(['elsewhere.png', 'second-name.png']);
  });
});

describe('a record edited to give one output the file of another', () => {
  it('the output whose record names a file not its own is saved, and no path is reported for two outputs', async () => {
    const { client, app } = await open(join(out, 'state-edited'));
    const r = await call(
      client,
      'runware_text_to_image',
      image({ numberResults: 2, waitSeconds: 20, saveTo: 'edited/' }),
    );
    const imgs = r.images as Array<{ savedTo: string; imageUUID: string }>;
    // The second output's record now names the first one's file (a hand edit, or another process's bad write).
    await app.journal.recordSaves(r.taskUUID, [imgs[0]!.savedTo], [imgs[1]!.imageUUID]);
    const p = await call(client, 'runware_poll', { taskUUID: r.taskUUID, saveTo: 'edited/' });
    const files = (p.files as File[]).map((f) => f.savedTo!);
    expect(files[0]).toBe(imgs[0]!.savedTo);
    expect(files[1]).not.toBe(imgs[0]!.savedTo);
    expect(basename(files[1]!)).toContain(imgs[1]!.imageUUID);

    // Named by the caller (pic-1, pic-2), the names cannot tell: a path two records name is reported for neither.
    const n = await call(
      client,
      'runware_text_to_image',
      image({ numberResults: 2, waitSeconds: 20, saveTo: 'edited/pic.png' }),
    );
    const named = n.images as Array<{ savedTo: string; imageUUID: string }>;
    await app.journal.recordSaves(n.taskUUID, [named[0]!.savedTo], [named[1]!.imageUUID]);
    const q = await call(client, 'runware_poll', { taskUUID: n.taskUUID, saveTo: 'edited/pic.png' });
    expect(new Set((q.files as File[]).map((f) => f.savedTo)).size).toBe(2);
  });
});

describe('two processes poll the same task into one folder at once', () => {
  it('each output is saved once, nothing is overwritten, and both report the same files', async () => {
    const state = join(out, 'state-both');
    const first = (await open(state)).client;
    const second = (await open(state)).client;
    const dir = join(out, 'both');
    sim.state.hold({ resultsFrom: 0 });
    const sent = await call(first, 'runware_text_to_image', image({ numberResults: 2, waitSeconds: 0 }));
    const poll = (c: Client) => call(c, 'runware_poll', { taskUUID: sent.taskUUID, waitSeconds: 10, saveTo: 'both/' });
    const both = Promise.all([poll(first), poll(second)]);
    await waitFor(() => sim.state.log.filter((e) => String(JSON.stringify(e)).includes('getResponse')).length >= 2, {
      what: 'both polls waiting',
    });
    sim.state.release();
    const [a, b] = await both;
    const paths = (p: Out) => (p.files as File[]).map((f) => f.savedTo).sort();
    expect(paths(a)).toHaveLength(2);
    expect(paths(b)).toEqual(paths(a));
    expect(listed(dir)).toHaveLength(2);
  });
});

describe('cancellation while outputs are saved early', () => {
  const parts = (dir: string): string[] => listed(dir).filter((f) => f.endsWith('.part'));

  it('a poll cancelled with a download in flight leaves no part file; the next poll saves each output once', async () => {
    const { client } = await open(join(out, 'state-cancel-poll'));
    const dir = join(out, 'cancel-poll');
    const sent = await call(client, 'runware_text_to_image', image({ numberResults: 2, waitSeconds: 0 }));
    sim.state.hold({ resultsFrom: 1, media: true });
    const ac = new AbortController();
    const polling = call(
      client,
      'runware_poll',
      { taskUUID: sent.taskUUID, waitSeconds: 20, saveTo: 'cancel-poll/' },
      ac.signal,
    );
    await waitFor(() => parts(dir).length === 1, { what: "the first output's download in flight" });
    ac.abort();
    await expect(polling).rejects.toThrow();
    await waitFor(() => parts(dir).length === 0, { what: 'the part file removed' });
    sim.state.release();
    const p = await call(client, 'runware_poll', { taskUUID: sent.taskUUID, waitSeconds: 10, saveTo: 'cancel-poll/' });
    expect(new Set((p.files as File[]).map((f) => f.savedTo)).size).toBe(2);
    expect(listed(dir)).toHaveLength(2);
  });
});

describe('spend, with a batch saved across two calls', () => {
  it("the task is settled at the batch's cost once, whatever was saved before the wait ran out", async () => {
    const state = join(out, 'state-spend');
    const cap = { RUNWARE_MAX_SPEND_USD: '5' };
    const { client, app } = await open(state, cap);
    // Learned as longer than the wait: sent async and polled, so the first two are saved by this call.
    app.journal.durations.learn(durationKey({ taskType: 'imageInference', model: 'runware:101@1' }), 5000);
    sim.state.hold({ resultsFrom: 2 });
    const r = await call(
      client,
      'runware_text_to_image',
      image({ numberResults: 4, waitSeconds: 1, saveTo: 'spend/' }),
    );
    expect((r.images as Array<{ savedTo?: string }>).filter((i) => i.savedTo)).toHaveLength(2);
    sim.state.release();
    const other = await open(state, cap);
    const p = await call(other.client, 'runware_poll', { taskUUID: r.taskUUID, waitSeconds: 10 });
    expect(p.status).toBe('success');
    const cost = (p.results as Array<{ cost: number }>).reduce((a, x) => a + x.cost, 0);
    const record = await (await other.app.journal.state()).getTask(r.taskUUID);
    expect(record?.cost).toBeCloseTo(cost, 6);
    // Polled again, saving nothing more: the day's spend does not move.
    const spent = await other.app.journal.spentToday();
    await call(client, 'runware_poll', { taskUUID: r.taskUUID, saveTo: 'spend/' });
    expect(await other.app.journal.spentToday()).toBe(spent);
    expect(listed(join(out, 'spend'))).toHaveLength(4);
  });
});

describe('the folder changed between the call and the poll', () => {
  it('another saveTo gets every output; a folder swapped for a link outside is refused, nothing written there', async () => {
    const { client } = await open(join(out, 'state-moved'));
    const r = await call(
      client,
      'runware_text_to_image',
      image({ numberResults: 2, waitSeconds: 20, saveTo: 'moved/' }),
    );
    const p = await call(client, 'runware_poll', { taskUUID: r.taskUUID, saveTo: 'moved-too/' });
    expect((p.files as File[]).every((f) => f.savedTo?.startsWith(join(out, 'moved-too')))).toBe(true);
    expect(listed(join(out, 'moved-too'))).toHaveLength(2);
    // The folder the record names is now a link to a folder outside the roots.
    const away = mkdtempSync(join(tmpdir(), 'rw-early-away-'));
    rmSync(join(out, 'moved'), { recursive: true });
    symlinkSync(away, join(out, 'moved'));
    const refused = await client.callTool({
      name: 'runware_poll',
      arguments: { taskUUID: r.taskUUID, saveTo: 'moved/' },
    });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain('saveTo');
    expect(readdirSync(away)).toEqual([]);
  });
});

describe('a call cancelled after an output was saved', () => {
  it('records the save, so the next poll reports that file and saves only the rest', async () => {
    const { client } = await open(join(out, 'state-cut'), { RUNWARE_TRANSPORT: 'ws' });
    const dir = join(out, 'cut');
    sim.state.hold({ resultsFrom: 1 });
    const ac = new AbortController();
    const running = client
      .callTool(
        { name: 'runware_text_to_image', arguments: image({ numberResults: 2, waitSeconds: 20, saveTo: 'cut/' }) },
        undefined,
        { timeout: 30_000, signal: ac.signal },
      )
      .catch((e: unknown) => e);
    const first = await waitFor(() => listed(dir).find((f) => !f.endsWith('.part')), {
      what: 'the first output saved',
    });
    ac.abort();
    expect(await running).toBeInstanceOf(Error);
    const sent = sim.state.log.map((e) => JSON.stringify(e.body ?? '')).find((b) => b.includes('imageInference'));
    const taskUUID = /"taskUUID":"([0-9a-f-]{36})"/.exec(sent ?? '')?.[1];
    sim.state.release();
    const p = await call(client, 'runware_poll', { taskUUID: taskUUID!, waitSeconds: 10, saveTo: 'cut/' });
    const files = (p.files as File[]).map((f) => f.savedTo);
    expect(files).toContain(join(dir, first));
    expect(new Set(files).size).toBe(2);
    expect(listed(dir)).toHaveLength(2);
  });
});

describe('a task Runware no longer knows, whose outputs were saved', () => {
  it('a poll reports the saved files and never says it is safe to submit again', async () => {
    const state = join(out, 'state-forgot');
    const { client } = await open(state);
    const r = await call(
      client,
      'runware_text_to_image',
      image({ numberResults: 2, waitSeconds: 20, saveTo: 'forgot/' }),
    );
    const saved = (r.images as Array<{ savedTo: string }>).map((i) => i.savedTo);
    // Runware forgets it (expired, or a sync task getResponse never saw).
    sim.state.reset();
    const p = await call((await open(state)).client, 'runware_poll', { taskUUID: r.taskUUID, saveTo: 'forgot/' });
    expect(p.status).toBe('unknown');
    expect((p.files as File[] | undefined)?.map((f) => f.savedTo).sort()).toEqual(saved.sort());
    expect(JSON.stringify(p.next)).not.toMatch(/safe to submit/);
    expect(JSON.stringify(p.next)).toMatch(/do not submit it again/);
  });
});
