/**
 * One task for any model: `params` checked against the model's live schema,
 * local files uploaded first, sent async whenever the model allows it, waited
 * for with progress up to `waitSeconds`, and every output saved with the
 * right extension (images, video, audio, 3D) or returned as text.
 */
import { confirmOf, overrunOut, type OverrunOut } from './spend.js';
import { pollStep } from './next-step.js';
import type { ApiErrorItem, DataItem } from '../runware/errors.js';
import type { Attempt } from '../runware/client.js';
import { callerRunnableTypes, GENERIC_WORK_TYPE } from '../runware/task-types.js';
import { coerceToSchema, paramsObject } from '../runware/schemas/coerce.js';
import { resolveSaveTarget } from '../media/save.js';
import { callRecord } from '../state/ledger.js';
import { kindOf, type MediaKind } from '../media/formats.js';
import { PolicyError, ValidationError } from '../shared/errors.js';
import type { AppContext } from './context.js';
import { findLocalInputs, readLocalInputs, uploadLocalInputs, type Upload } from './media-inputs.js';
import { checkTask, defaultDelivery, inspectTask, modelFacts, pickDelivery } from './model-schema.js';
import { modelKind } from './model-kind.js';
import { downloadBudget, materialize, mediaItems, mediaSource, type MediaCallOptions, type Previews } from './outputs.js';

export const DEFAULT_RUN_WAIT_SECONDS = 45;
const SUBMIT_ONLY_BUDGET_MS = 15_000;
/** A task type the rules check generically (structure, keys, secrets), before the real one is known. */
const PRECHECK_TYPE = GENERIC_WORK_TYPE;

export interface RunInput {
  model: string;
  params?: unknown;
  waitSeconds?: number;
  saveTo?: string;
  /** The user confirmed up to this many USD for this call (see RUNWARE_CONFIRM_ABOVE_USD). */
  confirmCostUsd?: number;
}

export interface RunOutputItem {
  kind: MediaKind | 'text' | 'file';
  url?: string;
  uuid?: string;
  text?: string;
  seed?: number;
  cost?: number;
  savedTo?: string;
  format?: string;
  mimeType?: string;
  bytes?: number;
  saveError?: string;
  saveNote?: string;
}

export interface RunOutput {
  status: 'success' | 'partial' | 'processing' | 'error' | 'unknown';
  taskUUID: string;
  taskType: string;
  model: string;
  deliveryMethod?: 'sync' | 'async';
  progress: number;
  outputs: RunOutputItem[];
  cost?: number;
  errors: ApiErrorItem[];
  attempts?: Attempt[];
  /** "checked" against the live schema, or "skipped" (see note). */
  validation: 'checked' | 'skipped';
  note?: string;
  uploads?: Upload[];
  /** The real charge passed the reservation (see the spend cap in the README). */
  overrun?: OverrunOut;
  next?: string;
}

export type RunOptions = MediaCallOptions;

export interface RunResult {
  output: RunOutput;
  previews: Previews;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Every output of a result list: media items (a 3D result's files one each) and text. */
export function outputsOf(results: DataItem[]): Array<{ item: RunOutputItem; source?: DataItem }> {
  return mediaItems(results).flatMap((r): Array<{ item: RunOutputItem; source?: DataItem }> => {
    const base = { ...(num(r.seed) !== undefined ? { seed: num(r.seed)! } : {}), ...(num(r.cost) !== undefined ? { cost: num(r.cost)! } : {}) };
    const src = mediaSource(r);
    if (src.url || src.base64 || src.dataURI) {
      // The field names say the kind; the bytes (once loaded) say it for a generic media file.
      const kind: RunOutputItem['kind'] = r.videoURL || r.videoUUID ? 'video' : r.audioURL || r.audioUUID ? 'audio' : r.imageURL || r.imageUUID ? 'image' : 'file';
      return [{ item: { kind, ...(src.url ? { url: src.url } : {}), ...(src.uuid ? { uuid: src.uuid } : {}), ...base }, source: r }];
    }
    return typeof r.text === 'string' ? [{ item: { kind: 'text' as const, text: r.text, ...base } }] : [];
  });
}

export async function runModel(ctx: AppContext, input: RunInput, opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  // No key: say how to set one up before looking anything up.
  const client = ctx.runware();
  const waitMs = Math.max(0, (input.waitSeconds ?? DEFAULT_RUN_WAIT_SECONDS) * 1000);
  const given = paramsObject(input.params);
  for (const k of Object.keys(given)) {
    if (k === 'taskUUID') throw new PolicyError('params.taskUUID', 'is set by the server: every task gets a fresh UUID v4', 'Remove it.');
    if (k === 'deliveryMethod') throw new ValidationError('params.deliveryMethod', 'is set by the server: sync when the model usually finishes within the wait, else async and polled', 'remove it; use waitSeconds to choose how long to wait');
    if (k === 'model' && given.model !== input.model) throw new ValidationError('params.model', `differs from model "${input.model}"`, 'omit it; the model argument is used');
  }
  if (input.saveTo) await resolveSaveTarget(input.saveTo, opts.roots);
  const fieldOf = (p: string): string => (p ? `params.${p}` : 'params');
  // The usage rules (keys, secrets, depth, size) first: refused input sends nothing, not even a schema lookup.
  inspectTask(ctx, { ...given, taskType: PRECHECK_TYPE, model: input.model }, fieldOf);

  const facts = await modelFacts(ctx, input.model, opts.signal ? { signal: opts.signal } : {});
  const asked = typeof given.taskType === 'string' ? given.taskType : undefined;
  if (asked && facts.taskType && asked !== facts.taskType) throw new ValidationError('params.taskType', `${input.model} runs ${facts.taskType} tasks, not ${asked}`, facts.taskType);
  // Not in the registry: the catalogues say what it runs as (a community checkpoint: imageInference), or that it is not run alone.
  const kind = facts.taskType ? undefined : await modelKind(ctx, input.model, opts.signal);
  if (kind?.use) throw new ValidationError('model', `${input.model} is a ${kind.community?.category ?? 'add-on'}, ${kind.use}`, 'a model whose runware_model_search hit has a taskType');
  const taskType = facts.taskType ?? asked ?? kind?.taskType;
  if (!taskType) {
    throw new ValidationError('params.taskType', `${input.model} is not in Runware's model registry and has no schema, so its task type is unknown; give it in params`, callerRunnableTypes().join(', '));
  }
  const schema = facts.schema?.requestSchema;
  const params = (schema ? coerceToSchema(given, schema) : given) as Record<string, unknown>;
  const delivery = await pickDelivery(ctx, facts.delivery ?? defaultDelivery(taskType), { taskType, model: input.model }, waitMs);
  const props = (schema?.properties ?? {}) as Record<string, unknown>;
  const task: Record<string, unknown> = {
    ...params,
    taskType,
    model: input.model,
    ...(delivery ? { deliveryMethod: delivery } : {}),
    // Cost is reported whenever the model takes the flag; the caller may still say false.
    ...((schema ? 'includeCost' in props : !!delivery) && params.includeCost === undefined ? { includeCost: true } : {}),
  };
  // Again with the real task type (its typed fields), before the schema and before any upload goes out.
  inspectTask(ctx, task, fieldOf);
  await checkTask(facts, task, fieldOf, { ctx, ...(opts.signal ? { signal: opts.signal } : {}) });

  // Local files: every one checked before the first byte goes out.
  const locals = findLocalInputs(params, 'params');
  const read = await readLocalInputs(ctx, locals, opts.roots);
  const uploads = read.size ? await uploadLocalInputs(ctx, task, read, { ...(opts.signal ? { signal: opts.signal } : {}), deadlineMs: Math.max(5000, waitMs / 2) }) : [];

  const confirm = confirmOf(input.confirmCostUsd, opts.ask);
  const t =
    waitMs === 0
      ? await client.submit(task, { deadlineMs: SUBMIT_ONLY_BUDGET_MS, ...(opts.signal ? { signal: opts.signal } : {}), ...(input.saveTo ? { call: callRecord({ saveTo: input.saveTo }) } : {}), confirm }).then((r) => {
          const o = r.tasks[0]!;
          return o.status === 'error' && o.errors.length === 0 ? { ...o, errors: r.requestErrors } : o;
        })
      : await client.run(task, { waitMs: Math.max(1, waitMs - (Date.now() - started)), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(input.saveTo ? { call: callRecord({ saveTo: input.saveTo }) } : {}), confirm });

  const base = {
    taskUUID: t.taskUUID,
    taskType,
    model: input.model,
    ...(delivery ? { deliveryMethod: delivery } : {}),
    validation: facts.schema ? ('checked' as const) : ('skipped' as const),
    // A result's own note (fewer results than asked, not recorded in the journal) travels with it; other statuses have `next`.
    ...(facts.unchecked || (t.note && (t.status === 'success' || t.status === 'partial')) ? { note: [facts.unchecked, t.status === 'success' || t.status === 'partial' ? t.note : undefined].filter(Boolean).join(' ') } : {}),
    ...(uploads.length ? { uploads } : {}),
    ...(t.attempts.length > 1 ? { attempts: t.attempts } : {}),
    ...(t.overrun ? { overrun: overrunOut(t.overrun) } : {}),
  };
  if (t.status === 'error' || t.status === 'unknown') {
    return { output: { ...base, status: t.status, progress: 0, outputs: [], errors: t.errors, ...(t.note ? { next: t.note } : {}) }, previews: new Map() };
  }
  const found = outputsOf(t.results);
  const media = found.filter((f) => f.source);
  const { info, previews: mediaPreviews } = await materialize(media.map((f) => f.source!), t.taskUUID, {
    roots: opts.roots,
    ...(input.saveTo !== undefined ? { saveTo: input.saveTo, record: { ledger: ctx.journal, taskUUID: t.taskUUID } } : {}),
    ...(opts.previewMaxBytes !== undefined ? { previewMaxBytes: opts.previewMaxBytes } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    downloadTimeoutMs: downloadBudget(started + waitMs),
  });
  media.forEach((f, i) => {
    const m = info[i]!;
    Object.assign(f.item, m);
    if (m.format && f.item.kind === 'file') f.item.kind = kindOf(m.format as Parameters<typeof kindOf>[0]);
  });
  // Previews are keyed by output index, not by media index.
  const previews: Previews = new Map();
  for (const [i, p] of mediaPreviews) previews.set(found.indexOf(media[i]!), p);
  const outputs = found.map((f) => f.item);
  const costs = t.results.map((r) => num(r.cost)).filter((c): c is number => c !== undefined);
  const progress = t.status === 'success' ? 100 : (t.progress ?? 0);
  const output: RunOutput = { ...base, status: t.status, progress, outputs, errors: t.errors, ...(costs.length ? { cost: Math.round(costs.reduce((a, b) => a + b, 0) * 1e6) / 1e6 } : {}) };
  if (t.status === 'processing') {
    output.next = `Still running (${Math.round(progress)}%). Run ${pollStep(ctx.frontend, { taskUUID: t.taskUUID, ...(input.saveTo !== undefined ? { saveTo: input.saveTo } : {}) })} to wait for the result; do not run it again.`;
  }
  return { output, previews };
}
