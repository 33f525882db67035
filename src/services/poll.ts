import type { PollState, Progress } from '../runware/poll.js';
import type { AppContext } from './context.js';

export interface PollInput {
  taskUUID: string;
  waitSeconds?: number;
  numberResults?: number;
}

export interface PollOutput extends PollState {
  next?: string;
}

export async function pollTask(ctx: AppContext, input: PollInput, opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}): Promise<PollOutput> {
  const st = await ctx.runware().poll(input.taskUUID, {
    waitMs: Math.max(0, (input.waitSeconds ?? 0) * 1000),
    ...(input.numberResults !== undefined ? { numberResults: input.numberResults } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  if (st.status !== 'processing') return st;
  const unknown = st.polls > 0 && st.progress === 0 && st.results.length === 0;
  return {
    ...st,
    next: unknown
      ? `No progress reported yet for ${st.taskUUID}. If it was submitted long ago, the UUID may be unknown or expired; otherwise poll again with waitSeconds.`
      : `Still processing (${Math.round(st.progress)}%). Poll again with waitSeconds to wait longer.`,
  };
}
