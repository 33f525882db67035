/**
 * An upstream that echoes the key in odd spellings (hex, base64 off its
 * alignment, URL-encoded, JSON of JSON, in halves, as an object key, escaped byte by byte) in its
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

/** What a reader makes of escapes (percent bytes, HTML references, JSON/JS escapes), applied until nothing changes. */
function decodeEscapes(text: string): string {
  for (let before = ''; before !== text;) {
    before = text;
    text = text
      .replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
      .replace(/&#x([0-9a-f]+);?/gi, (_m, h: string) => String.fromCodePoint(Math.min(parseInt(h, 16), 0x10ffff)))
      .replace(/&#([0-9]+);?/g, (_m, d: string) => String.fromCodePoint(Math.min(Number(d), 0x10ffff)))
      .replace(/&amp;/g, '&')
      .replace(/\\+u([0-9a-f]{4})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
      .replace(/\\+x([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  return text;
}

/** Every 10-character run of `key` found (in any case) in `text` once its escapes are decoded. */
function decodedRuns(text: string, key: string): string[] {
  const plain = decodeEscapes(text).toLowerCase();
  const runs: string[] = [];
  for (let i = 0; i + 10 <= key.length; i++)
    if (plain.includes(key.slice(i, i + 10).toLowerCase())) runs.push(key.slice(i, i + 10));
  return runs;
}

describe('3. the key escaped one character at a time', () => {
  const key = CANARY.apiKey;
  const percent = (s: string): string => [...Buffer.from(s)].map((b) => `%${b.toString(16)}`).join('');

  it.each(['rest', 'ws'] as const)(
    'over %s: echoed percent-encoded byte by byte in an error, it leaves no trace in the result or the logs',
    async (transport) => {
      sim.state.reset();
      sim.state.options.hostile = true;
      logs.length = 0;
      const { client } = await connect(transport);
      // The task fails with a message that spells the key, among other ways, as %43%41%4E... and &#67;&#65;&#78;...
      sim.state.addFaults({ kind: 'taskError', code: 'invalidPositivePrompt' });
      const failed = (await client.callTool(
        {
          name: 'runware_run',
          arguments: { model: 'runware:101@1', params: { positivePrompt: 'a fox', width: 512, height: 512 } },
        },
        undefined,
        { timeout: 30_000 },
      )) as CallToolResult;
      sim.state.options.hostile = false;
      // The echo arrived, and was replaced.
      expect(failed.isError).toBe(true);
      expect(JSON.stringify(failed.structuredContent)).toMatch(/did not answer in time for .*\[REDACTED\]/);
      const out = JSON.stringify(failed);
      const logged = JSON.stringify(logs);
      expect(decodedRuns(out, key)).toEqual([]);
      expect(decodedRuns(logged, key)).toEqual([]);
      // Nothing of the escaped span is left beside the mark: not even three of its bytes in a row.
      for (let i = 0; i + 3 <= key.length; i++) {
        const bytes = new RegExp(percent(key.slice(i, i + 3)), 'i');
        expect(out, key.slice(i, i + 3)).not.toMatch(bytes);
        expect(logged, key.slice(i, i + 3)).not.toMatch(bytes);
      }
    },
  );

  it.each(['rest', 'ws'] as const)(
    'over %s: a payload holding it as HTML references is refused before anything is sent',
    async (transport) => {
      sim.state.reset();
      logs.length = 0;
      const { client } = await connect(transport);
      const escaped = [...key].map((c) => `&#${c.charCodeAt(0)};`).join('');
      const refused = (await client.callTool(
        {
          name: 'runware_run',
          arguments: {
            model: 'runware:101@1',
            params: { positivePrompt: `a fox holding a sign that reads ${escaped}`, width: 512, height: 512 },
          },
        },
        undefined,
        { timeout: 30_000 },
      )) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused)).toMatch(/configured secret/);
      // Nothing reached the simulator: no task, no spelling of the key.
      const sent = JSON.stringify(sim.state.log.map((e) => e.body ?? null));
      expect(sent).not.toContain('imageInference');
      expect(decodedRuns(sent, key)).toEqual([]);
      expect(decodedRuns(JSON.stringify([refused, logs]), key)).toEqual([]);
    },
  );
});
