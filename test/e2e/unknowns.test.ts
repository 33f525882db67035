/**
 * Every combination of the API's unknowns that bears on a lost answer
 * (getResponse and sync tasks, unknown UUIDs, reused UUIDs, getTaskDetails for
 * unknown and running tasks: 192 in all), through answers lost after the task
 * ran, over the built MCP server on stdio; and over the built CLI, a pairwise
 * cover of them (every pair of possibilities of any two switches; a process
 * per call makes all 192 cost minutes). In each, the task runs once by the
 * simulator's count and its result reaches the caller.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import type { Fault } from '../../src/simulator/state.js';
import { Capture, connectStdio, imageTask, runCli, startSim } from '../helpers.js';
import { matrixEnv, pairwise, unknownCombos } from '../faults/harness.js';

const combos = unknownCombos('rest', true);
const LOST_ANSWERS: Fault[] = [{ kind: 'resetAfterAccept' }, { kind: 'malformed' }, { kind: 'proxy', status: 502, body: 'html', when: 'after' }];
const capture = new Capture();

interface Sent {
  accepted: number[];
  submitted: number;
}

function billed(sim: Simulator): Sent {
  const submitted = sim.runwareRequests().flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<{ taskType: string }>) : [])).filter((t) => t.taskType !== 'getResponse' && t.taskType !== 'getTaskDetails').length;
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
    const r = (await client.callTool({ name: 'runware_request', arguments: { tasks: [imageTask({ numberResults: 2 }), { taskType: 'promptEnhance', prompt: 'a fox', promptVersions: 1 }] } })) as CallToolResult;
    capture.add(r);
    const sc = r.structuredContent as { tasks: Array<{ status: string; results: unknown[] }> };
    expect(sc.tasks.map((t) => [t.status, t.results.length])).toEqual([['success', 2], ['success', 1]]);
    // Text to image (async underneath): the ACK is lost after the task was accepted.
    sim.addFaults(fault);
    const t = (await client.callTool({ name: 'runware_text_to_image', arguments: { prompt: 'a heron', width: 512, height: 512, waitSeconds: 10 } })) as CallToolResult;
    capture.add(t);
    expect((t.structuredContent as { status: string }).status).toBe('success');
    const b = billed(sim);
    expect(b.accepted.length).toBe(3);
    expect(b.accepted.every((n) => n === 1)).toBe(true);
  });
});

describe('the CLI: every combination of unknowns, answers lost after the task ran', () => {
  const sims: Simulator[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 4; i++) sims.push(await startSim({ timeScale: 0.02 }));
  });
  afterAll(async () => {
    for (const s of sims) await s.stop();
  });

  const cover = pairwise(combos);
  it(`raw, and text-to-image, run each task once and print its result, in a pairwise cover (${cover.length} combinations)`, async () => {
    expect(cover.length).toBeLessThan(40);
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      sims.map(async (sim) => {
        const env = matrixEnv(sim, 'rest', capture.tempDir());
        while (next < cover.length) {
          const i = next++;
          const c = cover[i]!;
          sim.state.reset();
          Object.assign(sim.state.options, c.options);
          sim.addFaults(LOST_ANSWERS[i % LOST_ANSWERS.length]!);
          const raw = await runCli(['raw', '-'], env, capture, JSON.stringify([imageTask({ numberResults: 2 })]));
          sim.addFaults(LOST_ANSWERS[(i + 1) % LOST_ANSWERS.length]!);
          const tti = await runCli(['text-to-image', '--prompt', 'a heron', '--width', '512', '--height', '512'], env, capture);
          const rawOut = JSON.parse(raw.stdout || '{}') as { tasks?: Array<{ status: string; results: unknown[] }> };
          const ttiOut = JSON.parse(tti.stdout || '{}') as { status?: string };
          const b = billed(sim);
          const ok = raw.code === 0 && rawOut.tasks?.[0]?.status === 'success' && rawOut.tasks[0].results.length === 2 && tti.code === 0 && ttiOut.status === 'success' && b.accepted.length === 2 && b.accepted.every((n) => n === 1);
          if (!ok) failures.push(`${c.name}: raw ${raw.code} ${rawOut.tasks?.[0]?.status}, text-to-image ${tti.code} ${ttiOut.status}, accepted ${JSON.stringify(b.accepted)}`);
        }
      }),
    );
    expect(failures).toEqual([]);
  }, 240_000);
});

describe('leaks', () => {
  it('no canary in any output', () => {
    expect(capture.leaks()).toEqual([]);
  });
});
