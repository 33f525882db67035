/**
 * Checking a task against its model's live schema with Ajv's 2019-09 build
 * (as Runware's TS SDK does), loaded on first use so start-up stays lean.
 * A failure names the parameter, says what the schema allows, and links the
 * model's documentation.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ValidationError } from '../../shared/errors.js';
import type { JsonSchema, ModelSchema } from './catalog.js';
import { allowedOf, propertyAt } from './describe.js';

type AjvClass = new (opts: Record<string, unknown>) => { compile(s: JsonSchema): ValidateFunction };
let ajvClass: Promise<AjvClass> | undefined;
let re2Engine: Promise<RegExpEngine> | undefined;
/** A compiled validator, or why the schema is not used. */
const compiled = new WeakMap<JsonSchema, ValidateFunction | string>();

/** Ajv's `code.regExp`: a pattern compiler whose `test` cannot backtrack. */
type RegExpEngine = ((pattern: string, flags: string) => { test(s: string): boolean }) & { code: string };

/**
 * Bounds on an upstream schema before it is compiled: past them it is "no
 * schema" (the task goes unchecked, and the result says why), never a frozen
 * event loop or a blown stack.
 */
export const SCHEMA_BOUNDS = { maxNodes: 20_000, maxDepth: 40, maxPatternLength: 1000, maxCompileMs: 10_000 } as const;

async function loadAjv(): Promise<AjvClass> {
  ajvClass ??= import('ajv/dist/2019.js').then((m) => {
    const mod = m as unknown as { default: AjvClass & { default?: AjvClass } };
    return mod.default.default ?? mod.default;
  });
  return ajvClass;
}

/** Patterns run under RE2 (linear time): `^(a+)+$` costs what `^a+$` costs. */
async function loadRe2(): Promise<RegExpEngine> {
  re2Engine ??= import('re2js').then(({ RE2JS }) =>
    Object.assign(
      (pattern: string) => {
        if (pattern.length > SCHEMA_BOUNDS.maxPatternLength)
          throw new Error(`a pattern is ${pattern.length} characters, over ${SCHEMA_BOUNDS.maxPatternLength}`);
        const re = RE2JS.compile(pattern);
        // Ajv keys compiled patterns by toString(): without it every pattern is "[object Object]", the first one.
        return { test: (s: string) => re.test(s), toString: () => `re2:${pattern}` };
      },
      { code: 're2js' },
    ),
  );
  return re2Engine;
}

/** Why a schema is over its bounds (size, depth), walked without recursion; undefined when it is within them. */
export function overBounds(schema: unknown): string | undefined {
  let nodes = 0;
  const stack: Array<[unknown, number]> = [[schema, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (++nodes > SCHEMA_BOUNDS.maxNodes) return `is over ${SCHEMA_BOUNDS.maxNodes} nodes`;
    if (depth > SCHEMA_BOUNDS.maxDepth) return `is nested over ${SCHEMA_BOUNDS.maxDepth} levels deep`;
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (x && typeof x === 'object') stack.push([x, depth + 1]);
  }
  return undefined;
}

/** Schemas are dereferenced; their inner `$id`s are vestigial and may repeat, which breaks a compile. */
export function stripIds(v: unknown, inProperties = false): unknown {
  if (Array.isArray(v)) return v.map((x) => stripIds(x));
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    // Inside `properties` the keys are parameter names, not keywords.
    if (!inProperties && (k === '$id' || k === '$schema' || k === '$comment')) continue;
    out[k] = stripIds(
      x,
      !inProperties &&
        (k === 'properties' ||
          k === 'patternProperties' ||
          k === '$defs' ||
          k === 'definitions' ||
          k === 'dependentSchemas'),
    );
  }
  return out;
}

async function validatorFor(schema: JsonSchema): Promise<ValidateFunction | string> {
  let v = compiled.get(schema);
  if (v === undefined) {
    v = overBounds(schema);
    if (v === undefined) {
      const [Ajv, regExp] = await Promise.all([loadAjv(), loadRe2()]);
      const t0 = performance.now();
      try {
        v = new Ajv({ allErrors: true, strict: false, validateFormats: false, code: { regExp } }).compile(
          stripIds(schema) as JsonSchema,
        );
        const ms = performance.now() - t0;
        if (ms > SCHEMA_BOUNDS.maxCompileMs)
          v = `took ${Math.round(ms)} ms to compile, over ${SCHEMA_BOUNDS.maxCompileMs} ms`;
      } catch (e) {
        v = `cannot be compiled (${String((e as Error)?.message ?? e).slice(0, 160)})`;
      }
    }
    compiled.set(schema, v);
  }
  return v;
}

/** Why a schema cannot be used to check tasks (over its bounds, or not compilable); undefined when it can. */
export async function unusableSchema(schema: JsonSchema): Promise<string | undefined> {
  const v = await validatorFor(schema);
  return typeof v === 'string' ? v : undefined;
}

/** The schema turned out unusable while validating (a loop that recursed for ever): treat it as no schema. */
export class UnusableSchemaError extends Error {}

const pathOf = (e: ErrorObject): string[] =>
  e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));

const dotted = (parts: string[]): string =>
  parts.reduce((a, p) => (/^\d+$/.test(p) ? `${a}[${p}]` : a ? `${a}.${p}` : p), '');

/** The schema node an Ajv error's schemaPath points at (`#/allOf/0/oneOf`). */
function nodeAt(schema: JsonSchema, schemaPath: string): unknown {
  let node: unknown = schema;
  for (const p of schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

interface Problem {
  path: string[];
  message: string;
  allowed?: string;
}

/** One Ajv error as a sentence about one parameter. */
function explain(e: ErrorObject, schema: JsonSchema): Problem {
  const path = pathOf(e);
  const prop = propertyAt(schema, path);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const parent = propertyAt(schema, path) ?? schema;
      const names = Object.keys((parent.properties as Record<string, unknown>) ?? {}).filter(
        (n) => !['taskType', 'taskUUID', 'deliveryMethod'].includes(n),
      );
      return {
        path: [...path, String(p.additionalProperty)],
        message: 'is not a parameter of this model',
        allowed: names.slice(0, 40).join(', '),
      };
    }
    case 'required':
      return {
        path: [...path, String(p.missingProperty)],
        message: 'is required by this model',
        ...(allowedOf(propertyAt(schema, [...path, String(p.missingProperty)]))
          ? { allowed: allowedOf(propertyAt(schema, [...path, String(p.missingProperty)]))! }
          : {}),
      };
    case 'dependentRequired':
      return { path: [...path, String(p.missingProperty)], message: `is required when ${String(p.property)} is given` };
    case 'oneOf': {
      const branches = nodeAt(schema, e.schemaPath);
      if (Array.isArray(branches)) {
        const combos = branches.map((b: Record<string, unknown>) => {
          const props = (b?.properties ?? {}) as Record<string, Record<string, unknown>>;
          const fixed = Object.entries(props).filter(([, v]) => v?.const !== undefined);
          return fixed.length ? { title: typeof b.title === 'string' ? b.title : undefined, fixed } : undefined;
        });
        if (combos.length && combos.every(Boolean)) {
          const keys = [...new Set(combos.flatMap((c) => c!.fixed.map(([k]) => k)))];
          return {
            path: [...path, keys[0]!],
            message: `${keys.join(' and ')} must be one of the model's fixed combinations`,
            allowed: combos
              .map(
                (c) => `${c!.title ? `${c!.title} ` : ''}${c!.fixed.map(([, v]) => JSON.stringify(v.const)).join('×')}`,
              )
              .join(', '),
          };
        }
      }
      return { path, message: 'matches none (or more than one) of the allowed forms' };
    }
    case 'type':
      return {
        path,
        message: `must be ${/^[aeiou]/.test(String(p.type)) ? 'an' : 'a'} ${String(p.type)}`,
        ...(allowedOf(prop) ? { allowed: allowedOf(prop)! } : {}),
      };
    default: {
      const allowed = allowedOf(prop);
      return { path, message: e.message ?? `breaks the schema's ${e.keyword} rule`, ...(allowed ? { allowed } : {}) };
    }
  }
}

/** Errors Ajv reports only because a branch above failed; the branch error says it better. */
const NOISE = new Set(['if', 'anyOf', 'allOf']);

/**
 * Validates `task` (with taskType, taskUUID and deliveryMethod already set)
 * against the model's schema. Throws ValidationError naming the parameter as
 * `fieldOf` spells it for the caller (e.g. `params.width`).
 */
export async function validateAgainst(
  task: Record<string, unknown>,
  model: ModelSchema,
  fieldOf: (path: string) => string,
): Promise<void> {
  const validate = await validatorFor(model.requestSchema);
  if (typeof validate === 'string') throw new UnusableSchemaError(validate);
  let ok: boolean;
  try {
    ok = validate(task) as boolean;
  } catch {
    // A $ref loop can recurse for ever; the schema is at fault, not the task.
    compiled.set(model.requestSchema, 'recursed without end while checking a task');
    throw new UnusableSchemaError('recursed without end while checking a task');
  }
  if (ok) return;
  const errors = (validate.errors ?? []).filter((e) => !NOISE.has(e.keyword));
  // Branch-internal const errors are noise once their oneOf has been explained.
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.schemaPath));
  const relevant = errors.filter(
    (e) => !(e.keyword === 'const' && [...oneOfPaths].some((s) => e.schemaPath.startsWith(`${s}/`))),
  );
  const problems = (relevant.length ? relevant : (validate.errors ?? [])).map((e) => explain(e, model.requestSchema));
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const k = `${p.path.join('.')}|${p.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  // The deepest first: "params.inputs.frameImages[0].frame" says more than "params.inputs".
  unique.sort((a, b) => b.path.length - a.path.length);
  const first = unique[0]!;
  const field = fieldOf(dotted(first.path));
  const others = unique.slice(1, 4).map((p) => `${fieldOf(dotted(p.path))} ${p.message}`);
  const docs = model.documentation
    ? `${model.documentation}#request-${first.path[0] ?? ''}`.replace(/#request-$/, '')
    : undefined;
  throw new ValidationError(
    field,
    `${first.message}${others.length ? `; also ${others.join('; ')}${unique.length > 4 ? ` (+${unique.length - 4} more)` : ''}` : ''}`,
    first.allowed,
    docs,
  );
}
