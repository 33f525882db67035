/**
 * A hostile upstream in front of the simulator (in process: real createServer()
 * + SDK Client), for outputs saved as each poll shows them: a poll's answer
 * gains another task's result, a result of another type, a repeat of a result
 * with another URL, a file: URL and an output UUID holding the key. Only the
 * task's own results are saved, each once, nothing is fetched from where it
 * must not be, and no secret reaches a file, a name or the journal.
 */
import { createServer as createHttp, type Server } from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, withSimulator } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, Capture, startSim } from '../helpers.js';
import { durationKey } from '../../src/runware/delivery.js';
import { serveInProcess } from '../in-process.js';

const capture = new Capture();
let sim: Simulator;
let proxy: Server;
let proxyUrl: string;
/** Paths fetched from the proxy outside the API (traps a saved output must never come from). */
const trapped: string[] = [];
let hostile: ((items: Array<Record<string, unknown>>) => Array<Record<string, unknown>>) | undefined;

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  proxy = createHttp((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (!req.url?.startsWith('/v1')) {
          trapped.push(req.url ?? '');
          res.writeHead(404).end();
          return;
        }
        const body = Buffer.concat(chunks).toString();
        const up = await fetch(sim.info.runwareUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization) },
          body,
        });
        const text = await up.text();
        let out = text;
        if (hostile && body.includes('"getResponse"')) {
          const env = JSON.parse(text) as { data?: Array<Record<string, unknown>> };
          if (env.data?.some((d) => d.status === 'success')) out = JSON.stringify({ ...env, data: hostile(env.data) });
        }
        res.writeHead(up.status, { 'content-type': 'application/json' }).end(out);
      })();
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const addr = proxy.address() as { port: number };
  proxyUrl = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await sim.stop();
  expect(capture.leaks()).toEqual([]);
});

/** A server process of its own (in process), its journal in `state`, Runware reached through the proxy. */
async function open(
  state: string,
  out: string,
): Promise<{ client: Client; app: AppContext; close: () => Promise<void> }> {
  const app = new AppContext(
    withSimulator(
      loadConfig({
        RUNWARE_STATE_DIR: state,
        RUNWARE_OUTPUT_DIR: out,
        RUNWARE_TRANSPORT: 'rest',
        RUNWARE_LOG_LEVEL: 'error',
        RUNWARE_PREVIEW_MAX_BYTES: '0',
      }),
      { ...sim.info, runwareUrl: `${proxyUrl}/v1` },
    ),
    new Logger('error'),
  );
  const { client } = await serveInProcess(app, { name: 'hostile' });
  return {
    client,
    app,
    close: async () => {
      await client.close();
      await app.close();
    },
  };
}

describe('a poll whose answers are hostile', () => {
  it("saves only the task's own results, each once, fetching nothing it must not and writing no secret", async () => {
    const state = capture.tempDir('rw-hostile-state-');
    const out = capture.tempDir('rw-hostile-out-');
    const first = await open(state, out);
    const second = await open(state, out);
    try {
      const sent = await first.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'two lighthouses', width: 512, height: 512, numberResults: 2, waitSeconds: 0 },
      });
      const uuid = (sent.structuredContent as { taskUUID: string }).taskUUID;
      const other = '0b5e1f1e-8a3c-4e0e-9a51-2f8e5c0d7a11';
      hostile = (items) => {
        const own = items.filter((d) => d.status === 'success');
        const one = own[0]!;
        return [
          ...items.slice().reverse(),
          { ...one, imageURL: `${proxyUrl}/trap/repeat` },
          { ...one, taskUUID: other, imageUUID: 'other-task', imageURL: `${proxyUrl}/trap/other` },
          {
            taskType: 'videoInference',
            taskUUID: uuid,
            status: 'success',
            videoUUID: 'v',
            videoURL: `${proxyUrl}/trap/type`,
          },
          { ...one, imageUUID: 'file-url', imageURL: 'file:///etc/passwd' },
          { ...one, imageUUID: `k-${CANARY.apiKey}`, imageURL: `${proxyUrl}/trap/key-${CANARY.apiKey}` },
        ];
      };
      // The process that sent it, then another that knows the task only from the journal.
      for (const [c, to] of [
        [first.client, 'hostile'],
        [second.client, 'hostile-other'],
      ] as const) {
        const r = await c.callTool(
          { name: 'runware_poll', arguments: { taskUUID: uuid, waitSeconds: 10, saveTo: `${to}/` } },
          undefined,
          { timeout: 30_000 },
        );
        capture.add(r);
        const p = r.structuredContent as {
          results: Array<{ taskType?: string; taskUUID?: string }>;
          files?: Array<{ savedTo?: string }>;
        };
        expect(p.results.filter((x) => x.taskType !== 'imageInference' || x.taskUUID !== uuid)).toEqual([]);
        expect(trapped.filter((t) => /\/trap\/(other|type|repeat)/.test(t))).toEqual([]);
        const dir = join(out, to);
        const names = existsSync(dir) ? readdirSync(dir) : [];
        capture.add(names);
        expect(names.filter((n) => /other-task|file-url|^runware-v\./.test(n))).toEqual([]);
        expect(new Set(p.files?.map((f) => f.savedTo).filter(Boolean)).size).toBe(names.length);
      }
    } finally {
      hostile = undefined;
      await first.close();
      await second.close();
    }
  });
});

describe('two results that name one output', () => {
  it('are saved once: every file on disk is reported, none left behind unreported', async () => {
    const state = capture.tempDir('rw-hostile-state-');
    const out = capture.tempDir('rw-hostile-out-');
    const proc = await open(state, out);
    try {
      const sent = await proc.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'two lighthouses', width: 512, height: 512, numberResults: 2, waitSeconds: 0 },
      });
      const uuid = (sent.structuredContent as { taskUUID: string }).taskUUID;
      // Indexed results, the second under the first one's imageUUID (with its own URL).
      hostile = (items) => {
        const own = items.filter((d) => d.status === 'success');
        return own.map((d, i) => ({ ...d, resultIndex: i, imageUUID: own[0]!.imageUUID }));
      };
      const r = await proc.client.callTool(
        { name: 'runware_poll', arguments: { taskUUID: uuid, waitSeconds: 10, saveTo: 'same/' } },
        undefined,
        { timeout: 30_000 },
      );
      capture.add(r);
      const files = (r.structuredContent as { files: Array<{ savedTo?: string }> }).files;
      const reported = new Set(files.map((f) => f.savedTo?.split('/').pop()));
      expect(readdirSync(join(out, 'same')).every((n) => reported.has(n))).toBe(true);
    } finally {
      hostile = undefined;
      await proc.close();
    }
  });
});

describe('WebSocket frames sent twice or out of order', () => {
  it.each(['duplicateFrames', 'interleave'] as const)('%s: each output of the batch is saved once', async (kind) => {
    const out = capture.tempDir('rw-frames-out-');
    const app = new AppContext(
      withSimulator(
        loadConfig({
          RUNWARE_STATE_DIR: capture.tempDir('rw-frames-state-'),
          RUNWARE_OUTPUT_DIR: out,
          RUNWARE_TRANSPORT: 'ws',
          RUNWARE_LOG_LEVEL: 'error',
          RUNWARE_PREVIEW_MAX_BYTES: '0',
        }),
        sim.info,
      ),
      new Logger('error'),
    );
    const { client } = await serveInProcess(app, { name: 'frames' });
    try {
      sim.state.addFaults({ kind, taskType: 'imageInference' });
      const r = await client.callTool(
        {
          name: 'runware_text_to_image',
          arguments: {
            prompt: 'lighthouses',
            width: 512,
            height: 512,
            numberResults: 3,
            waitSeconds: 20,
            saveTo: 'f/',
          },
        },
        undefined,
        { timeout: 30_000 },
      );
      capture.add(r);
      const images = (r.structuredContent as { images: Array<{ savedTo?: string }> }).images;
      expect(images).toHaveLength(3);
      expect(new Set(images.map((i) => i.savedTo)).size).toBe(3);
      expect(readdirSync(join(out, 'f'))).toHaveLength(3);
      expect(sim.state.log.some((e) => e.fault === kind)).toBe(true);
    } finally {
      sim.state.reset();
      await client.close();
      await app.close();
    }
  });
});

describe('a generation polled to its end (async) through hostile answers', () => {
  it("saves only the task's own results as they come", async () => {
    const out = capture.tempDir('rw-hostile-out-');
    const proc = await open(capture.tempDir('rw-hostile-state-'), out);
    // Learned as longer than the wait: sent async and followed by polls, each answer with another task's and another type's item.
    proc.app.journal.durations.learn(durationKey({ taskType: 'imageInference', model: 'runware:101@1' }), 2000);
    hostile = (items) => {
      const own = items.filter((d) => d.status === 'success');
      const uuid = String(own[0]!.taskUUID);
      return [
        ...items,
        {
          ...own[0]!,
          taskUUID: '0b5e1f1e-8a3c-4e0e-9a51-2f8e5c0d7a12',
          imageUUID: 'x',
          imageURL: `${proxyUrl}/trap/run-other`,
        },
        {
          taskType: 'videoInference',
          taskUUID: uuid,
          status: 'success',
          videoUUID: 'w',
          videoURL: `${proxyUrl}/trap/run-type`,
        },
      ];
    };
    try {
      const r = await proc.client.callTool(
        {
          name: 'runware_text_to_image',
          arguments: {
            prompt: 'two lighthouses',
            width: 512,
            height: 512,
            numberResults: 2,
            waitSeconds: 1,
            saveTo: 'run/',
          },
        },
        undefined,
        { timeout: 30_000 },
      );
      capture.add(r);
      const images = (r.structuredContent as { images: Array<{ savedTo?: string }> }).images;
      expect(images).toHaveLength(2);
      expect(trapped.filter((t) => t.includes('/trap/run-'))).toEqual([]);
      expect(readdirSync(join(out, 'run'))).toHaveLength(2);
      expect(sim.state.log.some((e) => String(JSON.stringify(e.body)).includes('"deliveryMethod":"async"'))).toBe(true);
    } finally {
      hostile = undefined;
      await proc.close();
    }
  });
});
