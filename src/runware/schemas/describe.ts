/**
 * Compact descriptions of a model's request schema: what an agent needs to
 * call it right (type, required, allowed values or range, default), without
 * `$id`s, boilerplate, or the fields the server fills in itself.
 */
import type { JsonSchema } from './catalog.js';

/** Set by the server on every task; never shown as parameters, never accepted from the caller. */
export const SERVER_FIELDS = new Set(['taskType', 'taskUUID', 'deliveryMethod', 'model']);
/** Shown, but not as the model's own parameters (the server sets them sensibly). */
const HIDDEN = new Set([...SERVER_FIELDS, 'webhookURL', 'includeCost']);

const obj = (v: unknown): JsonSchema | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonSchema) : undefined;
const short = (s: unknown, n = 140): string | undefined =>
  typeof s === 'string' && s ? (s.length > n ? `${s.slice(0, n - 1).trimEnd()}…` : s) : undefined;
const fmt = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export interface ParamInfo {
  name: string;
  type: string;
  required?: true;
  allowed?: string;
  default?: unknown;
  description?: string;
}

/** The JSON type of a property, with `oneOf`/`anyOf` alternatives joined. */
export function typeOf(s: JsonSchema | undefined): string {
  if (!s) return 'any';
  if (Array.isArray(s.type)) return s.type.join('|');
  if (typeof s.type === 'string') {
    if (s.type === 'array') {
      const items = obj(s.items);
      return `array of ${items ? typeOf(items) : 'any'}`;
    }
    return s.type;
  }
  if (s.const !== undefined) return typeof s.const;
  const alts = (Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : []).map((b) => typeOf(obj(b)));
  if (alts.length) return [...new Set(alts)].join('|');
  if (Array.isArray(s.enum)) return [...new Set(s.enum.map((v) => typeof v))].join('|');
  return 'any';
}

/** What a property allows, in a few words: values, a range, lengths, a multiple. */
export function allowedOf(s: JsonSchema | undefined): string | undefined {
  if (!s) return undefined;
  if (Array.isArray(s.enum)) return s.enum.map(fmt).join(' | ');
  if (s.const !== undefined) return fmt(s.const);
  const consts = Array.isArray(s.oneOf) ? s.oneOf.map((b) => obj(b)?.const) : [];
  if (consts.length && consts.every((c) => c !== undefined)) return consts.map(fmt).join(' | ');
  const parts: string[] = [];
  const min = s.minimum ?? s.exclusiveMinimum;
  const max = s.maximum ?? s.exclusiveMaximum;
  if (min !== undefined && max !== undefined)
    parts.push(
      `${fmt(min)}${s.exclusiveMinimum !== undefined ? ' (exclusive)' : ''} to ${fmt(max)}${s.exclusiveMaximum !== undefined ? ' (exclusive)' : ''}`,
    );
  else if (min !== undefined) parts.push(`≥ ${fmt(min)}`);
  else if (max !== undefined) parts.push(`≤ ${fmt(max)}`);
  if (s.multipleOf !== undefined) parts.push(`multiple of ${fmt(s.multipleOf)}`);
  if (s.minLength !== undefined || s.maxLength !== undefined)
    parts.push(`${fmt(s.minLength ?? 0)} to ${fmt(s.maxLength ?? '∞')} characters`);
  if (s.minItems !== undefined || s.maxItems !== undefined)
    parts.push(`${fmt(s.minItems ?? 0)} to ${fmt(s.maxItems ?? '∞')} items`);
  const itemEnum = obj(s.items)?.enum;
  if (Array.isArray(itemEnum)) parts.push(`items: ${itemEnum.map(fmt).join(' | ')}`);
  const props = obj(s.properties);
  if (props && typeOf(s) === 'object') parts.push(`fields: ${Object.keys(props).join(', ')}`);
  const itemProps = obj(obj(s.items)?.properties);
  if (itemProps) parts.push(`item fields: ${Object.keys(itemProps).join(', ')}`);
  return parts.length ? parts.join('; ') : undefined;
}

/** Cross-field rules: fixed combinations (`allOf`/`oneOf` of consts with titles) and dependentRequired. */
export function rulesOf(schema: JsonSchema): string[] {
  const out: string[] = [];
  for (const part of (Array.isArray(schema.allOf) ? schema.allOf : []).map(obj)) {
    const branches = (Array.isArray(part?.oneOf) ? part.oneOf : []).map(obj);
    const combos = branches.map((b) => {
      const props = obj(b?.properties);
      if (!props) return undefined;
      const fixed = Object.entries(props).map(([k, v]) =>
        obj(v)?.const !== undefined ? `${k}=${fmt(obj(v)!.const)}` : undefined,
      );
      if (fixed.some((f) => f === undefined)) return undefined;
      return `${typeof b?.title === 'string' ? `${b.title}: ` : ''}${fixed.join(', ')}`;
    });
    if (combos.length && combos.every(Boolean)) out.push(`one of these combinations: ${combos.join('; ')}`);
    const dep = obj(part?.dependentRequired);
    if (dep) for (const [k, v] of Object.entries(dep)) if (Array.isArray(v)) out.push(`${k} needs ${v.join(', ')}`);
  }
  const dep = obj(schema.dependentRequired);
  if (dep) for (const [k, v] of Object.entries(dep)) if (Array.isArray(v)) out.push(`${k} needs ${v.join(', ')}`);
  return out;
}

/** Every parameter the caller may set, required ones first; the fields of an object parameter (`inputs.*`) listed under it. */
export function paramsOf(schema: JsonSchema, prefix = '', depth = 0): ParamInfo[] {
  const props = obj(schema.properties) ?? {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const out: ParamInfo[] = [];
  for (const [key, raw] of Object.entries(props)) {
    if (!prefix && HIDDEN.has(key)) continue;
    const s = obj(raw);
    const name = `${prefix}${key}`;
    const nested = depth < 1 && s && typeOf(s) === 'object' && obj(s.properties);
    const allowed = nested ? undefined : allowedOf(s);
    const description = short(s?.description);
    out.push({
      name,
      type: typeOf(s),
      ...(required.has(key) ? { required: true as const } : {}),
      ...(allowed ? { allowed } : {}),
      ...(s?.default !== undefined ? { default: s.default } : {}),
      ...(description ? { description } : {}),
    });
    if (nested) out.push(...paramsOf(s, `${name}.`, depth + 1));
  }
  return depth ? out : out.sort((a, b) => Number(!!b.required) - Number(!!a.required));
}

/** The property schema at a dotted path (`inputs.frameImages.0.image`), through objects and array items. */
export function propertyAt(schema: JsonSchema | undefined, path: string[]): JsonSchema | undefined {
  let s = schema;
  for (const key of path) {
    if (!s) return undefined;
    if (/^\d+$/.test(key) && obj(s.items)) s = obj(s.items);
    else s = obj(obj(s.properties)?.[key]);
  }
  return s;
}
