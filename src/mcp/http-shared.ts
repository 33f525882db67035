/**
 * What lets several HTTP instances serve one client: event streams kept in the
 * shared event log (Redis in a fleet; state/sessions.ts). Any instance can
 * replay a stream after Last-Event-ID, and follow a stream whose call is still
 * running on another instance until its answer arrives.
 */
import type { ServerResponse } from 'node:http';
import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../shared/log.js';
import { sleep } from '../shared/time.js';
import { EVENTS_PAGE, type EventLog } from '../state/sessions.js';

/** Event ids are "<stream>.<entry id in the shared log>": the stream is known from the id alone. */
export function parseEventId(eventId: string): { streamId: string; entry: string } | undefined {
  const i = eventId.lastIndexOf('.');
  if (i <= 0) return undefined;
  const entry = eventId.slice(i + 1);
  return /^\d+-\d+$/.test(entry) ? { streamId: eventId.slice(0, i), entry } : undefined;
}

/** A priming event (empty data) is a cursor, not a message. */
const isMessage = (m: unknown): m is JSONRPCMessage =>
  !!m && typeof m === 'object' && (m as { jsonrpc?: unknown }).jsonrpc === '2.0';
const isResponse = (m: JSONRPCMessage): boolean => 'result' in m || 'error' in m;

/** The SDK's event store over the shared log. */
export class SharedEventStore implements EventStore {
  /** Streams this instance wrote to: a resume of one of them is the local transport's to serve. */
  private readonly mine = new Set<string>();
  private fallback = 0;
  /** One warning per outage: the warning itself goes out as an MCP log event, which would fail to store again. */
  private warned = false;

  constructor(
    private readonly log: EventLog,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  isLocal(streamId: string): boolean {
    return this.mine.has(streamId);
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    this.mine.add(streamId);
    if (this.mine.size > 10_000) this.mine.delete(this.mine.values().next().value as string);
    try {
      const id = `${streamId}.${await this.log.appendEvent(streamId, JSON.stringify(message), this.ttlMs)}`;
      this.warned = false;
      return id;
    } catch (e) {
      // The shared store away: the live stream still gets the event; only a later resume past it is lost.
      if (!this.warned)
        this.logger.warn(`events are not stored for resuming until the shared state is back (${(e as Error).message})`);
      this.warned = true;
      return `${streamId}.local-${++this.fallback}`;
    }
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return parseEventId(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const at = parseEventId(lastEventId);
    if (!at) throw new Error(`unknown event id ${lastEventId}`);
    let after = at.entry;
    for (;;) {
      const batch = await this.log.eventsAfter(at.streamId, after);
      for (const e of batch) {
        after = e.id;
        const m = JSON.parse(e.json) as unknown;
        if (isMessage(m)) await send(`${at.streamId}.${e.id}`, m);
      }
      if (batch.length < EVENTS_PAGE) return at.streamId;
    }
  }
}

/**
 * Serves a resumed stream whose call runs on another instance: what was missed,
 * then each new event as that instance stores it, until the call's answer (or
 * the deadline, or the client leaving). The client may resume again after.
 */
export async function followRemoteStream(
  res: ServerResponse,
  log: EventLog,
  sessionId: string,
  lastEventId: string,
  deadlineMs: number,
  logger: Logger,
): Promise<void> {
  const at = parseEventId(lastEventId)!;
  logger.info('resuming a stream whose call runs on another instance');
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'mcp-session-id': sessionId,
  });
  res.flushHeaders();
  let gone = false;
  res.once('close', () => (gone = true));
  const end = Date.now() + deadlineMs;
  let after = at.entry;
  let quietSince = Date.now();
  let delay = 20;
  try {
    while (!gone && Date.now() < end) {
      const batch = await log.eventsAfter(at.streamId, after);
      let answered = false;
      for (const e of batch) {
        after = e.id;
        const m = JSON.parse(e.json) as unknown;
        if (!isMessage(m)) continue;
        res.write(`event: message\nid: ${at.streamId}.${e.id}\ndata: ${e.json}\n\n`);
        quietSince = Date.now();
        if (isResponse(m)) answered = true;
      }
      if (answered) break;
      if (batch.length) {
        delay = 20;
        continue;
      }
      // An SSE comment keeps proxies from cutting a quiet stream.
      if (Date.now() - quietSince > 15_000) {
        res.write(': keep-alive\n\n');
        quietSince = Date.now();
      }
      await sleep(delay);
      delay = Math.min(250, delay * 2);
    }
  } catch {
    // The shared store went away: end the stream; the client resumes from its last event id.
  } finally {
    if (!res.writableEnded) res.end();
  }
}
