/**
 * What an agent needs to call runware_run right, compactly: the task type,
 * the delivery methods, each parameter (type, required, allowed values or
 * range, default), cross-field rules, the documentation link, and pricing.
 */
import { paramsOf, rulesOf, type ParamInfo } from '../runware/schemas/describe.js';
import type { Pricing } from '../runware/schemas/catalog.js';
import { ValidationError } from '../shared/errors.js';
import type { AppContext } from './context.js';
import { modelFacts, pickDelivery } from './model-schema.js';

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
  note?: string;
}

export async function modelInfo(ctx: AppContext, model: string, signal?: AbortSignal): Promise<ModelInfo> {
  // Pricing (keyed by the registry's slug) loads beside the schema, not after it.
  const catalog = ctx.catalog();
  const pricingP = catalog
    .registryEntry(model, signal)
    .then((reg) => catalog.pricing(model, reg.slug, signal))
    .catch(() => undefined);
  const [facts, pricing] = await Promise.all([modelFacts(ctx, model, signal ? { signal } : {}), pricingP]);
  if (!facts.schema && !facts.taskType && !pricing) {
    const why = facts.unchecked?.replace(/^Not checked against a live schema: /, '').replace(/\. The task was sent.*$/, '') ?? 'nothing is known of it';
    throw new ValidationError('model', `no schema, registry entry or pricing for ${model}: ${why}`, 'an AIR from runware_model_search, e.g. runware:101@1; community models run through runware_run with params.taskType');
  }
  const schema = facts.schema?.requestSchema;
  const rules = schema ? rulesOf(schema) : [];
  // What a call with the default wait would use (runware_run and text-to-image wait 45 s by default).
  const used = await pickDelivery(ctx, facts.delivery, { taskType: facts.taskType, model }, 45_000);
  return {
    model,
    ...(facts.taskType ? { taskType: facts.taskType } : {}),
    ...(facts.delivery ? { deliveryMethods: facts.delivery } : {}),
    ...(used ? { deliveryUsed: used } : {}),
    schema: !facts.schema ? 'none' : facts.schema.source === 'network' || facts.schema.source === 'memory' ? 'live' : 'cached',
    parameters: schema ? paramsOf(schema) : [],
    ...(rules.length ? { rules } : {}),
    ...(facts.schema?.documentation ? { documentation: facts.schema.documentation } : {}),
    ...(pricing ? { pricing } : {}),
    ...(facts.unchecked ? { note: facts.unchecked.replace('The task was sent as given; Runware checks it.', 'runware_run will send tasks unvalidated; Runware checks them.') } : {}),
  };
}
