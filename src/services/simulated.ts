/**
 * With --simulate every command starts its own simulator, which would not know
 * a task that `text-to-image --async` sent from an earlier one. The simulated
 * journal (a file of its own, see context.ts) does: its unfinished tasks are
 * handed to the new simulator, which finishes them on their original clock.
 * So the documented async flow works across commands, as it does against Runware.
 */
import type { AppContext } from './context.js';

export interface Adopter {
  adopt(task: Record<string, unknown>, receivedAt: number): boolean;
}

const LOOK_BACK_MS = 7 * 24 * 3600_000;

/** Adopts the simulated journal's unfinished tasks; returns how many. Never throws: a fresh simulator is still a simulator. */
export async function adoptUnfinished(ctx: AppContext, sim: Adopter): Promise<number> {
  if (!ctx.config.simulate) return 0;
  let n = 0;
  try {
    const store = await ctx.journal.state();
    for (const status of ['submitted', 'processing'] as const) {
      for (const r of await store.listTasks({ status, since: Date.now() - LOOK_BACK_MS, limit: 1000 })) {
        if (sim.adopt({ ...r.request, taskType: r.taskType, taskUUID: r.taskUUID }, Date.parse(r.createdAt))) n++;
      }
    }
  } catch {
    return n;
  }
  return n;
}
