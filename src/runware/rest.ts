/**
 * REST transport: POST a task array with `Authorization: Bearer`, over a
 * keep-alive undici Agent with explicit connect, header and body timeouts.
 */
import type { Agent } from 'undici';
import { undici } from '../shared/undici.js';
import { CancelledError, NetworkError } from '../shared/errors.js';
import { requestDeadline } from '../shared/time.js';
import { parseRetryAfter } from './retry.js';
import type { Task } from './rules.js';
import type { SendOptions, Transport, TransportReply } from './transport.js';
import { REST, TUNABLE } from './timing.js';

export interface RestOptions {
  url: string;
  apiKey: string;
  userAgent: string;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** The largest answer read (REST.maxReplyBytes). */
  maxReplyBytes?: number;
  /** Sockets kept to the API: at least twice the concurrency limit, so submissions and reads never wait for one. */
  connections?: number;
}

/** Error codes raised before any byte of the request could reach the server. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function errorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const c = err?.code ?? err?.cause?.code;
  return typeof c === 'string' ? c : undefined;
}

export function toNetworkError(
  e: unknown,
  signal?: AbortSignal,
  timeout?: { readonly expired: boolean },
  maxBytes?: number,
): Error {
  if (signal?.aborted) return new CancelledError();
  if (timeout?.expired)
    return new NetworkError('Runware API: no answer before the deadline (the request was sent).', true, 'TIMEOUT');
  const code = errorCode(e) ?? 'UNKNOWN';
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE')
    return new NetworkError(
      `Runware API: the answer was over ${maxBytes === undefined ? 'the size limit' : `${Math.round(maxBytes / 1048576)} MiB`} and was not read (the request was sent).`,
      true,
      'TOO_LARGE',
    );
  const sent = !NOT_SENT.has(code);
  const what = sent ? 'the connection failed after the request was sent' : 'could not connect';
  return new NetworkError(`Runware API: ${what} (${code}).`, sent, code);
}

export class RestTransport implements Transport {
  readonly name = 'rest' as const;
  private agent: Agent | undefined;
  private loaded: typeof import('undici') | undefined;

  constructor(private readonly opts: RestOptions) {}

  private get maxReplyBytes(): number {
    return this.opts.maxReplyBytes ?? REST.maxReplyBytes;
  }

  private async dispatcher(): Promise<Agent> {
    const { Agent } = await undici();
    this.agent ??= new Agent({
      connect: { timeout: this.opts.connectTimeoutMs ?? REST.connectTimeoutMs },
      keepAliveTimeout: REST.keepAliveMs,
      keepAliveMaxTimeout: REST.keepAliveMaxMs,
      headersTimeout: this.opts.headersTimeoutMs ?? TUNABLE.requestTimeoutMs,
      bodyTimeout: this.opts.bodyTimeoutMs ?? REST.bodyTimeoutMs,
      // undici stops reading at the limit (its own count, no cost on the call path).
      maxResponseSize: this.maxReplyBytes,
      connections: this.opts.connections ?? 16,
    });
    return this.agent;
  }

  async send(tasks: Task[], { signal, timeoutMs, dryRun }: SendOptions = {}): Promise<TransportReply> {
    if (signal?.aborted) throw new CancelledError();
    // After the first request undici is loaded and the Agent made: no await (a turn of the event loop each) before the send.
    const { request } = this.loaded ?? (this.loaded = await undici());
    const dispatcher = this.agent ?? (await this.dispatcher());
    const timeout = timeoutMs !== undefined ? requestDeadline(signal, timeoutMs) : undefined;
    let res: Awaited<ReturnType<typeof request>>;
    let text: string;
    try {
      res = await request(this.opts.url, {
        method: 'POST',
        dispatcher,
        headers: {
          authorization: `Bearer ${this.opts.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': this.opts.userAgent,
          ...(dryRun ? { 'x-runware-dry-run': '1' } : {}),
        },
        body: JSON.stringify(tasks),
        signal: timeout?.signal ?? signal,
      });
      text = await res.body.text();
    } catch (e) {
      throw toNetworkError(e, signal, timeout, this.maxReplyBytes);
    } finally {
      timeout?.done();
    }
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    let body: unknown = null;
    try {
      body = text.length ? JSON.parse(text) : null;
    } catch {
      // A proxy's HTML error page on 429/5xx is still an answer; a broken body on
      // any other status means we cannot tell what happened to the tasks.
      if (res.statusCode !== 429 && res.statusCode < 500) {
        throw new NetworkError(
          `Runware API returned an unparsable body (HTTP ${res.statusCode}).`,
          true,
          'MALFORMED_BODY',
        );
      }
    }
    return { status: res.statusCode, body, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  async close(): Promise<void> {
    await this.agent?.close();
  }
}
