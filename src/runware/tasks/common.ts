import { z } from 'zod';
import { PolicyError, ValidationError } from '../../shared/errors.js';
import { scrubber } from '../../shared/redact.js';

/**
 * AIR identifiers (`source:id@version`). Official SDKs use no regex; this is
 * deliberately permissive so valid ids like `runware:realesrgan@anime-6b` pass.
 */
export const AIR = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.\-/]+@[A-Za-z0-9_.-]+$/;
/** Longer than any real AIR; a longer value is not an id. */
export const AIR_MAX_LENGTH = 200;

/**
 * The one AIR shape check every front-end runs before any request names a
 * model (schema, registry, pricing, task): the MCP tools' rule. The value is
 * never echoed, so a key pasted by mistake goes nowhere.
 */
export function checkAir(value: unknown, field = 'model'): string {
  if (typeof value !== 'string' || value.length > AIR_MAX_LENGTH || !AIR.test(value))
    throw new ValidationError(
      field,
      'must be an AIR model id like runware:101@1 (source:id@version); nothing was sent',
      'an AIR from model search',
    );
  if (holdsSecret(value))
    throw new PolicyError(
      field,
      'holds a configured secret (an API key or token, or part of one); nothing was sent',
      "Pass the model's AIR from model search, never a key.",
    );
  return value;
}

/** Whether `value` carries a configured secret in any form the scrubber knows (a key pasted into an AIR goes in no URL). */
export function holdsSecret(value: string): boolean {
  return scrubber.text(value) !== value;
}

/** An AIR that may go into a URL: the AIR shape, and no secret in it. */
export const sendableAir = (value: string): boolean =>
  value.length <= AIR_MAX_LENGTH && AIR.test(value) && !holdsSecret(value);
export const air = z.string().regex(AIR, { message: 'must be an AIR model id like runware:101@1 (source:id@version)' });

export const UUID_ANY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Turns the first zod issue into a ValidationError whose field is a readable path. */
export function zodToValidationError(error: z.ZodError, prefix = ''): ValidationError {
  const issue = error.issues[0]!;
  const path = formatPath(prefix, issue.path);
  const i = issue as z.core.$ZodIssue & Record<string, unknown>;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = (i.keys as string[]) ?? [];
      return new ValidationError(
        formatPath(path, [keys[0] ?? '?']),
        `unknown field${keys.length > 1 ? `s ${keys.join(', ')}` : ''}`,
        'only the documented fields of this task type; check the spelling',
      );
    }
    case 'invalid_value':
      return new ValidationError(
        path || '(input)',
        issue.message,
        (i.values as unknown[] | undefined)?.map(String).join(' | '),
      );
    case 'too_small':
    case 'too_big':
      return new ValidationError(path || '(input)', issue.message);
    default:
      return new ValidationError(path || '(input)', issue.message);
  }
}

/** A zod issue path as the errors name fields: `a.b[0].c`, after an optional prefix. */
export function formatPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, prefix = ''): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw zodToValidationError(r.error, prefix);
  return r.data;
}
