/** The WebSocket transport against the simulator's WebSocket endpoint. */
import { beforeAll, describe, expect, it } from 'vitest';
import { version as uuidVersion } from 'uuid';
import { UpstreamError } from '../../src/shared/errors.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, Capture, clientFor, imageTask, useSim } from '../helpers.js';

let sim: Simulator;
const capture = new Capture();
const img = imageTask;
const wsBodies = () => sim.runwareRequests().filter((e) => e.method === 'WS').map((e) => e.body as Array<Record<string, unknown>>);

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
    const r = await client.submit([img({ numberResults: 3 }), { taskType: 'promptEnhance', prompt: 'cat', promptVersions: 2 }, img({ width: 520, height: 512 })]);
    expect(r.tasks.map((t) => [t.status, t.results.length])).toEqual([['success', 3], ['success', 2], ['error', 0]]);
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
    expect(unknown.status).toBe('processing');
    await client.close();
  });

  it('a bad key is a permanent auth error', async () => {
    const { client } = clientFor(sim, { transport: 'ws' });
    sim.state.credentials.apiKey = 'another-key-entirely';
    try {
      const e = await client.submit(img()).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(UpstreamError);
      expect((e as UpstreamError).opts.category).toBe('auth');
    } finally {
      sim.state.credentials.apiKey = CANARY.apiKey;
      await client.close();
    }
  });

  it('a drop after the task ran: reconnect, resume the session, find it, bill it once', async () => {
    const { client, logs } = clientFor(sim, { transport: 'ws' });
    await client.submit({ taskType: 'ping' });
    sim.addFaults({ kind: 'resetAfterAccept' });
    const t0 = Date.now();
    const r = await client.submit(img());
    expect(r.tasks[0]!.status).toBe('success');
    expect(r.tasks[0]!.attempts.map((a) => a.outcome)).toContain('landed (found by getResponse)');
    expect(Date.now() - t0).toBeLessThan(4000);
    expect([...sim.state.accepted.values()]).toEqual([1]);
    expect(logs.some((l) => l.message.includes('reconnected; session resumed'))).toBe(true);
    const auths = wsBodies().filter((b) => b[0]?.taskType === 'authentication');
    expect(auths.length).toBe(2);
    expect(auths[1]![0]!.connectionSessionUUID).toBeTypeOf('string');
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
