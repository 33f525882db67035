/** One chunk's failure keeps the other chunks' results (hardening issue, class 3). */
import { describe, expect, it } from 'vitest';
import { RunwareClient } from '../../src/runware/client.js';
import { Rules, type Task } from '../../src/runware/rules.js';
import type { Transport, TransportReply } from '../../src/runware/transport.js';
import { Logger } from '../../src/shared/log.js';

/** Answers every task with a result, except that a request holding a "boom" prompt throws a non-network error. */
class StubTransport implements Transport {
  readonly name = 'rest' as const;
  sent: Task[][] = [];
  async send(tasks: Task[]): Promise<TransportReply> {
    this.sent.push(tasks);
    if (tasks.some((t) => t.positivePrompt === 'boom')) throw new TypeError('a bug in the transport');
    if (tasks.every((t) => t.taskType === 'getTaskDetails')) return { status: 200, body: { data: [] } };
    return {
      status: 200,
      body: {
        data: tasks.map((t) => ({
          taskType: t.taskType,
          taskUUID: t.taskUUID,
          imageURL: `https://x/${t.taskUUID}.jpg`,
        })),
      },
    };
  }
  async close(): Promise<void> {}
}

describe('chunks', () => {
  it('a chunk whose request throws is reported on its own; the other chunks keep their results', async () => {
    const transport = new StubTransport();
    const client = new RunwareClient({
      transport,
      rules: new Rules(),
      logger: new Logger('error'),
      maxConcurrency: 1,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, budgetMs: 500 },
      settleMs: 1,
    });
    const img = (p: string) => ({
      taskType: 'imageInference',
      positivePrompt: p,
      model: 'runware:101@1',
      width: 512,
      height: 512,
    });
    const r = await client.submit([img('a'), img('boom'), img('c')]);
    expect(r.tasks.map((t) => t.status)).toEqual(['success', 'unknown', 'success']);
    expect(r.tasks[0]!.results[0]!.imageURL).toMatch(/^https:/);
    expect(r.tasks[2]!.results).toHaveLength(1);
    // The failing task was never resent blind: its UUID appears in no second submission.
    const boom = r.tasks[1]!.taskUUID;
    expect(
      transport.sent.filter((b) => b.some((t) => t.taskUUID === boom && t.taskType === 'imageInference')).length,
    ).toBeLessThanOrEqual(2);
    expect(r.anyFailed).toBe(true);
    expect(r.allFailed).toBe(false);
  });
});
