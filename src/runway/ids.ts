/**
 * Strict id patterns, checked before any request: nothing that could change
 * the path or query (`/`, `..`, `%`, `?`, `#`, spaces) ever reaches a URL.
 */
import { ValidationError } from '../shared/errors.js';
import type { Provider } from './types.js';

export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** useapi composite: user:<n>-runwayml:<email>-task:<uuid>. The email allows no % or /. */
export const USEAPI_TASK_RE =
  /^user:\d{1,20}-runwayml:[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+-task:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export type IdKind = 'uuid' | 'useapi';

export function classifyId(id: string): IdKind {
  if (UUID_RE.test(id)) return 'uuid';
  if (USEAPI_TASK_RE.test(id)) return 'useapi';
  throw new ValidationError(
    'id',
    'is not a Runway task id',
    'a task UUID (official API or makevid.ai) or a useapi.net id like user:123-runwayml:you@example.com-task:<uuid>',
  );
}

/** Checks that `id` fits `provider`; returns its kind. */
export function checkIdFor(id: string, provider: Provider): IdKind {
  const kind = classifyId(id);
  if (provider === 'useapi' && kind !== 'useapi')
    throw new ValidationError('id', 'useapi.net needs its composite task id', 'user:<n>-runwayml:<email>-task:<uuid>');
  if (provider !== 'useapi' && kind !== 'uuid')
    throw new ValidationError('id', `${provider} task ids are UUIDs`, 'a UUID, or provider "useapi" for composite ids');
  return kind;
}

/** Masks emails in free text (ids keep theirs: lookups need them). */
export function maskEmails(text: string): string {
  return text.replace(/([A-Za-z0-9._+-])[A-Za-z0-9._+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g, '$1***@$2');
}
