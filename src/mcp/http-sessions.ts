/**
 * The sessions one HTTP instance holds: created at initialize, found by id on
 * every request (renewed in the shared store, so a session ended on one
 * instance ends on all), adopted from the shared store when begun on another
 * instance, evicted (the longest idle) at the cap, and swept when idle.
 * Without a shared store a session lives only here.
 */
import { randomUUID } from 'node:crypto';
import {
  WebStandardStreamableHTTPServerTransport,
  type EventStore,
} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { AppContext } from '../services/context.js';
import type { Logger } from '../shared/log.js';
import type { SharedSessions } from '../state/sessions.js';
import { drain } from './http-bridge.js';
import { SessionEventStore } from './http-events.js';
import { createServer, type CreatedServer } from './server.js';

/** The `retry` of each stream's priming event: how soon a client whose stream dropped reconnects. */
export const RETRY_MS = 1000;

export interface Session {
  /** The initialize request, so the session can be recorded again if the shared store loses it. */
  init: unknown;
  transport: WebStandardStreamableHTTPServerTransport;
  created: CreatedServer;
  lastSeen: number;
}

export interface SessionsOptions {
  app: AppContext;
  /** Where sessions are shared with other instances; none: this instance alone. */
  shared: SharedSessions | undefined;
  /** Where every stream's events are kept for Last-Event-ID (wrapped per session). */
  events: EventStore;
  idleMs: number;
  maxSessions: number;
  logger: Logger;
  now?: () => number;
}

export class HttpSessions {
  private readonly local = new Map<string, Session>();
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly o: SessionsOptions) {
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.local.size;
  }

  has(id: string): boolean {
    return this.local.has(id);
  }

  /** Checks for idle sessions a few times per idle period (at most once a minute, at least every 50 ms). */
  startSweeping(): void {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(50, this.o.idleMs / 4)));
    this.sweeper.unref();
  }

  stopSweeping(): void {
    clearInterval(this.sweeper);
  }

  /** Closes the sessions idle longer than the idle time (here only: the shared store expires its copy itself). */
  sweep(): void {
    const now = this.now();
    for (const [id, sess] of this.local) if (now - sess.lastSeen > this.o.idleMs) this.drop(id, 'idle');
  }

  /** A new session for an initialize request; at the cap the longest idle makes room. */
  async create(init: unknown): Promise<Session> {
    if (this.local.size >= this.o.maxSessions) this.evictOldest();
    return this.open(undefined, init);
  }

  /** A known session: local (renewed in the shared store), else adopted from it. */
  async find(sessionId: string): Promise<Session | 'gone' | 'unavailable'> {
    const { shared, idleMs } = this.o;
    const local = this.local.get(sessionId);
    if (local) {
      local.lastSeen = this.now();
      // Checked and renewed on every request: a session ended on one instance ends on all at once.
      if (shared) {
        // The shared store away: this instance goes on serving the session it holds.
        const st = await shared.touchSession(sessionId, idleMs).catch(() => 'alive' as const);
        if (st === 'ended') {
          this.drop(sessionId, 'ended on another instance');
          return 'gone';
        }
        if (st === 'missing') await this.record(sessionId, local.init).catch(() => undefined);
      }
      return local;
    }
    if (!shared) return 'gone';
    try {
      return (await this.adopt(sessionId)) ?? 'gone';
    } catch {
      return 'unavailable';
    }
  }

  /** Whether a session exists here or in the shared store (a store that does not answer counts as no). */
  async known(sessionId: string): Promise<boolean> {
    return this.local.has(sessionId) || !!(await this.o.shared?.getSession(sessionId).catch(() => undefined));
  }

  /** Ends a session this instance does not hold: in the shared store, for every instance. */
  async endElsewhere(sessionId: string): Promise<void> {
    await this.o.shared?.deleteSession(sessionId).catch(() => undefined);
  }

  /** Local copies go; the sessions stay in the shared store for the other instances. */
  async closeAll(): Promise<void> {
    for (const { transport } of this.local.values()) await transport.close().catch(() => undefined);
  }

  private drop(id: string, why: string): void {
    const sess = this.local.get(id);
    if (!sess) return;
    this.local.delete(id);
    void sess.transport.close().catch(() => undefined);
    this.o.logger.info(`closed MCP HTTP session: ${why}`);
  }

  /** At the cap, the session idle the longest makes room for a new one (it stays in the shared store for another instance). */
  private evictOldest(): void {
    let oldest: [string, Session] | undefined;
    for (const e of this.local) if (!oldest || e[1].lastSeen < oldest[1].lastSeen) oldest = e;
    if (oldest) this.drop(oldest[0], `the longest idle, to stay within ${this.o.maxSessions} sessions`);
  }

  private record(id: string, init: unknown): Promise<void> {
    return this.o.shared!.putSession(
      id,
      JSON.stringify({ init, at: new Date(this.now()).toISOString() }),
      this.o.idleMs,
    );
  }

  /** A transport and server for one session: a new one (initialize), or one rebuilt here from the shared store. */
  private async open(sessionId?: string, init?: unknown): Promise<Session> {
    const { app, shared, events, logger } = this.o;
    const created = createServer(app, { exclusive: false });
    const id = sessionId ?? randomUUID();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      // Event ids are bound to the session: another session's Last-Event-ID replays nothing.
      eventStore: new SessionEventStore(events, id),
      retryInterval: RETRY_MS,
      onsessioninitialized: async (id) => {
        this.local.set(id, entry);
        // Recorded before the client hears its session id, so another instance can take it over at once.
        if (shared && init !== undefined)
          await this.record(id, init).catch((e: unknown) =>
            logger.warn(`session not shared (${(e as Error).message}); only this instance can serve it`),
          );
      },
      onsessionclosed: async (id) => {
        // DELETE: the session ends everywhere.
        await shared?.deleteSession(id).catch(() => undefined);
      },
    });
    const entry: Session = { init, transport, created, lastSeen: this.now() };
    transport.onclose = () => {
      if (transport.sessionId && this.local.get(transport.sessionId) === entry) this.local.delete(transport.sessionId);
      created.dispose();
    };
    await created.server.connect(transport);
    return entry;
  }

  /** Takes over a session begun on another instance: its initialize is replayed here, unseen by the client. */
  private async adopt(sessionId: string): Promise<Session | undefined> {
    const saved = await this.o.shared?.getSession(sessionId);
    if (!saved) return undefined;
    const { init } = JSON.parse(saved) as { init: unknown };
    if (this.local.size >= this.o.maxSessions) this.evictOldest();
    const entry = await this.open(sessionId);
    entry.init = init;
    const post = (body: unknown, extra: Record<string, string> = {}): Request =>
      new Request('http://localhost/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra },
        body: JSON.stringify(body),
      });
    const status = await drain(await entry.transport.handleRequest(post(init), { parsedBody: init }));
    if (status !== 200) {
      this.drop(sessionId, 'could not be rebuilt');
      return undefined;
    }
    const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
    await drain(
      await entry.transport.handleRequest(post(initialized, { 'mcp-session-id': sessionId }), {
        parsedBody: initialized,
      }),
    );
    this.o.logger.info('took over an MCP HTTP session begun on another instance');
    return entry;
  }
}
