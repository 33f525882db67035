/**
 * Argument completion (completion/complete): model AIR ids from both of
 * Runware's catalogues (the merged model search), capability ids from the
 * content service, taskUUIDs from the journal. A completion is a hint while
 * typing: it never fails the request and never waits long.
 */
import type { AppContext } from '../services/context.js';
import { modelSearch } from '../services/model-search.js';
import { deadline } from '../shared/time.js';

/** The most values one completion returns (the spec's cap is 100). */
const MAX = 20;
const MODEL_MS = 3000;

/** taskUUIDs of recent journaled tasks that start with what was typed, newest first. */
export async function completeTaskUuid(app: AppContext, value: string): Promise<string[]> {
  try {
    const recent = await (await app.journal.state()).listTasks({ limit: 200 });
    const v = value.trim().toLowerCase();
    return [...new Set(recent.map((r) => r.taskUUID))].filter((u) => u.startsWith(v)).slice(0, MAX);
  } catch {
    return [];
  }
}

interface Named {
  air: string;
  name: string;
}

/** Recent answers by (category, prefix): typing "k", "kl", "kli" asks the catalogues once, not per key. */
const CACHE_MAX = 64;
const CACHE_MS = 60_000;
type Recent = Map<string, { at: number; items: Named[]; complete: boolean }>;
/** One cache per server context: two servers in a process never see each other's catalogues. */
const caches = new WeakMap<AppContext, Recent>();
const cacheOf = (app: AppContext): Recent => {
  let c = caches.get(app);
  if (!c) caches.set(app, (c = new Map()));
  return c;
};

function remember(recent: Recent, key: string, items: Named[], complete: boolean): void {
  recent.delete(key);
  recent.set(key, { at: Date.now(), items, complete });
  while (recent.size > CACHE_MAX) recent.delete(recent.keys().next().value as string);
}

/** A cached answer for this prefix, or for a shorter one that held every match (then narrowed here). */
function cached(recent: Recent, category: string, v: string): Named[] | undefined {
  const now = Date.now();
  for (let n = v.length; n >= 1; n--) {
    const hit = recent.get(`${category}\u0000${v.slice(0, n)}`);
    if (!hit || now - hit.at > CACHE_MS) continue;
    if (n === v.length) return hit.items;
    if (hit.complete) return hit.items.filter((m) => matches(m, v));
  }
  return undefined;
}

const matches = (m: Named, v: string): boolean => {
  const l = v.toLowerCase();
  return m.air.toLowerCase().startsWith(l) || m.air.toLowerCase().includes(l) || m.name.toLowerCase().includes(l);
};

/**
 * Model AIR ids for what was typed, from both catalogues: an AIR prefix
 * ("runware:10") or a name ("kling", "flux"); curated models first.
 * `category` narrows the community ones (checkpoint, lora, ...).
 */
export async function completeModel(app: AppContext, value: string, category?: string): Promise<string[]> {
  const v = value.trim();
  const key = category ?? '';
  const recent = cacheOf(app);
  let items = v ? cached(recent, key, v) : undefined;
  if (!items) {
    const d = deadline(undefined, MODEL_MS);
    try {
      const r = await modelSearch(
        app,
        { ...(v ? { search: v } : {}), ...(category ? { category } : {}), limit: MAX },
        d.signal,
      );
      items = r.results.map((m) => ({ air: m.air, name: m.name }));
      if (v) remember(recent, `${key}\u0000${v}`, items, r.totalResults <= MAX);
    } catch {
      return [];
    } finally {
      d.done();
    }
  }
  const airs = [...new Set(items.map((m) => m.air).filter(Boolean))];
  // An AIR typed in part ("runware:10") keeps the ids it begins; a name keeps every match.
  const prefixed = airs.filter((a) => a.startsWith(v));
  return (/^[a-z0-9_-]+:/i.test(v) && prefixed.length ? prefixed : airs).slice(0, MAX);
}

/** Capability ids (io:image-to-video, op:upscale, ...) that begin with, or contain, what was typed. */
export async function completeCapability(app: AppContext, value: string): Promise<string[]> {
  const v = value.trim().toLowerCase();
  const d = deadline(undefined, MODEL_MS);
  try {
    const caps = (await app.catalog().capabilities(d.signal)) ?? [];
    const ids = caps.map((c) => c.id);
    const starts = ids.filter(
      (id) =>
        id.toLowerCase().startsWith(v) ||
        id
          .toLowerCase()
          .replace(/^[a-z]+:/, '')
          .startsWith(v),
    );
    const contains = caps
      .filter((c) => !starts.includes(c.id) && (c.id.toLowerCase().includes(v) || c.label.toLowerCase().includes(v)))
      .map((c) => c.id);
    return [...starts, ...contains].slice(0, MAX);
  } catch {
    return [];
  } finally {
    d.done();
  }
}
