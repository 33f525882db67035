/**
 * One task for any model: `params` checked against the model's live schema,
 * local files uploaded first, sent async whenever the model allows it, waited
 * for with progress up to `waitSeconds`, and every output saved with the
 * right extension (images, video, audio, 3D) or returned as text. The steps
 * are the generation pipeline's (generate.ts); here: params to a task, and
 * the result's outputs.
 */
import type { OverrunOut } from './spend.js';
import type { ApiErrorItem, DataItem } from '../runware/errors.js';
import type { Attempt } from '../runware/client.js';
import { callerRunnableTypes, GENERIC_WORK_TYPE } from '../runware/task-types.js';
import { coerceToSchema, paramsObject } from '../runware/schemas/coerce.js';
import { kindOf, type MediaKind } from '../media/formats.js';
import { PolicyError, ValidationError } from '../shared/errors.js';
import type { AppContext } from './context.js';
import type { Upload } from './media-inputs.js';
import { defaultDelivery, pickDelivery, type ModelFacts } from './model-schema.js';
import { modelKind } from './model-kind.js';
import { mediaItems, mediaSource, type MediaCallOptions, type Previews } from './outputs.js';
import { generate, type BuiltTask } from './generate.js';
import type { Next } from '../shared/next-step.js';

export const DEFAULT_RUN_WAIT_SECONDS = 45;
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
  /** What to do next; each front-end words its step (src/shared/next-step.ts). */
  next?: string | Next;
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
    const base = {
      ...(num(r.seed) !== undefined ? { seed: num(r.seed)! } : {}),
      ...(num(r.cost) !== undefined ? { cost: num(r.cost)! } : {}),
    };
    const src = mediaSource(r);
    if (src.url || src.base64 || src.dataURI) {
      // The field names say the kind; the bytes (once loaded) say it for a generic media file.
      const kind: RunOutputItem['kind'] =
        r.videoURL || r.videoUUID
          ? 'video'
          : r.audioURL || r.audioUUID
            ? 'audio'
            : r.imageURL || r.imageUUID
              ? 'image'
              : 'file';
      return [
        {
          item: { kind, ...(src.url ? { url: src.url } : {}), ...(src.uuid ? { uuid: src.uuid } : {}), ...base },
          source: r,
        },
      ];
    }
    return typeof r.text === 'string' ? [{ item: { kind: 'text' as const, text: r.text, ...base } }] : [];
  });
}

export async function runModel(ctx: AppContext, input: RunInput, opts: RunOptions): Promise<RunResult> {
  const given = paramsObject(input.params);
  for (const k of Object.keys(given)) {
    if (k === 'taskUUID')
      throw new PolicyError('params.taskUUID', 'is set by the server: every task gets a fresh UUID v4', 'Remove it.');
    if (k === 'deliveryMethod')
      throw new ValidationError(
        'params.deliveryMethod',
        'is set by the server: sync when the model usually finishes within the wait, else async and polled',
        'remove it; use waitSeconds to choose how long to wait',
      );
    if (k === 'model' && given.model !== input.model)
      throw new ValidationError(
        'params.model',
        `differs from model "${input.model}"`,
        'omit it; the model argument is used',
      );
  }
  const g = await generate(
    ctx,
    {
      model: input.model,
      waitSeconds: input.waitSeconds ?? DEFAULT_RUN_WAIT_SECONDS,
      ...(input.saveTo !== undefined ? { saveTo: input.saveTo } : {}),
      ...(input.confirmCostUsd !== undefined ? { confirmCostUsd: input.confirmCostUsd } : {}),
      fieldOf: (p) => (p ? `params.${p}` : 'params'),
      // Checked generically (structure, keys, secrets) before the real task type is known.
      draft: { ...given, taskType: PRECHECK_TYPE, model: input.model },
      build: (facts, at) => buildRunTask(ctx, input.model, given, facts, at.waitMs, opts.signal),
      media: (results) => outputsOf(results).flatMap((f) => (f.source ? [f.source] : [])),
      pending: { still: 'Still running', waitFor: 'the result', notAgain: 'do not run it again' },
    },
    opts,
  );
  const taskType = String(g.task.taskType);
  const delivery = g.task.deliveryMethod as 'sync' | 'async' | undefined;
  const found = outputsOf(g.results);
  const media = found.filter((f) => f.source);
  media.forEach((f, i) => {
    const m = g.media[i]!;
    Object.assign(f.item, m);
    if (m.format && f.item.kind === 'file') f.item.kind = kindOf(m.format as Parameters<typeof kindOf>[0]);
  });
  // Previews are keyed by output index, not by media index.
  const previews: Previews = new Map();
  for (const [i, p] of g.previews) previews.set(found.indexOf(media[i]!), p);
  const output: RunOutput = {
    taskUUID: g.taskUUID,
    taskType,
    model: input.model,
    ...(delivery ? { deliveryMethod: delivery } : {}),
    ...g.common,
    status: g.status,
    progress: g.progress,
    outputs: found.map((f) => f.item),
    errors: g.errors,
    ...(g.cost !== undefined ? { cost: g.cost } : {}),
    ...(g.next ? { next: g.next } : {}),
  };
  return { output, previews };
}

/** run's task: the model's own task type (registry, schema, catalogues or the caller), params typed by its schema, the delivery for the wait. */
async function buildRunTask(
  ctx: AppContext,
  model: string,
  given: Record<string, unknown>,
  facts: ModelFacts,
  waitMs: number,
  signal?: AbortSignal,
): Promise<BuiltTask> {
  const asked = typeof given.taskType === 'string' ? given.taskType : undefined;
  if (asked && facts.taskType && asked !== facts.taskType)
    throw new ValidationError('params.taskType', `${model} runs ${facts.taskType} tasks, not ${asked}`, facts.taskType);
  // Not in the registry: the catalogues say what it runs as (a community checkpoint: imageInference), or that it is not run alone.
  const kind = facts.taskType ? undefined : await modelKind(ctx, model, signal);
  if (kind?.use)
    throw new ValidationError(
      'model',
      `${model} is a ${kind.community?.category ?? 'add-on'}, ${kind.use}`,
      'a model whose model search hit has a taskType',
    );
  const taskType = facts.taskType ?? asked ?? kind?.taskType;
  if (!taskType) {
    throw new ValidationError(
      'params.taskType',
      `${model} is not in Runware's model registry and has no schema, so its task type is unknown; give it in params`,
      callerRunnableTypes().join(', '),
    );
  }
  const schema = facts.schema?.requestSchema;
  const params = (schema ? coerceToSchema(given, schema) : given) as Record<string, unknown>;
  const delivery = await pickDelivery(ctx, facts.delivery ?? defaultDelivery(taskType), { taskType, model }, waitMs);
  const props = (schema?.properties ?? {}) as Record<string, unknown>;
  const task: Record<string, unknown> = {
    ...params,
    taskType,
    model,
    ...(delivery ? { deliveryMethod: delivery } : {}),
    // Cost is reported whenever the model takes the flag; the caller may still say false.
    ...((schema ? 'includeCost' in props : !!delivery) && params.includeCost === undefined
      ? { includeCost: true }
      : {}),
  };
  // Local paths are found in the params as typed by the schema (a stringified object is one by now).
  return { task, localsIn: { value: params, prefix: 'params' } };
}
