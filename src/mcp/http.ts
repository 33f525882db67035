/**
 * Streamable HTTP at /mcp with sessions. Guarded: a bearer token when
 * RUNWARE_MCP_HTTP_TOKEN is set (required off loopback), Host and Origin
 * checks against DNS rebinding, and a body size cap.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { ConfigError } from '../shared/errors.js';
import type { AppContext } from '../services/context.js';
import { createServer, type CreatedServer } from './server.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const MAX_BODY = 16 * 1024 * 1024;
/** Slow clients cannot hold a socket: headers within 10 s, the whole request within 30 s. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface HttpHandle {
  url: string;
  sessionCount: () => number;
  close: () => Promise<void>;
}

function sameToken(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

const jsonError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
};

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startHttp(app: AppContext, opts: { sessionIdleMs?: number; maxSessions?: number; headersTimeoutMs?: number; requestTimeoutMs?: number } = {}): Promise<HttpHandle> {
  const { host, port, token } = app.config.http;
  const maxSessions = opts.maxSessions ?? app.config.http.maxSessions;
  if (!LOOPBACK.has(host) && !token) {
    throw new ConfigError(`Refusing to serve MCP on ${host} without RUNWARE_MCP_HTTP_TOKEN.`, 'Set RUNWARE_MCP_HTTP_TOKEN, or bind to 127.0.0.1.');
  }
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; created: CreatedServer; lastSeen: number }>();
  const idleMs = opts.sessionIdleMs ?? app.config.http.idleMs;
  /** At the cap, the session idle the longest makes room for a new one. */
  const evictOldest = (): void => {
    let oldest: [string, { lastSeen: number; transport: StreamableHTTPServerTransport }] | undefined;
    for (const e of sessions) if (!oldest || e[1].lastSeen < oldest[1].lastSeen) oldest = e;
    if (!oldest) return;
    sessions.delete(oldest[0]);
    void oldest[1].transport.close().catch(() => undefined);
    app.logger.info(`closed the longest-idle MCP HTTP session to stay within ${maxSessions} sessions`);
  };
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, sess] of sessions) {
      if (now - sess.lastSeen > idleMs) {
        sessions.delete(id);
        void sess.transport.close().catch(() => undefined);
        app.logger.info('closed an idle MCP HTTP session');
      }
    }
  }, Math.min(60_000, Math.max(50, idleMs / 4)));
  sweeper.unref();
  let actualPort = port;
  // DNS-rebinding protection: only these Host headers are served. Extra names (a proxy, a DNS name) come from --allowed-hosts.
  const extra = app.config.http.allowedHosts;
  const allowedHosts = (): Set<string> =>
    new Set([
      ...[...LOOPBACK].map((h) => `${h}:${actualPort}`),
      ...(LOOPBACK.has(host) ? [] : [`${host}:${actualPort}`]),
      ...extra.flatMap((h) => (h.includes(':') && !h.startsWith('[') ? [h] : [h, `${h}:${actualPort}`])),
    ]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/mcp') return jsonError(res, 404, 'Not found: the MCP endpoint is /mcp.');
    if (!allowedHosts().has(String(req.headers.host ?? '').toLowerCase())) return jsonError(res, 403, 'Forbidden: unexpected Host header (add the name with --allowed-hosts or RUNWARE_MCP_ALLOWED_HOSTS).');
    const origin = req.headers.origin;
    if (origin) {
      let ok = false;
      try {
        const name = new URL(origin).hostname.toLowerCase();
        ok = LOOPBACK.has(name) || name === host || extra.some((h) => h.split(':')[0] === name);
      } catch {
        ok = false;
      }
      if (!ok) return jsonError(res, 403, 'Forbidden: cross-origin requests are not allowed.');
    }
    if (token) {
      const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
      if (!m || !sameToken(m[1]!, token)) return jsonError(res, 401, 'Unauthorized: send Authorization: Bearer <RUNWARE_MCP_HTTP_TOKEN>.', { 'www-authenticate': 'Bearer' });
    }
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    if (req.method === 'POST') {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (e) {
        return jsonError(res, 400, `Bad request: ${(e as Error).message}`);
      }
      const existing = sessionId ? sessions.get(sessionId) : undefined;
      if (existing) {
        existing.lastSeen = Date.now();
        return existing.transport.handleRequest(req, res, body);
      }
      if (sessionId) return jsonError(res, 404, 'Unknown session; initialize again.');
      if (!isInitializeRequest(body)) return jsonError(res, 400, 'Bad request: no session; send initialize first.');
      if (sessions.size >= maxSessions) evictOldest();
      const created = createServer(app, { exclusive: false });
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, created, lastSeen: Date.now() });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
        created.dispose();
      };
      await created.server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      const existing = sessionId ? sessions.get(sessionId) : undefined;
      if (!existing) return jsonError(res, sessionId ? 404 : 400, sessionId ? 'Unknown session.' : 'Missing Mcp-Session-Id header.');
      existing.lastSeen = Date.now();
      return existing.transport.handleRequest(req, res);
    }
    return jsonError(res, 405, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
  };

  // Timeouts are checked every connectionsCheckingInterval; the default (30 s) would let a slow client sit three times as long.
  const server: Server = createHttpServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      app.logger.error(`HTTP handler failed: ${(e as Error).message}`);
      if (!res.headersSent) jsonError(res, 500, 'Internal error.');
    });
  });
  server.headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  server.requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  actualPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actualPort}/mcp`,
    sessionCount: () => sessions.size,
    close: async () => {
      clearInterval(sweeper);
      for (const { transport } of sessions.values()) await transport.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
