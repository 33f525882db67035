/**
 * Streamable HTTP at /mcp. Guarded: a bearer token when RUNWARE_MCP_HTTP_TOKEN
 * is set (required off loopback), Host and Origin checks against DNS
 * rebinding, and a body size cap. Sessions by default; with RUNWARE_STATE_URL
 * they live in Redis too, so any instance serves any session and resumes its
 * streams; --stateless serves each POST on its own. GET /healthz for load
 * balancers.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { ConfigError } from '../shared/errors.js';
import type { AppContext } from '../services/context.js';
import { allowedHosts as hostsFor, LOOPBACK, originAllowed, readBodyText, sameToken } from '../services/http-guard.js';
import type { RedisState } from '../state/redis.js';
import { drain, sendWebResponse, toWebRequest } from './http-bridge.js';
import { MemoryEventStore, SessionEventStore } from './http-events.js';
import { followRemoteStream, parseEventId, RedisEventStore } from './http-shared.js';
import { createServer, type CreatedServer } from './server.js';

const MAX_BODY = 16 * 1024 * 1024;
/** Slow clients cannot hold a socket: headers within 10 s, the whole request within 30 s. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** The longest a resumed stream follows a call running on another instance. */
const FOLLOW_MS = 15 * 60_000;
/** The `retry` of each stream's priming event: how soon a client whose stream dropped reconnects. */
export const RETRY_MS = 1000;
/** From this revision on, clients take the empty priming event that makes a stream resumable. */
const PRIMING_FROM = '2025-11-25';

export interface HttpHandle {
  url: string;
  sessionCount: () => number;
  close: () => Promise<void>;
}

/** The id of a single JSON-RPC request, so a transport error can answer it by id; null for a batch or a notification. */
export const requestId = (body: unknown): string | number | null => {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const id = (body as { id?: unknown; method?: unknown }).id;
  return (typeof id === 'string' || typeof id === 'number') && typeof (body as { method?: unknown }).method === 'string' ? id : null;
};

const jsonError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}, id: string | number | null = null, code = -32000): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
};

/** A body too large, or not JSON: no id can be read from it. */
const badBody = (res: ServerResponse, e: unknown): void =>
  (e as Error).message === 'body too large' ? jsonError(res, 413, `Request body over ${MAX_BODY / 1024 / 1024} MiB.`, {}, null, -32600) : jsonError(res, 400, `Parse error: ${(e as Error).message}`, {}, null, -32700);

/** The SDK's transport answers its own errors (bad Accept, unknown session, ...) with id null; the request's id goes back in. */
async function withRequestId(r: Response, id: string | number | null): Promise<Response> {
  if (id === null || r.status < 400 || !r.headers.get('content-type')?.includes('application/json')) return r;
  const text = await r.text();
  try {
    const m = JSON.parse(text) as { error?: unknown; id?: unknown };
    if (m.error && m.id === null) return new Response(JSON.stringify({ ...m, id }), { status: r.status, headers: r.headers });
  } catch {
    // Not JSON-RPC: passed on as it came.
  }
  return new Response(text, { status: r.status, headers: r.headers });
}

/** The revision a session agreed at initialize (what the SDK's server answers for the client's request). */
const negotiated = (init: unknown): string | undefined => {
  const v = (init as { params?: { protocolVersion?: unknown } } | undefined)?.params?.protocolVersion;
  return typeof v === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(v) ? v : typeof v === 'string' ? LATEST_PROTOCOL_VERSION : undefined;
};

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBodyText(req, MAX_BODY);
  return text ? JSON.parse(text) : undefined;
}

interface Session {
  /** The initialize request, so the session can be recorded again if Redis loses it. */
  init: unknown;
  transport: WebStandardStreamableHTTPServerTransport;
  created: CreatedServer;
  lastSeen: number;
}

export async function startHttp(app: AppContext, opts: { sessionIdleMs?: number; maxSessions?: number; headersTimeoutMs?: number; requestTimeoutMs?: number } = {}): Promise<HttpHandle> {
  const { host, port, token, stateless } = app.config.http;
  const maxSessions = opts.maxSessions ?? app.config.http.maxSessions;
  if (!LOOPBACK.has(host) && !token) {
    throw new ConfigError(`Refusing to serve MCP on ${host} without RUNWARE_MCP_HTTP_TOKEN.`, 'Set RUNWARE_MCP_HTTP_TOKEN, or bind to 127.0.0.1.');
  }
  const sessions = new Map<string, Session>();
  const idleMs = opts.sessionIdleMs ?? app.config.http.idleMs;
  const log = app.logger.child('http');
  // With shared state, sessions and their events live in Redis as well.
  const shared: RedisState | undefined = await app.shared()?.catch((e: unknown) => {
    throw e instanceof ConfigError ? e : new ConfigError(`RUNWARE_STATE_URL: ${(e as Error).message}`);
  });
  // Every stream is resumable: its events are kept (in Redis when shared, else here) for Last-Event-ID.
  const events = shared ? new RedisEventStore(shared, idleMs, log) : new MemoryEventStore(idleMs);
  const redisEvents = events instanceof RedisEventStore ? events : undefined;

  const dropLocal = (id: string, why: string): void => {
    const sess = sessions.get(id);
    if (!sess) return;
    sessions.delete(id);
    void sess.transport.close().catch(() => undefined);
    log.info(`closed MCP HTTP session: ${why}`);
  };
  /** At the cap, the session idle the longest makes room for a new one (it stays in Redis for another instance). */
  const evictOldest = (): void => {
    let oldest: [string, Session] | undefined;
    for (const e of sessions) if (!oldest || e[1].lastSeen < oldest[1].lastSeen) oldest = e;
    if (oldest) dropLocal(oldest[0], `the longest idle, to stay within ${maxSessions} sessions`);
  };
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, sess] of sessions) if (now - sess.lastSeen > idleMs) dropLocal(id, 'idle');
  }, Math.min(60_000, Math.max(50, idleMs / 4)));
  sweeper.unref();

  /** A transport and server for one session: a new one (initialize), or one rebuilt here from Redis. */
  const open = async (sessionId?: string, init?: unknown): Promise<Session> => {
    const created = createServer(app, { exclusive: false });
    const id = sessionId ?? randomUUID();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      // Event ids are bound to the session: another session's Last-Event-ID replays nothing.
      eventStore: new SessionEventStore(events, id),
      retryInterval: RETRY_MS,
      onsessioninitialized: async (id) => {
        sessions.set(id, entry);
        // Recorded before the client hears its session id, so another instance can take it over at once.
        if (shared && init !== undefined) await record(id, init).catch((e: unknown) => log.warn(`session not shared (${(e as Error).message}); only this instance can serve it`));
      },
      onsessionclosed: async (id) => {
        // DELETE: the session ends everywhere.
        await shared?.deleteSession(id).catch(() => undefined);
      },
    });
    const entry: Session = { init, transport, created, lastSeen: Date.now() };
    transport.onclose = () => {
      if (transport.sessionId && sessions.get(transport.sessionId) === entry) sessions.delete(transport.sessionId);
      created.dispose();
    };
    await created.server.connect(transport);
    return entry;
  };

  /** Takes over a session begun on another instance: its initialize is replayed here, unseen by the client. */
  const adopt = async (sessionId: string): Promise<Session | undefined> => {
    const saved = shared ? await shared.getSession(sessionId) : undefined;
    if (!saved) return undefined;
    const { init } = JSON.parse(saved) as { init: unknown };
    if (sessions.size >= maxSessions) evictOldest();
    const entry = await open(sessionId);
    entry.init = init;
    const post = (body: unknown, extra: Record<string, string> = {}): Request =>
      new Request('http://localhost/mcp', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra }, body: JSON.stringify(body) });
    const status = await drain(await entry.transport.handleRequest(post(init), { parsedBody: init }));
    if (status !== 200) {
      dropLocal(sessionId, 'could not be rebuilt');
      return undefined;
    }
    const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
    await drain(await entry.transport.handleRequest(post(initialized, { 'mcp-session-id': sessionId }), { parsedBody: initialized }));
    log.info('took over an MCP HTTP session begun on another instance');
    return entry;
  };

  /** A known session: local (renewed in Redis), else adopted from Redis. */
  const record = (id: string, init: unknown): Promise<void> => shared!.putSession(id, JSON.stringify({ init, at: new Date().toISOString() }), idleMs);
  const find = async (sessionId: string): Promise<Session | 'gone' | 'unavailable'> => {
    const local = sessions.get(sessionId);
    if (local) {
      local.lastSeen = Date.now();
      // Checked and renewed on every request: a session ended on one instance ends on all at once.
      if (shared) {
        // Redis away: this instance goes on serving the session it holds.
        const st = await shared.touchSession(sessionId, idleMs).catch(() => 'alive' as const);
        if (st === 'ended') {
          dropLocal(sessionId, 'ended on another instance');
          return 'gone';
        }
        if (st === 'missing') await record(sessionId, local.init).catch(() => undefined);
      }
      return local;
    }
    if (!shared) return 'gone';
    try {
      return (await adopt(sessionId)) ?? 'gone';
    } catch {
      return 'unavailable';
    }
  };

  let actualPort = port;
  // DNS-rebinding protection: only these Host headers are served. Extra names (a proxy, a DNS name) come from --allowed-hosts.
  const extra = app.config.http.allowedHosts;
  const allowedHosts = (): Set<string> => hostsFor(host, actualPort, extra);

  const healthz = async (res: ServerResponse): Promise<void> => {
    const redis = shared ? ((await shared.ping()) ? 'ok' : 'unreachable') : 'not used';
    const ok = redis !== 'unreachable';
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ status: ok ? 'ok' : 'degraded', instance: app.config.instanceId, sessions: sessions.size, mode: stateless ? 'stateless' : 'sessions', state: shared ? 'redis' : 'embedded', redis }));
  };

  const serveWeb = async (req: IncomingMessage, res: ServerResponse, transport: WebStandardStreamableHTTPServerTransport, body?: unknown, agreed?: string): Promise<void> => {
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const request = toWebRequest(req, body, abort.signal);
    // A session that agreed a revision with priming events gets them even when a request's header names an older one.
    const header = request.headers.get('mcp-protocol-version');
    if (agreed && agreed >= PRIMING_FROM && header && header < PRIMING_FROM && SUPPORTED_PROTOCOL_VERSIONS.includes(header)) request.headers.set('mcp-protocol-version', agreed);
    const r = await transport.handleRequest(request, body !== undefined ? { parsedBody: body } : {});
    await sendWebResponse(res, await withRequestId(r, requestId(body)));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Health checks come from load balancers by address, without the token: they learn nothing but up or down.
    if (url.pathname === '/healthz' && req.method === 'GET') return healthz(res);
    if (url.pathname !== '/mcp') return jsonError(res, 404, 'Not found: the MCP endpoint is /mcp.');
    if (!allowedHosts().has(String(req.headers.host ?? '').toLowerCase())) return jsonError(res, 403, 'Forbidden: unexpected Host header (add the name with --allowed-hosts or RUNWARE_MCP_ALLOWED_HOSTS).');
    const origin = req.headers.origin;
    if (origin && !originAllowed(origin, host, extra)) return jsonError(res, 403, 'Forbidden: cross-origin requests are not allowed.');
    if (token) {
      const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
      if (!m || !sameToken(m[1]!, token)) return jsonError(res, 401, 'Unauthorized: send Authorization: Bearer <RUNWARE_MCP_HTTP_TOKEN>.', { 'www-authenticate': 'Bearer' });
    }
    if (stateless) {
      if (req.method !== 'POST') return jsonError(res, 405, 'Method not allowed: this server is stateless (no sessions), so only POST is served.', { allow: 'POST' });
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (e) {
        return badBody(res, e);
      }
      // Each POST gets its own server and transport, gone when its answer is.
      const created = createServer(app, { exclusive: false });
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      await created.server.connect(transport);
      try {
        await serveWeb(req, res, transport, body);
      } finally {
        created.dispose();
        await transport.close().catch(() => undefined);
      }
      return;
    }
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    if (req.method === 'POST') {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (e) {
        return badBody(res, e);
      }
      if (sessionId) {
        const s = await find(sessionId);
        if (s === 'unavailable') return jsonError(res, 503, 'The shared state (Redis) is unreachable, so this session cannot be served here; retry shortly.', { 'retry-after': '1' }, requestId(body));
        if (s === 'gone') return jsonError(res, 404, 'Unknown session; initialize again.', {}, requestId(body), -32001);
        return serveWeb(req, res, s.transport, body, negotiated(s.init));
      }
      if (!isInitializeRequest(body)) return jsonError(res, 400, 'Bad request: no session; send initialize first.', {}, requestId(body));
      if (sessions.size >= maxSessions) evictOldest();
      const entry = await open(undefined, body);
      return serveWeb(req, res, entry.transport, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!sessionId) return jsonError(res, 400, 'Missing Mcp-Session-Id header.');
      const lastEventId = req.method === 'GET' ? String(req.headers['last-event-id'] ?? '') : '';
      const at = lastEventId ? parseEventId(lastEventId) : undefined;
      // A stream whose call runs elsewhere: follow it from Redis until its answer.
      if (at && !SessionEventStore.owns(at.streamId, sessionId)) return jsonError(res, 403, "Forbidden: that Last-Event-ID belongs to another session's stream.");
      if (shared && redisEvents && at && !redisEvents.isLocal(at.streamId)) {
        if (!sessions.has(sessionId) && !(await shared.getSession(sessionId).catch(() => undefined))) return jsonError(res, 404, 'Unknown session.');
        return followRemoteStream(res, shared, sessionId, lastEventId, FOLLOW_MS, log);
      }
      if (req.method === 'DELETE' && shared && !sessions.has(sessionId)) {
        await shared.deleteSession(sessionId).catch(() => undefined);
        res.writeHead(200).end();
        return;
      }
      const s = await find(sessionId);
      if (s === 'unavailable') return jsonError(res, 503, 'The shared state (Redis) is unreachable; retry shortly.', { 'retry-after': '1' });
      if (s === 'gone') return jsonError(res, 404, 'Unknown session.');
      return serveWeb(req, res, s.transport);
    }
    return jsonError(res, 405, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
  };

  // Timeouts are checked every connectionsCheckingInterval; the default (30 s) would let a slow client sit three times as long.
  const server: Server = createHttpServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error(`HTTP handler failed: ${(e as Error).message}`);
      if (!res.headersSent) jsonError(res, 500, 'Internal error.');
      else if (!res.writableEnded) res.end();
    });
  });
  server.headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  server.requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      clearInterval(sweeper);
      // A setting the user chose, not a failed task: exit 2 with what to change.
      if (e.code === 'EADDRINUSE') reject(new ConfigError(`port ${port} on ${host} is already in use`, `Pick another with --port; --port 0 takes any free port.`));
      else if (e.code === 'EACCES') reject(new ConfigError(`not allowed to listen on ${host}:${port}`, 'Ports below 1024 need privileges: pick a higher --port.'));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') reject(new ConfigError(`cannot listen on ${host}: no such local address`, 'Use --host 127.0.0.1 (the default), or an address of this machine.'));
      else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
  actualPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actualPort}/mcp`,
    sessionCount: () => sessions.size,
    close: async () => {
      clearInterval(sweeper);
      // Local copies go; the sessions stay in Redis for the other instances.
      for (const { transport } of sessions.values()) await transport.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
