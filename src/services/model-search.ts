import type { DataItem } from '../runware/errors.js';
import { UpstreamError } from '../shared/errors.js';
import { hintFor, describeError } from '../runware/errors.js';
import type { AppContext } from './context.js';

export interface ModelSearchInput {
  search?: string;
  category?: string;
  architecture?: string;
  type?: string;
  tags?: string[];
  limit?: number;
  offset?: number;
}

/** Paging bounds for both front-ends (the MCP schema and the CLI flags). */
export const MODEL_SEARCH_LIMITS = { limit: { min: 1, max: 100, integer: true }, offset: { min: 0, max: 100_000, integer: true } } as const;

export interface CompactModel {
  air: string;
  name: string;
  version?: string;
  category?: string;
  architecture?: string;
  type?: string;
  defaultWidth?: number;
  defaultHeight?: number;
  defaultSteps?: number;
  defaultCFG?: number;
  defaultScheduler?: string;
  positiveTriggerWords?: string;
  tags: string[];
}

export interface ModelSearchOutput {
  taskUUID: string;
  totalResults: number;
  offset: number;
  results: CompactModel[];
}

const pick = <T>(v: unknown, t: 'string' | 'number'): T | undefined => (typeof v === t ? (v as T) : undefined);

/** Keeps what an agent needs to choose a model and call text-to-image with it. */
export function compactModel(m: Record<string, unknown>): CompactModel {
  const out: CompactModel = { air: String(m.air ?? ''), name: String(m.name ?? ''), tags: Array.isArray(m.tags) ? m.tags.filter((t): t is string => typeof t === 'string') : [] };
  for (const k of ['version', 'category', 'architecture', 'type', 'defaultScheduler', 'positiveTriggerWords'] as const) {
    const v = pick<string>(m[k], 'string');
    if (v) out[k] = v;
  }
  for (const k of ['defaultWidth', 'defaultHeight', 'defaultSteps', 'defaultCFG'] as const) {
    const v = pick<number>(m[k], 'number');
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export async function modelSearch(ctx: AppContext, input: ModelSearchInput, signal?: AbortSignal): Promise<ModelSearchOutput> {
  const task: Record<string, unknown> = { taskType: 'modelSearch' };
  for (const [k, v] of Object.entries(input)) if (v !== undefined) task[k] = v;
  const r = await ctx.runware().submit(task, signal ? { signal } : {});
  const t = r.tasks[0]!;
  if (t.status === 'error') {
    const e = t.errors[0] ?? r.requestErrors[0];
    throw new UpstreamError(`modelSearch failed: ${e ? describeError(e) : 'no result'}`, {
      ...(e?.code ? { code: e.code } : {}),
      category: e?.category ?? 'unknown',
      retryable: e?.retryable ?? false,
      hint: hintFor(e?.category ?? 'unknown'),
    });
  }
  const item = (t.results[0] ?? {}) as DataItem;
  // Upstream items are hostile until shown otherwise: null or air-less entries are skipped, not crashed on.
  const results = Array.isArray(item.results)
    ? (item.results as unknown[]).filter((m): m is Record<string, unknown> => !!m && typeof m === 'object' && !Array.isArray(m)).map(compactModel).filter((m) => m.air.length > 0)
    : [];
  return { taskUUID: t.taskUUID, totalResults: typeof item.totalResults === 'number' ? item.totalResults : results.length, offset: input.offset ?? 0, results };
}
