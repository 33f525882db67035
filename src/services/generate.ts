/**
 * The one generation pipeline behind text-to-image and run: save check, the
 * usage rules, the model's facts (schema and registry side by side, local
 * inputs read beside them where the caller knows them), the task built by the
 * caller, the schema check, uploads, the run (sync or async, see
 * src/runware/delivery.ts), saving the outputs, and the next step. Each caller
 * keeps only its input mapping and output shape.
 */
import { confirmOf, overrunOut, type OverrunOut } from './spend.js';
import { next, pollStep, type Next } from '../shared/next-step.js';
import type { ApiErrorItem, DataItem } from '../runware/errors.js';
import type { Attempt, TaskOutcome } from '../runware/client.js';
import type { MediaFormat } from '../media/formats.js';
import { resolveSaveTarget } from '../media/save.js';
import type { AppContext } from './context.js';
import { findLocalInputs, readLocalInputs, uploadLocalInputs, type LocalInput, type Upload } from './media-inputs.js';
import { asCallerError, checkTask, inspectTask, modelFacts, type ModelFacts } from './model-schema.js';
import { downloadBudget, OutputBatch, type MediaCallOptions, type MediaInfo, type Previews } from './outputs.js';
import { resultNames } from '../runware/poll.js';
import { resultCount } from '../runware/task-types.js';
import { callRecord } from '../state/ledger.js';
import { BUDGETS } from '../runware/timing.js';

/** With waitSeconds 0: how long the submit (and its recovery) may take before the taskUUID comes back. */
const SUBMIT_ONLY_BUDGET_MS = BUDGETS.submitOnlyMs;

/** A task built from the caller's input once the model's facts are known. */
export interface BuiltTask {
  /** The task to send (no taskUUID: the client assigns one); its deliveryMethod, if any, is already chosen. */
  task: Record<string, unknown>;
  /** Where local paths are looked for when none were read beside the lookup: the object and the caller's name for it. */
  localsIn?: { value: Record<string, unknown>; prefix: string };
}

/** How a still-running task's next step is worded: "Still generating (40%). Run … to wait for the images; do not generate again." */
export interface PendingWords {
  still: string;
  waitFor: string;
  notAgain: string;
}

export interface GenerateJob {
  model: string;
  waitSeconds: number;
  saveTo?: string;
  confirmCostUsd?: number;
  /** A rules error's field as the caller spells it (prompt, extra.x, params.x). */
  fieldOf: (path: string) => string;
  /** The task as the caller gave it: the usage rules check it before anything is looked up or sent. */
  draft: Record<string, unknown>;
  /** Local files the caller's input names before the model is known: read and checked beside the model lookup. */
  earlyLocals?: LocalInput[];
  /** At most this long for the schema and registry lookup (default: model-schema's LOOKUP_BUDGET_MS). */
  lookupBudgetMs?: number;
  build: (facts: ModelFacts, at: { waitMs: number; signal?: AbortSignal }) => Promise<BuiltTask>;
  /** The result items that hold media to save or preview, in output order (a 3D result's files one each). */
  media: (results: DataItem[]) => DataItem[];
  /** The format the caller asked for (a different one is saved as what it is, and said). */
  expected?: MediaFormat;
  pending: PendingWords;
  /** Arguments the poll step carries besides taskUUID and saveTo (text-to-image: numberResults). */
  pollArgs?: { numberResults?: number };
}

/** The fields every generation result has, whatever the caller's shape. */
export interface CommonOut {
  validation: 'checked' | 'skipped';
  note?: string;
  uploads?: Upload[];
  attempts?: Attempt[];
  overrun?: OverrunOut;
}

export interface Generation {
  task: Record<string, unknown>;
  taskUUID: string;
  status: TaskOutcome['status'];
  progress: number;
  /** The result items (none for error and unknown). */
  results: DataItem[];
  errors: ApiErrorItem[];
  cost?: number;
  common: CommonOut;
  /** What was done with each item of `media(results)`: saved where, its format and size. */
  media: MediaInfo[];
  /** Inline previews, by index into `media(results)`. */
  previews: Previews;
  next?: string | Next;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const withRequestErrors = (t: TaskOutcome, requestErrors: ApiErrorItem[]): TaskOutcome =>
  t.status === 'error' && t.errors.length === 0 ? { ...t, errors: requestErrors } : t;

export async function generate(ctx: AppContext, job: GenerateJob, opts: MediaCallOptions): Promise<Generation> {
  const started = Date.now();
  const waitMs = Math.max(0, job.waitSeconds * 1000);
  const signal = opts.signal ? { signal: opts.signal } : {};
  // No key: say how to set one up before looking anything up.
  const client = ctx.runware();
  // Refuse a bad save path before anything is sent (and billed).
  if (job.saveTo) await resolveSaveTarget(job.saveTo, opts.roots);
  // The usage rules first: refused input sends nothing, not even a schema lookup.
  inspectTask(ctx, job.draft, job.fieldOf);

  // The model's schema and registry entry load beside the reading and checking of local inputs (nothing is sent to Runware yet).
  const [facts, early] = await Promise.all([
    modelFacts(ctx, job.model, {
      ...signal,
      ...(job.lookupBudgetMs !== undefined ? { budgetMs: job.lookupBudgetMs } : {}),
    }),
    job.earlyLocals ? readLocalInputs(ctx, job.earlyLocals, opts.roots) : undefined,
  ]);
  const { task, localsIn } = await job.build(facts, { waitMs, ...signal });
  // Again on the task as built (its real type, what the server added), before the schema and before any upload goes out.
  inspectTask(ctx, task, job.fieldOf);
  await checkTask(facts, task, job.fieldOf, { ctx, ...signal });

  // Local files: every one checked before the first byte goes out.
  const read =
    early ??
    (localsIn ? await readLocalInputs(ctx, findLocalInputs(localsIn.value, localsIn.prefix), opts.roots) : new Map());
  const uploads = read.size
    ? await uploadLocalInputs(ctx, task, read, { ...signal, deadlineMs: Math.max(5000, waitMs / 2) })
    : [];

  const confirm = confirmOf(job.confirmCostUsd, opts.ask);
  // Where outputs are saved travels to the ledger's record of the task as an opaque call record.
  const call = job.saveTo ? { call: callRecord({ saveTo: job.saveTo }) } : {};
  // Each result is saved (or previewed) the moment a poll or frame shows it, beside the wait for the rest.
  const count = resultCount(task as Record<string, unknown> & { taskType: string });
  const outputs = new OutputBatch('output', {
    media: job.media,
    count,
    roots: opts.roots,
    ...(job.saveTo !== undefined ? { saveTo: job.saveTo, record: { ledger: ctx.journal } } : {}),
    ...(opts.previewMaxBytes !== undefined ? { previewMaxBytes: opts.previewMaxBytes } : {}),
    ...(job.expected ? { expected: job.expected } : {}),
    ...signal,
    downloadTimeoutMs: () => downloadBudget(started + waitMs, ctx.config.timing.downloadTimeoutMs),
  });
  const asTheyCome = outputs.active && waitMs > 0 ? { onResult: outputs.onResult } : {};
  let t: TaskOutcome;
  try {
    // One deadline covers the submit, any recovery, and the wait: the call returns within waitSeconds.
    t =
      waitMs === 0
        ? await client
            .submit(task, { deadlineMs: SUBMIT_ONLY_BUDGET_MS, ...signal, ...call, confirm })
            .then((r) => withRequestErrors(r.tasks[0]!, r.requestErrors))
        : await client.run(task, {
            waitMs: Math.max(1, waitMs - (Date.now() - started)),
            ...signal,
            ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
            ...asTheyCome,
            ...call,
            confirm,
          });
  } catch (e) {
    // Saves begun early end with the call (aborted if it was cancelled), and what they saved is recorded.
    await outputs.settle();
    throw asCallerError(e, job.fieldOf);
  }
  outputs.forTask(t.taskUUID);
  // Results saved early that the outcome does not list (a call that ran out of wait): reported with it, never lost.
  // Named by index or by output id: a frame without resultIndex and a check with it are still one result.
  const listed = new Set(t.results.flatMap(resultNames));
  const results = [...t.results, ...outputs.results().filter((r) => !resultNames(r).some((n) => listed.has(n)))];

  const finished = t.status === 'success' || t.status === 'partial';
  const common: CommonOut = {
    validation: facts.schema ? 'checked' : 'skipped',
    // A result's own note (fewer results than asked, not recorded in the journal) travels with it; other statuses have `next`.
    ...(facts.unchecked || (t.note && finished)
      ? { note: [facts.unchecked, finished ? t.note : undefined].filter(Boolean).join(' ') }
      : {}),
    ...(uploads.length ? { uploads } : {}),
    ...(t.attempts.length > 1 ? { attempts: t.attempts } : {}),
    ...(t.overrun ? { overrun: overrunOut(t.overrun) } : {}),
  };
  if ((t.status === 'error' || t.status === 'unknown') && results.length === 0) {
    await outputs.settle();
    return {
      task,
      taskUUID: t.taskUUID,
      status: t.status,
      progress: 0,
      results: [],
      errors: t.errors,
      common,
      media: [],
      previews: new Map(),
      ...(t.note ? { next: t.note } : {}),
    };
  }

  const { info, previews } = await outputs.finish(results);

  const costs = results.map((r) => num(r.cost)).filter((c): c is number => c !== undefined);
  // Results in hand count, even those a WebSocket handed over before the wait ran out (the outcome's progress does not know them).
  const progress =
    t.status === 'success' ? 100 : Math.max(t.progress ?? 0, Math.min(99, Math.round((100 * results.length) / count)));
  const out: Generation = {
    task,
    taskUUID: t.taskUUID,
    status: t.status,
    progress,
    results,
    errors: t.errors,
    ...(costs.length ? { cost: Math.round(costs.reduce((a, b) => a + b, 0) * 1e6) / 1e6 } : {}),
    common,
    media: info,
    previews,
  };
  if (t.status === 'processing') {
    const w = job.pending;
    out.next = next(
      `${w.still} (${Math.round(progress)}%). Run {step} to wait for ${w.waitFor}; ${w.notAgain}.`,
      pollStep(t.taskUUID, { ...job.pollArgs, ...(job.saveTo !== undefined ? { saveTo: job.saveTo } : {}) }),
    );
  } else if (!finished && t.note) out.next = t.note;
  return out;
}
