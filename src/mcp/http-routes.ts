/**
 * Which request goes where: GET /healthz; everything else must be /mcp and
 * pass the guards; then stateless (each POST on its own server), or sessions
 * (POST initialize creates one, POST/GET/DELETE with Mcp-Session-Id reach it,
 * a resumed stream whose call runs on another instance is followed from the
 * shared store). Every refusal names what to send instead.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  isInitializeRequest,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { AppContext } from '../services/context.js';
import type { Logger } from '../shared/log.js';
import type { SharedSessions } from '../state/sessions.js';
import { sendWebResponse, toWebRequest } from './http-bridge.js';
import { SessionEventStore } from './http-events.js';
import { checkRequest, readJsonBody, type GuardConfig } from './http-guards.js';
import { serveHealth, type HealthSource } from './http-health.js';
import { jsonError, refuse, requestId, withRequestId } from './http-replies.js';
import type { HttpSessions } from './http-sessions.js';
import { followRemoteStream, parseEventId, type SharedEventStore } from './http-shared.js';
import { createServer } from './server.js';

/** The longest a resumed stream follows a call running on another instance. */
const FOLLOW_MS = 15 * 60_000;
/** From this revision on, clients take the empty priming event that makes a stream resumable. */
const PRIMING_FROM = '2025-11-25';

export interface RouteDeps {
  app: AppContext;
  guard: GuardConfig;
  health: HealthSource;
  stateless: boolean;
  sessions: HttpSessions;
  /** With a shared store: it, and the event store over it (which knows the streams written here). */
  shared: { store: SharedSessions; events: SharedEventStore } | undefined;
  logger: Logger;
}

/** The revision a session agreed at initialize (what the SDK's server answers for the client's request). */
const negotiated = (init: unknown): string | undefined => {
  const v = (init as { params?: { protocolVersion?: unknown } } | undefined)?.params?.protocolVersion;
  return typeof v === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(v)
    ? v
    : typeof v === 'string'
      ? LATEST_PROTOCOL_VERSION
      : undefined;
};

/** Hands one request to a transport and streams its answer back; the request's id goes into the transport's own errors. */
async function serveThrough(
  req: IncomingMessage,
  res: ServerResponse,
  transport: WebStandardStreamableHTTPServerTransport,
  body?: unknown,
  agreed?: string,
): Promise<void> {
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  const request = toWebRequest(req, body, abort.signal);
  // A session that agreed a revision with priming events gets them even when a request's header names an older one.
  const header = request.headers.get('mcp-protocol-version');
  if (
    agreed &&
    agreed >= PRIMING_FROM &&
    header &&
    header < PRIMING_FROM &&
    SUPPORTED_PROTOCOL_VERSIONS.includes(header)
  )
    request.headers.set('mcp-protocol-version', agreed);
  const r = await transport.handleRequest(request, body !== undefined ? { parsedBody: body } : {});
  await sendWebResponse(res, await withRequestId(r, requestId(body)));
}

export function routes(d: RouteDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  /** --stateless: each POST gets its own server and transport, gone when its answer is. */
  const stateless = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST')
      return jsonError(
        res,
        405,
        'Method not allowed: this server is stateless (no sessions), so only POST is served.',
        { allow: 'POST' },
      );
    const read = await readJsonBody(req);
    if ('refusal' in read) return refuse(res, read.refusal);
    const created = createServer(d.app, { exclusive: false });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await created.server.connect(transport);
    try {
      await serveThrough(req, res, transport, read.body);
    } finally {
      created.dispose();
      await transport.close().catch(() => undefined);
    }
  };

  /** POST: initialize without a session, anything else with one. */
  const post = async (req: IncomingMessage, res: ServerResponse, sessionId: string | undefined): Promise<void> => {
    const read = await readJsonBody(req);
    if ('refusal' in read) return refuse(res, read.refusal);
    const body = read.body;
    if (sessionId) {
      const s = await d.sessions.find(sessionId);
      if (s === 'unavailable')
        return jsonError(
          res,
          503,
          'The shared state (Redis) is unreachable, so this session cannot be served here; retry shortly.',
          { 'retry-after': '1' },
          requestId(body),
        );
      if (s === 'gone') return jsonError(res, 404, 'Unknown session; initialize again.', {}, requestId(body), -32001);
      return serveThrough(req, res, s.transport, body, negotiated(s.init));
    }
    if (!isInitializeRequest(body))
      return jsonError(res, 400, 'Bad request: no session; send initialize first.', {}, requestId(body));
    const entry = await d.sessions.create(body);
    return serveThrough(req, res, entry.transport, body);
  };

  /** GET (the standalone stream, or a resume with Last-Event-ID) and DELETE (end the session). */
  const getOrDelete = async (
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string | undefined,
  ): Promise<void> => {
    if (!sessionId) return jsonError(res, 400, 'Missing Mcp-Session-Id header.');
    const lastEventId = req.method === 'GET' ? String(req.headers['last-event-id'] ?? '') : '';
    const at = lastEventId ? parseEventId(lastEventId) : undefined;
    if (at && !SessionEventStore.owns(at.streamId, sessionId))
      return jsonError(res, 403, "Forbidden: that Last-Event-ID belongs to another session's stream.");
    // A stream whose call runs elsewhere: follow it from the shared store until its answer.
    if (d.shared && at && !d.shared.events.isLocal(at.streamId)) {
      if (!(await d.sessions.known(sessionId))) return jsonError(res, 404, 'Unknown session.');
      return followRemoteStream(res, d.shared.store, sessionId, lastEventId, FOLLOW_MS, d.logger);
    }
    if (req.method === 'DELETE' && d.shared && !d.sessions.has(sessionId)) {
      await d.sessions.endElsewhere(sessionId);
      res.writeHead(200).end();
      return;
    }
    const s = await d.sessions.find(sessionId);
    if (s === 'unavailable')
      return jsonError(res, 503, 'The shared state (Redis) is unreachable; retry shortly.', { 'retry-after': '1' });
    if (s === 'gone') return jsonError(res, 404, 'Unknown session.');
    return serveThrough(req, res, s.transport);
  };

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Health checks come from load balancers by address, without the token: they learn nothing but up or down.
    if (url.pathname === '/healthz' && req.method === 'GET') return serveHealth(res, d.health);
    if (url.pathname !== '/mcp') return jsonError(res, 404, 'Not found: the MCP endpoint is /mcp.');
    const refused = checkRequest(req.headers, d.guard);
    if (refused) return refuse(res, refused);
    if (d.stateless) return stateless(req, res);
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    if (req.method === 'POST') return post(req, res, sessionId);
    if (req.method === 'GET' || req.method === 'DELETE') return getOrDelete(req, res, sessionId);
    return jsonError(res, 405, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
  };
}
