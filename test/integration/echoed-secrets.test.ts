/**
 * An upstream that echoes the key in odd spellings (hex, base64 off its
 * alignment, URL-encoded, JSON of JSON, in halves, as an object key) in its
 * error messages and result fields: through the real server (in process, SDK
 * client) over REST and WebSocket, no spelling of any canary reaches a tool
 * result or a log line.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { Logger, type LogRecord } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, Capture, simEnv, startSim } from '../helpers.js';
import { serveInProcess, type InProcess } from '../in-process.js';

const capture = new Capture();
const logs: LogRecord[] = [];
let sim: Simulator;
let env: Record<string, string>;
const opened: Array<{ served: InProcess; app: AppContext }> = [];

async function connect(transport: 'rest' | 'ws'): Promise<InProcess> {
  const logger = new Logger('debug');
  logger.addSink((r) => logs.push(r));
  const app = new AppContext(loadConfig({ ...env, RUNWARE_TRANSPORT: transport }), logger);
  const served = await serveInProcess(app, { name: 'test' });
  opened.push({ served, app });
  return served;
}

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  env = simEnv(sim, { HOME: capture.tempDir(), RUNWARE_TIME_SCALE: '0.05' });
});
afterAll(async () => {
  for (const o of opened) {
    await o.served.close();
    await o.app.close();
  }
  await sim?.stop();
});

describe('3. the key echoed in odd spellings never leaves the process', () => {
  it.each(['rest', 'ws'] as const)(
    'over %s: results, errors and debug logs hold no spelling of it',
    async (transport) => {
      sim.state.reset();
      sim.state.options.hostile = true;
      logs.length = 0;
      const { client } = await connect(transport);
      const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> =>
        (await client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as CallToolResult;
      const params = { positivePrompt: 'a fox', width: 512, height: 512 };
      // The second image's UUID is the key; every answer carries errors that echo it.
      const made = await call('runware_text_to_image', {
        prompt: 'a fox',
        width: 512,
        height: 512,
        numberResults: 2,
        waitSeconds: 20,
      });
      // The task fails with a message that spells the key five more ways.
      sim.state.addFaults({ kind: 'taskError', code: 'invalidPositivePrompt' });
      const failed = await call('runware_run', { model: 'runware:101@1', params, waitSeconds: 20 });
      sim.state.options.hostile = false;
      capture.add(made, failed, logs);
      const out = JSON.stringify([made, failed]);
      const logged = JSON.stringify(logs);
      // The hostile answers arrived: the key's place in the result (REST hostility names an image by it) and in the error is marked.
      if (transport === 'rest') expect(JSON.stringify(made.structuredContent)).toContain('[REDACTED]');
      expect(made.isError).toBeFalsy();
      expect(failed.isError).toBe(true);
      expect(JSON.stringify(failed.structuredContent)).toMatch(/did not answer in time for .*\[REDACTED\]/);
      // Upstream messages are never logged, only their codes; over WebSocket the frames that name no task are (checked below).
      if (transport === 'ws') expect(logs.length).toBeGreaterThan(0);
      const key = CANARY.apiKey;
      for (const spelling of [
        Buffer.from(key).toString('hex'),
        Buffer.from(`:${key}`).toString('base64url').slice(4, -4),
        key.slice(0, key.length >> 1),
        key.slice(key.length >> 1),
      ]) {
        expect(out.toLowerCase().includes(spelling.toLowerCase()), spelling).toBe(false);
        expect(logged.toLowerCase().includes(spelling.toLowerCase()), spelling).toBe(false);
      }
      expect(capture.leaks()).toEqual([]);
    },
  );
});
