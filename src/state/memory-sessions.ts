/**
 * HTTP sessions and their events in this process's memory, with the contract
 * of the Redis store: what several HTTP instances in one process share (tests,
 * an embedding host), and the reference the Redis store is checked against.
 * Expiry follows an injected clock.
 */
import {
  ENDED_TTL_MS,
  EVENTS_PAGE,
  EVENTS_PER_STREAM,
  MIN_TTL_MS,
  type SessionStatus,
  type SharedSessions,
  type StoredEvent,
} from './sessions.js';

interface Entry {
  /** undefined for the tombstone of an ended session. */
  json: string | undefined;
  expires: number;
}

interface Stream {
  events: StoredEvent[];
  expires: number;
  /** The last id given, so ids keep increasing even when the clock does not move. */
  ms: number;
  seq: number;
}

/** Stream entry ids "<ms>-<seq>" in order. */
const order = (id: string): [number, number] => {
  const [ms, seq] = id.split('-');
  return [Number(ms), Number(seq ?? 0)];
};
const after = (a: string, b: string): boolean => {
  const [am, as] = order(a);
  const [bm, bs] = order(b);
  return am > bm || (am === bm && as > bs);
};

export class MemorySessionStore implements SharedSessions {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, Entry>();
  private readonly streams = new Map<string, Stream>();
  private writes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** An entry not yet expired; an expired one is dropped on sight. */
  private live<T extends { expires: number }>(map: Map<string, T>, key: string): T | undefined {
    const v = map.get(key);
    if (!v || v.expires > this.now()) return v;
    map.delete(key);
    return undefined;
  }

  /** Now and then, what expired unread goes too, so memory stays bounded by what is alive. */
  private pruneNowAndThen(): void {
    if (++this.writes % 64) return;
    const now = this.now();
    for (const map of [this.sessions, this.streams] as Array<Map<string, { expires: number }>>)
      for (const [k, v] of map) if (v.expires <= now) map.delete(k);
  }

  async putSession(id: string, json: string, ttlMs: number): Promise<void> {
    this.pruneNowAndThen();
    this.sessions.set(id, { json, expires: this.now() + Math.max(MIN_TTL_MS, ttlMs) });
  }

  async touchSession(id: string, ttlMs: number): Promise<SessionStatus> {
    const e = this.live(this.sessions, id);
    if (!e) return 'missing';
    if (e.json === undefined) return 'ended';
    e.expires = this.now() + Math.max(MIN_TTL_MS, ttlMs);
    return 'alive';
  }

  async getSession(id: string): Promise<string | undefined> {
    return this.live(this.sessions, id)?.json;
  }

  async deleteSession(id: string, ttlMs = ENDED_TTL_MS): Promise<void> {
    this.pruneNowAndThen();
    this.sessions.set(id, { json: undefined, expires: this.now() + ttlMs });
  }

  async appendEvent(streamId: string, json: string, ttlMs: number): Promise<string> {
    let s = this.live(this.streams, streamId);
    if (!s) {
      this.pruneNowAndThen();
      s = { events: [], expires: 0, ms: 0, seq: 0 };
      this.streams.set(streamId, s);
    }
    const now = this.now();
    if (now > s.ms) [s.ms, s.seq] = [now, 0];
    else s.seq++;
    const id = `${s.ms}-${s.seq}`;
    s.events.push({ id, json });
    if (s.events.length > EVENTS_PER_STREAM) s.events.splice(0, s.events.length - EVENTS_PER_STREAM);
    s.expires = now + Math.max(MIN_TTL_MS, ttlMs);
    return id;
  }

  async eventsAfter(streamId: string, afterId: string, count = EVENTS_PAGE): Promise<StoredEvent[]> {
    const s = this.live(this.streams, streamId);
    return s ? s.events.filter((e) => after(e.id, afterId)).slice(0, count) : [];
  }

  async ping(): Promise<boolean> {
    return true;
  }

  /** Every value held, for tests that look for what must not be stored. */
  dump(): string[] {
    return [
      ...[...this.sessions].map(([k, v]) => `${k} ${v.json ?? 'ended'}`),
      ...[...this.streams].flatMap(([k, s]) => s.events.map((e) => `${k} ${e.json}`)),
    ];
  }
}
