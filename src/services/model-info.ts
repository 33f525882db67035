/**
 * What an agent needs to call runware_run right, compactly: the task type,
 * the delivery methods, each parameter (type, required, allowed values or
 * range, default), cross-field rules, the documentation link, pricing, and up
 * to two working example requests. A model with no live schema (a community
 * checkpoint, say) is described from the catalogues instead: what it is, its
 * defaults and trigger words, and that runware_run will not validate it.
 */
import { paramsOf, rulesOf, type ParamInfo } from '../runware/schemas/describe.js';
import type { Pricing } from '../runware/schemas/catalog.js';
import { checkAir } from '../runware/tasks/common.js';
import { NetworkError, ValidationError } from '../shared/errors.js';
import type { AppContext } from './context.js';
import { defaultDelivery, modelFacts, pickDelivery } from './model-schema.js';
import { modelKind } from './model-kind.js';
import type { ModelExample } from '../runware/schemas/curated.js';

export interface ModelInfo {
  model: string;
  taskType?: string;
  deliveryMethods?: Array<'sync' | 'async'>;
  /** What runware_run will send. */
  deliveryUsed?: 'sync' | 'async';
  schema: 'live' | 'cached' | 'none';
  parameters: ParamInfo[];
  rules?: string[];
  documentation?: string;
  pricing?: Pricing;
  name?: string;
  source?: 'curated' | 'community';
  capabilities?: string[];
  /** Working requests from Runware's catalogue: pass one's params to runware_run, changed to suit. */
  examples?: ModelExample[];
  /** From the community catalogue, for models with no live schema. */
  about?: Record<string, string | number | string[]>;
  /** How a model that is not run on its own is used (LoRAs, ControlNets, ...). */
  use?: string;
  note?: string;
}

const ABOUT_KEYS = [
  'category',
  'architecture',
  'type',
  'version',
  'defaultWidth',
  'defaultHeight',
  'defaultSteps',
  'defaultCFG',
  'defaultScheduler',
  'positiveTriggerWords',
  'tags',
] as const;

export async function modelInfo(ctx: AppContext, model: string, signal?: AbortSignal): Promise<ModelInfo> {
  checkAir(model);
  // Pricing (keyed by the registry's slug) and the model's kind load beside the schema, not after it.
  const catalog = ctx.catalog();
  const pricingP = catalog
    .registryEntry(model, signal)
    .then((reg) => catalog.pricing(model, reg.slug, signal))
    .catch(() => undefined);
  const [facts, pricing, kind] = await Promise.all([
    modelFacts(ctx, model, signal ? { signal } : {}),
    pricingP,
    modelKind(ctx, model, signal),
  ]);
  const slug = facts.slug ?? kind.curated?.slug;
  const examples = slug
    ? await ctx
        .catalog()
        .examples(slug, signal)
        .catch(() => [])
    : [];
  const taskType = facts.taskType ?? kind.taskType;
  if (!facts.schema && !taskType && !pricing && !kind.community) {
    const why =
      facts.unchecked?.replace(/^Not checked against a live schema: /, '').replace(/\. The task was sent.*$/, '') ??
      'nothing is known of it';
    // Not the caller's mistake: the catalogue could not be asked. Retryable, not "fix the field".
    if (facts.unreachable) throw new NetworkError(`nothing is known of ${model} here: ${why}`, false);
    throw new ValidationError(
      'model',
      `no schema, registry entry or pricing for ${model}, and neither catalogue lists it: ${why}`,
      'an AIR from model search, e.g. runware:101@1',
    );
  }
  const schema = facts.schema?.requestSchema;
  const rules = schema ? rulesOf(schema) : [];
  const delivery = facts.delivery ?? (taskType ? defaultDelivery(taskType) : undefined);
  // What a call with the default wait would use (runware_run and text-to-image wait 45 s by default).
  const used = await pickDelivery(ctx, delivery, { taskType, model }, 45_000);
  const c = kind.community;
  const about = c
    ? Object.fromEntries(
        ABOUT_KEYS.filter((k) => c[k] !== undefined && !(Array.isArray(c[k]) && (c[k] as string[]).length === 0)).map(
          (k) => [k, c[k]!],
        ),
      )
    : undefined;
  const name = kind.curated?.name ?? c?.name;
  const capabilities = kind.curated?.capabilities ?? c?.capabilities;
  const unchecked = facts.unchecked?.replace(
    'The task was sent as given; Runware checks it.',
    'a run sends tasks unvalidated; Runware checks them.',
  );
  return {
    model,
    ...(name ? { name } : {}),
    ...(kind.curated ? { source: 'curated' as const } : c ? { source: 'community' as const } : {}),
    ...(capabilities?.length ? { capabilities } : {}),
    ...(taskType ? { taskType } : {}),
    ...(delivery ? { deliveryMethods: delivery } : {}),
    ...(used ? { deliveryUsed: used } : {}),
    schema: !facts.schema
      ? 'none'
      : facts.schema.source === 'network' || facts.schema.source === 'memory'
        ? 'live'
        : 'cached',
    parameters: schema ? paramsOf(schema) : [],
    ...(rules.length ? { rules } : {}),
    ...(facts.schema?.documentation ? { documentation: facts.schema.documentation } : {}),
    ...(pricing ? { pricing } : {}),
    ...(examples.length ? { examples } : {}),
    ...(about && Object.keys(about).length ? { about } : {}),
    ...(kind.use ? { use: kind.use } : {}),
    ...(unchecked && !kind.use
      ? { note: c && !kind.use ? `${unchecked} Its defaults are under about.` : unchecked }
      : {}),
  };
}
