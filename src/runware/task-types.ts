/**
 * One row per Runware task type: what it costs when nothing better is known
 * (its ceiling, per reference unit) and the dimensions its price scales with.
 * Data only; quote.ts reads it. RUNWARE_PRICE_CEILINGS overrides the ceilings.
 *
 * A reference unit is one result at 1 megapixel and 28 steps (images), one
 * result of 5 seconds (video), 30 seconds (audio), or one result (the rest).
 */

/** A dimension a price scales with, and its size in one reference unit. */
export type PriceDimension = 'pixels' | 'steps' | 'seconds' | 'results';

export interface TaskTypeRow {
  /** USD per reference unit when no quote source knows the model. */
  ceilingUsd: number;
  /** The dimensions its price scales with, linearly in each. */
  dims: readonly PriceDimension[];
}

const IMAGE: TaskTypeRow['dims'] = ['pixels', 'steps', 'results'];
const per = (ceilingUsd: number, dims: readonly PriceDimension[] = ['results']): TaskTypeRow => ({ ceilingUsd, dims });

export const TASK_TYPES: Readonly<Record<string, TaskTypeRow>> = {
  imageInference: per(0.1, IMAGE),
  photoMaker: per(0.1, IMAGE),
  videoInference: per(3, ['seconds', 'results']),
  audioInference: per(0.5, ['seconds', 'results']),
  '3dInference': per(1.5, []),
  textInference: per(0.1),
  upscale: per(0.05, []),
  imageUpscale: per(0.05, []),
  removeBackground: per(0.05, []),
  imageBackgroundRemoval: per(0.05, []),
  caption: per(0.02, []),
  imageCaption: per(0.02, []),
  vectorize: per(0.05, []),
  controlNetPreprocess: per(0.02, []),
  imageControlNetPreProcess: per(0.02, []),
  imageMasking: per(0.02, []),
  promptEnhance: per(0.01),
  training: per(20, []),
  modelUpload: per(1, []),
};

/** A task type the table does not know: a dollar per task. */
export const DEFAULT_ROW: TaskTypeRow = per(1, ['results']);

/** The size of one reference unit in each dimension. */
export const REFERENCE = { pixels: 1_048_576, steps: 28, seconds: { videoInference: 5, audioInference: 30 } as Record<string, number> } as const;

/** Task types that are never billed: reads, search, account, storage. */
const FREE = new Set(['getResponse', 'getTaskDetails', 'modelSearch', 'accountManagement', 'ping', 'mediaStorage', 'imageUpload', 'authentication']);
export const isBillable = (taskType: string): boolean => !FREE.has(taskType);
/** Task types with a journal record: billable work, and media storage (its UUIDs are wanted later). */
export const isKept = (taskType: string): boolean => isBillable(taskType) || taskType === 'mediaStorage';

/** How many results a task asks for (promptVersions for promptEnhance): what its reservation and record count. */
export function resultCount(task: Record<string, unknown> & { taskType: string }): number {
  const n = task.taskType === 'promptEnhance' ? task.promptVersions : task.numberResults;
  return typeof n === 'number' && n > 0 ? n : 1;
}
