/**
 * The client against the simulator: every rule is checked in the simulator's
 * own request log, and retries are checked by counting accepted tasks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { version as uuidVersion, validate as uuidValidate } from 'uuid';
import { PolicyError, ValidationError } from '../../src/shared/errors.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, Capture, clientFor, imageTask, useSim } from '../helpers.js';

let sim: Simulator;
const capture = new Capture();
const img = imageTask;

const getSim = useSim((sim) => {
  sim.state.options.getResponseCoversSync = true;
  sim.state.options.unknownTask = 'empty';
});
beforeAll(() => {
  sim = getSim();
});

/** Every taskUUID in every Runware request body, with its taskType. */
function sentTasks(): Array<{ taskType: string; taskUUID: string }> {
  return sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<{ taskType: string; taskUUID: string }>) : []));
}

/** UUIDs of tasks that create work (not reads). */
function submittedUuids(): string[] {
  return sentTasks()
    .filter((t) => t.taskType !== 'getResponse' && t.taskType !== 'getTaskDetails')
    .map((t) => t.taskUUID);
}

describe('the rules, proved by the request log', () => {
  it('sends a fresh v4 per task, Bearer auth on every request, and never the key in a body', async () => {
    const { client } = clientFor(sim);
    // After a shared first send, each task recovers on its own: the task error hits the first resend.
    sim.addFaults({ kind: 'http503' }, { kind: 'taskError', code: 'timeoutProvider' });
    const r = await client.submit([img(), img(), { taskType: 'modelSearch', search: 'flux' }]);
    capture.add(r);
    expect(r.tasks.map((t) => t.status)).toEqual(['success', 'success', 'success']);
    const uuids = submittedUuids();
    // 3 (503, not run: resent under the same UUIDs) + 3 + 1 fresh UUID for the task that failed transiently.
    expect(uuids.length).toBe(7);
    expect(new Set(uuids).size).toBe(4);
    for (const u of uuids) {
      expect(uuidValidate(u)).toBe(true);
      expect(uuidVersion(u)).toBe(4);
    }
    // No UUID ever names two different tasks.
    const byUuid = new Map<string, string>();
    for (const t of sentTasks().filter((x) => x.taskType !== 'getResponse' && x.taskType !== 'getTaskDetails')) {
      const body = JSON.stringify({ ...t, taskUUID: undefined });
      expect(byUuid.get(t.taskUUID) ?? body).toBe(body);
      byUuid.set(t.taskUUID, body);
    }
    expect([...sim.state.accepted.values()].every((n) => n === 1)).toBe(true);
    for (const e of sim.runwareRequests()) {
      expect(e.headers.authorization).toBe(`Bearer ${CANARY.apiKey}`);
      const body = JSON.stringify(e.body);
      expect(body).not.toContain(CANARY.apiKey);
      expect(body).not.toMatch(/"api_?key"/i);
      expect(body).not.toContain('"authentication"');
    }
  });

  it('refuses bad input before anything is sent', async () => {
    const { client } = clientFor(sim);
    const bad: unknown[] = [
      img({ apiKey: 'x' }),
      img({ nested: { apiKey: 'x' } }),
      [{ taskType: 'authentication', apiKey: 'x' }, img()],
      img({ positivePrompt: `use ${CANARY.apiKey}` }),
      // A misspelt field is the live schema's to refuse (services/run, e2e/models); the client judges only what it types.
      img({ width: '512' }),
      img({ steps: 1000 }),
      img({ positivePrompt: 'x'.repeat(9 * 1024 * 1024) }),
      JSON.parse(
        '{"taskType":"imageInference","positivePrompt":"a","model":"runware:101@1","__proto__":{"admin":true}}',
      ),
      { taskType: 'nope' },
      img({ taskUUID: '00000000-0000-1000-8000-000000000000' }),
    ];
    for (const b of bad) {
      const e = await client.submit(b).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e, JSON.stringify(b).slice(0, 80)).toSatisfy(
        (x: unknown) => x instanceof ValidationError || x instanceof PolicyError,
      );
      capture.add((e as Error).message);
      expect((e as Error).message).not.toContain(CANARY.apiKey);
    }
    expect(sim.runwareRequests()).toHaveLength(0);
  });
});

describe('errors scoped per taskUUID', () => {
  it('a 3-task request with one failing task yields two successes and one scoped error', async () => {
    const { client } = clientFor(sim);
    const r = await client.submit([
      img(),
      img({ width: 520, height: 512 }),
      { taskType: 'modelSearch', search: 'sdxl' },
    ]);
    capture.add(r);
    expect(r.tasks.map((t) => t.status)).toEqual(['success', 'error', 'success']);
    expect(r.tasks[1]!.errors[0]).toMatchObject({
      code: 'invalidWidth',
      parameter: 'width',
      taskUUID: r.tasks[1]!.taskUUID,
      retryable: false,
    });
    expect(r.tasks[0]!.results[0]!.imageURL).toMatch(/^http/);
    expect(r).toMatchObject({ anyFailed: true, allFailed: false });
    expect(sim.runwareRequests()).toHaveLength(1);
  });

  it('matches responses by taskUUID and taskType, not by order', async () => {
    const { client } = clientFor(sim);
    const r = await client.submit([
      { taskType: 'modelSearch', search: 'flux', limit: 1 },
      img({ numberResults: 2 }),
      { taskType: 'promptEnhance', prompt: 'cat', promptVersions: 2 },
    ]);
    expect(r.tasks[0]!.results[0]).toHaveProperty('totalResults');
    expect(r.tasks[1]!.results).toHaveLength(2);
    expect(r.tasks[1]!.results.every((x) => x.taskUUID === r.tasks[1]!.taskUUID)).toBe(true);
    expect(r.tasks[2]!.results).toHaveLength(2);
  });

  it('an invalid key is a request-level auth error, not retried', async () => {
    const { client } = clientFor(sim);
    sim.state.credentials.apiKey = 'something-else-entirely';
    try {
      const r = await client.submit(img());
      expect(r.tasks[0]!.status).toBe('error');
      expect(r.requestErrors[0]).toMatchObject({ code: 'invalidApiKey', category: 'auth' });
      expect(sim.runwareRequests()).toHaveLength(1);
    } finally {
      sim.state.credentials.apiKey = CANARY.apiKey;
    }
  });
});

describe('retries', () => {
  it('retries a 429, honouring Retry-After, under the same UUID (the task did not run)', async () => {
    const { client, logs } = clientFor(sim);
    sim.state.options.retryAfter = true;
    sim.addFaults({ kind: 'http429', retryAfter: 0.3 });
    const t0 = Date.now();
    const r = await client.submit(img());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r.tasks[0]!.status).toBe('success');
    expect(r.tasks[0]!.attempts.map((a) => a.outcome)).toEqual(['HTTP 429', 'success']);
    const [first, second] = submittedUuids();
    expect(first).toBe(second);
    expect(r.tasks[0]!.taskUUID).toBe(second);
    expect(logs.some((l) => l.message.includes('did not run'))).toBe(true);
    expect([...sim.state.accepted.values()]).toEqual([1]);
  });

  it('a 429 without Retry-After still backs off and succeeds', async () => {
    const { client } = clientFor(sim);
    sim.state.options.retryAfter = false;
    sim.addFaults({ kind: 'http429', count: 2 });
    const r = await client.submit(img());
    expect(r.tasks[0]!.status).toBe('success');
    expect(sim.runwareRequests()).toHaveLength(3);
  });

  it.each(['http500', 'http503', 'http504'] as const)('retries %s', async (kind) => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind });
    expect((await client.submit(img())).tasks[0]!.status).toBe('success');
  });

  it.each(['timeoutProvider', 'providerRateLimitExceeded'])(
    'retries a task-scoped %s with a fresh UUID, keeping the others',
    async (code) => {
      const { client } = clientFor(sim);
      sim.addFaults({ kind: 'taskError', code, taskIndex: 0 });
      const r = await client.submit([img(), { taskType: 'modelSearch', search: 'flux' }]);
      expect(r.tasks.map((t) => t.status)).toEqual(['success', 'success']);
      expect(r.tasks[0]!.attempts[0]!.outcome).toBe(code);
      expect(r.tasks[1]!.attempts).toHaveLength(1);
      expect([...sim.state.accepted.values()].every((n) => n === 1)).toBe(true);
    },
  );

  it('never retries a permanent error', async () => {
    const { client } = clientFor(sim);
    const r = await client.submit(img({ width: 520, height: 512 }));
    expect(r.tasks[0]!.status).toBe('error');
    expect(sim.runwareRequests()).toHaveLength(1);
    sim.addFaults(
      { kind: 'taskError', code: 'insufficientCredits' },
      { kind: 'taskError', code: 'contentPolicyViolation' },
    );
    expect((await client.submit(img())).tasks[0]!.errors[0]!.category).toBe('quota');
    expect((await client.submit(img())).tasks[0]!.errors[0]!.category).toBe('safety');
    expect(sim.runwareRequests()).toHaveLength(3);
  });

  it('gives up after the attempt budget, reporting the last error', async () => {
    const { client } = clientFor(sim, { maxAttempts: 3 });
    sim.addFaults({ kind: 'http503', count: 10 });
    const r = await client.submit(img());
    expect(r.tasks[0]).toMatchObject({ status: 'error' });
    expect(r.tasks[0]!.note).toMatch(/Gave up \(3 attempts\)/);
    expect(sim.runwareRequests()).toHaveLength(3);
  });

  it('a reset before the task ran: the landing check finds nothing, one task runs', async () => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind: 'reset' });
    const r = await client.submit(img());
    expect(r.tasks[0]!.status).toBe('success');
    expect(sim.state.accepted.size).toBe(1);
  });
});

describe('no task is billed twice', () => {
  it('an answer lost after the task ran: getTaskDetails recovers the result, nothing is resent', async () => {
    const { client } = clientFor(sim);
    sim.state.options.getResponseCoversSync = false;
    sim.addFaults({ kind: 'resetAfterAccept' });
    const r = await client.submit(img({ numberResults: 2 }));
    capture.add(r);
    expect(r.tasks[0]!.status).toBe('success');
    expect(r.tasks[0]!.results).toHaveLength(2);
    expect(r.tasks[0]!.attempts.map((a) => a.outcome)).toContain('landed (found by getTaskDetails)');
    expect([...sim.state.accepted.values()]).toEqual([1]);
    expect(submittedUuids()).toHaveLength(1);
  });

  it('a truncated body is ambiguous too', async () => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind: 'malformed' });
    const r = await client.submit(img());
    expect(r.tasks[0]!.status).toBe('success');
    expect([...sim.state.accepted.values()]).toEqual([1]);
  });

  it('a reset before the task ran: not found twice, then resent under the same UUID', async () => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind: 'reset' });
    const r = await client.submit(img());
    expect(r.tasks[0]!.status).toBe('success');
    const uuids = submittedUuids();
    expect(uuids).toHaveLength(2);
    expect(new Set(uuids).size).toBe(1);
    expect([...sim.state.accepted.values()]).toEqual([1]);
  });

  it('a landing check that finds timeoutProvider retries it as a new task', async () => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind: 'taskError', code: 'timeoutProvider' });
    sim.addFaults({ kind: 'resetAfterAccept' });
    // The first request fails with the task error, but the answer is lost: the fault order puts the reset first.
    const r = await client.submit(img());
    expect(r.tasks[0]!.status).toBe('success');
    expect([...sim.state.accepted.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('async and polling', () => {
  it('submits async, polls with monotonic progress, accumulates numberResults', async () => {
    const { client } = clientFor(sim);
    sim.state.options.timeScale = 0.2;
    try {
      const r = await client.submit(img({ deliveryMethod: 'async', numberResults: 3, steps: 60 }));
      expect(r.tasks[0]!.status).toBe('processing');
      const seen: number[] = [];
      const st = await client.poll(r.tasks[0]!.taskUUID, {
        waitMs: 10_000,
        numberResults: 3,
        onProgress: (p) => seen.push(p.progress),
      });
      expect(st.status).toBe('success');
      expect(st.results).toHaveLength(3);
      expect(new Set(st.results.map((x) => x.imageUUID)).size).toBe(3);
      expect(seen.length).toBeGreaterThan(2);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen.at(-1)).toBe(100);
    } finally {
      sim.state.options.timeScale = 0.02;
    }
  });

  it('reports an async failure scoped to its task', async () => {
    const { client } = clientFor(sim);
    sim.addFaults({ kind: 'asyncError', code: 'inferenceError' });
    const r = await client.submit(img({ deliveryMethod: 'async' }));
    const st = await client.poll(r.tasks[0]!.taskUUID, { waitMs: 5000 });
    expect(st.status).toBe('error');
    expect(st.errors[0]).toMatchObject({ code: 'inferenceError', taskUUID: r.tasks[0]!.taskUUID });
  });

  it("a getResponse task in a raw batch returns the earlier task's items, and keeps its UUID on retry", async () => {
    const { client } = clientFor(sim);
    const r = await client.submit(img({ deliveryMethod: 'async' }));
    const uuid = r.tasks[0]!.taskUUID;
    await client.poll(uuid, { waitMs: 5000 });
    sim.addFaults({ kind: 'http503' });
    const g = await client.submit([{ taskType: 'getResponse', taskUUID: uuid }, { taskType: 'ping' }]);
    expect(g.tasks[0]).toMatchObject({ status: 'success', taskUUID: uuid });
    expect(g.tasks[0]!.results[0]!.imageURL).toMatch(/^http/);
    const polls = sentTasks()
      .filter((t) => t.taskType === 'getResponse')
      .map((t) => t.taskUUID);
    expect(new Set(polls)).toEqual(new Set([uuid]));
    expect([...sim.state.accepted.entries()].filter(([u]) => u === uuid)).toEqual([[uuid, 1]]);
  });

  it('honours concurrency: no more than the limit in flight', async () => {
    const { client } = clientFor(sim);
    const r = await client.submit(Array.from({ length: 9 }, () => img()));
    expect(r.tasks.every((t) => t.status === 'success')).toBe(true);
    const sizes = sim.runwareRequests().map((e) => (e.body as unknown[]).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(9);
  });
});

describe('leaks', () => {
  it('captured results never hold a canary', () => {
    expect(capture.leaks()).toEqual([]);
  });
});
