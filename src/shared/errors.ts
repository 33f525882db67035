/**
 * The small typed error hierarchy the core throws. Every class carries what a
 * model (or a person) needs to act: the field or upstream code, and a hint.
 * A hint that points to a step (poll, confirm the cost, ...) is a Next: the
 * front-end names the step in its own words (src/shared/next-step.ts).
 */
import { stepsOf, type Next } from './next-step.js';

export type ErrorKind = 'validation' | 'policy' | 'config' | 'upstream' | 'network' | 'state' | 'cancelled';

export abstract class AppError extends Error {
  abstract readonly kind: ErrorKind;
  /** What to do next, in one sentence. */
  readonly hint: string | Next | undefined;
  constructor(message: string, hint?: string | Next) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
  toJSON(): Record<string, unknown> {
    const steps = stepsOf(this.hint);
    return {
      kind: this.kind,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(steps.length ? { nextSteps: steps } : {}),
    };
  }
}

/** Input that breaks a schema. Nothing was sent upstream. */
export class ValidationError extends AppError {
  readonly kind = 'validation' as const;
  constructor(
    readonly field: string,
    message: string,
    readonly allowed?: string,
    /** The model's documentation for this parameter, when a live schema said so. */
    readonly documentation?: string,
  ) {
    super(
      `${field}: ${message}${allowed ? ` (allowed: ${allowed})` : ''}`,
      `Fix the named field and call again; nothing was sent.${documentation ? ` Docs: ${documentation}` : ''}`,
    );
  }
  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      field: this.field,
      ...(this.allowed ? { allowed: this.allowed } : {}),
      ...(this.documentation ? { documentation: this.documentation } : {}),
    };
  }
}

/** Input refused by a usage rule (keys in payloads, reused UUIDs, ...). Nothing was sent. */
export class PolicyError extends AppError {
  readonly kind = 'policy' as const;
  constructor(
    readonly field: string,
    message: string,
    hint: string | Next = 'Remove the offending field; the server adds authentication and taskUUIDs itself.',
  ) {
    super(`${field}: ${message}`, hint);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), field: this.field };
  }
}

/**
 * A billable call held back by the spend rules: the daily cap would be passed
 * (spend_cap), or its quote needs the user's confirmation first
 * (confirmation_required, confirmation_declined). Nothing was sent.
 */
export class SpendError extends PolicyError {
  constructor(
    field: string,
    readonly code: 'spend_cap' | 'confirmation_required' | 'confirmation_declined',
    message: string,
    hint: string | Next,
    readonly amounts: { quoteUsd: number; spentTodayUsd: number; capUsd: number | null },
  ) {
    super(field, message, hint);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), code: this.code, ...this.amounts };
  }
}

/** Missing or invalid configuration (no key, bad URL, ...). */
export class ConfigError extends AppError {
  readonly kind = 'config' as const;
}

export type ErrorCategory =
  | 'validation'
  | 'auth'
  | 'quota'
  | 'rateLimit'
  | 'timeout'
  | 'provider'
  | 'notFound'
  | 'serverError'
  | 'safety'
  | 'connection'
  | 'unknown';

/** The upstream API answered with an error. */
export class UpstreamError extends AppError {
  readonly kind = 'upstream' as const;
  constructor(
    message: string,
    readonly opts: {
      status?: number;
      code?: string;
      category: ErrorCategory;
      retryable: boolean;
      retryAfterMs?: number;
      provider?: string;
      hint?: string | Next;
    },
  ) {
    super(message, opts.hint);
  }
  get status(): number | undefined {
    return this.opts.status;
  }
  get code(): string | undefined {
    return this.opts.code;
  }
  get retryable(): boolean {
    return this.opts.retryable;
  }
  override toJSON(): Record<string, unknown> {
    const { status, code, category, retryable, provider } = this.opts;
    return { ...super.toJSON(), status, code, category, retryable, provider };
  }
}

/**
 * The connection failed. `sent` tells whether the request body may have
 * reached the server: when true, a task may have landed and must not be
 * blindly resubmitted.
 */
export class NetworkError extends AppError {
  readonly kind = 'network' as const;
  constructor(
    message: string,
    readonly sent: boolean,
    readonly causeCode?: string,
  ) {
    super(message, 'Check the network or the endpoint URL, then try again.');
  }
  /** Safe to call again only when nothing may have reached the server. */
  get retryable(): boolean {
    return !this.sent;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryable: this.retryable, ...(this.causeCode ? { code: this.causeCode } : {}) };
  }
}

/**
 * The shared state (Redis) could not be reached. Nothing that needed it was
 * sent upstream; the same call works again once it is back, with no restart.
 */
export class StateUnavailableError extends AppError {
  readonly kind = 'state' as const;
  readonly retryable = true;
  constructor(message: string) {
    super(
      message,
      'Nothing was sent. Check that Redis (RUNWARE_STATE_URL) is up, then call again; the server reconnects by itself.',
    );
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryable: true };
  }
}

/** The caller cancelled. */
export class CancelledError extends AppError {
  readonly kind = 'cancelled' as const;
  constructor(message = 'Cancelled by the caller.') {
    super(message);
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
