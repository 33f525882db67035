/**
 * What the server knows of a model before sending it a task: its live schema
 * (or why there is none), its taskType, and the delivery methods it allows.
 * Shared by runware_run, runware_model_info and text-to-image.
 */
import { deliveryMethodsOf, taskTypeOf, type ModelSchema, type SchemaLookup } from '../runware/schemas/catalog.js';
import { unusableSchema, UnusableSchemaError, validateAgainst } from '../runware/schemas/validate.js';
import { checkAir } from '../runware/tasks/common.js';
import { deliveryFor, durationKey } from '../runware/delivery.js';
import { defaultDelivery } from '../runware/task-types.js';
import { CancelledError, PolicyError, SpendError, ValidationError } from '../shared/errors.js';
import { deadline } from '../shared/time.js';
import type { AppContext } from './context.js';
import { BUDGETS } from '../runware/timing.js';

/** At most this long goes to the catalogue before a task is sent unvalidated. */
export const LOOKUP_BUDGET_MS = BUDGETS.modelLookupMs;

export interface ModelFacts {
  air: string;
  schema?: ModelSchema;
  /** One line: why the task is not checked against a schema. */
  unchecked?: string;
  /** The schema service could not be reached (not: it has no schema for this model). */
  unreachable?: boolean;
  taskType?: string;
  slug?: string;
  /** Allowed delivery methods; undefined when the task type takes none. */
  delivery?: Array<'sync' | 'async'>;
}

export async function modelFacts(
  ctx: AppContext,
  air: string,
  opts: { signal?: AbortSignal; budgetMs?: number } = {},
): Promise<ModelFacts> {
  checkAir(air);
  const budget = deadline(opts.signal, opts.budgetMs ?? LOOKUP_BUDGET_MS);
  const signal = budget.signal;
  const catalog = ctx.catalog();
  try {
    const [lookup, reg] = await Promise.all([catalog.schema(air, signal), catalog.registryEntry(air, signal)]);
    await dropUnusable(lookup, air);
    const taskType = reg.taskType ?? taskTypeOf(lookup.schema?.requestSchema);
    const delivery = lookup.schema
      ? deliveryMethodsOf(lookup.schema.requestSchema)
      : taskType
        ? defaultDelivery(taskType)
        : undefined;
    return {
      air,
      ...(lookup.schema
        ? { schema: lookup.schema }
        : { unchecked: uncheckedNote(lookup.missing?.detail ?? 'none found') }),
      ...(lookup.missing?.reason === 'unavailable' ? { unreachable: true } : {}),
      ...(taskType ? { taskType } : {}),
      ...(reg.slug ? { slug: reg.slug } : {}),
      ...(delivery ? { delivery } : {}),
    };
  } catch (e) {
    if (opts.signal?.aborted) throw new CancelledError();
    if (e instanceof CancelledError)
      return {
        air,
        unreachable: true,
        unchecked:
          'Not checked against a live schema: the schema service did not answer in time. The task was sent as given; Runware checks it.',
      };
    throw e;
  } finally {
    budget.done();
  }
}

/** A schema over its bounds (or that cannot compile) is no schema, and the lookup says why. */
async function dropUnusable(lookup: SchemaLookup, air: string): Promise<void> {
  if (!lookup.schema) return;
  const why = await unusableSchema(lookup.schema.requestSchema);
  if (why === undefined) return;
  delete lookup.schema;
  lookup.missing = {
    reason: 'unavailable',
    detail: `the schema Runware's service gave for ${air} ${why}, so it is not used`,
  };
}

const uncheckedNote = (detail: string): string =>
  `Not checked against a live schema: ${detail}. The task was sent as given; Runware checks it.`;

/** Without a schema: what the reference says the task type allows (task-types.ts). */
export { defaultDelivery };

/** Async whenever allowed: a long task never holds a request open, and progress can be polled. */
export const chooseDelivery = (allowed: Array<'sync' | 'async'> | undefined): 'sync' | 'async' | undefined =>
  allowed ? (allowed.includes('async') ? 'async' : 'sync') : undefined;

/**
 * The delivery for a task the caller waits `waitMs` for: sync when the model's
 * learned run time fits the wait (the result the moment it exists), async for
 * long work and when not waiting (src/runware/delivery.ts).
 */
export async function pickDelivery(
  ctx: AppContext,
  allowed: Array<'sync' | 'async'> | undefined,
  task: Record<string, unknown>,
  waitMs: number,
): Promise<'sync' | 'async' | undefined> {
  const typical =
    allowed && allowed.length > 1 && waitMs > 0 ? await ctx.journal.durations.typical(durationKey(task)) : undefined;
  return deliveryFor(allowed, String(task.taskType ?? ''), waitMs, typical);
}

/** A stand-in taskUUID for the schema check only; the real one is assigned when the task is sent. */
const PLACEHOLDER_UUID = '00000000-0000-4000-8000-000000000000';

/**
 * Validates a built task when there is a schema; a no-op otherwise. A task
 * refused by a cached schema is checked once more against the service's
 * current answer before it is refused (a poisoned copy must not outlive the
 * upstream's honesty). A schema found unusable while checking becomes no
 * schema: `facts` then says why (validation "skipped").
 */
export async function checkTask(
  facts: ModelFacts,
  task: Record<string, unknown>,
  fieldOf: (path: string) => string,
  recheck?: { ctx: AppContext; signal?: AbortSignal },
): Promise<void> {
  if (!facts.schema) return;
  try {
    await validateAgainst({ taskUUID: PLACEHOLDER_UUID, ...task }, facts.schema, fieldOf);
  } catch (e) {
    if (e instanceof UnusableSchemaError)
      return markUnchecked(facts, `the schema Runware's service gave for ${facts.air} ${e.message}, so it is not used`);
    if (!(e instanceof ValidationError) || !recheck || facts.schema.source === 'network') throw e;
    const budget = deadline(recheck.signal, LOOKUP_BUDGET_MS);
    let fresh: SchemaLookup;
    try {
      fresh = await recheck.ctx.catalog().schema(facts.air, budget.signal, { revalidate: true });
      await dropUnusable(fresh, facts.air);
    } catch {
      if (recheck.signal?.aborted) throw new CancelledError();
      throw e;
    } finally {
      budget.done();
    }
    // The service could not be asked: the cached copy's verdict stands.
    if (fresh.missing?.reason === 'unavailable' && !fresh.schema && / could not be reached/.test(fresh.missing.detail))
      throw e;
    if (!fresh.schema) return markUnchecked(facts, fresh.missing?.detail ?? 'none found');
    facts.schema = fresh.schema;
    return checkTask(facts, task, fieldOf);
  }
}

function markUnchecked(facts: ModelFacts, detail: string): void {
  delete facts.schema;
  facts.unchecked = uncheckedNote(detail);
}

/** A rules error on a built task (`tasks[0].x`), named as the caller spells the field. */
export function asCallerError(e: unknown, fieldOf: (path: string) => string): unknown {
  // A spend refusal names its own field (the setting, or confirmCostUsd): kept as it is.
  if ((!(e instanceof ValidationError) && !(e instanceof PolicyError)) || e instanceof SpendError) return e;
  const name = fieldOf(e.field.replace(/^tasks\[0\]\.?/, ''));
  const message = e.message.slice(e.field.length + 2).replace(/ \(allowed: .*\)$/, '');
  return e instanceof ValidationError
    ? new ValidationError(name, message, e.allowed)
    : new PolicyError(name, message, e.hint);
}

/** The usage rules on a task, claiming nothing, with errors named for the caller: run before anything is sent. */
export function inspectTask(ctx: AppContext, task: Record<string, unknown>, fieldOf: (path: string) => string): void {
  try {
    ctx.rules.inspect(task);
  } catch (e) {
    throw asCallerError(e, fieldOf);
  }
}
