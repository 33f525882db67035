/** The WebSocket transport against the simulator's WebSocket endpoint. */
import { beforeAll, describe, expect, it } from 'vitest';
import { version as uuidVersion } from 'uuid';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, Capture, clientFor, imageTask, useSim } from '../helpers.js';

let sim: Simulator;
const capture = new Capture();
const img = imageTask;
const wsBodies = () =>
  sim
    .runwareRequests()
    .filter((e) => e.method === 'WS')
    .map((e) => e.body as Array<Record<string, unknown>>);

const getSim = useSim();
beforeAll(() => {
  sim = getSim();
});

describe('WebSocket transport', () => {
  it('the key travels only in the connect-time authentication message', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    const r = await client.submit([img(), { taskType: 'modelSearch', search: 'flux' }]);
    capture.add(r);
    expect(r.tasks.map((t) => t.status)).toEqual(['success', 'success']);
    const bodies = wsBodies();
    expect(bodies[0]).toEqual([{ taskType: 'authentication', apiKey: CANARY.apiKey }]);
    for (const b of bodies.slice(1)) expect(JSON.stringify(b)).not.toContain(CANARY.apiKey);
    for (const e of sim.runwareRequests()) expect(JSON.stringify(e.headers)).not.toContain(CANARY.apiKey);
    for (const t of bodies.slice(1).flat()) if (t.taskType !== 'ping') expect(uuidVersion(String(t.taskUUID))).toBe(4);
    await client.close();
  });

  it('accumulates numberResults delivered one frame per result, matched by taskUUID', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    const r = await client.submit([
      img({ numberResults: 3 }),
      { taskType: 'promptEnhance', prompt: 'cat', promptVersions: 2 },
      img({ width: 520, height: 512 }),
    ]);
    expect(r.tasks.map((t) => [t.status, t.results.length])).toEqual([
      ['success', 3],
      ['success', 2],
      ['error', 0],
    ]);
    expect(r.tasks[2]!.errors[0]).toMatchObject({ parameter: 'width' });
    await client.close();
  });

  it('polls async tasks over the socket, including empty answers', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    const r = await client.submit(img({ deliveryMethod: 'async', numberResults: 2 }));
    const st = await client.poll(r.tasks[0]!.taskUUID, { waitMs: 5000, numberResults: 2 });
    expect(st).toMatchObject({ status: 'success' });
    expect(st.results).toHaveLength(2);
    const unknown = await client.poll('3b241101-e2bb-4255-8caf-4136c566a962', { waitMs: 0 });
    expect(unknown.status).toBe('unknown');
    await client.close();
  });

  it('a bad key is a permanent auth error', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    sim.state.credentials.apiKey = 'another-key-entirely';
    try {
      // As over REST: the task ends in a request-level auth error, nothing retried.
      const r = await client.submit(img());
      expect(r.tasks[0]!.status).toBe('error');
      expect(r.tasks[0]!.errors[0]).toMatchObject({ category: 'auth', retryable: false });
      expect(wsBodies().filter((b) => b[0]?.taskType !== 'authentication')).toHaveLength(0);
    } finally {
      sim.state.credentials.apiKey = CANARY.apiKey;
      await client.close();
    }
  });

  it.each([true, false])(
    'a drop after the task ran (replay %s): resume the session, recover the result, bill it once',
    async (replays) => {
      sim.state.options.wsResumeReplays = replays;
      const { client, logs } = clientFor(sim, { transport: 'ws' });
      await client.submit({ taskType: 'ping' });
      sim.addFaults({ kind: 'resetAfterAccept' });
      const t0 = Date.now();
      const r = await client.submit(img({ numberResults: 2 }));
      expect(r.tasks[0]!.status).toBe('success');
      expect(r.tasks[0]!.results).toHaveLength(2);
      const outcomes = r.tasks[0]!.attempts.map((a) => a.outcome);
      // Replayed results complete the task with no landing check; otherwise getTaskDetails finds it.
      if (replays) expect(outcomes).toEqual(['success']);
      else expect(outcomes).toContain('landed (found by getTaskDetails)');
      expect(Date.now() - t0).toBeLessThan(4000);
      expect([...sim.state.accepted.values()]).toEqual([1]);
      expect(logs.some((l) => l.message.includes('reconnected; session resumed'))).toBe(true);
      const auths = wsBodies().filter((b) => b[0]?.taskType === 'authentication');
      expect(auths.length).toBe(2);
      expect(auths[1]![0]!.connectionSessionUUID).toBeTypeOf('string');
      await client.close();
    },
  );

  it.each(['refused', 'newSession'] as const)(
    'a drop beyond the resume window (stale session %s): a new session, then the landing check',
    async (mode) => {
      sim.state.options.staleSession = mode;
      const { client, logs } = clientFor(sim, { transport: 'ws' });
      await client.submit({ taskType: 'ping' });
      sim.addFaults({ kind: 'wsDrop', resume: 'beyond' });
      const r = await client.submit(img());
      expect(r.tasks[0]!.status).toBe('success');
      expect(r.tasks[0]!.attempts.map((a) => a.outcome)).toContain('landed (found by getTaskDetails)');
      expect([...sim.state.accepted.values()]).toEqual([1]);
      if (mode === 'refused') expect(logs.some((l) => l.message.includes('resume refused'))).toBe(true);
      expect(logs.some((l) => l.message.includes('new session'))).toBe(true);
      await client.close();
    },
  );

  it('a socket that goes silent counts as dropped within seconds, not at the request timeout', async () => {
    const { client, logs } = clientFor(sim, { transport: 'ws', pingMs: 100 });
    await client.submit({ taskType: 'ping' });
    sim.addFaults({ kind: 'silence' });
    const t0 = Date.now();
    const r = await client.submit(img());
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.tasks[0]!.status).toBe('success');
    expect(logs.some((l) => l.message.includes('pong deadline'))).toBe(true);
    expect([...sim.state.accepted.values()]).toEqual([1]);
    await client.close();
  });

  it('frames that name no task, duplicates and reordering never settle or double a task', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    sim.addFaults({ kind: 'duplicateFrames' });
    const r = await client.submit(img({ numberResults: 3 }));
    expect(r.tasks[0]!.results).toHaveLength(3);
    expect(new Set(r.tasks[0]!.results.map((x) => x.imageUUID)).size).toBe(3);
    sim.addFaults({ kind: 'interleave' });
    const r2 = await client.submit([
      img({ numberResults: 2 }),
      { taskType: 'promptEnhance', prompt: 'a', promptVersions: 2 },
    ]);
    expect(r2.tasks.map((t) => t.results.length)).toEqual([2, 2]);
    sim.state.options.hostile = true;
    try {
      const r3 = await client.submit(img({ numberResults: 2 }));
      expect(r3.tasks[0]!.results).toHaveLength(2);
    } finally {
      sim.state.options.hostile = false;
    }
    await client.close();
  });

  it('counts results in one frame or in N frames alike', async () => {
    sim.state.options.wsFraming = 'oneFrame';
    const { client } = clientFor(sim, { transport: 'ws' });
    const r = await client.submit([
      img({ numberResults: 3 }),
      { taskType: 'promptEnhance', prompt: 'cat', promptVersions: 2 },
    ]);
    expect(r.tasks.map((t) => [t.status, t.results.length])).toEqual([
      ['success', 3],
      ['success', 2],
    ]);
    await client.close();
  });

  it('a drop before the task ran: the landing check finds nothing, one task runs', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    sim.addFaults({ kind: 'reset', taskType: 'imageInference' });
    const r = await client.submit(img());
    expect(r.tasks[0]!.status).toBe('success');
    expect(sim.state.accepted.size).toBe(1);
    await client.close();
  });

  it('runs many tasks concurrently over one connection', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    const r = await client.submit(Array.from({ length: 9 }, () => img()));
    expect(r.tasks.every((t) => t.status === 'success')).toBe(true);
    expect(wsBodies().filter((b) => b[0]?.taskType === 'authentication')).toHaveLength(1);
    await client.close();
  });
});

describe('leaks', () => {
  it('no canary in results', () => {
    expect(capture.leaks()).toEqual([]);
  });
});

describe('hostile frames (hardening, second wave)', () => {
  it('frames that name no task, sent before every real answer, answer no waiting read: the billed result comes back', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    sim.state.options.hostile = true;
    try {
      const r = await client.submit(img({ deliveryMethod: 'async' }));
      const st = await client.poll(r.tasks[0]!.taskUUID, { waitMs: 5000, numberResults: 1 });
      capture.add(st);
      expect(st.status).toBe('success');
      expect(st.results).toHaveLength(1);
    } finally {
      sim.state.options.hostile = false;
      await client.close();
    }
  });
});
