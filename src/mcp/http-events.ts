/**
 * The in-process event store for Streamable HTTP (without shared state): each
 * stream's events are kept, bounded, so a client whose SSE stream dropped
 * resumes with Last-Event-ID and gets what it missed. With RUNWARE_STATE_URL
 * the shared store (http-shared.ts) does this across instances instead.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Per stream, the newest events kept; and how many streams, oldest dropped first. */
const PER_STREAM = 1000;
const STREAMS = 2000;

interface Stream {
  seq: number;
  events: Array<{ seq: number; message: JSONRPCMessage | Record<string, never> }>;
  touched: number;
}

const isMessage = (m: unknown): m is JSONRPCMessage =>
  !!m && typeof m === 'object' && (m as { jsonrpc?: unknown }).jsonrpc === '2.0';

/** Event ids are "<stream>_<n>": the stream is known from the id alone. */
export function parseMemoryEventId(id: string): { streamId: string; seq: number } | undefined {
  const i = id.lastIndexOf('_');
  if (i <= 0) return undefined;
  const seq = Number(id.slice(i + 1));
  return Number.isInteger(seq) && seq > 0 ? { streamId: id.slice(0, i), seq } : undefined;
}

export class MemoryEventStore implements EventStore {
  private readonly streams = new Map<string, Stream>();
  private created = 0;

  constructor(private readonly ttlMs: number) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    let s = this.streams.get(streamId);
    if (!s) {
      if (++this.created % 64 === 0 || this.streams.size >= STREAMS) this.sweep();
      s = { seq: 0, events: [], touched: Date.now() };
      this.streams.set(streamId, s);
    }
    s.seq++;
    s.touched = Date.now();
    s.events.push({ seq: s.seq, message });
    if (s.events.length > PER_STREAM) s.events.splice(0, s.events.length - PER_STREAM);
    return `${streamId}_${s.seq}`;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const at = parseMemoryEventId(eventId);
    return at && this.streams.has(at.streamId) ? at.streamId : undefined;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const at = parseMemoryEventId(lastEventId);
    const s = at && this.streams.get(at.streamId);
    if (!at || !s) throw new Error(`unknown event id ${lastEventId}`);
    s.touched = Date.now();
    for (const e of s.events)
      if (e.seq > at.seq && isMessage(e.message)) await send(`${at.streamId}_${e.seq}`, e.message);
    return at.streamId;
  }

  /** Streams idle past the session's idle time go, and the oldest past the cap. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.streams) if (now - s.touched > this.ttlMs) this.streams.delete(id);
    while (this.streams.size >= STREAMS) this.streams.delete(this.streams.keys().next().value as string);
  }

  get size(): number {
    return this.streams.size;
  }
}

/**
 * One session's view of the shared event store: its streams are stored under
 * the session's id, so an event id names its session, and a replay request
 * for another session's stream (the standalone GET stream is "_GET_stream" in
 * every session) finds nothing and is refused.
 */
export class SessionEventStore implements EventStore {
  private readonly prefix: string;

  constructor(
    private readonly inner: EventStore,
    sessionId: string,
  ) {
    this.prefix = `${sessionId}~`;
  }

  /** Whether a stream id (as the shared store spells it) belongs to `sessionId`. */
  static owns(streamId: string, sessionId: string): boolean {
    return streamId.startsWith(`${sessionId}~`);
  }

  storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    return this.inner.storeEvent(`${this.prefix}${streamId}`, message);
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const full = await this.inner.getStreamIdForEventId?.(eventId);
    return full?.startsWith(this.prefix) ? full.slice(this.prefix.length) : undefined;
  }

  async replayEventsAfter(
    lastEventId: string,
    opts: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const full = await this.inner.getStreamIdForEventId?.(lastEventId);
    if (!full?.startsWith(this.prefix)) throw new Error('that event id belongs to another session');
    return (await this.inner.replayEventsAfter(lastEventId, opts)).slice(this.prefix.length);
  }
}
