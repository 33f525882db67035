/**
 * The unknowns of test/e2e/unknowns.test.ts over the built CLI: a pairwise
 * cover of them (every pair of possibilities of any two switches; a process
 * per call makes all 192 cost minutes), answers lost after the task ran. In
 * each, raw and text-to-image run each task once by the simulator's count and
 * print its result. CI-only (test/ci-only.ts): it starts a process per call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import type { Fault } from '../../src/simulator/state.js';
import { Capture, imageTask, runCli, startSim } from '../helpers.js';
import { matrixEnv, pairwise, unknownCombos } from '../faults/harness.js';

const combos = unknownCombos('rest', true);
const LOST_ANSWERS: Fault[] = [
  { kind: 'resetAfterAccept' },
  { kind: 'malformed' },
  { kind: 'proxy', status: 502, body: 'html', when: 'after' },
];
const capture = new Capture();

function billed(sim: Simulator): { accepted: number[] } {
  return { accepted: [...sim.state.accepted.values()] };
}

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
          const tti = await runCli(
            ['text-to-image', '--prompt', 'a heron', '--width', '512', '--height', '512'],
            env,
            capture,
          );
          const rawOut = JSON.parse(raw.stdout || '{}') as { tasks?: Array<{ status: string; results: unknown[] }> };
          const ttiOut = JSON.parse(tti.stdout || '{}') as { status?: string };
          const b = billed(sim);
          const ok =
            raw.code === 0 &&
            rawOut.tasks?.[0]?.status === 'success' &&
            rawOut.tasks[0].results.length === 2 &&
            tti.code === 0 &&
            ttiOut.status === 'success' &&
            b.accepted.length === 2 &&
            b.accepted.every((n) => n === 1);
          if (!ok)
            failures.push(
              `${c.name}: raw ${raw.code} ${rawOut.tasks?.[0]?.status}, text-to-image ${tti.code} ${ttiOut.status}, accepted ${JSON.stringify(b.accepted)}`,
            );
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
