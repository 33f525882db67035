/**
 * Results that are really results, and resends that wait for the evidence:
 * "success" with nothing in it is not a result; a lagging getTaskDetails never
 * turns a resend into a second charge; RUNWARE_RESEND_UNKNOWN=never never resends.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RestTransport } from '../../src/runware/rest.js';
import { RunwareClient } from '../../src/runware/client.js';
import { newSlot, settleRuleFor, SettleWindow } from '../../src/runware/recovery.js';
import { Rules, type Task } from '../../src/runware/rules.js';
import { carriesOutput, taskFinished } from '../../src/runware/verdicts.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { UNKNOWNS } from '../../src/simulator/state.js';
import { CANARY, clientFor, imageTask, useSim } from '../helpers.js';

let sim: Simulator;
const getSim = useSim();
beforeAll(() => {
  sim = getSim();
});

const submitted = (): string[] =>
  sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<{ taskType: string; taskUUID: string }>) : []))
    .filter((t) => t.taskType !== 'getResponse' && t.taskType !== 'getTaskDetails')
    .map((t) => t.taskUUID);

describe('a finished task is one whose outputs (or error) are present', () => {
  const t = { taskType: 'imageInference', taskUUID: 'u', numberResults: 2 } as Task;
  it('the rule, by type and numberResults', () => {
    expect(taskFinished(t, [{ taskType: 'imageInference', taskUUID: 'u', status: 'success' }])).toMatchObject({
      finished: false,
      emptySuccess: true,
      outputs: [],
    });
    expect(taskFinished(t, [{ taskType: 'imageInference', taskUUID: 'u', cost: 0.01 }])).toMatchObject({
      finished: false,
      emptySuccess: true,
    });
    expect(taskFinished(t, [{ taskUUID: 'u', imageURL: 'https://x/1.png' }]).finished).toBe(false);
    expect(
      taskFinished(t, [
        { taskUUID: 'u', imageURL: 'https://x/1.png' },
        { taskUUID: 'u', imageUUID: 'i2' },
      ]).finished,
    ).toBe(true);
    expect(taskFinished(t, [], [{ code: 'x', message: '', category: 'unknown', retryable: false }]).finished).toBe(
      true,
    );
    expect(carriesOutput({ taskType: 'promptEnhance', text: 'a' })).toBe(true);
    expect(carriesOutput({ taskType: 'promptEnhance', status: 'success', cost: 0.1 })).toBe(false);
    expect(carriesOutput({ taskType: 'videoInference', status: 'success', seed: 3 })).toBe(false);
    expect(carriesOutput({ taskType: 'modelSearch', results: [] })).toBe(true);
  });

  it('a sync "success" with no output is looked up, and its outputs recovered; nothing is resent', async () => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind: 'emptySuccess' });
    const r = await client.submit(imageTask({ numberResults: 2 }));
    const o = r.tasks[0]!;
    expect(o.status).toBe('success');
    expect(o.results).toHaveLength(2);
    expect(o.results.every((x) => typeof x.imageURL === 'string' && typeof x.cost === 'number')).toBe(true);
    expect([...sim.state.accepted.values()]).toEqual([1]);
  });

  it('"success" with no output until the deadline: unknown with the UUID, never success with 0 results', async () => {
    const { client } = clientFor(sim, { budgetMs: 600 });
    sim.addFaults({ kind: 'emptySuccess', count: 1000 });
    const r = await client.submit(imageTask());
    const o = r.tasks[0]!;
    expect(o.status).toBe('unknown');
    expect(o.errors[0]).toMatchObject({ code: 'resultMissing', taskUUID: o.taskUUID });
    // What to do next, as data: poll this task (each front-end names the step).
    expect(o.note).toMatchObject({ steps: [{ action: 'poll', args: { taskUUID: o.taskUUID } }] });
    expect(submitted()).toEqual([o.taskUUID]);
    // Once the answers are whole again, a poll gets what it made.
    sim.state.reset();
  });

  it('an async task whose getResponse says "success" with nothing in it is polled again', async () => {
    const { client } = clientFor(sim);
    const r = await client.submit(imageTask({ deliveryMethod: 'async' }));
    const uuid = r.tasks[0]!.taskUUID;
    sim.addFaults({ kind: 'emptySuccess', count: 3 });
    const st = await client.poll(uuid, { waitMs: 5000 });
    expect(st.status).toBe('success');
    expect(st.results).toHaveLength(1);
    expect(typeof st.results[0]!.imageURL).toBe('string');
  });
});

describe('a lagging getTaskDetails never turns a resend into a second charge', () => {
  // Every lag the simulator knows, under the pessimistic reuse answer (a reused UUID runs again).
  it.each(UNKNOWNS.taskDetailsLag.map((lag) => [lag]))(
    'lag of %i queries: the answer lost after the task ran',
    async (lag) => {
      sim.state.options.taskDetailsLag = lag;
      sim.state.options.reusedUuid = 'runsAgain';
      const { client } = clientFor(sim);
      sim.addFaults({ kind: 'resetAfterAccept' });
      const r = await client.submit(imageTask());
      expect(r.tasks[0]!.status).toBe('success');
      expect([...sim.state.accepted.values()]).toEqual([1]);
      expect(submitted()).toHaveLength(1);
    },
  );

  it('a task that never ran is still resent once the window has passed', async () => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind: 'reset' });
    const r = await client.submit(imageTask());
    expect(r.tasks[0]!.status).toBe('success');
    const checks = r.tasks[0]!.attempts.filter((a) => a.outcome === 'getTaskDetails: not found').length;
    expect(checks).toBeGreaterThanOrEqual(settleRuleFor(1).checks);
    expect(new Set(submitted()).size).toBe(1);
    expect(submitted()).toHaveLength(2);
  });

  it('RUNWARE_RESEND_UNKNOWN=never: a task whose fate is unknown is reported unknown with its UUID, not resent', async () => {
    const logger = new Logger('error');
    const client = new RunwareClient({
      transport: new RestTransport({ url: sim.info.runwareUrl, apiKey: CANARY.apiKey, userAgent: 'test' }),
      rules: new Rules(),
      logger,
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50, budgetMs: 5000 },
      pollSchedule: { minMs: 10, fraction: 0.1, maxMs: 100 },
      settleMs: 20,
      resendUnknown: 'never',
    });
    sim.addFaults({ kind: 'reset' });
    const r = await client.submit(imageTask());
    const o = r.tasks[0]!;
    expect(o.status).toBe('unknown');
    expect(o.errors[0]).toMatchObject({ code: 'unknownWhetherRan', taskUUID: o.taskUUID });
    // What to do next, as data: poll this task (each front-end names the step).
    expect(o.note).toMatchObject({ steps: [{ action: 'poll', args: { taskUUID: o.taskUUID } }] });
    expect(submitted()).toHaveLength(1);
    await client.close();
  });
});

describe('the settle window', () => {
  it('spreads its checks over the window, widens to twice the lag it sees, and stops at its bound', () => {
    const w = new SettleWindow(settleRuleFor(1000));
    expect(w.windowMs).toBe(8000);
    const s = newSlot(0, { taskType: 'imageInference', taskUUID: 'u' } as Task, false);
    s.firstNotFoundAt = 0;
    const delays: number[] = [];
    let now = 0;
    for (s.notFound = 1; s.notFound <= 4; s.notFound++) {
      const d = w.nextDelay(s, now);
      delays.push(d);
      now += d;
      if (s.notFound < 4) expect(w.passed(s, now)).toBe(false);
    }
    expect(delays.slice(0, 3).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(8000);
    w.observe(0, 6000);
    expect(w.windowMs).toBe(12_000);
    w.observe(0, 60_000);
    expect(w.windowMs).toBe(30_000);
  });
});
