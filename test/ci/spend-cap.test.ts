/**
 * The spend cap when prices vary (#27), across processes: three CLI processes
 * on one SQLite journal, and two HTTP instances on one Redis. The simulator
 * charges by pixels × steps × results, as Runware does; its published pricing
 * is switched off (content service unreachable) so only the ledger's learned
 * price and the ceilings stand between the tasks and the cap.
 *
 * The bound the docs promise, asserted in every run: the day's spend is at
 * most the cap plus the overruns the ledger reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { CLI, Capture, runCli, simEnv, sleep, startSim } from '../helpers.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';

const capture = new Capture();
let sim: Simulator;
const FLUX = 'runware:101@1';
/** USD per megapixel at 28 steps: 2048² at 50 steps is 4 × 50/28 × $0.05 = $0.3571 an image. */
const PER_MP = 0.05;
const big = ['--width', '2048', '--height', '2048', '--steps', '50'];
const json = (s: string): Record<string, unknown> => JSON.parse(s) as Record<string, unknown>;
const ran = (): number =>
  sim
    .runwareRequests()
    .filter((e) => !e.headers['x-runware-dry-run'])
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<Record<string, unknown>>) : []))
    .filter((t) => t.taskType === 'imageInference').length;

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
});
afterAll(async () => {
  await sim.stop();
  expect(capture.leaks()).toEqual([]);
});

describe('three processes on one SQLite journal', () => {
  it('one cheap run settles, then 3 processes × 3 large runs: only what fits goes out, and the bound holds', async () => {
    sim.state.reset();
    sim.state.prices.set(FLUX, PER_MP);
    const stateDir = capture.tempDir('rw-spend-sqlite-');
    const env = (extra: Record<string, string> = {}): Record<string, string> =>
      simEnv(sim, {
        RUNWARE_STATE_DIR: stateDir,
        RUNWARE_CONTENT_URL: 'http://127.0.0.1:9/',
        RUNWARE_SIM_TIME_SCALE: '0.02',
        RUNWARE_LOG_LEVEL: 'warning',
        ...extra,
      });
    // 1024² at 14 steps: $0.025, which teaches $0.05 per reference unit.
    const cheap = await runCli(
      ['text-to-image', '--prompt', 'cheap', '--width', '1024', '--height', '1024', '--steps', '14'],
      env(),
      capture,
    );
    expect(cheap.code, cheap.stderr).toBe(0);
    expect(json(cheap.stdout).cost).toBe(0.025);
    const capped = env({ RUNWARE_MAX_SPEND_USD: '0.50' });
    // Three rounds of three processes at once: without quotes scaled to the task, all nine went out ($3.24).
    const runs = [];
    for (let round = 0; round < 3; round++)
      runs.push(
        ...(await Promise.all(
          [1, 2, 3].map(() => runCli(['text-to-image', '--prompt', 'big', ...big], capped, capture)),
        )),
      );
    const ok = runs.filter((r) => r.code === 0);
    expect(ok).toHaveLength(1);
    for (const r of runs.filter((x) => x.code !== 0))
      expect(json(r.stdout).error).toMatchObject({
        kind: 'policy',
        code: 'spend_cap',
        field: 'RUNWARE_MAX_SPEND_USD',
        capUsd: 0.5,
      });
    expect(ran()).toBe(2);
    const acct = json((await runCli(['account'], capped, capture)).stdout) as {
      spend: { today: number };
      overruns?: { today: number };
    };
    const overrun = acct.overruns?.today ?? 0;
    expect(overrun).toBe(0);
    // $0.025 + $0.3572 + a tenth of a cent per probe at most.
    expect(acct.spend.today).toBeLessThanOrEqual(0.5 + overrun);
    expect(acct.spend.today).toBeGreaterThanOrEqual(0.3822);
  }, 120_000);
});

const hasRedis = requireRedis('the two-instance spend-cap test (#27)');

describe.skipIf(!hasRedis)('two HTTP instances on one Redis', () => {
  let redis: RedisHandle;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGTERM');
    await redis?.stop();
  });

  async function instance(name: string): Promise<string> {
    const env = simEnv(sim, {
      RUNWARE_STATE_URL: redis.url,
      RUNWARE_MAX_SPEND_USD: '0.80',
      RUNWARE_CONTENT_URL: 'http://127.0.0.1:9/',
      RUNWARE_TIME_SCALE: '0.05',
      RUNWARE_LOG_LEVEL: 'warning',
      RUNWARE_OUTPUT_DIR: capture.tempDir(`rw-spend-${name}-`),
    });
    const child = spawn(process.execPath, [CLI, 'serve', '--http', '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    for (let i = 0; i < 200 && !/Streamable HTTP at (\S+)/.test(err); i++) await sleep(25);
    const url = /Streamable HTTP at (\S+)/.exec(err)?.[1];
    if (!url) throw new Error(`instance ${name} did not start: ${err}`);
    return url;
  }
  const connect = async (url: string): Promise<Client> => {
    const c = new Client({ name: 'spend-fleet', version: '0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(url)));
    return c;
  };
  type R = CallToolResult & { structuredContent?: Record<string, unknown> };
  const call = async (c: Client, name: string, args: Record<string, unknown>): Promise<R> => {
    const r = (await c.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as R;
    capture.add(r);
    return r;
  };

  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);

  it('varying sizes sent to both at once: the cap holds except by reported overruns, and a charge above the ceiling is one', async () => {
    sim.state.reset();
    sim.state.prices.set(FLUX, PER_MP);
    const [a, b] = await Promise.all([instance('a'), instance('b')]);
    const clients = await Promise.all([connect(a), connect(a), connect(b), connect(b)]);
    // Nothing learned yet: the ceiling ($0.10 per reference unit, scaled) stands in. 1024² at 28 steps costs $0.05.
    const sizes = [512, 1024, 1536, 2048, 768, 1024, 2048, 512, 1280, 1536, 1024, 2048];
    const runs = await Promise.all(
      sizes.map((s, k) =>
        call(clients[k % clients.length]!, 'runware_text_to_image', {
          prompt: `size ${s}`,
          width: s,
          height: s,
          steps: 28,
        }),
      ),
    );
    const ok = runs.filter((r) => !r.isError);
    expect(ok.length).toBeGreaterThan(0);
    for (const r of runs.filter((x) => x.isError))
      expect((r.structuredContent as { error: Record<string, unknown> }).error).toMatchObject({
        code: 'spend_cap',
        field: 'RUNWARE_MAX_SPEND_USD',
        capUsd: 0.8,
      });
    expect(ran()).toBe(ok.length);
    // Now a model charged above its ceiling: $0.50 an image against $0.10.
    sim.state.prices.set('civitai:4384@128713', 0.5 / ((512 * 768) / 1_048_576));
    const acct0 = (await call(clients[0]!, 'runware_account', {})).structuredContent as { spend: { today: number } };
    if (acct0.spend.today + 0.1 <= 0.8) {
      const over = await call(clients[2]!, 'runware_text_to_image', {
        prompt: 'pricey',
        model: 'civitai:4384@128713',
        width: 512,
        height: 768,
      });
      expect(over.structuredContent?.overrun).toMatch(/^\$0\.40 over: .*quote source: ceiling/);
      // Over the cap (or too close): the next billable call on either instance is refused.
      expect(
        (await call(clients[1]!, 'runware_text_to_image', { prompt: 'after', width: 1024, height: 1024 })).isError,
      ).toBe(true);
    }
    const acct = (await call(clients[3]!, 'runware_account', {})).structuredContent as {
      spend: { today: number };
      overruns?: { today: number };
    };
    const overrun = acct.overruns?.today ?? 0;
    expect(acct.spend.today).toBeLessThanOrEqual(0.8 + overrun + 1e-9);
    await Promise.all(clients.map((c) => c.close()));
  }, 120_000);
});
