import { next, pollStep, type Next } from '../shared/next-step.js';
import { overrunOut, type OverrunOut } from './spend.js';
import type { PollState, Progress } from '../runware/poll.js';
import { resolveSaveTarget } from '../media/save.js';
import type { AppContext } from './context.js';
import { callRecord } from '../state/ledger.js';
import { downloadBudget, mediaItems, OutputBatch, type MediaInfo } from './outputs.js';
import { savedEarlier } from './saved-earlier.js';

export interface PollInput {
  taskUUID: string;
  waitSeconds?: number;
  numberResults?: number;
  /** Save finished outputs here (inside the roots), as text-to-image does. */
  saveTo?: string;
}

export interface PollOutput extends PollState {
  /** With saveTo: where each output was saved, by result index (a 3D result's files count one each). */
  files?: Array<MediaInfo & { index: number }>;
  /** The real charge passed the task's reservation (see the spend cap in the README). */
  overrun?: OverrunOut;
  next?: Next;
}

export interface PollOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  roots?: string[];
  previewMaxBytes?: number;
}

export async function pollTask(
  ctx: AppContext,
  input: PollInput,
  opts: PollOptions = {},
): Promise<{ output: PollOutput; previews: Map<number, { data: Buffer; mimeType: string }> }> {
  const roots = opts.roots ?? [];
  const deadline = Date.now() + Math.max(0, (input.waitSeconds ?? 0) * 1000);
  // What the journal remembers (from this process or an earlier one): how many results, and where to save them.
  // The store hands back only this UUID's own record, never another task's of the same batch.
  const record = await ctx.journal
    .state()
    .then((st) => st.getTask(input.taskUUID.toLowerCase()))
    .catch(() => undefined);
  input = {
    ...input,
    ...(input.numberResults === undefined && record ? { numberResults: record.numberResults } : {}),
    ...(input.saveTo === undefined && record?.saveTo && roots.length ? { saveTo: record.saveTo } : {}),
  };
  // A bad save path is refused before any polling.
  if (input.saveTo !== undefined) await resolveSaveTarget(input.saveTo, roots);
  // Each finished output is saved as a poll first shows it; one an earlier call saved there is reported, not saved again.
  const earlier = input.saveTo !== undefined ? await savedEarlier(record, input.saveTo, roots) : undefined;
  const outputs = new OutputBatch(input.taskUUID.toLowerCase(), {
    media: mediaItems,
    ...(input.numberResults !== undefined ? { count: input.numberResults } : {}),
    roots,
    ...(input.saveTo !== undefined
      ? {
          saveTo: input.saveTo,
          record: { ledger: ctx.journal, taskUUID: input.taskUUID.toLowerCase() },
          ...(earlier ? { earlier } : {}),
        }
      : {}),
    ...(opts.previewMaxBytes !== undefined ? { previewMaxBytes: opts.previewMaxBytes } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    downloadTimeoutMs: () => downloadBudget(deadline, ctx.config.timing.downloadTimeoutMs),
  });
  const st = await ctx
    .runware()
    .poll(input.taskUUID, {
      waitMs: Math.max(0, (input.waitSeconds ?? 0) * 1000),
      ...(input.numberResults !== undefined ? { numberResults: input.numberResults } : {}),
      // The journal knows when the task was sent: polling continues its schedule, in any process.
      ...(record ? { startedAt: Date.parse(record.createdAt) } : {}),
      // Results are matched by the task's type as well as its UUID, here too.
      ...(record?.taskType ? { taskType: record.taskType } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      // The client records the outcome; a saveTo given now is kept with the record.
      ...(input.saveTo ? { call: callRecord({ saveTo: input.saveTo }) } : {}),
      ...(outputs.active && (input.waitSeconds ?? 0) > 0 ? { onResult: outputs.onResult } : {}),
    })
    .catch(async (e: unknown) => {
      // Saves begun early end with the call (aborted if it was cancelled), and what they saved is recorded.
      await outputs.settle();
      throw e;
    });
  const { info, previews } = await outputs.forTask(st.taskUUID).finish(st.results);
  const over = st.overrun;
  const { overrun: _o, ...rest } = st;
  const output: PollOutput = { ...rest, ...(over ? { overrun: overrunOut(over) } : {}) };
  if (input.saveTo !== undefined)
    output.files = info.map((m, index) => ({ index, ...m })).filter((f) => f.savedTo || f.saveError);
  const again = pollStep(st.taskUUID, {
    ...(input.numberResults !== undefined ? { numberResults: input.numberResults } : {}),
    ...(input.saveTo !== undefined ? { saveTo: input.saveTo } : {}),
  });
  if (st.status === 'processing') {
    output.next = next(
      `Still processing (${Math.round(st.progress)}%). Run {step} to wait longer; do not submit it again.`,
      again,
    );
  } else if (st.status === 'unknown' && earlier?.size) {
    // Runware has forgotten it (expired, say), but its outputs were saved: it ran and was billed, and they are reported.
    output.files = [...earlier.values()].map((m, index) => ({ index, ...m }));
    output.next = next(
      `Runware has no record of taskUUID ${st.taskUUID} now, but ${earlier.size} of its outputs were saved earlier (files): it ran, so do not submit it again. Run {step} later in case Runware reports the rest.`,
      again,
    );
  } else if (st.status === 'unknown') {
    output.next = next(
      `Runware has no record of taskUUID ${st.taskUUID} (getResponse and getTaskDetails both said so): it never ran, has expired, or is not registered yet. If it was submitted moments ago, run {step}; otherwise it is safe to submit it again.`,
      again,
    );
  }
  return { output, previews };
}
