/**
 * Runware's public catalogue: the per-model request schema
 * (`{schemas}/resolve/{AIR}`), the registry that maps an AIR to its taskType
 * (`{schemas}/registry.json`), and pricing from the content service. None of
 * them takes the API key. A model with no schema, or a service that cannot be
 * reached, is not a failure: callers get `schema: undefined` and a reason.
 */
import type { Logger } from '../../shared/log.js';
import { sendableAir } from '../tasks/common.js';
import { HttpCache, type Fetched } from './http-cache.js';
import {
  parseCapabilities,
  parseCuratedModels,
  parseExamples,
  type Capability,
  type CuratedModel,
  type ModelExample,
} from './curated.js';

export type JsonSchema = Record<string, unknown>;

export interface ModelSchema {
  air: string;
  requestSchema: JsonSchema;
  documentation?: string;
  /** Where it came from: fetched now, cached (memory/disk), or a stale copy because the service was down. */
  source: 'network' | 'memory' | 'disk' | 'stale';
}

export interface SchemaLookup {
  schema?: ModelSchema;
  /** Why there is no schema (no schema for this model, or the service unreachable). */
  missing?: { reason: 'notFound' | 'unavailable'; detail: string };
}

export interface Pricing {
  overview?: string;
  examples: Array<{ configuration: string; price: string }>;
}

export interface CatalogOptions {
  schemasUrl: string;
  contentUrl: string;
  cacheDir?: string;
  userAgent: string;
  logger: Logger;
  timeoutMs?: number;
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** taskType as the schema fixes it: `const`, then `enum[0]`, then `default` (as the official CLI reads it). */
export function taskTypeOf(schema: JsonSchema | undefined): string | undefined {
  const p = obj(obj(schema?.properties)?.taskType);
  const v = p?.const ?? (Array.isArray(p?.enum) ? p.enum[0] : undefined) ?? p?.default;
  return typeof v === 'string' ? v : undefined;
}

/** The delivery methods a schema allows (`oneOf` of consts, `enum`, or a bare `const`); undefined when it has none. */
export function deliveryMethodsOf(schema: JsonSchema | undefined): Array<'sync' | 'async'> | undefined {
  const p = obj(obj(schema?.properties)?.deliveryMethod);
  if (!p) return undefined;
  const values = Array.isArray(p.oneOf)
    ? p.oneOf.map((b) => obj(b)?.const)
    : Array.isArray(p.enum)
      ? p.enum
      : p.const !== undefined
        ? [p.const]
        : ['sync', 'async'];
  const out = values.filter((v): v is 'sync' | 'async' => v === 'sync' || v === 'async');
  return out.length ? out : undefined;
}

export class ModelCatalog {
  private readonly cache: HttpCache;
  /** Parsed forms of cached bodies, by the body itself: a body served from memory is parsed once, not per call. */
  private readonly parsed = new WeakMap<object, unknown>();

  constructor(private readonly opts: CatalogOptions) {
    this.cache = new HttpCache({
      ...(opts.cacheDir ? { dir: opts.cacheDir } : {}),
      userAgent: opts.userAgent,
      logger: opts.logger,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }

  /** Resolves once every disk copy begun so far is written or given up (they are written beside the calls). */
  whenWritten(): Promise<void> {
    return this.cache.whenWritten();
  }

  /** `revalidate`: ask the service even if a copy is fresh (a cached schema just refused a task). */
  async schema(air: string, signal?: AbortSignal, opts: { revalidate?: boolean } = {}): Promise<SchemaLookup> {
    // Whatever the front-end checked: what is not an AIR never goes into a URL.
    if (!sendableAir(air))
      return {
        missing: {
          reason: 'notFound',
          detail: 'the model is not an AIR id (or holds a secret), so no schema was asked for',
        },
      };
    const r = await this.cache.get(`${this.opts.schemasUrl}/resolve/${encodeURIComponent(air)}`, signal, opts);
    if (r.status === 'notFound')
      return { missing: { reason: 'notFound', detail: `Runware's schema service has no schema for ${air}` } };
    if (r.status === 'unavailable')
      return {
        missing: {
          reason: 'unavailable',
          detail: `Runware's schema service could not be reached (${r.reason}; remembered until ${new Date(r.retryAt).toISOString()}, so calls meanwhile do not wait for it)`,
        },
      };
    const body = obj(r.body);
    const requestSchema = obj(body?.requestSchema);
    if (!requestSchema)
      return {
        missing: { reason: 'notFound', detail: `the schema service's answer for ${air} holds no requestSchema` },
      };
    const documentation =
      typeof body?.documentation === 'string' && /^https?:\/\//.test(body.documentation)
        ? body.documentation
        : undefined;
    return { schema: { air, requestSchema, ...(documentation ? { documentation } : {}), source: r.source } };
  }

  /** The registry entry of an AIR: its taskType and slug, when the registry knows it. */
  async registryEntry(air: string, signal?: AbortSignal): Promise<{ taskType?: string; slug?: string }> {
    const r: Fetched = await this.cache.get(`${this.opts.schemasUrl}/registry.json`, signal);
    if (r.status !== 'ok') return {};
    const e = obj(obj(obj(r.body)?.models)?.[air]);
    return {
      ...(typeof e?.taskType === 'string' ? { taskType: e.taskType } : {}),
      ...(typeof e?.id === 'string' ? { slug: e.id } : {}),
    };
  }

  /** Pricing examples from the content service, by slug (else the AIR, which it also accepts). */
  async pricing(air: string, slug: string | undefined, signal?: AbortSignal): Promise<Pricing | undefined> {
    if (!sendableAir(air)) return undefined;
    const r = await this.cache.get(`${this.opts.contentUrl}/models/${encodeURIComponent(slug ?? air)}/pricing`, signal);
    if (r.status !== 'ok') return undefined;
    const body = obj(r.body);
    const item = obj(body?.data) ?? body;
    const examples = (Array.isArray(item?.pricingExamples) ? item.pricingExamples : [])
      .map(obj)
      .filter(
        (x): x is Record<string, unknown> => !!x && typeof x.configuration === 'string' && typeof x.price === 'string',
      )
      .slice(0, 8)
      .map((x) => ({ configuration: String(x.configuration), price: String(x.price) }));
    const overview = typeof item?.pricingOverview === 'string' ? item.pricingOverview : undefined;
    if (!overview && examples.length === 0) return undefined;
    return { ...(overview ? { overview } : {}), examples };
  }

  /** Every AIR the registry lists (each has a live schema) with its taskType; undefined when the registry cannot be had. */
  async registryModels(signal?: AbortSignal): Promise<Map<string, string | undefined> | undefined> {
    const r = await this.cache.get(`${this.opts.schemasUrl}/registry.json`, signal);
    const models = r.status === 'ok' ? obj(obj(r.body)?.models) : undefined;
    if (!models) return undefined;
    return this.once(
      models,
      () =>
        new Map(
          Object.entries(models).map(([air, e]) => {
            const t = obj(e)?.taskType;
            return [air, typeof t === 'string' ? t : undefined];
          }),
        ),
    );
  }

  /** The capability taxonomy (`io:*`, `op:*`); undefined when the content service cannot be reached. */
  async capabilities(signal?: AbortSignal): Promise<Capability[] | undefined> {
    const r = await this.cache.get(`${this.opts.contentUrl}/capabilities`, signal);
    return r.status === 'ok' ? this.once(r.body, () => parseCapabilities(r.body)) : undefined;
  }

  /**
   * Curated models, narrowed by capability on the service's side; free-text
   * matching is done by the caller, so the cache holds one list per capability.
   */
  async curatedModels(capability: string | undefined, signal?: AbortSignal): Promise<CuratedModel[] | undefined> {
    const r = await this.cache.get(
      `${this.opts.contentUrl}/models${capability ? `?capability=${encodeURIComponent(capability)}` : ''}`,
      signal,
    );
    return r.status === 'ok' ? this.once(r.body, () => parseCuratedModels(r.body)) : undefined;
  }

  /**
   * `parse(body)`, remembered for as long as the cache holds that body. Callers get the same
   * frozen value each time, so none can change what the next call sees.
   */
  private once<T>(body: unknown, parse: () => T): T {
    if (body === null || typeof body !== 'object') return parse();
    const hit = this.parsed.get(body);
    if (hit !== undefined) return hit as T;
    const value = deepFreeze(parse());
    this.parsed.set(body, value);
    return value;
  }

  /** The curated entry of an AIR, when the content service lists it. */
  async curatedModel(air: string, signal?: AbortSignal): Promise<CuratedModel | undefined> {
    return (await this.curatedModels(undefined, signal))?.find((m) => m.air === air);
  }

  /** Up to two working example requests for a curated model, trimmed to its own parameters. */
  async examples(slug: string, signal?: AbortSignal): Promise<ModelExample[]> {
    const r = await this.cache.get(`${this.opts.contentUrl}/models/${encodeURIComponent(slug)}/examples`, signal);
    return r.status === 'ok' ? parseExamples(r.body) : [];
  }
}

function deepFreeze<T>(v: T): T {
  if (v instanceof Map) {
    for (const x of v.values()) deepFreeze(x);
  } else if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
