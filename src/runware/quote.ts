/**
 * A price quote for a billable task before it is reserved against the cap,
 * from the best source there is, in this order: Runware's dry run (where it is
 * known to price without running), the content service's pricing examples
 * scaled to the task, the most this model has cost per unit in the ledger,
 * and the type's ceiling scaled the same way. The learned bound is also a
 * floor under the first two: a model that overran once is never quoted below
 * what it was really charged per unit.
 *
 * Scaling is linear in each billable dimension (pixels × steps × results;
 * seconds × results) and never goes down: a bigger task of the same model is
 * never quoted less than a smaller one.
 */
import { priceOf, REFERENCE, referenceSeconds, resultCount, type TaskTypePrice } from './task-types.js';

export type QuoteSource = 'dryRun' | 'pricing' | 'learned' | 'ceiling';

export interface Quote {
  /** USD reserved for the task. */
  usd: number;
  /** Reference units (quote.ts's table): what the learned per-unit price is kept in. */
  units: number;
  source: QuoteSource;
  /** One clause for messages: where the number came from. */
  how: string;
}

type Task = Record<string, unknown> & { taskType: string; taskUUID: string };

export interface Dimensions {
  /** One result's size in reference units (pixels × steps, or seconds), exactly as asked. */
  size: number;
  results: number;
  /** The cache key: model and every billable dimension. */
  key: string;
}

const pos = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
export const rowOf = (taskType: string, ceilings: Record<string, number> = {}): TaskTypePrice => {
  const row = priceOf(taskType);
  const c = ceilings[taskType];
  return c !== undefined ? { ...row, ceilingUsd: c } : row;
};

/**
 * The task's billable dimensions. Where the task leaves one out, the
 * reference value stands in (the model's default is not known here).
 */
export function dimensionsOf(t: Task): Dimensions {
  const row = rowOf(t.taskType);
  let size = 1;
  const parts: string[] = [String(t.model ?? ''), t.taskType];
  if (row.dims.includes('pixels')) {
    const w = pos(t.width) ?? 1024;
    const h = pos(t.height) ?? 1024;
    size *= (w * h) / REFERENCE.pixels;
    parts.push(`${w}x${h}`);
  }
  if (row.dims.includes('steps')) {
    const s = pos(t.steps) ?? REFERENCE.steps;
    size *= s / REFERENCE.steps;
    parts.push(`${s}st`);
  }
  if (row.dims.includes('seconds')) {
    const d = pos(t.duration) ?? referenceSeconds(t.taskType);
    size *= d / referenceSeconds(t.taskType);
    parts.push(`${d}s`);
  }
  const n = row.dims.includes('results') ? resultCount(t) : 1;
  parts.push(`x${n}`);
  return { size, results: n, key: parts.join('|') };
}

/** Runware reports cost to 1/10,000 of a dollar: a quote rounds each result up to it, so rounding never makes an overrun. */
const up = (usd: number): number => Math.ceil(usd * 10_000 - 1e-6) / 10_000;
const total = (perResult: number, d: Dimensions): number => Math.round(up(perResult) * d.results * 1e6) / 1e6;

/**
 * Pricing examples read as prices: a configuration naming a size
 * ("1024x1024"), steps ("28 steps") or a duration ("5 s", "10 sec", "2 min")
 * gives a price per reference unit; one naming none ("any size") is flat.
 */
export function readExamples(
  taskType: string,
  examples: Array<{ configuration: string; price: string }>,
): { perUnit?: number; flat?: number } {
  const row = rowOf(taskType);
  let perUnit: number | undefined;
  let flat: number | undefined;
  for (const ex of examples) {
    const price = Number(/\$?\s*([0-9]*\.?[0-9]+)/.exec(ex.price)?.[1]);
    if (!Number.isFinite(price) || price < 0) continue;
    const c = ex.configuration.toLowerCase();
    let size = 1;
    let scaled = false;
    const wh = /(\d{2,5})\s*[x×]\s*(\d{2,5})/.exec(c);
    if (wh && row.dims.includes('pixels')) {
      size *= (Number(wh[1]) * Number(wh[2])) / REFERENCE.pixels;
      scaled = true;
    }
    const st = /(\d+)\s*steps?\b/.exec(c);
    if (st && row.dims.includes('steps')) {
      size *= Number(st[1]) / REFERENCE.steps;
      scaled = true;
    }
    const sec = /(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|min|mins|minutes?)\b/.exec(c);
    // "up to 5 min" is a bound, not a length the price scales with.
    if (sec && row.dims.includes('seconds') && !/up to/.test(c)) {
      const seconds = Number(sec[1]) * (sec[2]!.startsWith('m') ? 60 : 1);
      size *= seconds / referenceSeconds(taskType);
      scaled = true;
    }
    if (scaled && size > 0) perUnit = Math.max(perUnit ?? 0, price / size);
    else flat = Math.max(flat ?? 0, price);
  }
  return { ...(perUnit !== undefined ? { perUnit } : {}), ...(flat !== undefined ? { flat } : {}) };
}

export interface QuoteSources {
  /** Runware's dry run: USD for the whole task, or undefined when it did not price it. */
  dryRun?: (task: Task) => Promise<number | undefined>;
  /** The content service's pricing examples for a model (undefined: none). */
  pricing?: (model: string) => Promise<Array<{ configuration: string; price: string }> | undefined>;
  /** The most this model has been charged per reference unit (the ledger). */
  learned?: (model: string) => Promise<number | undefined>;
  /** RUNWARE_PRICE_CEILINGS: USD per reference unit by task type. */
  ceilings?: Record<string, number>;
}

/** Quotes for at most this many model+dimension keys are kept. */
const CACHE_KEEP = 2000;

export class Quoter {
  /** The first two sources' answers, by model and dimensions: a repeated task costs no extra round trip. */
  private readonly cache = new Map<string, { usd: number; source: 'dryRun' | 'pricing' }>();

  constructor(private readonly sources: QuoteSources) {}

  /** What the task is quoted. `network: false` skips the dry run and the content service (no cap, nothing to confirm). */
  async quote(t: Task, opts: { network?: boolean } = {}): Promise<Quote> {
    const d = dimensionsOf(t);
    const units = d.size * d.results;
    const model = typeof t.model === 'string' ? t.model : undefined;
    const learnedPerUnit =
      model && this.sources.learned ? await this.sources.learned(model).catch(() => undefined) : undefined;
    const primary = opts.network === false ? undefined : await this.primary(t, d, model);
    const learnedUsd = learnedPerUnit !== undefined ? total(learnedPerUnit * d.size, d) : undefined;
    if (primary) {
      if (learnedUsd !== undefined && learnedUsd > primary.usd)
        return {
          usd: learnedUsd,
          units,
          source: 'learned',
          how: `the most ${model} has been charged per unit, above its ${primary.source === 'dryRun' ? 'dry-run price' : 'published pricing'} of ${money(primary.usd)}`,
        };
      return {
        usd: primary.usd,
        units,
        source: primary.source,
        how:
          primary.source === 'dryRun' ? "Runware's dry-run price" : `${model}'s published pricing, scaled to this task`,
      };
    }
    // Alone, the learned and ceiling prices never quote a result below one reference unit: a
    // flat-priced model costs as much at 512² as at 1024².
    const floor = { ...d, size: Math.max(1, d.size) };
    if (learnedPerUnit !== undefined)
      return {
        usd: total(learnedPerUnit * floor.size, floor),
        units,
        source: 'learned',
        how: `the most ${model} has been charged per unit, scaled to this task`,
      };
    const row = rowOf(t.taskType, this.sources.ceilings);
    return {
      usd: total(row.ceilingUsd * floor.size, floor),
      units,
      source: 'ceiling',
      how: `no price is known for ${model ?? t.taskType} yet, so the ${t.taskType} ceiling is reserved, scaled to this task`,
    };
  }

  private async primary(
    t: Task,
    d: Dimensions,
    model: string | undefined,
  ): Promise<{ usd: number; source: 'dryRun' | 'pricing' } | undefined> {
    const hit = this.cache.get(d.key);
    if (hit) return hit;
    let found: { usd: number; source: 'dryRun' | 'pricing' } | undefined;
    const dry = this.sources.dryRun ? await this.sources.dryRun(t).catch(() => undefined) : undefined;
    if (dry !== undefined) found = { usd: dry, source: 'dryRun' };
    else if (model && this.sources.pricing) {
      const examples = await this.sources.pricing(model).catch(() => undefined);
      const p = examples?.length ? readExamples(t.taskType, examples) : {};
      const scaled = p.perUnit !== undefined ? p.perUnit * d.size : undefined;
      // Examples with and without dimensions: the higher of the scaled and the flat price.
      const per = Math.max(scaled ?? 0, p.flat ?? 0);
      if (scaled !== undefined || p.flat !== undefined) found = { usd: total(per, d), source: 'pricing' };
    }
    // Only answers are kept: a source that did not answer (down, no examples yet) is asked again next time.
    if (found) {
      this.cache.set(d.key, found);
      if (this.cache.size > CACHE_KEEP) this.cache.delete(this.cache.keys().next().value as string);
    }
    return found;
  }
}

export const money = (n: number): string => `$${n.toFixed(4).replace(/0{1,2}$/, '')}`;
