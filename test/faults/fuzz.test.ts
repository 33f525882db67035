/**
 * Fuzzing every tool over MCP stdio with fast-check: random types, huge
 * strings, deep nesting, prototype keys, unicode, and secrets planted at
 * random depths. Nothing crashes; an input refused as invalid sends nothing
 * and names the field; every planted secret is refused or scrubbed (it
 * reaches neither an output nor the simulator). CI runs a fixed seed;
 * FAULTS_FULL=1 runs 10,000 cases per tool.
 */
import fc from 'fast-check';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, Capture, connectStdio, startSim } from '../helpers.js';
import { matrixEnv } from './harness.js';

const FULL = process.env.FAULTS_FULL === '1';
const RUNS = Number(process.env.FUZZ_RUNS ?? (FULL ? 10_000 : 150));
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const capture = new Capture();
let sim: Simulator;
let client: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.01 });
  const c = await connectStdio([], matrixEnv(sim, 'rest', capture.tempDir()), capture);
  client = c.client;
  close = c.close;
});
afterAll(async () => {
  await close?.();
  await sim?.stop();
});

const SECRETS = [CANARY.apiKey, CANARY.runwaySecret, CANARY.useapiToken, CANARY.makevidKey];
const secret = fc.constantFrom(...SECRETS);
const nasty = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'apiKey',
    'api_key',
    'authentication',
    '\u0000',
    '\u202e',
    '../../etc/passwd',
    'runware:101@1',
    '',
  ),
  fc.integer().map((n) => 'x'.repeat(Math.abs(n) % 3) + 'y'.repeat(Math.abs(n) % 200_000)),
  secret,
);
const leaf = fc.oneof(
  nasty,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308),
);
/** Arbitrary JSON with nasty keys and values, sometimes very deep. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(nasty, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const deep = fc.integer({ min: 30, max: 80 }).map((n) => {
  let v: unknown = 'bottom';
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
});
/** A valid-looking call of `tool`, with one field replaced by something hostile. */
const mutated = (template: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(fc.constantFrom(...Object.keys(template), 'extra', '__proto__', 'apiKey'), fc.oneof(value, deep, secret))
    .map(([k, v]) => {
      const o: Record<string, unknown> = { ...template };
      Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
      return o;
    });

const TOOLS: Record<string, Record<string, unknown>> = {
  runware_model_search: { search: 'flux', limit: 2 },
  runware_text_to_image: { prompt: 'a fox', width: 512, height: 512, waitSeconds: 1 },
  runware_request: { tasks: [{ taskType: 'promptEnhance', prompt: 'a fox', promptVersions: 1 }] },
  runware_poll: { taskUUID: '3b241101-e2bb-4255-8caf-4136c566a962', waitSeconds: 0 },
  runway_get_task: { id: '3b241101-e2bb-4255-8caf-4136c566a962' },
  runway_list_accounts: {},
};

/** Waits are capped so a valid random call cannot sit for minutes. */
function capWaits(args: unknown): unknown {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return args;
  const o = args as Record<string, unknown>;
  if (typeof o.waitSeconds === 'number' && o.waitSeconds > 1) return { ...o, waitSeconds: 1 };
  return o;
}

const textOf = (r: CallToolResult): string =>
  r.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');

describe('fuzzing every tool', () => {
  it.each(Object.entries(TOOLS))(
    '%s',
    async (tool, template) => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(mutated(template), value, fc.dictionary(nasty, value)), async (raw) => {
          const args = capWaits(raw);
          const before = sim.runwareRequests().length + sim.state.log.filter((e) => e.surface !== 'runware').length;
          let r: CallToolResult | undefined;
          let protocolError: unknown;
          try {
            r = (await client.callTool({ name: tool, arguments: args as Record<string, unknown> }, undefined, {
              timeout: 30_000,
            })) as CallToolResult;
          } catch (e) {
            protocolError = e;
          }
          const out = r ? JSON.stringify(r) : String((protocolError as Error)?.message ?? protocolError);
          capture.add(out);
          for (const s of SECRETS) expect(out).not.toContain(s);
          for (const e of sim.state.log) for (const s of SECRETS) expect(JSON.stringify(e.body ?? '')).not.toContain(s);
          if (r?.isError || protocolError) {
            const text = r ? textOf(r) : out;
            const refused =
              /"kind":"(validation|policy)"|Input validation error|Invalid arguments|invalid_type|Invalid input/i.test(
                text,
              ) || protocolError !== undefined;
            if (refused) {
              // Refused input sends nothing.
              const after = sim.runwareRequests().length + sim.state.log.filter((e) => e.surface !== 'runware').length;
              expect(after, `${tool} sent a request for refused input: ${text.slice(0, 300)}`).toBe(before);
            }
            expect(text).not.toMatch(/Internal error/);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      // The server still answers.
      await client.ping();
    },
    FULL ? 3_600_000 : 120_000,
  );
});

describe('leaks', () => {
  it('no planted secret in any output', () => {
    expect(capture.leaks()).toEqual([]);
  });
});
