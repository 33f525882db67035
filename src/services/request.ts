/** The raw escape hatch: any task array, under the same rules as everything else. */
import { Next, pollStep } from '../shared/next-step.js';
import type { SubmitResult } from '../runware/client.js';
import type { AppContext } from './context.js';

export interface RequestOutput extends SubmitResult {
  next?: Next;
}

export async function rawRequest(ctx: AppContext, tasks: unknown, signal?: AbortSignal): Promise<RequestOutput> {
  const r = await ctx.runware().submit(tasks, signal ? { signal } : {});
  const processing = r.tasks.filter((t) => t.status === 'processing').map((t) => t.taskUUID);
  return processing.length
    ? {
        ...r,
        next: new Next(
          `Async task(s) accepted; to get the results run ${processing.map(() => '{step}').join(', then ')}.`,
          processing.map((u) => pollStep(u)),
        ),
      }
    : r;
}
