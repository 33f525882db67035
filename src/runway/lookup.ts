/**
 * Runway task lookup over three providers, with provider detection, strict
 * ids, waiting at the provider's pace with progress, and a hard deadline.
 */
import { CancelledError, ConfigError, UpstreamError, ValidationError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { sleep } from '../shared/time.js';
import { checkIdFor, classifyId } from './ids.js';
import { ENV_OF, NAME_OF, ProviderHttp, nameInSentence } from './http.js';
import type { RetryPolicy } from '../runware/retry.js';
import { normalizeOfficial, normalizeWebApp } from './normalize.js';
import type { AccountView, Provider, RunwayTaskView } from './types.js';
import { RUNWAY } from '../runware/timing.js';

export interface RunwaySetup {
  official: { secret: string | undefined; url: string };
  useapi: { token: string | undefined; url: string };
  makevid: { key: string | undefined; url: string };
  userAgent: string;
  logger: Logger;
  /** Multiplies the polling pace (simulated time in tests). */
  timeScale?: number;
  /** The retry policy every GET follows (the same one Runware's client uses). */
  retry?: RetryPolicy;
}

export interface LookupOptions {
  provider?: Provider;
  waitSeconds?: number;
  signal?: AbortSignal;
  onProgress?: (p: { progress: number; total: 100; message: string }) => void;
}

export const RUNWAY_VERSION = '2024-11-06';

export class RunwayLookup {
  private readonly http: ProviderHttp;
  private readonly log: Logger;

  constructor(private readonly s: RunwaySetup) {
    this.log = s.logger.child('runway');
    this.http = new ProviderHttp(this.log, s.userAgent, s.retry);
  }

  configured(p: Provider): boolean {
    return Boolean(p === 'runway' ? this.s.official.secret : p === 'useapi' ? this.s.useapi.token : this.s.makevid.key);
  }

  private requireConfigured(p: Provider): void {
    if (!this.configured(p))
      throw new ConfigError(
        `${NAME_OF[p]} is not configured (${ENV_OF[p]} is not set).`,
        "Set it in the MCP client's env (or the shell, for the CLI), or run with --simulate.",
      );
  }

  /** One GET for `provider`; undefined on 404. */
  private async fetchOnce(
    p: Provider,
    id: string,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<RunwayTaskView | undefined> {
    this.requireConfigured(p);
    // Ids passed the strict patterns, so they hold no '/', '?', '#', '%' or spaces.
    // useapi wants ':' and '@' raw in the path, so the id is inserted as is.
    const { url, headers } =
      p === 'runway'
        ? {
            url: `${this.s.official.url}/v1/tasks/${id}`,
            headers: { authorization: `Bearer ${this.s.official.secret}`, 'x-runway-version': RUNWAY_VERSION },
          }
        : p === 'useapi'
          ? {
              url: `${this.s.useapi.url}/runwayml/tasks/${id}`,
              headers: { authorization: `Bearer ${this.s.useapi.token}` },
            }
          : {
              url: `${this.s.makevid.url}/get_runway/${id}`,
              headers: { authorization: `Bearer ${this.s.makevid.key}` },
            };
    const r = await this.http.get(p, url, headers, deadline, signal);
    if (r.status === 404) return undefined;
    if (p === 'runway') return normalizeOfficial(r.body);
    if (p === 'useapi') return normalizeWebApp(r.body, 'useapi');
    const task = r.body && typeof r.body === 'object' ? (r.body as Record<string, unknown>).task : undefined;
    if (!task)
      throw new UpstreamError('makevid.ai answered without a task object.', {
        provider: 'makevid',
        category: 'unknown',
        retryable: false,
      });
    return normalizeWebApp(task, 'makevid');
  }

  /** Which providers to ask, in order. */
  candidates(id: string, hint?: Provider): Provider[] {
    if (hint) {
      checkIdFor(id, hint);
      return [hint];
    }
    if (classifyId(id) === 'useapi') return ['useapi'];
    const order = (['runway', 'makevid'] as const).filter((p) => this.configured(p));
    if (order.length === 0)
      throw new ConfigError(
        'No provider for task UUIDs is configured: set RUNWAYML_API_SECRET (official API) or MAKEVID_API_KEY (makevid.ai).',
      );
    return order;
  }

  /** Finds the task once, trying candidates in turn (404 means try the next). */
  private async locate(
    id: string,
    providers: Provider[],
    deadline: number,
    signal?: AbortSignal,
  ): Promise<RunwayTaskView> {
    for (const p of providers) {
      const v = await this.fetchOnce(p, id, deadline, signal);
      if (v) return v;
      this.log.debug(`${p}: no task ${id.slice(-36)}; trying the next provider`);
    }
    throw new UpstreamError(`No task with this id at ${providers.map(nameInSentence).join(' or ')}.`, {
      status: 404,
      category: 'notFound',
      retryable: false,
      hint: 'Check the id; pass provider to look in one place. Official task URLs expire and deleted tasks cannot be fetched.',
    });
  }

  /**
   * Looks a task up; with waitSeconds, polls at the provider's pace until it is
   * terminal or the deadline passes (then returns the latest snapshot).
   */
  async get(id: string, opts: LookupOptions = {}): Promise<RunwayTaskView> {
    if (typeof id !== 'string') throw new ValidationError('id', 'must be a string');
    const providers = this.candidates(id, opts.provider);
    const waitMs = Math.max(0, (opts.waitSeconds ?? 0) * 1000);
    const deadline = Date.now() + waitMs + RUNWAY.answerGraceMs;
    const waitUntil = Date.now() + waitMs;
    const scale = this.s.timeScale ?? 1;
    let view = await this.locate(id, providers, deadline, opts.signal);
    const provider = view.provider;
    let best = -1;
    const report = (v: RunwayTaskView): void => {
      if (!opts.onProgress) return;
      const pct = Math.round((v.terminal ? 1 : (v.progress ?? 0)) * 100);
      if (pct > best) {
        best = pct;
        opts.onProgress({
          progress: pct,
          total: 100,
          message: `${v.status}${v.progress !== null && !v.terminal ? ` ${pct}%` : ''}`,
        });
      }
    };
    report(view);
    while (!view.terminal) {
      const pace = (view.pollAfterSec ?? RUNWAY.defaultPollSeconds) * 1000 * scale;
      const jittered = pace * (0.75 + Math.random() * 0.5);
      if (Date.now() + jittered > waitUntil) break;
      await sleep(jittered, opts.signal);
      if (opts.signal?.aborted) throw new CancelledError();
      const next = await this.fetchOnce(
        provider,
        id,
        Math.max(deadline, Date.now() + RUNWAY.answerGraceMs),
        opts.signal,
      );
      if (!next)
        throw new UpstreamError(`${NAME_OF[provider]} no longer has this task (deleted or expired).`, {
          status: 404,
          category: 'notFound',
          retryable: false,
          provider,
        });
      view = next;
      report(view);
    }
    return view;
  }

  /** useapi.net Runway accounts, without passwords or session tokens. */
  async accounts(signal?: AbortSignal): Promise<AccountView[]> {
    this.requireConfigured('useapi');
    const r = await this.http.get(
      'useapi',
      `${this.s.useapi.url}/runwayml/accounts`,
      { authorization: `Bearer ${this.s.useapi.token}` },
      Date.now() + RUNWAY.answerGraceMs,
      signal,
    );
    if (r.status === 404) return [];
    const map = r.body && typeof r.body === 'object' ? (r.body as Record<string, unknown>) : {};
    return Object.entries(map).map(([key, v]) => {
      const a = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
      const jwt = a.jwt && typeof a.jwt === 'object' ? (a.jwt as Record<string, unknown>) : {};
      const exp = typeof jwt.exp === 'number' ? new Date(jwt.exp * 1000).toISOString() : null;
      // Only named fields are copied: password and jwt.token never leave this function.
      return {
        email: typeof a.email === 'string' ? a.email : key,
        maxJobs: typeof a.maxJobs === 'number' ? a.maxJobs : null,
        sessionExpiresAt: exp,
        sessionValid: exp ? Date.parse(exp) > Date.now() : null,
      };
    });
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
