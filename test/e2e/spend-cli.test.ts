/** The CLI before an expensive task (#27): no terminal, so RUNWARE_CONFIRM_ABOVE_USD needs --yes; the refusal says so. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { Capture, runCli, simEnv, startSim } from '../helpers.js';

let sim: Simulator;
const capture = new Capture();
beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
});
afterAll(async () => {
  await sim.stop();
  expect(capture.leaks()).toEqual([]);
});

describe('the CLI and RUNWARE_CONFIRM_ABOVE_USD', () => {
  it('refuses a task quoted above it without --yes, naming --yes, and runs it with --yes', async () => {
    const env = simEnv(sim, {
      RUNWARE_CONFIRM_ABOVE_USD: '0.5',
      RUNWARE_SIM_TIME_SCALE: '0.02',
      RUNWARE_LOG_LEVEL: 'warning',
    });
    const video = ['run', 'klingai:5@3', '--param', 'positivePrompt=waves', '--param', 'duration=5'];
    const no = await runCli(video, env, capture);
    expect(no.code).toBe(2);
    const e = (JSON.parse(no.stdout) as { error: Record<string, unknown> }).error;
    expect(e).toMatchObject({
      kind: 'policy',
      code: 'confirmation_required',
      field: '--yes',
      quoteUsd: 0.92,
      capUsd: null,
    });
    expect(String(e.hint)).toMatch(/again with --yes/);
    // Nothing billable went out but the dry-run probe (a one-result promptEnhance: the simulator ignores the header).
    expect(
      sim
        .runwareRequests()
        .flatMap((r) => (Array.isArray(r.body) ? (r.body as Array<{ taskType: string }>) : []))
        .filter((t) => t.taskType === 'videoInference'),
    ).toEqual([]);
    const yes = await runCli([...video, '--yes'], env, capture);
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse(yes.stdout)).toMatchObject({ status: 'success', cost: 0.92 });
  });
});
