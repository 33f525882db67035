/**
 * Envelope parsing and error classification for Runware responses.
 * Outcomes are grouped by taskUUID; errors without a taskUUID are request-level.
 */
import type { ErrorCategory } from '../shared/errors.js';

export interface ApiErrorItem {
  code: string;
  message: string;
  /** A string, or an array of strings for cross-field violations. */
  parameter?: string | string[];
  taskType?: string;
  taskUUID?: string;
  documentation?: string;
  allowedValues?: unknown;
  min?: unknown;
  max?: unknown;
  category: ErrorCategory;
  retryable: boolean;
}

export type DataItem = Record<string, unknown> & { taskType?: string; taskUUID?: string };

export interface Envelope {
  data: DataItem[];
  errors: ApiErrorItem[];
}

const SAFETY = new Set([
  'contentPolicyViolation',
  'providerContentPolicyViolation',
  'sensitiveContentDetected',
  'unsafeContentDetected',
  'nsfwContentDetected',
  'promptBlocked',
  'imageBlocked',
  'moderationFailed',
]);
const AUTH = new Set([
  'unauthorized',
  'forbidden',
  'permissionDenied',
  'insufficientPermissions',
  'authenticationFailed',
  'authFailed',
  'authTimeout',
  'invalidAuthentication',
  'invalidCredentials',
  'missingAuthentication',
  'tokenExpired',
  'tokenInvalid',
  'tokenMissing',
  'tokenRevoked',
  'accountSuspended',
  'accountDisabled',
  'organizationSuspended',
  'organizationDisabled',
  'workspaceSuspended',
  'workspaceDisabled',
]);
const NOT_FOUND = new Set(['taskCancelled', 'taskFailedOrNotFound', 'unknownModel']);
const SERVER = new Set([
  'internalServerError',
  'serviceUnavailable',
  'serverUnavailable',
  'standardError',
  'unknownError',
  'undefinedError',
  'defaultError',
  'unrecognizedResponse',
  'errorRetrievingAccountManagement',
]);
const PROVIDER = new Set([
  'inferenceError',
  'processingFailed',
  'taskFailed',
  'downloadFailed',
  'uploadFailed',
  'noAvailableServer',
  'modelUnavailable',
  'modelDisabled',
  'modelNotReady',
  'mediaStorageFileCouldNotBeMoved',
]);
const VALIDATION = new Set([
  'unknownParameter',
  'incompatibleParameters',
  'mismatchProviderSettingsProvider',
  'unknownProviderSettingsProvider',
  'transparentModelMismatch',
  'modelOwnershipValidationError',
  'modelAlreadyExists',
  'validationFailed',
]);
const CONNECTION = new Set([
  'connectionFailed',
  'notConnected',
  'notOpen',
  'reconnectionFailed',
  'disconnected',
  'connectionError',
]);

/**
 * The code family, exactly as the official TypeScript SDK derives it
 * (reference, "TS error families"): checked in this order, first match wins,
 * case-sensitive. The family is for reporting; whether to resubmit is
 * `isTransientCode`, a much narrower list.
 */
export function codeFamily(code: string): ErrorCategory {
  const c = code.trim();
  if (c === 'aborted') return 'unknown';
  if (CONNECTION.has(c)) return 'connection';
  if (/Credits|Quota|Balance/.test(c) || c === 'quotaExceeded' || c === 'paymentRequired') return 'quota';
  if (c.includes('RateLimit') || c === 'rateLimitExceeded') return 'rateLimit';
  if (SAFETY.has(c)) return 'safety';
  if (c.includes('ApiKey') || AUTH.has(c)) return 'auth';
  if (c.includes('Timeout') || c === 'timeout') return 'timeout';
  if (/(NotFound|Expired)$/.test(c) || NOT_FOUND.has(c)) return 'notFound';
  if (SERVER.has(c)) return 'serverError';
  if (c.startsWith('provider') || PROVIDER.has(c)) return 'provider';
  if (/^(invalid|missing|conflict|duplicate|unsupported|value|array|max)/.test(c) || VALIDATION.has(c))
    return 'validation';
  return 'unknown';
}

/**
 * Task-level codes that mean "the task ran and failed for a passing reason":
 * the project's guidance resubmits these (as a new task, fresh UUID). Every
 * other code, unknown ones included, is permanent. Kept explicit on purpose:
 * family matching by substring retried `invalidTimeoutValue`,
 * `providerSettingsInvalid`, `unknownError` and `modelUnavailable`.
 */
const TRANSIENT_CODES = new Set([
  'timeoutProvider',
  'providerTimeout',
  'providerRateLimitExceeded',
  'rateLimitExceeded',
  'inferenceRateLimitExceeded',
  'noAvailableServer',
  'serviceUnavailable',
  'serverUnavailable',
  'internalServerError',
  ...CONNECTION,
]);

export function isTransientCode(code: string): boolean {
  return TRANSIENT_CODES.has(code.trim());
}

export function classifyCode(code: string): { category: ErrorCategory; retryable: boolean } {
  const category = code.trim() === 'timeoutProvider' ? 'timeout' : codeFamily(code);
  return { category, retryable: isTransientCode(code) };
}

/** Category of an HTTP status when the body says nothing more specific. */
export function classifyStatus(status: number): { category: ErrorCategory; retryable: boolean } {
  if (status === 408) return { category: 'timeout', retryable: true };
  if (status === 429) return { category: 'rateLimit', retryable: true };
  if (status >= 500) return { category: 'serverError', retryable: true };
  if (status === 401 || status === 403) return { category: 'auth', retryable: false };
  if (status === 402) return { category: 'quota', retryable: false };
  if (status === 404) return { category: 'notFound', retryable: false };
  return { category: 'validation', retryable: false };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function toErrorItem(raw: unknown): ApiErrorItem | undefined {
  if (raw === null || typeof raw !== 'object') {
    if (typeof raw === 'string') return { code: 'unknownError', message: raw, ...classifyCode('unknownError') };
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const code =
    str(r.code) ?? (r.errorId !== undefined ? `legacyError${String(r.errorId)}` : undefined) ?? 'unknownError';
  // Legacy errorId 19 is an invalid key.
  const effective = r.errorId === 19 || r.errorId === '19' ? 'invalidApiKey' : code;
  const message = str(r.message) ?? str(r.errorMessage) ?? str(r.error) ?? code;
  const parameter = Array.isArray(r.parameter)
    ? r.parameter.filter((p): p is string => typeof p === 'string')
    : str(r.parameter);
  const item: ApiErrorItem = { code: effective, message, ...classifyCode(effective) };
  if (parameter !== undefined && parameter.length > 0) item.parameter = parameter;
  for (const k of ['taskType', 'taskUUID', 'documentation'] as const) {
    const v = str(r[k]);
    if (v) item[k] = v;
  }
  for (const k of ['allowedValues', 'min', 'max'] as const) if (r[k] !== undefined) item[k] = r[k];
  return item;
}

/**
 * Parses any Runware body: `{data, errors}`, the legacy
 * `{error:true, errorId, errorMessage}`, singular `error` (object or array),
 * and `status:"error"` items that embed `error:{code,message}`.
 */
export function parseEnvelope(body: unknown): Envelope {
  const out: Envelope = { data: [], errors: [] };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    if (Array.isArray(body)) out.data = body.filter((x): x is DataItem => !!x && typeof x === 'object');
    return out;
  }
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.data)) {
    for (const d of b.data) {
      if (!d || typeof d !== 'object') continue;
      const item = d as DataItem;
      if (item.status === 'error' || (item.error && typeof item.error === 'object')) {
        const e = toErrorItem(item.error ?? { code: 'taskFailed', message: 'The task failed.' });
        if (e) {
          e.taskUUID ??= str(item.taskUUID);
          e.taskType ??= str(item.taskType);
          out.errors.push(e);
        }
        continue;
      }
      out.data.push(item);
    }
  }
  const rawErrors: unknown[] = [];
  if (Array.isArray(b.errors)) rawErrors.push(...b.errors);
  if (Array.isArray(b.error)) rawErrors.push(...b.error);
  else if (b.error && typeof b.error === 'object') rawErrors.push({ taskUUID: b.taskUUID, ...(b.error as object) });
  else if (b.error === true) rawErrors.push(b);
  for (const e of rawErrors) {
    const item = toErrorItem(e);
    if (item) out.errors.push(item);
  }
  return out;
}

/** A one-line, model-actionable description of an error item. */
export function describeError(e: ApiErrorItem): string {
  const param = e.parameter ? ` (parameter: ${Array.isArray(e.parameter) ? e.parameter.join(', ') : e.parameter})` : '';
  return `${e.code}${param}: ${e.message}`;
}

/** What to do next for an error category. */
export function hintFor(category: ErrorCategory): string {
  switch (category) {
    case 'validation':
      return 'Fix the named parameter and call again.';
    case 'auth':
      return 'Check RUNWARE_API_KEY (a valid key from the Runware dashboard), or run with --simulate.';
    case 'quota':
      return 'The Runware account is out of credits; top up, then call again.';
    case 'safety':
      return 'The content was refused by a safety filter; change the prompt or inputs.';
    case 'notFound':
      return 'The task or resource does not exist or has expired; check the id.';
    case 'rateLimit':
    case 'timeout':
    case 'serverError':
    case 'connection':
      return 'A transient upstream failure; it was retried. Try again later.';
    case 'provider':
      return 'The model provider failed; try another model, or again later.';
    default:
      return 'See the error message.';
  }
}
