/**
 * Streamable HTTP at /mcp, assembled from its parts:
 *   http-guards.ts    token (required off loopback), Host and Origin (DNS rebinding), body cap, deadlines
 *   http-sessions.ts  create, find, adopt from the shared store, evict at the cap, sweep the idle
 *   http-routes.ts    /healthz, /mcp by method, --stateless, resumed streams followed from the shared store
 *   http-health.ts    GET /healthz for load balancers
 *   http-listen.ts    the node server, listen errors as settings to change, the URL, closing
 * Sessions by default; with RUNWARE_STATE_URL they and their events live in the
 * shared store too (state/sessions.ts), so any instance serves any session and
 * resumes its streams; --stateless serves each POST on its own.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { AppContext } from '../services/context.js';
import { ConfigError } from '../shared/errors.js';
import { STORE_DEADLINE_MS, withDeadline, type SharedSessions } from '../state/sessions.js';
import { MemoryEventStore } from './http-events.js';
import { applyDeadlines, requireTokenOffLoopback, type GuardConfig } from './http-guards.js';
import { closeServer, edgeServer, endpointUrl, listen } from './http-listen.js';
import { routes } from './http-routes.js';
import { HttpSessions } from './http-sessions.js';
import { SharedEventStore } from './http-shared.js';

export interface HttpHandle {
  url: string;
  sessionCount: () => number;
  close: () => Promise<void>;
}

export interface HttpOptions {
  sessionIdleMs?: number;
  maxSessions?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Sessions shared with other instances in this process; by default the shared Redis (RUNWARE_STATE_URL), if any. */
  sharedSessions?: SharedSessions;
  /** The clock sessions go idle by. */
  now?: () => number;
  /** The longest one call to the shared store may take before the store counts as away. */
  storeDeadlineMs?: number;
}

/** The shared store the configuration names; a failure to reach it is a setting to fix (exit 2). */
async function configuredSharedSessions(app: AppContext): Promise<SharedSessions | undefined> {
  return app.sharedSessions()?.catch((e: unknown) => {
    throw e instanceof ConfigError ? e : new ConfigError(`RUNWARE_STATE_URL: ${(e as Error).message}`);
  });
}

export async function startHttp(app: AppContext, opts: HttpOptions = {}): Promise<HttpHandle> {
  const { host, port, token, stateless } = app.config.http;
  requireTokenOffLoopback(host, token);
  const idleMs = opts.sessionIdleMs ?? app.config.http.idleMs;
  const logger = app.logger.child('http');
  const store = opts.sharedSessions ?? (await configuredSharedSessions(app));
  // Every read and write of the shared store has a deadline: a Redis that hangs is a Redis that is away.
  const shared = store && withDeadline(store, opts.storeDeadlineMs ?? STORE_DEADLINE_MS);
  // Every stream is resumable: its events are kept (in the shared store when there is one, else here) for Last-Event-ID.
  const sharedEvents = shared ? new SharedEventStore(shared, idleMs, logger) : undefined;
  const events: EventStore = sharedEvents ?? new MemoryEventStore(idleMs);
  const sessions = new HttpSessions({
    app,
    shared,
    events,
    idleMs,
    maxSessions: opts.maxSessions ?? app.config.http.maxSessions,
    logger,
    ...(opts.now ? { now: opts.now } : {}),
  });

  let actualPort = port;
  // DNS-rebinding protection: the Host names of the port actually bound, plus --allowed-hosts.
  const guard: GuardConfig = { host, port: () => actualPort, token, allowedHosts: app.config.http.allowedHosts };
  const handle = routes({
    app,
    guard,
    health: { instanceId: app.config.instanceId, stateless, shared, sessionCount: () => sessions.size },
    stateless,
    sessions,
    shared: shared && sharedEvents ? { store: shared, events: sharedEvents } : undefined,
    logger,
  });
  const server = edgeServer(handle, logger);
  applyDeadlines(server, opts);
  sessions.startSweeping();
  try {
    actualPort = await listen(server, host, port);
  } catch (e) {
    sessions.stopSweeping();
    throw e;
  }
  return {
    url: endpointUrl(host, actualPort),
    sessionCount: () => sessions.size,
    close: async () => {
      sessions.stopSweeping();
      await sessions.closeAll();
      await closeServer(server);
    },
  };
}
