/**
 * What several HTTP instances share so that any of them serves any session:
 * each session's initialize request (to rebuild it elsewhere) and each stream's
 * events (to resume it elsewhere). Two implementations keep one contract
 * (test/integration/session-store.test.ts): Redis for a fleet
 * (redis-sessions.ts), memory for instances in one process (memory-sessions.ts).
 * Values are opaque JSON strings; the HTTP edge decides what goes in them.
 */
import { StateUnavailableError } from '../shared/errors.js';

/** A session as the store sees it on renewal: still there, ended by a DELETE anywhere, or lost (expired, or a restart). */
export type SessionStatus = 'alive' | 'ended' | 'missing';

export interface SessionStore {
  /** Keeps what an instance needs to take a session over, for `ttlMs` after its last use. */
  putSession(id: string, json: string, ttlMs: number): Promise<void>;
  /** Renews a session for `ttlMs` and says whether it is alive, ended or missing. */
  touchSession(id: string, ttlMs: number): Promise<SessionStatus>;
  /** The stored session, or undefined when unknown, expired or ended. */
  getSession(id: string): Promise<string | undefined>;
  /** Ends a session everywhere: a tombstone, so the instance holding it stops serving it too. */
  deleteSession(id: string, ttlMs?: number): Promise<void>;
  /** Whether the store answers (for /healthz); never throws. */
  ping(): Promise<boolean>;
}

export interface StoredEvent {
  /** "<ms>-<seq>", increasing within a stream, as Redis stream entry ids are. */
  id: string;
  json: string;
}

export interface EventLog {
  /** Appends one event to a stream; returns its entry id. Streams are capped and expire `ttlMs` after their last event. */
  appendEvent(streamId: string, json: string, ttlMs: number): Promise<string>;
  /** The events of a stream after an entry id, oldest first, at most `count`. */
  eventsAfter(streamId: string, afterId: string, count?: number): Promise<StoredEvent[]>;
}

/** Sessions and their events, shared by the instances that use the same store. */
export interface SharedSessions extends SessionStore, EventLog {
  /** Which backend, as /healthz reports it. */
  readonly kind: 'redis' | 'memory';
}

/** A stored entry is kept at least this long (Redis keeps a key at least a second). */
export const MIN_TTL_MS = 1000;
/** Events kept per stream, the oldest dropped first. */
export const EVENTS_PER_STREAM = 10_000;
/** Events read per call by default. */
export const EVENTS_PAGE = 500;
/** How long the tombstone of an ended session is kept by default. */
export const ENDED_TTL_MS = 86_400_000;

/** How long the HTTP edge waits for the shared store on one call before it treats the store as away. */
export const STORE_DEADLINE_MS = 5000;

/**
 * The same store with a deadline on every call: a store that is connected but
 * does not answer fails like one that is away (StateUnavailableError; ping
 * says false), so no request waits on it longer than `ms`.
 */
export function withDeadline(store: SharedSessions, ms = STORE_DEADLINE_MS): SharedSessions {
  const bound = <T>(what: string, p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new StateUnavailableError(`The shared session store did not answer ${what} within ${ms} ms.`)),
        ms,
      );
      t.unref();
      p.then(
        (v) => (clearTimeout(t), resolve(v)),
        (e: unknown) => (clearTimeout(t), reject(e as Error)),
      );
    });
  return {
    kind: store.kind,
    putSession: (id, json, ttlMs) => bound('a session write', store.putSession(id, json, ttlMs)),
    touchSession: (id, ttlMs) => bound('a session renewal', store.touchSession(id, ttlMs)),
    getSession: (id) => bound('a session read', store.getSession(id)),
    deleteSession: (id, ttlMs) => bound('a session end', store.deleteSession(id, ttlMs)),
    appendEvent: (streamId, json, ttlMs) => bound('an event write', store.appendEvent(streamId, json, ttlMs)),
    eventsAfter: (streamId, afterId, count) => bound('an event read', store.eventsAfter(streamId, afterId, count)),
    ping: () => bound('a ping', store.ping()).catch(() => false),
  };
}
