/**
 * What the catalogues say of a model the registry does not know: the content
 * service's curated entry (its capabilities give the task type), else the
 * community catalogue's (a checkpoint runs as imageInference; a LoRA,
 * ControlNet, VAE or embedding is not run on its own). Lets runware_run and
 * runware_model_info take every AIR model search returns.
 */
import type { CuratedModel } from '../runware/schemas/curated.js';
import { taskTypeFromCapabilities } from '../runware/schemas/curated.js';
import type { AppContext } from './context.js';
import { communityHit, communitySearch, type ModelHit } from './model-search.js';

export interface ModelKind {
  taskType?: string;
  curated?: CuratedModel;
  community?: ModelHit;
  /** Set when the model is not run on its own: how it is used instead. */
  use?: string;
}

/** The community catalogue's entry for exactly this AIR; undefined without a key or when it is not listed. */
export async function communityEntry(
  ctx: AppContext,
  air: string,
  signal?: AbortSignal,
): Promise<ModelHit | undefined> {
  try {
    const page = await communitySearch(ctx, { search: air, limit: 5 }, signal);
    const m = page.results.find((r) => r.air === air);
    return m ? communityHit(m, undefined) : undefined;
  } catch {
    // No key, or the search failed: the model is simply not known from here.
    return undefined;
  }
}

export async function modelKind(ctx: AppContext, air: string, signal?: AbortSignal): Promise<ModelKind> {
  const curated = await ctx
    .catalog()
    .curatedModel(air, signal)
    .catch(() => undefined);
  if (curated) {
    const taskType = taskTypeFromCapabilities(curated.capabilities, curated.category);
    return { curated, ...(taskType ? { taskType } : {}) };
  }
  const community = await communityEntry(ctx, air, signal);
  if (!community) return {};
  return {
    community,
    ...(community.taskType ? { taskType: community.taskType } : {}),
    ...(community.use ? { use: community.use } : {}),
  };
}
