/** The recovery state machine and the verdicts, transition by transition (docs/recovery.md). */
import { describe, expect, it } from 'vitest';
import {
  giveUp,
  newSlot,
  settleRuleFor,
  SettleWindow,
  transition,
  type Slot,
  type Verdict,
} from '../../src/runware/recovery.js';
import type { Task } from '../../src/runware/rules.js';
import { judgeDetails, judgeReply } from '../../src/runware/verdicts.js';

const U = '11111111-1111-4111-8111-111111111111';
const V = '22222222-2222-4222-8222-222222222222';
const task = (extra: Record<string, unknown> = {}): Task => ({
  taskType: 'imageInference',
  taskUUID: U,
  positivePrompt: 'a',
  model: 'runware:101@1',
  ...extra,
});
const fresh = (t: Task): Task => ({ ...t, taskUUID: V });
const sent = (s: Slot, times = 1): Slot => {
  s.sends += times;
  s.sentUuids.set(s.task.taskUUID, (s.sentUuids.get(s.task.taskUUID) ?? 0) + times);
  return s;
};
const step = (s: Slot, v: Verdict): Slot => {
  transition(s, v, fresh);
  return s;
};

describe('transitions', () => {
  it('result → done', () => {
    const s = step(sent(newSlot(0, task(), false)), { kind: 'result', items: [{ imageURL: 'u' }] });
    expect(s.phase).toBe('done');
    expect(s.outcome).toMatchObject({ status: 'success', taskUUID: U });
  });

  it('async ACK → done (processing) unless the caller waits, then follow', () => {
    expect(step(sent(newSlot(0, task(), false)), { kind: 'accepted' }).outcome?.status).toBe('processing');
    expect(step(sent(newSlot(0, task(), true)), { kind: 'accepted' }).phase).toBe('follow');
  });

  it('a transient task error → send under a fresh UUID; a permanent one → done', () => {
    const s = step(sent(newSlot(0, task(), false)), {
      kind: 'taskError',
      errors: [{ code: 'timeoutProvider', message: '', category: 'timeout', retryable: true }],
      transient: true,
    });
    expect(s.phase).toBe('send');
    expect(s.task.taskUUID).toBe(V);
    const p = step(sent(newSlot(0, task(), false)), {
      kind: 'taskError',
      errors: [{ code: 'invalidWidth', message: '', category: 'validation', retryable: false }],
      transient: false,
    });
    expect(p.outcome?.status).toBe('error');
  });

  it('not run → send under the same UUID, keeping Retry-After', () => {
    const s = step(sent(newSlot(0, task(), false)), { kind: 'notRun', why: 'HTTP 429', errors: [], retryAfterMs: 700 });
    expect(s).toMatchObject({ phase: 'send', retryAfterMs: 700 });
    expect(s.task.taskUUID).toBe(U);
  });

  it('unknown → check; not found across the settle window (4 checks over 8 s) → resend; conflict on the resend → check', () => {
    const s = step(sent(newSlot(0, task(), false)), { kind: 'unknown', why: 'reset' });
    expect(s.phase).toBe('check');
    const w = new SettleWindow(settleRuleFor(1000));
    // Twice "not found" a second apart is not the evidence: getTaskDetails may lag.
    transition(s, { kind: 'notFound' }, fresh, w, 0);
    transition(s, { kind: 'notFound' }, fresh, w, 1000);
    expect(s.phase).toBe('check');
    transition(s, { kind: 'notFound' }, fresh, w, 3000);
    // Enough checks, not enough time: still waiting.
    transition(s, { kind: 'notFound' }, fresh, w, 7000);
    expect(s.phase).toBe('check');
    transition(s, { kind: 'notFound' }, fresh, w, 8000);
    expect(s.phase).toBe('resend');
    sent(s);
    step(s, { kind: 'conflict' });
    expect(s.phase).toBe('check');
    expect(s.task.taskUUID).toBe(U);
  });

  it("a conflict on a first send is someone else's task: an error, not a follow", () => {
    const s = step(sent(newSlot(0, task(), false)), { kind: 'conflict' });
    expect(s.outcome?.errors[0]?.code).toBe('conflictTaskUUID');
  });

  it('check: running → follow; a task error → as from a reply', () => {
    expect(step(step(sent(newSlot(0, task(), false)), { kind: 'unknown', why: 'x' }), { kind: 'running' }).phase).toBe(
      'follow',
    );
    const s = step(step(sent(newSlot(0, task(), false)), { kind: 'unknown', why: 'x' }), {
      kind: 'taskError',
      errors: [{ code: 'timeoutProvider', message: '', category: 'timeout', retryable: true }],
      transient: true,
    });
    expect(s.phase).toBe('send');
    expect(s.task.taskUUID).toBe(V);
  });

  it('giving up: send → error (safe to retry), check → unknown with the UUID, follow → processing', () => {
    const a = sent(newSlot(0, task(), false));
    giveUp(a, 'deadline');
    expect(a.outcome?.status).toBe('error');
    const b = step(sent(newSlot(0, task(), false)), { kind: 'unknown', why: 'timeout' });
    giveUp(b, 'deadline');
    expect(b.outcome).toMatchObject({ status: 'unknown', taskUUID: U });
    // The next step as data (poll this UUID); each front-end names it.
    expect(b.outcome?.note).toMatchObject({ steps: [{ action: 'poll', args: { taskUUID: U } }] });
    const c = step(sent(newSlot(0, task(), true)), { kind: 'accepted' });
    giveUp(c, 'deadline');
    expect(c.outcome?.status).toBe('processing');
  });

  it('reads never enter a landing check', () => {
    const s = step(sent(newSlot(0, { taskType: 'getResponse', taskUUID: U }, false)), {
      kind: 'unknown',
      why: 'reset',
    });
    expect(s.phase).toBe('send');
  });
});

describe('verdicts', () => {
  const t = task({ numberResults: 2 });
  it('reads a reply by taskUUID and type, never by position', () => {
    const v = judgeReply(
      t,
      {
        status: 200,
        body: {
          data: [
            { taskType: 'imageInference', taskUUID: V, imageURL: 'x' },
            { taskType: 'imageInference', taskUUID: U, imageURL: 'a' },
            { taskType: 'imageInference', taskUUID: U, imageURL: 'b' },
          ],
        },
      },
      2,
    );
    expect(v).toMatchObject({ kind: 'result' });
    expect((v as { items: unknown[] }).items).toHaveLength(2);
  });

  it("5xx: Runware's own body means not run; no body or a proxy page means unknown", () => {
    expect(
      judgeReply(t, { status: 503, body: { errors: [{ code: 'serviceUnavailable', message: 'busy' }] } }, 1).kind,
    ).toBe('notRun');
    expect(judgeReply(t, { status: 502, body: null }, 1).kind).toBe('unknown');
    expect(judgeReply(t, { status: 502, body: { message: 'Bad gateway' } }, 1).kind).toBe('unknown');
    expect(judgeReply(t, { status: 429, body: null }, 1).kind).toBe('notRun');
  });

  it('a 4xx with no code is permanent; an error naming no task stays request-level', () => {
    expect(judgeReply(t, { status: 400, body: { errors: [{ message: 'bad' }] } }, 1).kind).toBe('requestError');
    expect(judgeReply(t, { status: 200, body: { data: [] } }, 3)).toMatchObject({
      kind: 'unknown',
      why: 'missing from the reply',
    });
    expect(
      judgeReply(t, { status: 400, body: { errors: [{ code: 'conflictTaskUUID', message: 'dup' }] } }, 2).kind,
    ).toBe('unknown');
  });

  it('getTaskDetails: every shape of "not found", running, results and task errors', () => {
    for (const r of [
      { status: 404, body: null },
      { status: 200, body: { data: [] } },
      { status: 400, body: { errors: [{ code: 'taskNotFound', message: '', taskUUID: U }] } },
      { status: 200, body: { data: [{ taskType: 'getTaskDetails', taskUUID: U }] } },
    ]) {
      expect(judgeDetails(t, r).kind).toBe('notFound');
    }
    expect(judgeDetails(t, { status: 200, body: { data: [{ taskUUID: U, request: [{}] }] } }).kind).toBe('running');
    expect(
      judgeDetails(t, {
        status: 200,
        body: { data: [{ taskUUID: U, request: [{}], response: { data: [{ taskUUID: U, status: 'processing' }] } }] },
      }).kind,
    ).toBe('running');
    expect(
      judgeDetails(t, {
        status: 200,
        body: { data: [{ taskUUID: U, request: [{}], response: { data: [{ imageURL: 'a' }, { imageURL: 'b' }] } }] },
      }).kind,
    ).toBe('result');
    expect(
      judgeDetails(t, {
        status: 200,
        body: {
          data: [{ taskUUID: U, request: [{}], response: { errors: [{ code: 'timeoutProvider', message: 'slow' }] } }],
        },
      }),
    ).toMatchObject({ kind: 'taskError', transient: true });
    expect(judgeDetails(t, { status: 503, body: null }).kind).toBe('noAnswer');
    // An empty WebSocket frame names no task: never proof that the task is unknown.
    expect(judgeDetails(t, { status: 200, body: { data: [] }, untagged: true }).kind).toBe('noAnswer');
  });
});
