/**
 * What the simulator charges, priced as Runware prices: images by pixels ×
 * steps × results (per model, from its catalogue price at its default size and
 * steps), video by seconds × results, audio and 3D per result. One function,
 * so a run's `cost` and a priced dry run always agree.
 */
import { CATALOG } from './catalog.js';

type Item = Record<string, unknown>;

/** USD per second of video, per model (Kling matches the content service's "$0.92 for 5 s"). */
const VIDEO_PER_SECOND: Record<string, number> = { 'klingai:5@3': 0.184 };
const VIDEO_DEFAULT_PER_SECOND = 0.05;
const FLAT: Record<string, number> = {
  audioInference: 0.03,
  '3dInference': 0.25,
  promptEnhance: 0.0001,
  caption: 0.0002,
  imageCaption: 0.0002,
};

const num = (v: unknown, dflt: number): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : dflt);

/**
 * USD for each result of one task. `override` (USD per reference unit: one result at the
 * model's default size and steps, or one second of video) replaces the
 * model's own price, for tests that make prices vary.
 */
export function simPricePerResult(task: Item, override?: number): number {
  const taskType = String(task.taskType ?? '');
  const model = CATALOG.find((m) => m.air === task.model);
  switch (taskType) {
    case 'imageInference':
    case 'photoMaker': {
      const w = num(task.width, model?.defaultWidth ?? 1024);
      const h = num(task.height, model?.defaultHeight ?? 1024);
      const refSteps = model?.defaultSteps ?? 28;
      const steps = num(task.steps, refSteps);
      // The catalogue price is per megapixel at the model's default steps.
      const perMp = override ?? model?.price ?? 0.002;
      return perMp * ((w * h) / 1_048_576) * (steps / refSteps);
    }
    case 'videoInference':
      return (override ?? VIDEO_PER_SECOND[String(task.model)] ?? VIDEO_DEFAULT_PER_SECOND) * num(task.duration, 5);
    case 'upscale':
    case 'imageUpscale':
    case 'removeBackground':
    case 'imageBackgroundRemoval':
      return override ?? 0.001;
    default:
      return override ?? FLAT[taskType] ?? 0.001;
  }
}

/** Rounded as Runware reports it (to 1/10,000 of a dollar), never below a price that is not 0. */
export const reported = (usd: number): number =>
  usd > 0 ? Math.max(0.0001, Math.ceil(usd * 10000 - 1e-6) / 10000) : 0;

/** How many results a task asks for (promptVersions for promptEnhance). */
export const simResults = (task: Item): number =>
  task.taskType === 'promptEnhance' ? num(task.promptVersions, 1) : num(task.numberResults, 1);

/** What a whole task is charged: each result's reported price, times the results. */
export const simPrice = (task: Item, override?: number): number =>
  Math.round(reported(simPricePerResult(task, override)) * simResults(task) * 1e6) / 1e6;
