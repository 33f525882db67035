/**
 * Runware's content service (content.runware.ai): the curated first-party and
 * provider models with what each can do (capabilities), the capability
 * taxonomy, working example requests, and prices. Parsers only: upstream
 * bodies are hostile until shown otherwise, so every field is checked and
 * anything odd is dropped, not crashed on.
 */
import { taskTypeFromCapabilities } from '../task-types.js';

export interface Capability {
  id: string;
  label: string;
}

export interface CuratedModel {
  air: string;
  slug: string;
  name: string;
  creator?: string;
  capabilities: string[];
  architecture?: string;
  /** Modalities such as image, video, audio, 3d. */
  category: string[];
  headline?: string;
  weight: number;
  pricingOverview?: string;
}

export interface ModelExample {
  title?: string;
  capability?: string;
  /** The request's own parameters: server-owned fields (taskType, taskUUID, model, deliveryMethod, ...) removed. */
  params: Record<string, unknown>;
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const str = (v: unknown, max = 300): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
const strings = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.filter((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 100).slice(0, 32)
    : [];
/** A list answer: `{data: [...]}` or a bare array. */
const list = (body: unknown): unknown[] =>
  Array.isArray(body) ? body : Array.isArray(obj(body)?.data) ? (obj(body)!.data as unknown[]) : [];

export function parseCapabilities(body: unknown): Capability[] {
  return list(body)
    .map(obj)
    .filter((c): c is Record<string, unknown> => !!c && !!str(c.id, 100))
    .map((c) => ({ id: str(c.id, 100)!, label: str(c.label, 100) ?? str(c.id, 100)! }))
    .slice(0, 200);
}

export function parseCuratedModels(body: unknown): CuratedModel[] {
  return list(body)
    .map(obj)
    .filter((m): m is Record<string, unknown> => !!m && !!str(m.air, 200) && m.status !== 'openai-compatible')
    .slice(0, 2000)
    .map((m) => ({
      air: str(m.air, 200)!,
      slug: str(m.model, 200) ?? str(m.air, 200)!,
      name: str(m.name, 200) ?? str(m.air, 200)!,
      ...(str(m.creator, 100) ? { creator: str(m.creator, 100)! } : {}),
      capabilities: strings(m.capabilities),
      ...(str(m.architecture, 50) ? { architecture: str(m.architecture, 50)! } : {}),
      category: strings(m.category),
      ...(str(m.headline) ? { headline: str(m.headline)! } : {}),
      weight: typeof m.weight === 'number' && Number.isFinite(m.weight) ? m.weight : 0,
      ...(str(m.pricingOverview, 200) ? { pricingOverview: str(m.pricingOverview, 200)! } : {}),
    }));
}

/** Fields the server sets or that do not belong in a copied call. */
const SERVER_OWNED = new Set([
  'taskType',
  'taskUUID',
  'model',
  'deliveryMethod',
  'webhookURL',
  'includeCost',
  'outputType',
  'apiKey',
  'ttl',
]);

/** Up to `max` examples, each trimmed to the parameters that matter, small enough to copy. */
export function parseExamples(body: unknown, max = 2): ModelExample[] {
  const out: ModelExample[] = [];
  for (const raw of list(body)) {
    const x = obj(raw);
    const request = obj(x?.request);
    if (!x || !request) continue;
    const params = Object.fromEntries(Object.entries(request).filter(([k]) => !SERVER_OWNED.has(k)));
    // An example that would not fit in a few lines is not one to copy.
    if (Object.keys(params).length === 0 || JSON.stringify(params).length > 2000) continue;
    out.push({
      ...(str(x.title, 200) ? { title: str(x.title, 200)! } : {}),
      ...(str(x.capability, 100) ? { capability: str(x.capability, 100)! } : {}),
      params,
    });
    if (out.length >= max) break;
  }
  return out;
}

/** What the content service says a model's task type is: the table's capability patterns (task-types.ts). */
export { taskTypeFromCapabilities };

/**
 * The capability a caller means: an exact id (`io:image-to-video`), an id
 * without its prefix (`image-to-video`), or a label in any case
 * (`Background removal`, `background removal`).
 */
export function matchCapability(given: string, known: Capability[]): Capability | undefined {
  const g = given.trim().toLowerCase();
  const plain = (s: string): string =>
    s
      .toLowerCase()
      .replace(/^[a-z]+:/, '')
      .replace(/[\s_]+/g, '-');
  return (
    known.find((c) => c.id.toLowerCase() === g) ??
    known.find((c) => plain(c.id) === plain(g)) ??
    known.find((c) => plain(c.label) === plain(g))
  );
}
