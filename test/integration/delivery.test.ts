/**
 * Sync delivery through the client, over REST and over WebSocket: the result
 * comes with the answer; a wait that outlives its budget turns into a
 * getTaskDetails check of the same task, never a resend, and a later poll
 * finds the result; cancellation ends the wait at once; progress comes from
 * the learned run time and ends at 100.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/runware/poll.js';
import { CancelledError } from '../../src/shared/errors.js';
import type { Simulator } from '../../src/simulator/server.js';
import { clientFor, imageTask, useSim, waitFor } from '../helpers.js';

let sim: Simulator;
const getSim = useSim();
beforeAll(() => {
  sim = getSim();
});

const sent = (): Array<{ taskType: string; taskUUID: string; deliveryMethod?: string }> =>
  sim
    .runwareRequests()
    .flatMap((e) =>
      Array.isArray(e.body) ? (e.body as Array<{ taskType: string; taskUUID: string; deliveryMethod?: string }>) : [],
    );
const images = () => sent().filter((t) => t.taskType === 'imageInference');
const reads = () => sent().filter((t) => t.taskType === 'getTaskDetails' || t.taskType === 'getResponse');

for (const transport of ['rest', 'ws'] as const) {
  describe(`sync delivery over ${transport}`, () => {
    it('hands back the result with the answer: one request, no polls', async () => {
      sim.state.imageMs = 150;
      const { client } = clientFor(sim, { transport });
      try {
        const o = await client.run(imageTask({ deliveryMethod: 'sync', numberResults: 2 }), { waitMs: 5000 });
        expect(o.status).toBe('success');
        expect(o.results).toHaveLength(2);
        expect(images()).toHaveLength(1);
        expect(reads()).toHaveLength(0);
      } finally {
        await client.close();
      }
    });

    it.each([0, 3] as const)(
      'a wait past its budget becomes a getTaskDetails check of the same task (lag %i), and a poll later finds the result; nothing is resent',
      async (lag) => {
        sim.state.imageMs = 1500;
        sim.state.options.taskDetailsLag = lag;
        const { client } = clientFor(sim, { transport });
        try {
          const t0 = Date.now();
          const o = await client.run(imageTask({ deliveryMethod: 'sync' }), { waitMs: 700 });
          // Back at the wait's end, not at the image's (1.5 s); the margin is for a busy machine.
          expect(Date.now() - t0).toBeLessThan(1400);
          // A check that lags may not know the task within the wait: then its fate is unknown, and it is still not resent.
          if (lag === 0) expect(o.status).toBe('processing');
          else expect(['processing', 'unknown']).toContain(o.status);
          // Either way the note says to poll this task (a sentence, or a next step that renders as one).
          expect(String(o.note)).toMatch(/poll/);
          expect(String(o.note)).toContain(o.taskUUID);
          expect(images().map((t) => t.taskUUID)).toEqual([o.taskUUID]);
          expect(
            reads().filter((t) => t.taskType === 'getTaskDetails' && t.taskUUID === o.taskUUID).length,
          ).toBeGreaterThan(0);
          const later = await client.poll(o.taskUUID, { waitMs: 5000 });
          expect(later.status).toBe('success');
          expect(later.results).toHaveLength(1);
          expect(images()).toHaveLength(1);
        } finally {
          await client.close();
        }
      },
    );

    it('cancellation ends a sync wait at once, and nothing follows it', async () => {
      sim.state.imageMs = 3000;
      const { client } = clientFor(sim, { transport });
      try {
        const ac = new AbortController();
        const p = client.run(imageTask({ deliveryMethod: 'sync' }), { waitMs: 10_000, signal: ac.signal });
        await waitFor(() => images().length > 0, { timeoutMs: 10_000, what: 'the image to be sent' });
        // Timed from the abort: the image has most of its 3 s to go, the wait ends well before.
        const t0 = Date.now();
        ac.abort();
        await expect(p).rejects.toBeInstanceOf(CancelledError);
        expect(Date.now() - t0).toBeLessThan(1500);
        const n = sent().length;
        await new Promise((r) => setTimeout(r, 300));
        expect(sent().length).toBe(n);
        expect(reads()).toHaveLength(0);
      } finally {
        await client.close();
      }
    });

    it('reports progress during the wait, monotonic, ending at 100 with the result', async () => {
      sim.state.imageMs = 600;
      const { client } = clientFor(sim, { transport });
      try {
        const seen: Progress[] = [];
        const o = await client.run(imageTask({ deliveryMethod: 'sync' }), {
          waitMs: 5000,
          onProgress: (p) => seen.push(p),
        });
        expect(o.status).toBe('success');
        expect(seen.length).toBeGreaterThan(1);
        expect(seen.at(-1)!.progress).toBe(100);
        const pcts = seen.map((s) => s.progress);
        expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
      } finally {
        await client.close();
      }
    });
  });
}
