/**
 * Text to image: always submitted async, then polled with progress for up to
 * `waitSeconds`, so a slow generation never holds a request open past the
 * client's timeout. What is not done by then comes back as "processing" with
 * the taskUUID to poll. The steps are the generation pipeline's (generate.ts);
 * here: the prompt and options to an imageInference task, and the images.
 */
import type { OverrunOut } from './spend.js';
import type { ApiErrorItem } from '../runware/errors.js';
import { IMAGE_FORMATS } from '../runware/tasks/image-inference.js';
import { formatFromExtension, type MediaFormat } from '../media/formats.js';
import { CancelledError, ValidationError } from '../shared/errors.js';
import type { Attempt } from '../runware/client.js';
import type { AppContext } from './context.js';
import type { MediaCallOptions, Previews } from './outputs.js';
import { findLocalInputs, type Upload } from './media-inputs.js';
import { defaultDelivery, LOOKUP_BUDGET_MS, pickDelivery } from './model-schema.js';
import { generate } from './generate.js';
import type { Next } from '../shared/next-step.js';
import { BUDGETS } from '../runware/timing.js';

export const DEFAULT_MODEL = 'runware:101@1';
/** Below the common 60 s client request timeout, with room for saving. */
export const DEFAULT_WAIT_SECONDS = 45;
/** At most this much of a wait goes to looking up a model's default size. */
const SIZE_LOOKUP_MS = BUDGETS.sizeLookupMs;
const FALLBACK_SIZE = { width: 1024, height: 1024 };

/**
 * Width and height are required by most models' official schemas, so an
 * omitted size becomes the model's default from model search (cached), or
 * 1024×1024 when model search cannot say.
 */
async function defaultSize(
  ctx: AppContext,
  model: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<{ width: number; height: number }> {
  const cached = ctx.modelSizes.get(model);
  if (cached) return cached;
  let size = FALLBACK_SIZE;
  try {
    const r = await ctx
      .runware()
      .submit(
        { taskType: 'modelSearch', search: model, limit: 5 },
        { deadlineMs: Math.min(SIZE_LOOKUP_MS, Math.max(1000, waitMs / 4)), ...(signal ? { signal } : {}) },
      );
    const hits = (r.tasks[0]?.results[0]?.results ?? []) as unknown[];
    const hit = hits.find(
      (h): h is Record<string, unknown> => !!h && typeof h === 'object' && (h as Record<string, unknown>).air === model,
    );
    const w = Number(hit?.defaultWidth);
    const h = Number(hit?.defaultHeight);
    if (Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0) size = { width: w, height: h };
    if (hit) ctx.modelSizes.set(model, size);
  } catch (e) {
    if (e instanceof CancelledError) throw e;
  }
  return size;
}

export interface TextToImageInput {
  prompt: string;
  negativePrompt?: string;
  model?: string;
  width?: number;
  height?: number;
  steps?: number;
  CFGScale?: number;
  scheduler?: string;
  seed?: number;
  numberResults?: number;
  outputFormat?: (typeof IMAGE_FORMATS)[number];
  includeCost?: boolean;
  extra?: Record<string, unknown>;
  waitSeconds?: number;
  saveTo?: string;
  /** The user confirmed up to this many USD for this call (see RUNWARE_CONFIRM_ABOVE_USD). */
  confirmCostUsd?: number;
}

/**
 * The bounds of text-to-image's numeric inputs: the one source for the MCP
 * tool's schema and the CLI's flags, within Runware's imageInference rules.
 */
export const TEXT_TO_IMAGE_LIMITS = {
  width: { min: 64, max: 4096, multipleOf: 8, integer: true },
  height: { min: 64, max: 4096, multipleOf: 8, integer: true },
  steps: { min: 1, max: 100, integer: true },
  CFGScale: { min: 0, max: 50 },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  numberResults: { min: 1, max: 20, integer: true },
} as const;

export interface ImageOut {
  imageUUID?: string;
  imageURL?: string;
  seed?: number;
  cost?: number;
  NSFWContent?: boolean;
  savedTo?: string;
  format?: MediaFormat;
  mimeType?: string;
  bytes?: number;
  /** The image was generated (and billed) but not saved: why. Its URL is still here. */
  saveError?: string;
  saveNote?: string;
}

export interface TextToImageOutput {
  status: 'success' | 'partial' | 'processing' | 'error' | 'unknown';
  taskUUID: string;
  /** The lineage, when more than one attempt was needed. */
  attempts?: Attempt[];
  model: string;
  progress: number;
  images: ImageOut[];
  cost?: number;
  errors: ApiErrorItem[];
  /** "checked" against the model's live schema, or "skipped" (see note). */
  validation: 'checked' | 'skipped';
  note?: string;
  /** Local files in `extra` uploaded first, each replaced by its mediaUUID. */
  uploads?: Upload[];
  /** The real charge passed the reservation (see the spend cap in the README). */
  overrun?: OverrunOut;
  /** What to do next; each front-end words its step (src/shared/next-step.ts). */
  next?: string | Next;
}

export type TextToImageOptions = MediaCallOptions;

export interface TextToImageResult {
  output: TextToImageOutput;
  /** Bytes of images small enough to preview inline, by index into output.images. */
  previews: Previews;
}

/** Fields the tool takes at top level; `extra` may not repeat or override them. */
const FIRST_CLASS = new Set([
  'taskType',
  'taskUUID',
  'positivePrompt',
  'negativePrompt',
  'model',
  'width',
  'height',
  'steps',
  'CFGScale',
  'scheduler',
  'seed',
  'numberResults',
  'outputFormat',
  'includeCost',
  'deliveryMethod',
  'outputType',
]);

export function buildImageTask(input: TextToImageInput, outputFormat: string | undefined): Record<string, unknown> {
  for (const k of Object.keys(input.extra ?? {})) {
    if (FIRST_CLASS.has(k)) {
      throw new ValidationError(
        `extra.${k}`,
        k === 'taskType' || k === 'taskUUID' || k === 'deliveryMethod' || k === 'outputType'
          ? 'is set by the server'
          : `use the top-level "${k === 'positivePrompt' ? 'prompt' : k}" parameter instead`,
      );
    }
  }
  const task: Record<string, unknown> = {
    taskType: 'imageInference',
    positivePrompt: input.prompt,
    model: input.model ?? DEFAULT_MODEL,
    numberResults: input.numberResults ?? 1,
    includeCost: input.includeCost ?? true,
    outputType: 'URL',
    deliveryMethod: 'async',
    ...(input.extra ?? {}),
  };
  for (const k of ['negativePrompt', 'width', 'height', 'steps', 'CFGScale', 'scheduler', 'seed'] as const)
    if (input[k] !== undefined) task[k] = input[k];
  if (outputFormat) task.outputFormat = outputFormat;
  return task;
}

export async function textToImage(
  ctx: AppContext,
  input: TextToImageInput,
  opts: TextToImageOptions,
): Promise<TextToImageResult> {
  const fromExt = input.saveTo ? formatFromExtension(input.saveTo) : undefined;
  if (input.outputFormat && fromExt && fromExt !== input.outputFormat) {
    throw new ValidationError(
      'saveTo',
      `the extension says ${fromExt} but outputFormat is ${input.outputFormat}`,
      'a matching extension, or no extension',
    );
  }
  if (fromExt && !(IMAGE_FORMATS as readonly string[]).includes(fromExt))
    throw new ValidationError('saveTo', `images can be saved as ${IMAGE_FORMATS.join(', ')}`);
  const outputFormat = input.outputFormat ?? fromExt;
  const waitSeconds = input.waitSeconds ?? DEFAULT_WAIT_SECONDS;
  const waitMs = Math.max(0, waitSeconds * 1000);
  const modelId = input.model ?? DEFAULT_MODEL;
  const extraKeys = new Set(Object.keys(input.extra ?? {}));
  // What the server adds afterwards (size, delivery) cannot break the usage rules the draft passed.
  const draft = buildImageTask(input, outputFormat);
  const numberResults = Number(draft.numberResults);
  const g = await generate(
    ctx,
    {
      model: modelId,
      waitSeconds,
      ...(input.saveTo !== undefined ? { saveTo: input.saveTo } : {}),
      ...(input.confirmCostUsd !== undefined ? { confirmCostUsd: input.confirmCostUsd } : {}),
      // Rules errors named as the caller spells the field: prompt, extra.*, or the top-level name.
      fieldOf: (p) => {
        const top = p.split(/[.[]/)[0] ?? '';
        return top === 'positivePrompt'
          ? p.replace('positivePrompt', 'prompt')
          : extraKeys.has(top)
            ? `extra.${p}`
            : p || 'input';
      },
      draft,
      // Local files in `extra` are read and checked while the model's schema and registry entry load.
      earlyLocals: findLocalInputs(input.extra ?? {}, 'extra'),
      lookupBudgetMs: Math.min(LOOKUP_BUDGET_MS, Math.max(1000, waitMs / 4)),
      build: async (facts) => {
        const props = (facts.schema?.requestSchema.properties ?? {}) as Record<string, { default?: unknown }>;
        const schemaSize =
          Number.isInteger(props.width?.default) && Number.isInteger(props.height?.default)
            ? { width: props.width!.default as number, height: props.height!.default as number }
            : undefined;
        const size =
          input.width === undefined && input.height === undefined
            ? (schemaSize ?? (await defaultSize(ctx, modelId, waitMs, opts.signal)))
            : undefined;
        const task = buildImageTask(size ? { ...input, ...size } : input, outputFormat);
        // Sync when the model's run fits the wait (the result the moment it exists), else async and polled.
        task.deliveryMethod =
          (await pickDelivery(ctx, facts.delivery ?? defaultDelivery('imageInference'), task, waitMs)) ?? 'async';
        return { task };
      },
      media: (results) => results,
      ...(outputFormat ? { expected: outputFormat as MediaFormat } : {}),
      pending: {
        still: 'Still generating',
        waitFor: `the images${input.saveTo !== undefined ? ' and save them' : ''}`,
        notAgain: 'do not generate again',
      },
      pollArgs: { numberResults },
    },
    opts,
  );
  const images: ImageOut[] = g.results.map((r, i) => {
    const img: ImageOut = {};
    if (typeof r.imageUUID === 'string') img.imageUUID = r.imageUUID;
    if (typeof r.imageURL === 'string') img.imageURL = r.imageURL;
    if (typeof r.seed === 'number') img.seed = r.seed;
    if (typeof r.cost === 'number') img.cost = r.cost;
    if (typeof r.NSFWContent === 'boolean') img.NSFWContent = r.NSFWContent;
    return Object.assign(img, g.media[i]);
  });
  const output: TextToImageOutput = {
    taskUUID: g.taskUUID,
    model: String(g.task.model),
    ...g.common,
    status: g.status,
    progress: g.progress,
    images,
    errors: g.errors,
    ...(g.cost !== undefined ? { cost: g.cost } : {}),
    ...(g.next ? { next: g.next } : {}),
  };
  return { output, previews: g.previews };
}
