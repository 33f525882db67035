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
/** Sessions whose client went away without DELETE are closed after this long idle. */
export const SESSION_IDLE_MS = 30 * 60 * 1000;

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

export async function startHttp(app: AppContext, opts: { sessionIdleMs?: number } = {}): Promise<HttpHandle> {
  const { host, port, token } = app.config.http;
  if (!LOOPBACK.has(host) && !token) {
    throw new ConfigError(`Refusing to serve MCP on ${host} without RUNWARE_MCP_HTTP_TOKEN.`, 'Set RUNWARE_MCP_HTTP_TOKEN, or bind to 127.0.0.1.');
  }
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; created: CreatedServer; lastSeen: number }>();
  const idleMs = opts.sessionIdleMs ?? SESSION_IDLE_MS;
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
  const allowedHosts = (): Set<string> => new Set([...LOOPBACK].map((h) => `${h}:${actualPort}`).concat(LOOPBACK.has(host) ? [] : [`${host}:${actualPort}`]));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/mcp') return jsonError(res, 404, 'Not found: the MCP endpoint is /mcp.');
    if (!allowedHosts().has(String(req.headers.host ?? ''))) return jsonError(res, 403, 'Forbidden: unexpected Host header.');
    const origin = req.headers.origin;
    if (origin) {
      let ok = false;
      try {
        ok = LOOPBACK.has(new URL(origin).hostname) || new URL(origin).hostname === host;
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
      const created = createServer(app);
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

  const server: Server = createHttpServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      app.logger.error(`HTTP handler failed: ${(e as Error).message}`);
      if (!res.headersSent) jsonError(res, 500, 'Internal error.');
    });
  });
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
