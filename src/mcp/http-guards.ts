/**
 * What a request must pass before the MCP endpoint serves it: the Host and
 * Origin checks against DNS rebinding, the bearer token, a bounded body, and
 * deadlines for headers and the whole request. Each refusal is a value
 * (status, message, headers), so the edge answers it and goes on serving.
 * The token and Host/Origin rules are the ones the local studio uses too
 * (services/http-guard.ts); no refusal repeats what the client sent.
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import { ConfigError } from '../shared/errors.js';
import { allowedHosts, LOOPBACK, originAllowed, readBodyText, sameToken } from '../services/http-guard.js';
import type { Refusal } from './http-replies.js';

export const MAX_BODY = 16 * 1024 * 1024;
/** Slow clients cannot hold a socket: headers within 10 s, the whole request within 30 s. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;

export interface GuardConfig {
  /** The address the server binds. */
  host: string;
  /** The port it listens on (known only once it listens, with --port 0). */
  port: () => number;
  token: string | undefined;
  /** Extra Host names (a proxy, a DNS name): --allowed-hosts. */
  allowedHosts: readonly string[];
}

/** Off loopback, the token is not optional: refused at start, before anything listens. */
export function requireTokenOffLoopback(host: string, token: string | undefined): void {
  if (!LOOPBACK.has(host) && !token) {
    throw new ConfigError(
      `Refusing to serve MCP on ${host} without RUNWARE_MCP_HTTP_TOKEN.`,
      'Set RUNWARE_MCP_HTTP_TOKEN, or bind to 127.0.0.1.',
    );
  }
}

/** Host, then Origin, then the token: the first check a request fails, or undefined when it passes all. */
export function checkRequest(headers: IncomingHttpHeaders, g: GuardConfig): Refusal | undefined {
  if (!allowedHosts(g.host, g.port(), g.allowedHosts).has(String(headers.host ?? '').toLowerCase())) {
    return {
      status: 403,
      message: 'Forbidden: unexpected Host header (add the name with --allowed-hosts or RUNWARE_MCP_ALLOWED_HOSTS).',
    };
  }
  const origin = headers.origin;
  if (origin && !originAllowed(origin, g.host, g.allowedHosts))
    return { status: 403, message: 'Forbidden: cross-origin requests are not allowed.' };
  if (g.token) {
    const m = /^Bearer\s+(.+)$/i.exec(String(headers.authorization ?? ''));
    if (!m || !sameToken(m[1]!, g.token))
      return {
        status: 401,
        message: 'Unauthorized: send Authorization: Bearer <RUNWARE_MCP_HTTP_TOKEN>.',
        headers: { 'www-authenticate': 'Bearer' },
      };
  }
  return undefined;
}

/** A body too large, or not JSON: no id can be read from it. */
export function badBody(e: unknown): Refusal {
  return (e as Error).message === 'body too large'
    ? { status: 413, message: `Request body over ${MAX_BODY / 1024 / 1024} MiB.`, code: -32600 }
    : { status: 400, message: `Parse error: ${(e as Error).message}`, code: -32700 };
}

/** The request's JSON body (undefined when empty), or the refusal to send; the server's request timeout bounds the wait. */
export async function readJsonBody(
  req: AsyncIterable<unknown>,
  maxBytes = MAX_BODY,
): Promise<{ body: unknown } | { refusal: Refusal }> {
  try {
    const text = await readBodyText(req, maxBytes);
    return { body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch (e) {
    return { refusal: badBody(e) };
  }
}

/**
 * Deadlines on every request: headers, then the whole request. Node checks them
 * every connectionsCheckingInterval (the edge's server sets 1 s; the default 30 s
 * would let a slow client sit three times as long).
 */
export function applyDeadlines(
  server: Server,
  opts: { headersTimeoutMs?: number; requestTimeoutMs?: number } = {},
): void {
  server.headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  server.requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
}
