/**
 * Argument completion (completion/complete): model AIR ids from Runware's
 * model search, taskUUIDs from the journal. A completion is a hint while
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

/**
 * Model AIR ids for what was typed: an AIR prefix ("runware:10") or a name
 * ("flux"); `category` narrows them (image or video models, say).
 */
export async function completeModel(app: AppContext, value: string, category?: string): Promise<string[]> {
  const v = value.trim();
  const d = deadline(undefined, MODEL_MS);
  try {
    const r = await modelSearch(app, { ...(v ? { search: v } : {}), ...(category ? { category } : {}), limit: MAX }, d.signal);
    const airs = [...new Set(r.results.map((m) => m.air).filter(Boolean))];
    // An AIR typed in part ("runware:10") keeps the ids it begins; a name keeps every match.
    const prefixed = airs.filter((a) => a.startsWith(v));
    return (/^[a-z0-9_-]+:/i.test(v) && prefixed.length ? prefixed : airs).slice(0, MAX);
  } catch {
    return [];
  } finally {
    d.done();
  }
}
