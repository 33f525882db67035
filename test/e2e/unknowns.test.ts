/**
 * Every combination of the API's unknowns that bears on a lost answer
 * (getResponse and sync tasks, unknown UUIDs, reused UUIDs, getTaskDetails for
 * unknown and running tasks: 192 in all), through answers lost after the task
 * ran, over the built MCP server on stdio. In each, the task runs once by the
 * simulator's count and its result reaches the caller. The same over the
 * built CLI, a process per call, is test/ci/unknowns-cli.test.ts.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import type { Fault } from '../../src/simulator/state.js';
import { Capture, connectStdio, imageTask, startSim } from '../helpers.js';
import { matrixEnv, unknownCombos } from '../faults/harness.js';

const combos = unknownCombos('rest', true);
const LOST_ANSWERS: Fault[] = [
  { kind: 'resetAfterAccept' },
  { kind: 'malformed' },
  { kind: 'proxy', status: 502, body: 'html', when: 'after' },
];
const capture = new Capture();

interface Sent {
  accepted: number[];
  submitted: number;
}

function billed(sim: Simulator): Sent {
  const submitted = sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<{ taskType: string }>) : []))
    .filter((t) => t.taskType !== 'getResponse' && t.taskType !== 'getTaskDetails').length;
  return { accepted: [...sim.state.accepted.values()], submitted };
}

describe('MCP over stdio: every combination of unknowns, answers lost after the task ran', () => {
  let sim: Simulator;
  let client: Client;
  let close: () => Promise<void>;
  beforeAll(async () => {
    sim = await startSim({ timeScale: 0.02 });
    const c = await connectStdio([], matrixEnv(sim, 'rest', capture.tempDir()), capture);
    client = c.client;
    close = c.close;
  });
  afterAll(async () => {
    await close?.();
    await sim?.stop();
  });

  it.each(combos.map((c, i) => [c.name, c, i] as const))('%s', async (_n, c, i) => {
    sim.state.reset();
    Object.assign(sim.state.options, c.options);
    const fault = LOST_ANSWERS[i % LOST_ANSWERS.length]!;
    // A raw sync batch: the answer is lost after both tasks ran.
    sim.addFaults(fault);
    const r = (await client.callTool({
      name: 'runware_request',
      arguments: {
        tasks: [imageTask({ numberResults: 2 }), { taskType: 'promptEnhance', prompt: 'a fox', promptVersions: 1 }],
      },
    })) as CallToolResult;
    capture.add(r);
    const sc = r.structuredContent as { tasks: Array<{ status: string; results: unknown[] }> };
    expect(sc.tasks.map((t) => [t.status, t.results.length])).toEqual([
      ['success', 2],
      ['success', 1],
    ]);
    // Text to image (async underneath): the ACK is lost after the task was accepted.
    sim.addFaults(fault);
    const t = (await client.callTool({
      name: 'runware_text_to_image',
      arguments: { prompt: 'a heron', width: 512, height: 512, waitSeconds: 10 },
    })) as CallToolResult;
    capture.add(t);
    expect((t.structuredContent as { status: string }).status).toBe('success');
    const b = billed(sim);
    expect(b.accepted.length).toBe(3);
    expect(b.accepted.every((n) => n === 1)).toBe(true);
  });
});

describe('leaks', () => {
  it('no canary in any output', () => {
    expect(capture.leaks()).toEqual([]);
  });
});
