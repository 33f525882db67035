/**
 * A hostile upstream, in process (real createServer() + SDK Client over
 * InMemoryTransport) against the simulator's hostile mode: schemas built to
 * freeze or crash the process or to refuse valid prompts for decades, and
 * names built to spoof how a file name reads.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { maxAgeOf } from '../../src/runware/schemas/http-cache.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { Capture, simEnv, startSim } from '../helpers.js';
import { serveInProcess } from '../in-process.js';

const capture = new Capture();
let sim: Simulator;
let env: Record<string, string>;
let out: string;
const opened: Array<{ client: Client; app: AppContext }> = [];

/** A fresh server process, as far as state goes: its own AppContext, with its own schema cache unless given one. */
async function connect(cacheDir = capture.tempDir('rw-cache-')): Promise<Client> {
  const app = new AppContext(loadConfig({ ...env, RUNWARE_CACHE_DIR: cacheDir }), new Logger('error'));
  const { client } = await serveInProcess(app, { name: 'test' });
  opened.push({ client, app });
  return client;
}

async function call(
  c: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ r: CallToolResult; sc: Record<string, unknown>; text: string }> {
  const r = (await c.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as CallToolResult;
  capture.add(r);
  const text = r.content
    .filter((x) => x.type === 'text')
    .map((x) => (x as { text: string }).text)
    .join('\n');
  return { r, sc: (r.structuredContent ?? {}) as Record<string, unknown>, text };
}

const run = (c: Client, prompt = 'a lighthouse') =>
  call(c, 'runware_run', {
    model: 'runware:101@1',
    params: { positivePrompt: prompt, width: 512, height: 512 },
    waitSeconds: 20,
  });

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  const home = capture.tempDir();
  out = join(home, 'out');
  mkdirSync(out);
  env = simEnv(sim, { HOME: home, RUNWARE_OUTPUT_DIR: out, RUNWARE_TIME_SCALE: '0.05' });
});
afterAll(async () => {
  for (const o of opened) {
    await o.client.close();
    await o.app.close();
  }
  await sim?.stop();
  expect(capture.leaks()).toEqual([]);
});

function hostileSchema(kind: typeof sim.state.options.hostileSchema): void {
  sim.state.reset();
  sim.state.options.hostile = kind !== 'none';
  sim.state.options.hostileSchema = kind;
}

describe('4. a hostile schema cannot freeze or crash the process', () => {
  it('"^(a+)+$" on every string: the check runs in linear time, and the server keeps answering', async () => {
    hostileSchema('redos');
    const c = await connect();
    const t0 = performance.now();
    const pings: number[] = [];
    const ticker = setInterval(() => pings.push(performance.now()), 10);
    // Exponential for a backtracking engine (2^34 steps: minutes, past the test's timeout); linear under RE2.
    // The bounds below only have to survive a loaded machine.
    const { sc, text } = await run(c, `${'a'.repeat(34)}!`);
    clearInterval(ticker);
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(text).toMatch(/positivePrompt/);
    expect(sc.error ?? sc).toBeTruthy();
    await c.ping();
    // The event loop was never held for long.
    const gaps = pings.slice(1).map((p, i) => p - pings[i]!);
    expect(Math.max(0, ...gaps)).toBeLessThan(5_000);
  });

  for (const [kind, why] of [
    ['deep', /nested over \d+ levels/],
    ['loop', /recursed without end|cannot be compiled/],
    ['huge', /over 4 MiB/],
  ] as const) {
    it(`a ${kind} schema is "no schema": the task is sent unchecked, and the note says why`, async () => {
      hostileSchema(kind);
      const c = await connect();
      const { r, sc, text } = await run(c);
      expect(text).not.toMatch(/Maximum call stack|Internal error/);
      expect(r.isError).toBeFalsy();
      expect(sc).toMatchObject({ status: 'success', validation: 'skipped' });
      expect(String(sc.note)).toMatch(why);
    });
  }
});

describe('5. a cached hostile answer does not outlive the upstream', () => {
  it('max-age is clamped to a day', () => {
    expect(maxAgeOf('public, max-age=999999999').maxAgeS).toBe(86_400);
    expect(maxAgeOf('max-age=60').maxAgeS).toBe(60);
  });

  it('a poisoned schema cached "for decades" refuses no valid prompt once the upstream is honest again', async () => {
    hostileSchema('poisoned');
    const cache = capture.tempDir('rw-cache-');
    const first = await connect(cache);
    const refused = await run(first);
    expect(refused.r.isError).toBe(true);
    expect(refused.text).toMatch(/positivePrompt/);
    // The upstream is honest again; a new process finds the poisoned copy on disk, re-checks once, and runs.
    hostileSchema('none');
    const second = await connect(cache);
    const { sc } = await run(second);
    expect(sc).toMatchObject({ status: 'success', validation: 'checked' });
    expect(
      sim.state.log.filter((e) => e.surface === 'schemas' && e.path.includes('/resolve/')).length,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('10. names built from upstream data carry no format controls', () => {
  it('a right-to-left override and isolates in an imageUUID never reach a saved file name', async () => {
    hostileSchema('none');
    sim.state.options.hostile = true;
    const c = await connect();
    const { sc } = await call(c, 'runware_text_to_image', {
      prompt: 'a fox',
      width: 512,
      height: 512,
      numberResults: 3,
      saveTo: 'bidi/',
      waitSeconds: 20,
    });
    sim.state.options.hostile = false;
    expect(sc.status).toBe('success');
    const names = readdirSync(join(out, 'bidi'));
    expect(names).toHaveLength(3);
    for (const n of names) expect(n).not.toMatch(/\p{Cf}/u);
    expect(names.some((n) => n.includes('invoicegpj.exe'))).toBe(true);
  });
});
