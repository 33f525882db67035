/**
 * Attacks on the speed work (#29), in process (real createServer() + SDK
 * Client, against the simulator, REST through a rewriting proxy where the
 * upstream lies): learned run times that are junk in the shared store, a
 * burst of calls that would teach the queue as the run time, and a sync
 * answer whose cost is negative. Each asserts the guarantee it attacks:
 * no spinning or hanging wait (7), the day's spend never lowered by a lie (9).
 */
import { createServer as createHttp, type Server } from 'node:http';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { durationKey, syncProgress } from '../../src/runware/delivery.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { utcDay } from '../../src/state/journal.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, clientFor, imageTask, simEnv, startSim, waitFor } from '../helpers.js';
import { Rules } from '../../src/runware/rules.js';
import { WsTransport } from '../../src/runware/ws.js';
import { HttpCache } from '../../src/runware/schemas/http-cache.js';
import { CancelledError } from '../../src/shared/errors.js';
import { serveInProcess } from '../in-process.js';

let sim: Simulator;
let proxy: Server;
let proxyUrl: string;
/** Rewrites the body of a Runware answer on its way back (REST only), when set. */
let rewrite: ((body: { data?: Array<Record<string, unknown>> }) => unknown) | undefined;

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  proxy = createHttp((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const up = await fetch(sim.info.runwareUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: String(req.headers.authorization),
            ...(req.headers['x-runware-dry-run']
              ? { 'x-runware-dry-run': String(req.headers['x-runware-dry-run']) }
              : {}),
          },
          body: Buffer.concat(chunks).toString(),
        });
        const text = await up.text();
        const out = rewrite
          ? JSON.stringify(rewrite(JSON.parse(text) as { data?: Array<Record<string, unknown>> }))
          : text;
        res.writeHead(up.status, { 'content-type': 'application/json' }).end(out);
      })();
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
});
afterEach(() => {
  rewrite = undefined;
  sim.state.reset();
});
afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await sim.stop();
});

const KEY = durationKey({ taskType: 'imageInference', model: 'runware:101@1' });

async function open(
  env: Record<string, string> = {},
): Promise<{ app: AppContext; client: Client; close: () => Promise<void> }> {
  const app = new AppContext(
    loadConfig(
      simEnv(sim, {
        RUNWARE_LOG_LEVEL: 'error',
        RUNWARE_SIM_TIME_SCALE: '0.02',
        RUNWARE_PREVIEW_MAX_BYTES: '0',
        ...env,
      }),
    ),
    new Logger('error'),
  );
  const { client, close } = await serveInProcess(app, { name: 'speed-attacks' });
  return {
    app,
    client,
    close: async () => {
      await close();
      await app.close();
    },
  };
}

const images = (): Array<{ taskUUID: string; deliveryMethod?: string }> =>
  sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<Record<string, unknown>>) : []))
    .filter((t) => t.taskType === 'imageInference') as Array<{ taskUUID: string; deliveryMethod?: string }>;
const polls = (): number =>
  sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<Record<string, unknown>>) : []))
    .filter((t) => t.taskType === 'getResponse' || t.taskType === 'getTaskDetails').length;

describe('a learned run time that is junk in the shared store', () => {
  // What another process, an older build or a hand edit could leave in the SQLite durations table.
  it.each([
    ["text ('abc')", "'abc'"],
    ['infinite', '9e999'],
    ['beyond any task (1e308 ms)', '1e308'],
    ['negative', '-5'],
  ])(
    '%s is "not learned": the image goes out sync, progress stays numeric and paced, and nothing waits for it',
    async (_name, junk) => {
      const state = mkdtempSync(join(tmpdir(), 'rw-junk-durations-'));
      const c = await open({ RUNWARE_STATE_DIR: state });
      try {
        await c.app.journal.state();
        const db = new Database(join(state, 'journal.sqlite'));
        db.prepare(`INSERT OR REPLACE INTO durations (key, ms, n, at) VALUES (?, ${junk}, 5, 0)`).run(KEY);
        db.close();
        sim.state.imageMs = 400;
        const progress: unknown[] = [];
        const errors: unknown[] = [];
        c.client.onerror = (e) => errors.push(e);
        const r = await c.client.callTool(
          {
            name: 'runware_text_to_image',
            arguments: { prompt: 'a junk-timed castle', width: 512, height: 512, waitSeconds: 20 },
          },
          undefined,
          { onprogress: (p) => progress.push(p.progress) },
        );
        expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
        expect((r.structuredContent as { status: string }).status).toBe('success');
        // Sent sync and handed back with the answer: no poll aimed at a time no task takes.
        expect(images().map((t) => t.deliveryMethod)).toEqual(['sync']);
        expect(polls()).toBe(0);
        // Progress a client can parse, paced by the tick (a 400 ms wait is a handful of reports, not hundreds).
        expect(errors).toEqual([]);
        expect(progress.every((p) => typeof p === 'number' && Number.isFinite(p))).toBe(true);
        expect(progress.at(-1)).toBe(100);
        expect(progress.length).toBeLessThan(20);
        // The junk is learned over, not folded into (an infinite mean would stay infinite for ever).
        const row = await waitFor(() => {
          const db2 = new Database(join(state, 'journal.sqlite'), { readonly: true });
          try {
            const r2 = db2.prepare('SELECT ms, n FROM durations WHERE key = ?').get(KEY) as { ms: unknown; n: number };
            return r2.n === 1 ? r2 : undefined;
          } finally {
            db2.close();
          }
        });
        expect(typeof row.ms === 'number' && row.ms > 0 && row.ms < 60_000, JSON.stringify(row)).toBe(true);
      } finally {
        await c.close();
      }
    },
  );

  it('a sync wait reports at its tick whatever estimate it is given, and only numbers', async () => {
    for (const expected of [Number.NaN, 'abc' as unknown as number, Infinity, -1, 0]) {
      const seen: number[] = [];
      const t = syncProgress(expected, (p) => seen.push(p.progress), 50);
      await new Promise((r) => setTimeout(r, 200));
      t.stop(true);
      expect(seen.length, String(expected)).toBeLessThan(10);
      expect(seen.every(Number.isFinite), String(expected)).toBe(true);
    }
  });
});

describe('a burst of calls through one permit', () => {
  it('learns how long the image ran, not how long it queued for the permit', async () => {
    const c = await open({ RUNWARE_MAX_CONCURRENCY: '1' });
    try {
      sim.state.imageMs = 400;
      const calls = Array.from({ length: 4 }, (_, i) =>
        c.client.callTool({
          name: 'runware_text_to_image',
          arguments: { prompt: `queued castle ${i}`, width: 512, height: 512, waitSeconds: 20 },
        }),
      );
      const rs = await Promise.all(calls);
      expect(rs.every((r) => !r.isError)).toBe(true);
      expect(images().every((t) => t.deliveryMethod === 'sync')).toBe(true);
      // One at a time: the last waited three runs for its permit. What is learned is one run and a request's
      // overhead (counting the queue would learn 400, 800, 1200 and 1600 ms: about 1040).
      const learned = await c.app.journal.durations.typical(KEY);
      expect(learned).toBeGreaterThanOrEqual(400);
      expect(learned).toBeLessThan(800);
    } finally {
      await c.close();
    }
  });
});

describe('a sync answer whose cost is negative', () => {
  it("does not lower the day's spend: the task keeps its reservation as spent, and the cap holds", async () => {
    // A cap of a few images at the published price ($0.001 for 512x512 here).
    const c = await open({ RUNWARE_API_URL: `${proxyUrl}/v1`, RUNWARE_MAX_SPEND_USD: '0.004' });
    try {
      const spent = async (): Promise<number> => (await (await c.app.journal.state()).spend(utcDay())).today;
      rewrite = (body) => ({
        ...body,
        data: body.data?.map((d) => (d.taskType === 'imageInference' && 'cost' in d ? { ...d, cost: -1000 } : d)),
      });
      const liar = await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a castle that pays you', width: 512, height: 512 },
      });
      expect(liar.isError, JSON.stringify(liar.structuredContent)).toBeFalsy();
      const after = await spent();
      expect(after).toBeGreaterThan(0);
      rewrite = undefined;
      let ran = 0;
      for (let i = 0; i < 6; i++) {
        const r = await c.client.callTool({
          name: 'runware_text_to_image',
          arguments: { prompt: `an honest castle ${i}`, width: 512, height: 512 },
        });
        if (!r.isError) ran++;
        else expect((r.structuredContent as { error: { code: string } }).error.code).toBe('spend_cap');
      }
      expect(await spent()).toBeLessThanOrEqual(0.004);
      expect(ran).toBeLessThan(6);
    } finally {
      await c.close();
    }
  });
});

describe('a dry-run probe whose answer states a negative cost', () => {
  it("does not lower the day's spend either", async () => {
    // A model without published pricing is quoted by the dry run first; the simulator ignores the header, so the probe runs.
    const c = await open({ RUNWARE_API_URL: `${proxyUrl}/v1`, RUNWARE_MAX_SPEND_USD: '0.5' });
    try {
      rewrite = (body) => ({ ...body, data: body.data?.map((d) => ('cost' in d ? { ...d, cost: -1000 } : d)) });
      const r = await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a castle', model: 'civitai:4384@128713', width: 512, height: 512 },
      });
      expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
      const probes = sim
        .runwareRequests()
        .filter((e) => e.headers['x-runware-dry-run'])
        .flatMap((e) => e.body as Array<{ taskType: string }>);
      expect(probes.map((t) => t.taskType)).toContain('promptEnhance');
      expect((await (await c.app.journal.state()).spend(utcDay())).today).toBeGreaterThan(0);
    } finally {
      await c.close();
    }
  });
});

describe('two calls sharing one schema lookup', () => {
  it("one caller's cancellation leaves the other's lookup whole: its bad input is refused, nothing sent", async () => {
    // A schema service that answers after 800 ms, so the second call joins the first one's lookup.
    let asked = 0;
    const slow = createHttp((req, res) => {
      asked++;
      setTimeout(() => {
        void fetch(`${sim.info.schemasUrl}${req.url}`).then(async (up) =>
          res
            .writeHead(up.status, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
            .end(await up.text()),
        );
      }, 800);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const c = await open({ RUNWARE_SCHEMAS_URL: `http://127.0.0.1:${(slow.address() as { port: number }).port}` });
    const other = await serveInProcess(c.app, { name: 'other-session' });
    try {
      const ac = new AbortController();
      const first = c.client.callTool(
        { name: 'runware_text_to_image', arguments: { prompt: 'cancelled castle', width: 512, height: 512 } },
        undefined,
        { signal: ac.signal },
      );
      for (let i = 0; i < 200 && asked === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // 520 is no multiple of 16: the live schema refuses it.
      const second = other.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a castle 520 wide', width: 520, height: 512 },
      });
      await new Promise((r) => setTimeout(r, 100));
      ac.abort();
      await expect(first).rejects.toThrow();
      const r = await second;
      expect(r.isError).toBe(true);
      expect((r.structuredContent as { error: { kind: string; field?: string } }).error).toMatchObject({
        kind: 'validation',
        field: 'width',
      });
      expect(images()).toEqual([]);
    } finally {
      await other.close();
      await c.close();
      await new Promise((r) => slow.close(r));
    }
  });
});

describe('WebSocket frames naming a sync task that are not its results', () => {
  // Injected before the simulator's real frames (its WebSocket endpoint's frames(), wrapped for this test).
  const junk: Record<string, (uuid: string) => unknown[]> = {
    'a "processing" marker': (uuid) => [
      { data: [{ taskType: 'imageInference', taskUUID: uuid, status: 'processing', progress: 10 }] },
    ],
    'a result of another type': (uuid) => [
      {
        data: [
          { taskType: 'videoInference', taskUUID: uuid, status: 'success', videoUUID: 'v', videoURL: `${proxyUrl}/v` },
        ],
      },
    ],
    'an item with nothing in it': (uuid) => [{ data: [{ taskType: 'imageInference', taskUUID: uuid }] }],
  };
  it.each(Object.keys(junk))('%s does not end a batch of two a result short', async (name) => {
    const ws = (sim as unknown as { ws: { frames: (t: Array<Record<string, unknown>>, o: unknown) => unknown[] } }).ws;
    const frames = ws.frames.bind(ws);
    ws.frames = (tasks, o) => {
      const t = tasks.find((x) => x.taskType === 'imageInference');
      return [...(t ? junk[name]!(String(t.taskUUID)) : []), ...frames(tasks, o)];
    };
    const c = await open({ RUNWARE_TRANSPORT: 'ws' });
    try {
      const r = await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'two castles', width: 512, height: 512, numberResults: 2, waitSeconds: 20 },
      });
      const out = r.structuredContent as { status: string; images: Array<{ imageURL?: string }> };
      expect(out.status).toBe('success');
      expect(out.images).toHaveLength(2);
      expect(out.images.every((i) => i.imageURL?.includes('/media/'))).toBe(true);
      expect(images()).toHaveLength(1);
    } finally {
      ws.frames = frames;
      await c.close();
    }
  });
});

describe('an answer with more results than the task makes', () => {
  it('saves files for as many results as the task makes; the rest are reported with their URLs, not fetched', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rw-extra-results-'));
    const c = await open({ RUNWARE_API_URL: `${proxyUrl}/v1`, RUNWARE_OUTPUT_DIR: out });
    try {
      // Thirty more "results" of the one image asked for, each a distinct output of the task's own type.
      rewrite = (body) => {
        const d = body.data?.find((x) => x.taskType === 'imageInference' && typeof x.imageURL === 'string');
        if (!d) return body;
        const extra = Array.from({ length: 30 }, (_, i) => ({
          ...d,
          imageUUID: `${String(d.imageUUID).slice(0, -4)}${String(i).padStart(4, '0')}`,
        }));
        return { ...body, data: [...(body.data ?? []), ...extra] };
      };
      const r = await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'one castle only', width: 512, height: 512, saveTo: 'one/' },
      });
      expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
      const img = (r.structuredContent as { images: Array<{ savedTo?: string; imageURL?: string }> }).images;
      // Partial success kept: every result is reported with its URL; one file is written, as asked.
      expect(img).toHaveLength(31);
      expect(img.every((i) => typeof i.imageURL === 'string')).toBe(true);
      expect(img.filter((i) => i.savedTo)).toHaveLength(1);
      expect(readdirSync(join(out, 'one'))).toHaveLength(1);
    } finally {
      await c.close();
    }
  });
});

describe('a call queued behind a sync wait that holds the only request slot', () => {
  it('ends within its own wait, and its task is not sent after its deadline', async () => {
    const c = await open({ RUNWARE_MAX_CONCURRENCY: '1' });
    try {
      sim.state.imageMs = 5000;
      const long = c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a slow castle', width: 512, height: 512, waitSeconds: 20 },
      });
      for (let i = 0; i < 300 && images().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      const short = await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a quick castle', width: 512, height: 512, waitSeconds: 1 },
      });
      const took = Date.now() - t0;
      // The slot is held for 5 s: a 1 s wait cannot have it, and says so in time rather than sending late.
      expect(took).toBeLessThan(3500);
      expect(JSON.stringify(short.structuredContent)).toMatch(/not sent|did not run/);
      expect((await long).isError).toBeFalsy();
      expect(images().map((t) => (t as { positivePrompt?: string }).positivePrompt)).toEqual(['a slow castle']);
    } finally {
      await c.close();
    }
  });
});

describe('two sync sends over a WebSocket not yet connected', () => {
  it("share the connection, each within its own budget: the one with no time left does not fail the other's", async () => {
    const logger = new Logger('error');
    const ws = new WsTransport({ url: sim.info.wsUrl, apiKey: CANARY.apiKey, logger });
    const rules = new Rules();
    const task = (prompt: string) =>
      rules.prepare({ ...imageTask({ positivePrompt: prompt }), deliveryMethod: 'sync' })[0]!;
    try {
      const hurried = ws.send([task('a hurried castle')], { timeoutMs: 1 });
      const patient = ws.send([task('a patient castle')], { timeoutMs: 10_000 });
      await expect(hurried).rejects.toMatchObject({ causeCode: 'AUTH_TIMEOUT', sent: false });
      const r = await patient;
      expect(r.status).toBe(200);
      expect((r.body as { data: Array<{ imageURL?: string }> }).data[0]?.imageURL).toBeTruthy();
    } finally {
      await ws.close();
    }
  });
});

describe('a wait too short to hold a sync request', () => {
  it.each(['rest', 'ws'] as const)(
    'over %s: the task goes out async and its taskUUID comes back, not an unknown fate for a task never sent',
    async (transport) => {
      const c = await open({ RUNWARE_TRANSPORT: transport });
      try {
        // The model's facts cached first, so the call's 0.3 s is the wait itself.
        await c.client.callTool({ name: 'runware_model_info', arguments: { model: 'runware:101@1' } });
        const r = await c.client.callTool({
          name: 'runware_text_to_image',
          arguments: { prompt: 'a castle in a hurry', width: 512, height: 512, waitSeconds: 0.3 },
        });
        const out = r.structuredContent as { status: string; taskUUID: string };
        expect(['processing', 'success']).toContain(out.status);
        expect(images().map((t) => [t.taskUUID, t.deliveryMethod])).toEqual([[out.taskUUID, 'async']]);
      } finally {
        await c.close();
      }
    },
  );
});

describe('a WebSocket message with a task and a read of an earlier one', () => {
  it("completes with both answers: the read's answer names the task it read, not the read's type", async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    try {
      const first = await client.submit(imageTask({ deliveryMethod: 'async' }));
      const uuid = first.tasks[0]!.taskUUID;
      await client.poll(uuid, { waitMs: 5000 });
      const t0 = Date.now();
      const r = await client.submit([
        imageTask({ deliveryMethod: 'sync' }),
        { taskType: 'getResponse', taskUUID: uuid },
      ]);
      expect(r.tasks.map((t) => [t.taskType, t.status])).toEqual([
        ['imageInference', 'success'],
        ['getResponse', 'success'],
      ]);
      // Answered, not found by a landing check after the request's timeout (5 s here).
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await client.close();
    }
  });
});

describe('a catalogue lookup its only caller leaves', () => {
  it('is ended with it (nothing fetched behind a finished call), and the service is not remembered as down', async () => {
    let answered = 0;
    const slow = createHttp((_req, res) => {
      setTimeout(() => {
        if (res.destroyed) return;
        answered++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}');
      }, 400);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}/registry.json`;
    const cache = new HttpCache({ userAgent: 'test', logger: new Logger('error') });
    try {
      const ac = new AbortController();
      const left = cache.get(url, ac.signal);
      setTimeout(() => ac.abort(), 100);
      await expect(left).rejects.toBeInstanceOf(CancelledError);
      // Past the moment the service would have answered: the request was dropped with its caller.
      await new Promise((r) => setTimeout(r, 600));
      expect(answered).toBe(0);
      // Asked again, not answered "unavailable" from a failure nobody saw.
      expect(await cache.get(url)).toMatchObject({ status: 'ok' });
      expect(answered).toBe(1);
    } finally {
      await new Promise((r) => slow.close(r));
    }
  });
});

describe('a poll queued behind a slow read that holds the only read slot', () => {
  it('ends within its own wait', async () => {
    const c = await open({ RUNWARE_MAX_CONCURRENCY: '1' });
    try {
      const submit = async (prompt: string): Promise<string> => {
        const r = await c.client.callTool({
          name: 'runware_text_to_image',
          arguments: { prompt, width: 512, height: 512, waitSeconds: 0 },
        });
        return (r.structuredContent as { taskUUID: string }).taskUUID;
      };
      const [a, b] = [await submit('a castle read slowly'), await submit('a castle read quickly')];
      // The next getResponse is held 4 s before it is answered.
      sim.state.addFaults({ kind: 'latency', ms: 4000, taskType: 'getResponse' });
      const slow = c.client.callTool({ name: 'runware_poll', arguments: { taskUUID: a, waitSeconds: 0 } });
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      await c.client.callTool({ name: 'runware_poll', arguments: { taskUUID: b, waitSeconds: 1 } });
      expect(Date.now() - t0).toBeLessThan(3000);
      await slow;
    } finally {
      await c.close();
    }
  });
});
