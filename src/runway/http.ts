/**
 * GET with retries for the Runway providers: 429 honours Retry-After (header
 * or useapi's `retryAfter` body field), 5xx and network errors back off with
 * jitter under the same retry policy as Runware's client (runware/retry.ts),
 * and every status becomes a sentence saying what to do.
 */
import type { Agent } from 'undici';
import { undici } from '../shared/undici.js';
import { CancelledError, NetworkError, UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { sleep } from '../shared/time.js';
import { canRetry, DEFAULT_RETRY, parseRetryAfter, retryDelay, type RetryPolicy } from '../runware/retry.js';
import { maskEmails } from './ids.js';
import type { Provider } from './types.js';
import { RUNWAY } from '../runware/timing.js';

export const ENV_OF: Record<Provider, string> = {
  runway: 'RUNWAYML_API_SECRET',
  useapi: 'USEAPI_API_TOKEN',
  makevid: 'MAKEVID_API_KEY',
};
export const NAME_OF: Record<Provider, string> = {
  runway: 'The Runway API',
  useapi: 'useapi.net',
  makevid: 'makevid.ai',
};
/** The provider's name inside a sentence ("at the Runway API"). */
export const nameInSentence = (p: Provider): string => NAME_OF[p].replace(/^The /, 'the ');

export interface GetResult {
  status: number;
  body: unknown;
}

function upstreamMessage(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const m = b.error ?? b.message;
    if (typeof m === 'string') return maskEmails(m).slice(0, 300);
  }
  return '';
}

/** The sentence for a failed status, or undefined for statuses that are retried or expected. */
export function statusError(provider: Provider, status: number, body: unknown, retryAfterMs?: number): UpstreamError {
  const name = NAME_OF[provider];
  const detail = upstreamMessage(body);
  const said = detail ? ` It said: "${detail}"` : '';
  const mk = (
    message: string,
    category: UpstreamError['opts']['category'],
    retryable: boolean,
    hint: string,
  ): UpstreamError =>
    new UpstreamError(`${message}${said}`, {
      status,
      code: `http${status}`,
      category,
      retryable,
      provider,
      hint,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  switch (status) {
    case 401:
    case 403:
      return mk(`${name} rejected the credentials (HTTP ${status}).`, 'auth', false, `Check ${ENV_OF[provider]}.`);
    case 402:
      return mk(
        `${name} says the subscription has lapsed (HTTP 402).`,
        'quota',
        false,
        'Renew the subscription, then try again.',
      );
    case 404:
      return mk(
        `${name} has no task with this id (HTTP 404).`,
        'notFound',
        false,
        'Check the id and the provider; deleted tasks cannot be fetched.',
      );
    case 410:
      return mk(
        `${name} says the task's result has expired (HTTP 410).`,
        'notFound',
        false,
        'Results are kept for a limited time (7 days at useapi.net); generate it again.',
      );
    case 412:
      return mk(
        `${name} says the Runway account has not enough credits (HTTP 412).`,
        'quota',
        false,
        'Top up the Runway account, then try again.',
      );
    case 422:
      return mk(
        `${name} says the prompt or input was moderated (HTTP 422).`,
        'safety',
        false,
        'Change the prompt or input image.',
      );
    case 429:
      return mk(
        `${name} is rate limiting (HTTP 429)${retryAfterMs !== undefined ? `; retry after ${Math.ceil(retryAfterMs / 1000)} s` : ''}.`,
        'rateLimit',
        true,
        'Wait for the Retry-After time, then try again.',
      );
    case 596:
      return mk(
        'useapi.net says the linked Runway account session is broken (HTTP 596).',
        'auth',
        false,
        'Delete the account at useapi.net and add it again (DELETE then POST /runwayml/accounts/{email}), then retry.',
      );
    default:
      if (status >= 500)
        return mk(
          `${name} had a server error (HTTP ${status}).`,
          'serverError',
          true,
          'A transient upstream failure; try again shortly.',
        );
      return mk(`${name} refused the request (HTTP ${status}).`, 'validation', false, 'Check the id.');
  }
}

export class ProviderHttp {
  private agent: Agent | undefined;

  constructor(
    private readonly log: Logger,
    private readonly userAgent: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /**
   * GETs `url`, retrying 429/5xx/network under the retry policy and within
   * `deadline` (epoch ms). Resolves 2xx and 404 (callers decide what 404 means).
   */
  async get(
    provider: Provider,
    url: string,
    headers: Record<string, string>,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<GetResult> {
    const { Agent, request } = await undici();
    this.agent ??= new Agent({
      connect: { timeout: RUNWAY.connectTimeoutMs },
      headersTimeout: RUNWAY.headersTimeoutMs,
      bodyTimeout: RUNWAY.bodyTimeoutMs,
      keepAliveTimeout: RUNWAY.keepAliveMs,
    });
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new CancelledError();
      const outcome = await this.attempt(provider, url, headers, request, signal);
      if ('result' in outcome) return outcome.result;
      const { error, retryAfterMs, what } = outcome;
      const delay = retryDelay(attempt, this.retry, retryAfterMs);
      // A GET is safe to repeat: every network error is retried; an upstream status only when it says so.
      const retryable = error instanceof NetworkError || error.retryable;
      if (!retryable || !canRetry(attempt, Date.now() - started, delay, this.retry) || Date.now() + delay > deadline)
        throw error;
      this.log.warn(
        `${provider}: ${what}; retrying in ${Math.round(delay)} ms`,
        retryAfterMs !== undefined ? { retryAfterMs } : undefined,
      );
      await sleep(delay, signal);
    }
  }

  /** One request: a result to return, or the error with what the retry needs to know. */
  private async attempt(
    provider: Provider,
    url: string,
    headers: Record<string, string>,
    request: Awaited<ReturnType<typeof undici>>['request'],
    signal: AbortSignal | undefined,
  ): Promise<{ result: GetResult } | { error: NetworkError | UpstreamError; retryAfterMs?: number; what: string }> {
    let status: number;
    let body: unknown = null;
    let retryAfterMs: number | undefined;
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        headers: { accept: 'application/json', 'user-agent': this.userAgent, ...headers },
        ...(signal ? { signal } : {}),
      });
      status = res.statusCode;
      const text = await res.body.text();
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      retryAfterMs = parseRetryAfter(res.headers['retry-after']);
      const bodyRetry = body && typeof body === 'object' ? (body as Record<string, unknown>).retryAfter : undefined;
      if (retryAfterMs === undefined && typeof bodyRetry === 'string') retryAfterMs = parseRetryAfter(bodyRetry);
    } catch (e) {
      if (signal?.aborted) throw new CancelledError();
      return {
        error: new NetworkError(`${NAME_OF[provider]} could not be reached: ${(e as Error).message}`, false),
        what: 'network error',
      };
    }
    if (status >= 200 && status < 300 && (body === null || typeof body !== 'object')) {
      // A 2xx that is not a JSON object is not an answer (a captive portal, a proxy page): never a normal result.
      const error = new UpstreamError(`${NAME_OF[provider]} answered HTTP ${status} with a body that is not JSON.`, {
        status,
        code: 'malformedBody',
        category: 'serverError',
        retryable: true,
        provider,
        hint: 'A transient upstream problem; try again shortly.',
      });
      return { error, what: `HTTP ${status} with a non-JSON body` };
    }
    if ((status >= 200 && status < 300) || status === 404) return { result: { status, body } };
    return {
      error: statusError(provider, status, body, retryAfterMs),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      what: `HTTP ${status}`,
    };
  }

  async close(): Promise<void> {
    await this.agent?.close();
  }
}
