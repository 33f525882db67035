/**
 * HTTP sessions and their event streams in the shared Redis, under the same
 * key prefix (and hash tag) as the rest of the shared state: a session's
 * initialize as a string key that expires with the session, and each stream as
 * a capped Redis stream. Like every command on RedisState, these fail at once
 * while Redis is away (no offline queue).
 */
import { Script, type RedisState } from './redis.js';
import {
  ENDED_TTL_MS,
  EVENTS_PAGE,
  EVENTS_PER_STREAM,
  MIN_TTL_MS,
  type SessionStatus,
  type SharedSessions,
  type StoredEvent,
} from './sessions.js';

/** The value of an ended session's key: no initialize can be read from it. */
const ENDED = 'ended';

/** Renews a session key unless it is gone (0) or a tombstone (-1), in one step. */
const TOUCH = new Script(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v == '${ENDED}' then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

export class RedisSessionStore implements SharedSessions {
  readonly kind = 'redis';

  constructor(private readonly state: RedisState) {}

  private key(id: string): string {
    return `${this.state.prefix}session:${id}`;
  }

  private cmd(args: Array<string | number>): Promise<unknown> {
    return this.state.call((r) => r.sendCommand(args.map(String)));
  }

  async putSession(id: string, json: string, ttlMs: number): Promise<void> {
    await this.cmd(['SET', this.key(id), json, 'PX', Math.max(MIN_TTL_MS, ttlMs)]);
  }

  async touchSession(id: string, ttlMs: number): Promise<SessionStatus> {
    const r = Number(await this.state.call((x) => TOUCH.run(x, [this.key(id)], [Math.max(MIN_TTL_MS, ttlMs)])));
    return r === 1 ? 'alive' : r === -1 ? 'ended' : 'missing';
  }

  async getSession(id: string): Promise<string | undefined> {
    const v = (await this.cmd(['GET', this.key(id)])) as string | null;
    return v === null || v === ENDED ? undefined : v;
  }

  async deleteSession(id: string, ttlMs = ENDED_TTL_MS): Promise<void> {
    await this.cmd(['SET', this.key(id), ENDED, 'PX', ttlMs]);
  }

  async appendEvent(streamId: string, json: string, ttlMs: number): Promise<string> {
    const key = `${this.state.prefix}events:${streamId}`;
    const id = String(await this.cmd(['XADD', key, 'MAXLEN', '~', EVENTS_PER_STREAM, '*', 'm', json]));
    await this.cmd(['PEXPIRE', key, Math.max(MIN_TTL_MS, ttlMs)]);
    return id;
  }

  async eventsAfter(streamId: string, afterId: string, count = EVENTS_PAGE): Promise<StoredEvent[]> {
    const rows = (await this.cmd([
      'XRANGE',
      `${this.state.prefix}events:${streamId}`,
      `(${afterId}`,
      '+',
      'COUNT',
      count,
    ])) as Array<[string, string[]]>;
    return rows.map(([id, fields]) => ({ id, json: fields[fields.indexOf('m') + 1] ?? '{}' }));
  }

  ping(): Promise<boolean> {
    return this.state.ping();
  }
}
