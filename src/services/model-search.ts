/**
 * One model search over both of Runware's catalogues: the content service's
 * curated first-party and provider models (video, audio, 3D, upscalers,
 * editors; no key needed) and the community catalogue behind the modelSearch
 * task (checkpoints, LoRAs, ControlNets). Each hit says what it does, the task
 * type it runs, its price where known and whether a live schema checks it.
 * Exact matches come first, then curated models, then community ones; paging
 * runs across both. A catalogue that cannot be had is a note, not a failure,
 * while the other answers.
 */
import type { DataItem } from '../runware/errors.js';
import { hintFor, describeError } from '../runware/errors.js';
import {
  matchCapability,
  taskTypeFromCapabilities,
  type Capability,
  type CuratedModel,
} from '../runware/schemas/curated.js';
import { AppError, ConfigError, PolicyError, UpstreamError, ValidationError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';
import { afterRequestWritten } from '../shared/time.js';
import type { AppContext } from './context.js';

export interface ModelSearchInput {
  search?: string;
  /** A capability id (io:image-to-video), or the same without its prefix, or its label. */
  capability?: string;
  category?: string;
  architecture?: string;
  type?: string;
  tags?: string[];
  limit?: number;
  offset?: number;
}

/** Paging bounds for both front-ends (the MCP schema and the CLI flags). */
export const MODEL_SEARCH_LIMITS = {
  limit: { min: 1, max: 100, integer: true },
  offset: { min: 0, max: 100_000, integer: true },
} as const;

/** Community capabilities a checkpoint has: it draws from a prompt, or from a prompt and an image. */
const CHECKPOINT_CAPABILITIES = ['io:text-to-image', 'io:image-to-image'];

/** How a community model that is not a base model is used. */
const USE: Record<string, string> = {
  lora: 'not a model to run: pass it in lora [{model, weight}] of an image task',
  lycoris: 'not a model to run: pass it in lycoris of an image task',
  controlnet: 'not a model to run: pass it in controlNet of an image task',
  vae: 'not a model to run: pass it as vae of an image task',
  embeddings: 'not a model to run: pass it in embeddings of an image task',
};

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

export interface ModelHit extends Partial<CompactModel> {
  air: string;
  name: string;
  /** curated: Runware's own and providers' models (content service); community: the modelSearch catalogue. */
  source: 'curated' | 'community';
  capabilities?: string[];
  /** What runware_run sends it as; absent for models that are not run on their own (see use). */
  taskType?: string;
  /** One line, e.g. "From $0.92 per video". */
  price?: string;
  /** Whether runware_run checks params against a live schema before sending. */
  validated: boolean;
  use?: string;
}

export interface ModelSearchOutput {
  totalResults: number;
  offset: number;
  /** The capability searched, as its id. */
  capability?: string;
  results: ModelHit[];
  /** modelSearch's taskUUID, when the community catalogue was searched. */
  taskUUID?: string;
  /** A catalogue that could not be searched, and why. */
  note?: string;
  /** What to try when nothing matched. */
  next?: string;
}

const pick = <T>(v: unknown, t: 'string' | 'number'): T | undefined => (typeof v === t ? (v as T) : undefined);

/** Keeps what an agent needs to choose a model and call text-to-image with it. */
export function compactModel(m: Record<string, unknown>): CompactModel {
  const out: CompactModel = {
    air: String(m.air ?? ''),
    name: String(m.name ?? ''),
    tags: Array.isArray(m.tags) ? m.tags.filter((t): t is string => typeof t === 'string') : [],
  };
  for (const k of [
    'version',
    'category',
    'architecture',
    'type',
    'defaultScheduler',
    'positiveTriggerWords',
  ] as const) {
    const v = pick<string>(m[k], 'string');
    if (v) out[k] = v;
  }
  for (const k of ['defaultWidth', 'defaultHeight', 'defaultSteps', 'defaultCFG'] as const) {
    const v = pick<number>(m[k], 'number');
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export interface CommunityPage {
  taskUUID: string;
  totalResults: number;
  results: CompactModel[];
}

/** The community catalogue: one modelSearch task (it needs the API key). */
export async function communitySearch(
  ctx: AppContext,
  input: Omit<ModelSearchInput, 'capability'>,
  signal?: AbortSignal,
): Promise<CommunityPage> {
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
    ? (item.results as unknown[])
        .filter((m): m is Record<string, unknown> => !!m && typeof m === 'object' && !Array.isArray(m))
        .map(compactModel)
        .filter((m) => m.air.length > 0)
    : [];
  return {
    taskUUID: t.taskUUID,
    totalResults: typeof item.totalResults === 'number' ? item.totalResults : results.length,
    results,
  };
}

/** A community model as a hit: a checkpoint runs as imageInference; the rest are used inside one. */
export function communityHit(m: CompactModel, registry: Map<string, string | undefined> | undefined): ModelHit {
  const checkpoint = m.category === undefined || m.category === 'checkpoint';
  const use = m.category ? USE[m.category] : undefined;
  return {
    ...m,
    source: 'community',
    ...(checkpoint
      ? { capabilities: CHECKPOINT_CAPABILITIES, taskType: registry?.get(m.air) ?? 'imageInference' }
      : {}),
    validated: registry?.has(m.air) ?? false,
    ...(use ? { use } : {}),
  };
}

export function curatedHit(m: CuratedModel, registry: Map<string, string | undefined> | undefined): ModelHit {
  const taskType = registry?.get(m.air) ?? taskTypeFromCapabilities(m.capabilities, m.category);
  return {
    air: m.air,
    name: m.name,
    source: 'curated',
    capabilities: m.capabilities,
    ...(taskType ? { taskType } : {}),
    ...(m.pricingOverview ? { price: m.pricingOverview } : {}),
    validated: registry?.has(m.air) ?? false,
  };
}

/** Each curated model's searchable text, built once per model and label set (the catalogue is cached, so both are reused across calls). */
const texts = new WeakMap<CuratedModel, { labels: Map<string, string>; text: string }>();
function searchText(m: CuratedModel, labels: Map<string, string>): string {
  const hit = texts.get(m);
  if (hit?.labels === labels) return hit.text;
  const text = [
    m.name,
    m.air,
    m.slug,
    m.creator ?? '',
    m.headline ?? '',
    ...m.category,
    ...m.capabilities,
    ...m.capabilities.map((c) => labels.get(c) ?? ''),
  ]
    .join(' ')
    .toLowerCase();
  texts.set(m, { labels, text });
  return text;
}
/** Capability labels by id, one map per (cached, so reused) capability list: the text cache above keys on its identity. */
const NO_CAPABILITIES: Capability[] = [];
const labelMaps = new WeakMap<readonly Capability[], Map<string, string>>();
function labelsOf(capabilities: readonly Capability[]): Map<string, string> {
  let m = labelMaps.get(capabilities);
  if (!m) labelMaps.set(capabilities, (m = new Map(capabilities.map((c) => [c.id, c.label]))));
  return m;
}

/** How well a curated model matches the words: 2 exact (name, AIR or slug), 1 all words found, 0 not a match. */
function score(m: CuratedModel, q: string, labels: Map<string, string>): number {
  if (!q) return 1;
  const lower = q.toLowerCase();
  if ([m.name, m.air, m.slug].some((s) => s.toLowerCase() === lower)) return 2;
  const text = searchText(m, labels);
  return lower
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => text.includes(w))
    ? 1
    : 0;
}

const isExact = (h: ModelHit, q: string): boolean =>
  !!q && (h.air.toLowerCase() === q.toLowerCase() || h.name.toLowerCase() === q.toLowerCase());

/** The capability the caller means, as an id; unknown ones are refused with the ids that exist. */
export async function resolveCapability(
  ctx: AppContext,
  given: string,
  signal?: AbortSignal,
): Promise<{ id: string; known?: Capability[] }> {
  const known = await ctx
    .catalog()
    .capabilities(signal)
    .catch(() => undefined);
  if (!known?.length) return { id: given.trim() };
  const hit = matchCapability(given, known);
  if (!hit)
    throw new ValidationError(
      'capability',
      `"${given}" is not one of Runware's capabilities`,
      known.map((c) => c.id).join(', '),
    );
  return { id: hit.id, known };
}

const SEARCH_ENUMS = {
  category: ['checkpoint', 'lora', 'lycoris', 'controlnet', 'vae', 'embeddings'],
  type: ['base', 'inpainting', 'refiner'],
} as const;

/** The tool's bounds, checked again here for every front-end (the CLI and the local studio have no zod schema in front). */
function checkSearchInput(input: ModelSearchInput): void {
  for (const k of ['limit', 'offset'] as const) {
    const v = input[k];
    const { min, max } = MODEL_SEARCH_LIMITS[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max))
      throw new ValidationError(k, `must be a whole number from ${min} to ${max}`);
  }
  for (const k of ['category', 'type'] as const) {
    const v = input[k];
    if (v !== undefined && !(SEARCH_ENUMS[k] as readonly string[]).includes(v))
      throw new ValidationError(k, 'is not one of the allowed values', SEARCH_ENUMS[k].join(' | '));
  }
  if (input.capability !== undefined && input.capability.trim() === '')
    throw new ValidationError('capability', 'must not be empty; omit it to search every capability');
  if (input.search !== undefined && input.search.length > 200)
    throw new ValidationError('search', 'must be at most 200 characters');
  // Named by its own field (the task check further on would name only "tasks"); nothing is sent.
  const texts: Array<[string, unknown]> = [
    ['search', input.search],
    ['capability', input.capability],
    ['architecture', input.architecture],
    ...(input.tags ?? []).map((t, i): [string, unknown] => [`tags[${i}]`, t]),
  ];
  for (const [field, v] of texts) {
    if (typeof v === 'string' && scrubber.containsSecret(v))
      throw new PolicyError(
        field,
        'holds a configured secret (an API key or token value)',
        'Remove it; the server authenticates by itself and never sends a key in a search.',
      );
  }
}

type Settled<T> = { ok: T } | { err: unknown };
/** A promise begun before its result is wanted: its failure is held, not left unhandled meanwhile. */
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  );
function unsettle<T>(s: Settled<T>): T {
  if ('err' in s) throw s.err;
  return s.ok;
}

export async function modelSearch(
  ctx: AppContext,
  input: ModelSearchInput,
  signal?: AbortSignal,
): Promise<ModelSearchOutput> {
  checkSearchInput(input);
  const q = input.search?.trim() ?? '';
  const limit = input.limit ?? 10;
  const offset = input.offset ?? 0;
  const catalog = ctx.catalog();
  const cap = input.capability ? await resolveCapability(ctx, input.capability, signal) : undefined;
  // category, architecture, type and tags are the community catalogue's own filters.
  const communityOnly = !!(input.category || input.architecture || input.type || input.tags?.length);
  const searchCommunity = !cap || CHECKPOINT_CAPABILITIES.includes(cap.id);
  const notes: string[] = [];
  const communityInput = (room: number, skip: number): Omit<ModelSearchInput, 'capability'> => ({
    ...(q ? { search: q } : {}),
    ...(input.category ? { category: input.category } : cap ? { category: 'checkpoint' } : {}),
    ...(input.architecture ? { architecture: input.architecture } : {}),
    ...(input.type ? { type: input.type } : {}),
    ...(input.tags?.length ? { tags: input.tags } : {}),
    // With no room on this page, one result is enough to count them.
    limit: Math.max(1, room),
    offset: Math.max(0, skip),
  });
  // On the first page the community request does not depend on the curated hits: it goes out
  // first, and the curated catalogue is searched while Runware answers.
  const early =
    searchCommunity && offset === 0 ? settle(communitySearch(ctx, communityInput(limit, 0), signal)) : undefined;
  if (early) await afterRequestWritten();

  const [registry, curatedAll, capabilities] = await Promise.all([
    catalog.registryModels(signal).catch(() => undefined),
    communityOnly
      ? Promise.resolve([] as CuratedModel[])
      : catalog.curatedModels(cap?.id, signal).catch(() => undefined),
    cap?.known ? Promise.resolve(cap.known) : catalog.capabilities(signal).catch(() => undefined),
  ]);
  if (curatedAll === undefined) notes.push("Runware's content service (curated models) could not be reached");
  const labels = labelsOf(capabilities ?? NO_CAPABILITIES);
  const curated = (curatedAll ?? [])
    .map((m) => ({ m, s: score(m, q, labels) }))
    .filter((x) => x.s > 0)
    .sort((a, b) => b.s - a.s || b.m.weight - a.m.weight)
    .map((x) => x.m);
  const curatedAirs = new Set((curatedAll ?? []).map((m) => m.air));

  const page: ModelHit[] = curated.slice(offset, offset + limit).map((m) => curatedHit(m, registry));
  let total = curated.length;
  let taskUUID: string | undefined;
  if (searchCommunity) {
    const room = limit - page.length;
    try {
      const c = early
        ? unsettle(await early)
        : await communitySearch(ctx, communityInput(room, offset - curated.length), signal);
      taskUUID = c.taskUUID;
      // A model both catalogues list is shown once, as the curated entry: its community copy leaves a gap
      // in the page, and the total still counts it, so paging by offset reaches every hit exactly once.
      const fresh = c.results.filter((m) => !curatedAirs.has(m.air));
      total += c.totalResults;
      if (room > 0) page.push(...fresh.slice(0, room).map((m) => communityHit(m, registry)));
    } catch (e) {
      // With curated hits to show, a community search that cannot run is a note; with none, its error is the answer.
      if (!curated.length || !(e instanceof AppError)) throw e;
      notes.push(
        e instanceof ConfigError
          ? 'the community catalogue (checkpoints, LoRAs) needs RUNWARE_API_KEY (or --simulate to try the simulator)'
          : `the community catalogue could not be searched: ${e.message}`,
      );
    }
  }
  // Exact matches first (stable: curated before community otherwise).
  const results = [...page.filter((h) => isExact(h, q)), ...page.filter((h) => !isExact(h, q))];
  const out: ModelSearchOutput = {
    totalResults: total,
    offset,
    ...(cap ? { capability: cap.id } : {}),
    results,
    ...(taskUUID ? { taskUUID } : {}),
    ...(notes.length ? { note: `${notes.join('; ')}.` } : {}),
  };
  if (total === 0) {
    const ids = (capabilities ?? []).map((c) => c.id);
    out.next = cap
      ? `No ${cap.id} model matches "${q}". Search without words for every ${cap.id} model, or try another capability${ids.length ? `: ${ids.join(', ')}` : ''}.`
      : `Nothing matches "${q}". Try a broader word, or search by what the model does with capability${ids.length ? ` (${ids.join(', ')})` : ''}.`;
  }
  return out;
}
