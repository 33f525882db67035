/**
 * Records read back from a store are input like any other: a row edited by
 * hand, a half-written value or another program's key must not stop the
 * listing. A record that is not the shape this code wrote is skipped, and the
 * listing says which (a `skipped` list beside the records).
 */
import type { JobRecord, TaskRecord } from './types.js';

/** A listing, with the keys of records that could not be read. */
export type Listed<T> = T[] & { skipped?: string[] };

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): boolean => typeof v === 'string';

function parse(json: unknown): unknown {
  if (typeof json !== 'string') return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** A task record, or undefined when `json` is not one (not JSON, or not the shape). */
export function taskRecordOf(json: unknown): TaskRecord | undefined {
  const v = parse(json);
  if (
    !isObj(v) ||
    !str(v.taskUUID) ||
    !str(v.taskType) ||
    !str(v.status) ||
    !str(v.updatedAt) ||
    !Array.isArray(v.attempts) ||
    !Array.isArray(v.outputs)
  )
    return undefined;
  if (
    !v.outputs.every(
      (o) => isObj(o) && (o.savedTo === undefined || str(o.savedTo)) && (o.url === undefined || str(o.url)),
    )
  )
    return undefined;
  if (!v.attempts.every((a) => isObj(a) && str(a.taskUUID))) return undefined;
  return v as unknown as TaskRecord;
}

/** A job record, or undefined when `json` is not one. */
export function jobRecordOf(json: unknown): JobRecord | undefined {
  const v = parse(json);
  if (!isObj(v) || !str(v.id) || !str(v.status) || !str(v.createdAt) || !str(v.tool)) return undefined;
  return v as unknown as JobRecord;
}

/** Reads every row; the unreadable ones are left out and named in `skipped`. */
export function readAll<T>(
  rows: Array<{ key: string; json: unknown }>,
  read: (json: unknown) => T | undefined,
): Listed<T> {
  const out: Listed<T> = [];
  for (const r of rows) {
    const v = read(r.json);
    if (v !== undefined) out.push(v);
    else (out.skipped ??= []).push(r.key);
  }
  return out;
}
