/**
 * One row per Runware task type, and every fact the server keeps about one:
 * whether it is a read, free or billed; whether the journal keeps it; what it
 * costs when nothing better is known (its ceiling, per reference unit) and the
 * dimensions its price scales with; which field counts its results; how it may
 * be delivered; how soon it is worth polling; what its results carry; the name
 * it shares with another; its field-by-field schema; how the catalogues name it.
 * A new task type is one row here; every other module reads this table.
 * RUNWARE_PRICE_CEILINGS overrides the ceilings.
 *
 * A reference unit is one result at 1 megapixel and 28 steps (images), one
 * result of the row's reference seconds (video, audio), or one result (the rest).
 */
import type { z } from 'zod';
import type { DataItem } from './errors.js';
import { imageInferenceTask } from './tasks/image-inference.js';
import { getResponseTask, getTaskDetailsTask, modelSearchTask, pingTask } from './tasks/index.js';

/** A dimension a price scales with, and its size in one reference unit. */
export type PriceDimension = 'pixels' | 'steps' | 'seconds' | 'results';

export interface TaskTypePrice {
  /** USD per reference unit when no quote source knows the model. */
  ceilingUsd: number;
  /** The dimensions its price scales with, linearly in each. */
  dims: readonly PriceDimension[];
  /** With 'seconds': the length of one reference unit. */
  referenceSeconds?: number;
}

/** What a result item carries (verdicts.ts): media fields, text, 3D `outputs.files`, or anything beyond bookkeeping. */
export type OutputShape = 'media' | 'text' | 'files' | 'any';

/** How a task may be delivered when no model schema says (reference, "deliveryMethod per task type"). */
export type DeliveryDefault = 'syncOrAsync' | 'asyncOnly' | 'none';

interface Facts {
  /** Journal record kept: billable work, and media storage (its UUIDs are wanted later). */
  kept: boolean;
  /** The field that says how many results it yields (default 1). */
  counts: 'numberResults' | 'promptVersions';
  delivery: DeliveryDefault;
  /** Takes seconds to minutes: sent async and polled, whatever run time was learned. */
  long: boolean;
  /** Its first poll waits this many of the schedule's `minMs` (poll.ts). */
  firstPollMinSteps: number;
  output: OutputShape;
  /** The current name of a legacy alias: answers to either match the task. */
  sameAs: string | null;
  /** Checked field by field (else the generic rules only). */
  schema: z.ZodType | null;
  /** Offered as a task type a caller may give runware_run for a model the registry does not know. */
  callerMayRun: boolean;
  /** How the content service's capabilities name it; the lowest `order` that matches wins. */
  capability: { match: RegExp; order: number } | null;
  /** The catalogue's modality that runs as it, when no capability names a type. */
  modality: 'image' | 'video' | 'audio' | '3d' | null;
}

/** read: names an earlier task's UUID and runs nothing; free: runs, never billed; billable: reserved and billed. */
export type TaskTypeRow = Facts &
  ({ billing: 'read' | 'free'; price: null } | { billing: 'billable'; price: TaskTypePrice });

const IMAGE: PriceDimension[] = ['pixels', 'steps', 'results'];
const price = (ceilingUsd: number, dims: readonly PriceDimension[], referenceSeconds?: number): TaskTypePrice => ({
  ceilingUsd,
  dims,
  ...(referenceSeconds !== undefined ? { referenceSeconds } : {}),
});
/** The usual facts of billed work, for rows to spread and then state what differs. */
const WORK = {
  billing: 'billable',
  kept: true,
  counts: 'numberResults',
  delivery: 'syncOrAsync',
  long: false,
  firstPollMinSteps: 1,
  sameAs: null,
  schema: null,
  callerMayRun: true,
  capability: null,
  modality: null,
} as const;
/** The usual facts of a free utility. */
const UTILITY = {
  billing: 'free',
  price: null,
  kept: false,
  counts: 'numberResults',
  delivery: 'none',
  long: false,
  firstPollMinSteps: 1,
  output: 'any',
  sameAs: null,
  schema: null,
  callerMayRun: true,
  capability: null,
  modality: null,
} as const;

// Row order is the order task types are listed in messages.
const ROWS = {
  imageInference: {
    ...WORK,
    price: price(0.1, IMAGE),
    output: 'media',
    schema: imageInferenceTask,
    capability: { match: /to-image$|image-editing|inpaint|outpaint/, order: 7 },
    modality: 'image',
  },
  videoInference: {
    ...WORK,
    price: price(3, ['seconds', 'results'], 5),
    output: 'media',
    delivery: 'asyncOnly',
    long: true,
    firstPollMinSteps: 10,
    capability: { match: /to-video$/, order: 4 },
    modality: 'video',
  },
  audioInference: {
    ...WORK,
    price: price(0.5, ['seconds', 'results'], 30),
    output: 'media',
    long: true,
    firstPollMinSteps: 4,
    capability: { match: /to-(speech|music|audio|sound)$/, order: 5 },
    modality: 'audio',
  },
  textInference: { ...WORK, price: price(0.1, ['results']), output: 'text' },
  '3dInference': {
    ...WORK,
    price: price(1.5, []),
    output: 'files',
    long: true,
    firstPollMinSteps: 10,
    capability: { match: /to-3d$/, order: 6 },
    modality: '3d',
  },
  photoMaker: { ...WORK, price: price(0.1, IMAGE), output: 'media' },
  upscale: { ...WORK, price: price(0.05, []), output: 'media', capability: { match: /upscal/, order: 1 } },
  imageUpscale: { ...WORK, price: price(0.05, []), output: 'media', sameAs: 'upscale' },
  removeBackground: {
    ...WORK,
    price: price(0.05, []),
    output: 'media',
    capability: { match: /background-removal|remove-background/, order: 2 },
  },
  imageBackgroundRemoval: { ...WORK, price: price(0.05, []), output: 'media', sameAs: 'removeBackground' },
  caption: { ...WORK, price: price(0.02, []), output: 'text', capability: { match: /to-text$|caption/, order: 3 } },
  imageCaption: { ...WORK, price: price(0.02, []), output: 'text', sameAs: 'caption' },
  controlNetPreprocess: { ...WORK, price: price(0.02, []), output: 'media' },
  imageControlNetPreProcess: { ...WORK, price: price(0.02, []), output: 'media', sameAs: 'controlNetPreprocess' },
  imageMasking: { ...WORK, price: price(0.02, []), output: 'media' },
  vectorize: { ...WORK, price: price(0.05, []), output: 'media' },
  promptEnhance: { ...WORK, price: price(0.01, ['results']), output: 'text', counts: 'promptVersions' },
  imageUpload: { ...UTILITY, kept: true, sameAs: 'mediaStorage' },
  mediaStorage: { ...UTILITY, kept: true },
  modelSearch: { ...UTILITY, schema: modelSearchTask },
  modelUpload: { ...WORK, price: price(1, []), output: 'any', delivery: 'none', long: true, firstPollMinSteps: 10 },
  accountManagement: { ...UTILITY },
  getResponse: { ...UTILITY, billing: 'read', schema: getResponseTask, callerMayRun: false },
  getTaskDetails: { ...UTILITY, billing: 'read', schema: getTaskDetailsTask, callerMayRun: false },
  training: { ...WORK, price: price(20, []), output: 'any', delivery: 'asyncOnly', long: true, firstPollMinSteps: 60 },
  ping: { ...UTILITY, schema: pingTask, callerMayRun: false },
} as const satisfies Record<string, TaskTypeRow>;

export type TaskTypeName = keyof typeof ROWS;
/** The reads (getResponse, getTaskDetails): their type, from the table. */
export type ReadTaskType = {
  [K in TaskTypeName]: (typeof ROWS)[K]['billing'] extends 'read' ? K : never;
}[TaskTypeName];

export const TASK_TYPES: Readonly<Record<string, TaskTypeRow>> = ROWS;

/** Task types the API knows (current names and legacy aliases), in the table's order. */
export const KNOWN_TASK_TYPES = Object.keys(ROWS) as TaskTypeName[];

/** The row of a task type, or undefined for one the table does not know. */
export const rowFor = (taskType: string): TaskTypeRow | undefined =>
  Object.hasOwn(ROWS, taskType) ? TASK_TYPES[taskType] : undefined;

/** A task type the table does not know: a dollar per task. */
export const DEFAULT_PRICE: TaskTypePrice = price(1, ['results']);
/** The price facts of a task type (free ones and unknown ones: the default). */
export const priceOf = (taskType: string): TaskTypePrice => rowFor(taskType)?.price ?? DEFAULT_PRICE;

/** The size of one reference unit in each dimension (seconds: the row's, else 5). */
export const REFERENCE = { pixels: 1_048_576, steps: 28 } as const;
export const referenceSeconds = (taskType: string): number => priceOf(taskType).referenceSeconds ?? 5;

/** Whether a task type is a read (getResponse, getTaskDetails). */
export const isReadType = (taskType: string): boolean => rowFor(taskType)?.billing === 'read';
/** Whether a task type is billed. The authentication task (never sent; the rules refuse it) is not; an unknown type is. */
export const isBillable = (taskType: string): boolean =>
  taskType !== 'authentication' && (rowFor(taskType)?.billing ?? 'billable') === 'billable';
/** Task types with a journal record: billable work, and media storage (its UUIDs are wanted later). */
export const isKept = (taskType: string): boolean => rowFor(taskType)?.kept ?? isBillable(taskType);
/** The current name of a task type (a legacy alias's), for matching answers. */
export const canonicalType = (taskType: string): string => rowFor(taskType)?.sameAs ?? taskType;
/** Its field-by-field schema, if it has one. */
export const strictSchemaOf = (taskType: string): z.ZodType | undefined => rowFor(taskType)?.schema ?? undefined;
/** Takes seconds to minutes: async and polled, whatever was learned. */
export const isLongType = (taskType: string): boolean => rowFor(taskType)?.long ?? false;
/** How many of the poll schedule's `minMs` its first poll waits. */
export const firstPollMinSteps = (taskType: string | undefined): number =>
  taskType ? (rowFor(taskType)?.firstPollMinSteps ?? 1) : 1;
/** Without a model schema: the delivery methods the reference says the type allows (undefined: it takes none). */
export function defaultDelivery(taskType: string): Array<'sync' | 'async'> | undefined {
  const d = rowFor(taskType)?.delivery ?? 'none';
  return d === 'asyncOnly' ? ['async'] : d === 'syncOrAsync' ? ['sync', 'async'] : undefined;
}
/** Task types a caller may name for a model the registry does not know (no reads, no ping). */
export const callerRunnableTypes = (): TaskTypeName[] => KNOWN_TASK_TYPES.filter((t) => ROWS[t].callerMayRun);
/**
 * A type the rules check generically (structure, keys, secrets, a model AIR), for
 * a caller's params before their real type is known: billed work with no schema of its own.
 */
export const GENERIC_WORK_TYPE: TaskTypeName = KNOWN_TASK_TYPES.find(
  (t) => ROWS[t].billing === 'billable' && ROWS[t].schema === null,
)!;

/** What the content service says a model's task type is, from its capabilities (then its modality). */
export function taskTypeFromCapabilities(capabilities: string[], category: string[] = []): string | undefined {
  const ranked = KNOWN_TASK_TYPES.flatMap((t) => {
    const c: TaskTypeRow['capability'] = ROWS[t].capability;
    return c ? [{ t, ...c }] : [];
  }).sort((a, b) => a.order - b.order);
  const hit = ranked.find((r) => capabilities.some((c) => r.match.test(c)));
  if (hit) return hit.t;
  for (const c of category) {
    const t = KNOWN_TASK_TYPES.find((k) => ROWS[k].modality === c);
    if (t) return t;
  }
  return undefined;
}

/**
 * How many results a task asks for: its counting field (promptVersions for
 * promptEnhance, numberResults for the rest) when a positive number, else 1.
 * What its reservation, its record, the wait for its results and a WebSocket
 * frame count all use. promptEnhance counts promptVersions only (Runware's
 * default is one version, whatever numberResults says); 0 or less is 1.
 */
export function resultCount(task: Record<string, unknown> & { taskType: string }): number {
  const n = task[rowFor(task.taskType)?.counts ?? 'numberResults'];
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 1;
}

// ---- What a result carries, by output shape (verdicts.ts, ledger-records.ts, services/outputs.ts). ----

/** Media kinds a result names its bytes by (`imageURL`, `videoUUID`, `mediaDataURI`, …), in the order they are read. */
export const MEDIA_KINDS = ['image', 'video', 'audio', 'media'] as const;
/** Fields that hold a media output: the kinds above, and a preprocessor's guide or mask image. */
const MEDIA_OUTPUT = /^(image|video|audio|media|guideImage|maskImage)(URL|UUID|Base64Data|DataURI)$/;
/** A 3D result's files (`outputs.files`), or undefined when the item has none. */
export const outputFiles = (item: DataItem): unknown[] | undefined => {
  const files = (item?.outputs as { files?: unknown } | undefined)?.files;
  return Array.isArray(files) ? files : undefined;
};
const media = (item: DataItem): boolean =>
  Object.keys(item).some((k) => MEDIA_OUTPUT.test(k) && typeof item[k] === 'string' && item[k] !== '');
/** Whether an item carries an output of each shape; 'any' is judged by the caller (anything beyond bookkeeping). */
export const CARRIES: Record<Exclude<OutputShape, 'any'>, (item: DataItem) => boolean> = {
  media,
  text: (item) => typeof item.text === 'string',
  files: (item) => outputFiles(item) !== undefined || media(item),
};
export const outputShapeOf = (taskType: string): OutputShape | undefined => rowFor(taskType)?.output;
