/**
 * Parameters as clients send them, made into what the schema means. Some MCP
 * clients stringify nested objects or numbers; the CLI's `--param k=v` is all
 * strings. Coercion follows the schema's types, so a string field stays a
 * string; with no schema, only unambiguous JSON is read.
 */
import { ValidationError } from '../../shared/errors.js';
import type { JsonSchema } from './catalog.js';
import { propertyAt } from './describe.js';

const obj = (v: unknown): JsonSchema | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonSchema) : undefined;
const types = (s: JsonSchema | undefined): string[] =>
  Array.isArray(s?.type) ? s.type.map(String) : typeof s?.type === 'string' ? [s.type] : [];
const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);

function fromString(v: string, t: string[]): unknown {
  const s = v.trim();
  if ((t.includes('integer') || t.includes('number')) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n) && (t.includes('number') || Number.isInteger(n))) return n;
  }
  if (t.includes('boolean') && (s === 'true' || s === 'false')) return s === 'true';
  if ((t.includes('object') && s.startsWith('{')) || (t.includes('array') && s.startsWith('['))) {
    try {
      const parsed = JSON.parse(s) as unknown;
      if ((Array.isArray(parsed) && t.includes('array')) || (obj(parsed) && t.includes('object'))) return parsed;
    } catch {
      // Not JSON: left as it is; the schema check names the field.
    }
  }
  return v;
}

/** A copy of `value` with strings turned into the schema's numbers, booleans, objects and arrays where they parse. */
export function coerceToSchema(value: unknown, schema: JsonSchema | undefined): unknown {
  if (!schema) return value;
  const t = types(schema);
  let v = value;
  if (typeof v === 'string' && t.length && !t.includes('string')) v = fromString(v, t);
  if (Array.isArray(v)) {
    const items = obj(schema.items);
    return items ? v.map((x) => coerceToSchema(x, items)) : v;
  }
  const o = obj(v);
  if (o) {
    const props = obj(schema.properties) ?? {};
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = coerceToSchema(x, obj(props[k]));
    return out;
  }
  return v;
}

/** `params` as an object: an object, or a string holding a JSON object. */
export function paramsObject(value: unknown, field = 'params'): Record<string, unknown> {
  if (value === undefined) return {};
  let v: unknown = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      throw new ValidationError(
        field,
        'is a string that is not valid JSON',
        "an object of the model's parameters, or that object as a JSON string",
      );
    }
  }
  const o = obj(v);
  if (!o)
    throw new ValidationError(
      field,
      `must be an object, not ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`,
      'an object of the model\'s parameters, e.g. {"positivePrompt":"a cat"}',
    );
  return o;
}

/** Without a schema: numbers, booleans, null and JSON objects/arrays are read as such; anything else is a string. */
function guess(raw: string): unknown {
  const s = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(s) || s === 'true' || s === 'false' || s === 'null' || /^[[{"]/.test(s)) {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * Sets `key=value` (dot paths, numeric segments index arrays: `inputs.frameImages.0.image`)
 * on `target`, typed by the schema when there is one.
 */
export function setParam(
  target: Record<string, unknown>,
  assignment: string,
  schema: JsonSchema | undefined,
  field = '--param',
): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0)
    throw new ValidationError(
      field,
      `"${assignment}" is not key=value`,
      'key=value, e.g. positivePrompt="a cat" or inputs.frameImages.0.image=./a.png',
    );
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  const path = key.split('.');
  if (path.some((p) => !p || UNSAFE.has(p)))
    throw new ValidationError(field, `"${key}" is not a usable parameter path`);
  const prop = propertyAt(schema, path);
  const value = prop
    ? types(prop).includes('string') && !/^[[{]/.test(raw.trim())
      ? raw
      : coerceToSchema(fromString(raw, types(prop)), prop)
    : guess(raw);
  let node: Record<string, unknown> | unknown[] = target;
  path.forEach((p, i) => {
    const last = i === path.length - 1;
    const nextIsIndex = !last && /^\d+$/.test(path[i + 1]!);
    const k: string | number = Array.isArray(node) ? Number(p) : p;
    if (Array.isArray(node) && !/^\d+$/.test(p))
      throw new ValidationError(field, `"${key}": ${path.slice(0, i).join('.')} is a list; index it with a number`);
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[k] = value;
      return;
    }
    if (container[k] === undefined || typeof container[k] !== 'object' || container[k] === null)
      container[k] = nextIsIndex ? [] : {};
    node = container[k] as Record<string, unknown> | unknown[];
  });
}
