/**
 * The shared state: the journal, the used UUIDs, the spend ledger, the global
 * concurrency leases and the HTTP sessions of every instance, in one Redis
 * (RUNWARE_STATE_URL). Every write that must agree across instances is one Lua
 * script, so it is atomic. All keys share one hash tag, so a cluster keeps
 * them in one slot. node-redis is loaded only when the URL is set.
 *
 * Failure: commands are never queued while disconnected; they fail at once
 * with StateUnavailableError, and the client reconnects by itself.
 */
import { createRequire } from 'node:module';
import { ConfigError, StateUnavailableError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { jobRecordOf, readAll, taskRecordOf, type Listed } from './records.js';
import {
  DURATION_WEIGHT,
  saneDuration,
  inLineage,
  lineageUuids,
  type AdmitBatch,
  type AdmitResult,
  type JobRecord,
  JOB_TTL_MS,
  jobExpiresAt,
  type Overrun,
  type Reservation,
  type ReservationMeta,
  type SpendSummary,
  type StateStore,
  type StoredTask,
  type TaskFilter,
  type TaskRecord,
} from './types.js';

type Reply = unknown;
/** The little of node-redis used here: raw commands, so no command typings leak into the rest. */
export interface RedisLink {
  sendCommand(args: string[]): Promise<Reply>;
  readonly isReady: boolean;
  duplicate(): RedisLink;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  publish(channel: string, message: string): Promise<number>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Day totals and ledger entries outlive their day by this long (the cap needs only today's). */
const DAY_TTL_S = 40 * 86_400;
const CONNECT_TIMEOUT_MS = 2000;

/** The URL as it may be shown: no password, no user. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'redis://(unparsable URL)';
  }
}

/** Opens a node-redis client that fails fast while Redis is away and reconnects on its own. */
export async function connectRedis(url: string, logger: Logger): Promise<RedisLink> {
  if (!/^rediss?:\/\//.test(url))
    throw new ConfigError(
      `RUNWARE_STATE_URL must start with redis:// or rediss:// (got ${safeUrl(url)}).`,
      'Set RUNWARE_STATE_URL=redis://host:6379 (rediss:// for TLS), or unset it to keep state in the embedded journal.',
    );
  let mod: { createClient: (o: unknown) => RedisLink };
  try {
    mod = createRequire(import.meta.url)('redis') as typeof mod;
  } catch (e) {
    throw new ConfigError(
      `RUNWARE_STATE_URL is set, but the redis module does not load (${(e as Error).message}).`,
      'Reinstall runware-mcp-server (npm ci), or unset RUNWARE_STATE_URL.',
    );
  }
  let warned = false;
  const client = mod.createClient({
    url,
    // A command while disconnected fails now rather than waiting in a queue: no call hangs on Redis.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) =>
        Math.min(50 * 2 ** Math.min(retries, 5), 1000) + Math.floor(Math.random() * 50),
    },
  });
  client.on('error', (e: unknown) => {
    if (warned) return;
    warned = true;
    logger.warn(`shared state at ${safeUrl(url)} unreachable: ${(e as Error).message}; reconnecting`);
  });
  client.on('ready', () => {
    if (warned) logger.info(`shared state at ${safeUrl(url)} is back`);
    warned = false;
  });
  // The first connection is waited for briefly; past that, calls fail fast until it comes.
  const first = client.connect().catch(() => undefined);
  await Promise.race([first, new Promise((r) => setTimeout(r, CONNECT_TIMEOUT_MS).unref())]);
  return client;
}

/** A Lua script, run by its SHA and loaded on first use (or after a Redis restart forgot it). */
export class Script {
  private sha: string | undefined;
  constructor(private readonly source: string) {}
  async run(r: RedisLink, keys: string[], args: Array<string | number>): Promise<Reply> {
    const argv = args.map(String);
    if (this.sha) {
      try {
        return await r.sendCommand(['EVALSHA', this.sha, String(keys.length), ...keys, ...argv]);
      } catch (e) {
        if (!/NOSCRIPT/.test(String((e as Error).message))) throw e;
      }
    }
    this.sha = String(await r.sendCommand(['SCRIPT', 'LOAD', this.source]));
    return r.sendCommand(['EVALSHA', this.sha, String(keys.length), ...keys, ...argv]);
  }
}

// Shared Lua pieces. p = key prefix (with the hash tag).
const LUA_LIB = `
local p = ARGV[1]
local function reserve(uuid, day, amount, model, n, now, units, source, holder)
  if redis.call('HSETNX', p..'ledger:'..uuid, 'reserved', amount) == 1 then
    redis.call('HSET', p..'ledger:'..uuid, 'day', day, 'model', model, 'n', n, 'at', now, 'units', units or 0, 'source', source or '', 'holder', holder or '')
    redis.call('ZADD', p..'open', now, uuid)
    redis.call('EXPIRE', p..'ledger:'..uuid, ${DAY_TTL_S})
    redis.call('HINCRBYFLOAT', p..'day:'..day, 'spent', amount)
    redis.call('HINCRBYFLOAT', p..'day:'..day, 'pending', amount)
    redis.call('INCRBYFLOAT', p..'total', amount)
    redis.call('EXPIRE', p..'day:'..day, ${DAY_TTL_S})
  end
end
local function put(root, rec)
  for _, u in ipairs(rec.links) do redis.call('SET', p..'uuid:'..u, root) end
  redis.call('SET', p..'task:'..root, rec.json)
  redis.call('ZADD', p..'tasks', rec.updatedAt, root)
end
local function settle(uuid, actual)
  local e = redis.call('HMGET', p..'ledger:'..uuid, 'day', 'reserved', 'actual', 'model', 'n', 'units', 'source', 'released')
  if not e[1] then return nil end
  local prev = tonumber(e[3] or e[2])
  redis.call('HINCRBYFLOAT', p..'day:'..e[1], 'spent', actual - prev)
  redis.call('INCRBYFLOAT', p..'total', actual - prev)
  if not e[3] then
    redis.call('HINCRBYFLOAT', p..'day:'..e[1], 'pending', -tonumber(e[2]))
    redis.call('ZREM', p..'open', uuid)
  end
  redis.call('HSET', p..'ledger:'..uuid, 'actual', actual)
  if actual > 0 and e[4] and e[4] ~= '' then
    local k = p..'maxcost:'..e[4]..'|'..e[5]
    local m = tonumber(redis.call('GET', k) or '0')
    if actual > m then redis.call('SET', k, actual) end
    local units = tonumber(e[6] or '0') or 0
    if units > 0 then
      local ku = p..'maxunit:'..e[4]
      local mu = tonumber(redis.call('GET', ku) or '0')
      if actual / units > mu then redis.call('SET', ku, actual / units) end
    end
  end
  -- A first charge above its reservation is an overrun, recorded in the same step.
  local reserved = tonumber(e[2])
  if e[3] or actual <= reserved + 1e-9 then return nil end
  local o = {taskUUID = uuid, day = e[1], model = e[4] or '', reservedUsd = reserved, chargedUsd = actual, usd = actual - reserved, source = e[8] and 'released' or ((e[7] and e[7] ~= '') and e[7] or 'unknown')}
  redis.call('HINCRBYFLOAT', p..'day:'..e[1], 'overrun', actual - reserved)
  redis.call('LPUSH', p..'overruns:'..e[1], cjson.encode(o))
  redis.call('LTRIM', p..'overruns:'..e[1], 0, 199)
  redis.call('EXPIRE', p..'overruns:'..e[1], ${DAY_TTL_S})
  return o
end
`;

const CLAIM = new Script(`${LUA_LIB}
local b = cjson.decode(ARGV[2])
local taken = {}
for _, u in ipairs(b.callers) do if redis.call('EXISTS', p..'uuid:'..u) == 1 then table.insert(taken, u) end end
if #taken > 0 then return cjson.encode(taken) end
for _, u in ipairs(b.uuids) do redis.call('SET', p..'uuid:'..u, u, 'NX') end
return '[]'`);

const ADMIT = new Script(`${LUA_LIB}
local b = cjson.decode(ARGV[2])
for _, u in ipairs(b.callers) do
  if redis.call('EXISTS', p..'uuid:'..u) == 1 then return cjson.encode({ok = false, taken = u}) end
end
local spent = tonumber(redis.call('HGET', p..'day:'..b.day, 'spent') or '0')
for i, r in ipairs(b.reservations) do
  if b.cap >= 0 and spent + r.amount > b.cap + 1e-9 then
    return cjson.encode({ok = false, refused = i - 1, spentToday = spent, cap = b.cap, wanted = r.amount})
  end
  spent = spent + r.amount
end
for _, u in ipairs(b.uuids) do redis.call('SET', p..'uuid:'..u, u, 'NX') end
for _, r in ipairs(b.reservations) do reserve(r.uuid, b.day, r.amount, r.model, r.n, b.now, r.units, r.source, r.holder) end
for _, r in ipairs(b.records) do put(r.root, r) end
return '{"ok":true}'`);

const RESERVE = new Script(`${LUA_LIB}
local b = cjson.decode(ARGV[2])
local spent = tonumber(redis.call('HGET', p..'day:'..b.day, 'spent') or '0')
if b.cap >= 0 and spent + b.amount > b.cap + 1e-9 then
  return cjson.encode({ok = false, spentToday = spent, cap = b.cap, wanted = b.amount})
end
reserve(b.uuid, b.day, b.amount, b.model, b.n, b.now, b.units, b.source, b.holder)
return cjson.encode({ok = true, reserved = b.amount})`);

const RELEASE = new Script(`${LUA_LIB}
local uuid = ARGV[2]
local e = redis.call('HMGET', p..'ledger:'..uuid, 'day', 'reserved', 'actual')
if not e[1] or e[3] or tonumber(e[2]) <= 0 then return 0 end
local r = tonumber(e[2])
redis.call('HSET', p..'ledger:'..uuid, 'released', r, 'reserved', 0)
redis.call('HINCRBYFLOAT', p..'day:'..e[1], 'spent', -r)
redis.call('HINCRBYFLOAT', p..'day:'..e[1], 'pending', -r)
redis.call('INCRBYFLOAT', p..'total', -r)
redis.call('ZREM', p..'open', uuid)
return 1`);

const FINISH = new Script(`${LUA_LIB}
local b = cjson.decode(ARGV[2])
-- With an expectation, only over the very record that was read (none, when expected is null).
if b.guarded then
  local current = redis.call('GET', p..'task:'..b.root)
  local expected = b.expected
  if expected == cjson.null then expected = false end
  if current ~= expected then return 'changed' end
end
if b.record then put(b.root, b.record) end
local over = {}
for _, s in ipairs(b.settlements) do
  local o = settle(s[1], s[2])
  if o then table.insert(over, o) end
end
if #over == 0 then return '[]' end
return cjson.encode(over)`);

/** A job write: refused (0) with ifActive when the stored job is already done. */
const PUT_JOB = new Script(`
local b = cjson.decode(ARGV[1])
if b.ifActive then
  local cur = redis.call('GET', KEYS[1])
  if cur then
    local s = cjson.decode(cur).status
    if s == 'completed' or s == 'failed' or s == 'cancelled' then return 0 end
  end
end
redis.call('SET', KEYS[1], b.json, 'PX', b.ttl)
redis.call('ZADD', KEYS[2], b.at, b.id)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', b.oldest)
return 1`);

/** An overrun as Lua encoded it: amounts rounded, no empty model. */
const overrunFrom = (o: Overrun): Overrun => {
  const { model, ...rest } = o;
  return {
    ...rest,
    ...(model ? { model } : {}),
    reservedUsd: Number(o.reservedUsd),
    chargedUsd: Number(o.chargedUsd),
    usd: Math.round(Number(o.usd) * 1e6) / 1e6,
  };
};

const recordArg = (root: string, r: TaskRecord): Record<string, unknown> => ({
  root,
  links: lineageUuids(root, r),
  json: JSON.stringify(r),
  updatedAt: Date.parse(r.updatedAt),
});

/** A stored duration entry; anything unreadable is no entry. */
function parseDuration(v: string | null): { ms?: number; n?: number } | undefined {
  if (v === null) return undefined;
  try {
    const o = JSON.parse(v) as unknown;
    return o && typeof o === 'object' ? (o as { ms?: number; n?: number }) : undefined;
  } catch {
    return undefined;
  }
}

export class RedisState implements StateStore {
  readonly location: string;
  /** With the hash tag: every key of one namespace lands in one cluster slot. */
  readonly prefix: string;

  constructor(
    readonly redis: RedisLink,
    url: string,
    namespace: string,
  ) {
    this.location = `${safeUrl(url)} (namespace ${namespace})`;
    this.prefix = `{${namespace}}:`;
  }

  /** Runs a command, turning "Redis is away" into one clear, retryable error. */
  async call<T>(fn: (r: RedisLink) => Promise<T>): Promise<T> {
    if (!this.redis.isReady)
      throw new StateUnavailableError(`The shared state at ${this.location} is unreachable (reconnecting).`);
    try {
      return await fn(this.redis);
    } catch (e) {
      const msg = String((e as Error).message);
      if (/closed|ECONNREFUSED|ECONNRESET|offline|not connected|Socket|EPIPE/i.test(msg) || !this.redis.isReady)
        throw new StateUnavailableError(`The shared state at ${this.location} is unreachable (${msg}).`);
      throw new ConfigError(
        `The shared state at ${this.location} refused a command: ${msg}`,
        'Check that RUNWARE_STATE_URL names a Redis 6.2 or newer that this user may write.',
      );
    }
  }

  private cmd(args: Array<string | number>): Promise<Reply> {
    return this.call((r) => r.sendCommand(args.map(String)));
  }

  private script(s: Script, payload: unknown): Promise<Reply> {
    return this.call((r) => s.run(r, [`${this.prefix}tasks`], [this.prefix, JSON.stringify(payload)]));
  }

  async claimUuids(uuids: string[], callerUuids: string[]): Promise<string[]> {
    return JSON.parse(String(await this.script(CLAIM, { uuids, callers: callerUuids }))) as string[];
  }

  async hasUuid(uuid: string): Promise<boolean> {
    return Number(await this.cmd(['EXISTS', `${this.prefix}uuid:${uuid}`])) === 1;
  }

  async putTask(rootUuid: string, record: TaskRecord): Promise<void> {
    await this.script(FINISH, { root: rootUuid, record: recordArg(rootUuid, record), settlements: [] });
  }

  async getTask(uuid: string): Promise<TaskRecord | undefined> {
    return (await this.readTask(uuid))?.record;
  }

  async readTask(uuid: string): Promise<StoredTask | undefined> {
    const root = ((await this.cmd(['GET', `${this.prefix}uuid:${uuid}`])) as string | null) ?? uuid;
    const json = (await this.cmd(['GET', `${this.prefix}task:${root}`])) as string | null;
    // A value that is not a record (edited, half-written, another program's) is as good as none.
    const rec = json ? taskRecordOf(json) : undefined;
    // As in SQLite: only a UUID of the record's own lineage gets it.
    return rec && json && inLineage(rec, uuid, root) ? { root, record: rec, text: json } : undefined;
  }

  async listTasks(f: TaskFilter): Promise<Listed<TaskRecord>> {
    const limit = Math.max(1, Math.min(500, f.limit ?? 20));
    const out: Listed<TaskRecord> = [];
    // Newest first, a page at a time, filtered here (status and model are few; the page bounds the work).
    for (let offset = 0; out.length < limit && offset < 20_000; offset += 200) {
      const roots = (await this.cmd([
        'ZREVRANGEBYSCORE',
        `${this.prefix}tasks`,
        '+inf',
        f.since !== undefined ? String(f.since) : '-inf',
        'LIMIT',
        offset,
        200,
      ])) as string[];
      if (roots.length === 0) break;
      const recs = (await this.cmd(['MGET', ...roots.map((r) => `${this.prefix}task:${r}`)])) as Array<string | null>;
      for (const [i, j] of recs.entries()) {
        if (!j) continue;
        const r = taskRecordOf(j);
        if (!r) {
          (out.skipped ??= []).push(`task ${roots[i]}`);
          continue;
        }
        if ((f.status && r.status !== f.status) || (f.model && r.model !== f.model)) continue;
        out.push(r);
        if (out.length >= limit) break;
      }
      if (roots.length < 200) break;
    }
    return out;
  }

  async reserve(
    uuid: string,
    day: string,
    amount: number,
    cap: number | undefined,
    meta: ReservationMeta,
  ): Promise<Reservation> {
    return JSON.parse(
      String(
        await this.script(RESERVE, {
          uuid,
          day,
          amount,
          cap: cap ?? -1,
          model: meta.model ?? '',
          n: meta.numberResults,
          now: Date.now(),
          units: meta.units ?? 0,
          source: meta.source ?? '',
          holder: meta.holder ?? '',
        }),
      ),
    ) as Reservation;
  }

  async settle(uuid: string, actual: number): Promise<void> {
    await this.script(FINISH, { settlements: [[uuid, actual]] });
  }

  async maxPerUnit(model: string): Promise<number | undefined> {
    const v = (await this.cmd(['GET', `${this.prefix}maxunit:${model}`])) as string | null;
    return v === null ? undefined : Number(v);
  }

  async overruns(day: string, limit: number): Promise<Overrun[]> {
    const rows = (await this.cmd(['LRANGE', `${this.prefix}overruns:${day}`, 0, Math.max(0, limit - 1)])) as string[];
    return rows.map((j) => overrunFrom(JSON.parse(j) as Overrun));
  }

  async renewHolder(holder: string, ttlMs: number): Promise<void> {
    await this.cmd(['SET', `${this.prefix}holder:${holder}`, '1', 'PX', Math.max(1000, Math.round(ttlMs))]);
  }

  async staleReservations(
    before: number,
    limit: number,
  ): Promise<Array<{ uuid: string; day: string; reserved: number }>> {
    const uuids = (await this.cmd([
      'ZRANGEBYSCORE',
      `${this.prefix}open`,
      '-inf',
      `(${before}`,
      'LIMIT',
      0,
      limit * 4,
    ])) as string[];
    const out: Array<{ uuid: string; day: string; reserved: number }> = [];
    for (const uuid of uuids) {
      if (out.length >= limit) break;
      const [day, reserved, actual, holder] = (await this.cmd([
        'HMGET',
        `${this.prefix}ledger:${uuid}`,
        'day',
        'reserved',
        'actual',
        'holder',
      ])) as Array<string | null>;
      if (!day || actual !== null || !(Number(reserved) > 0)) continue;
      // A holder whose lease key is gone has stopped renewing: died, or ended without settling.
      if (holder && Number(await this.cmd(['EXISTS', `${this.prefix}holder:${holder}`])) === 1) continue;
      out.push({ uuid, day, reserved: Number(reserved) });
    }
    return out;
  }

  async release(uuid: string): Promise<boolean> {
    return Number(await this.call((r) => RELEASE.run(r, [`${this.prefix}tasks`], [this.prefix, uuid]))) === 1;
  }

  async spend(day: string): Promise<SpendSummary> {
    const [spent, pending] = (await this.cmd(['HMGET', `${this.prefix}day:${day}`, 'spent', 'pending'])) as Array<
      string | null
    >;
    const total = (await this.cmd(['GET', `${this.prefix}total`])) as string | null;
    const n = (v: string | null | undefined): number => Math.round(Number(v ?? 0) * 1e9) / 1e9;
    const overrun = (await this.cmd(['HGET', `${this.prefix}day:${day}`, 'overrun'])) as string | null;
    return { today: n(spent), pendingToday: n(pending), total: n(total), overrunToday: n(overrun) };
  }

  async typicalDuration(key: string): Promise<number | undefined> {
    const v = (await this.cmd(['HGET', `${this.prefix}durations`, key])) as string | null;
    const ms = Number(parseDuration(v)?.ms);
    return Number.isFinite(ms) ? ms : undefined;
  }

  /** Read, fold, write: two processes learning at once may lose one observation of an estimate, never more. */
  async learnDuration(key: string, ms: number): Promise<void> {
    const v = (await this.cmd(['HGET', `${this.prefix}durations`, key])) as string | null;
    const old = parseDuration(v);
    const prev = saneDuration(Number(old?.ms));
    // A stored time that is junk is learned over, not folded into.
    const n = prev === undefined ? 0 : Math.max(0, Number(old?.n ?? 0) || 0);
    const next = n > 0 && prev !== undefined ? prev + (ms - prev) * Math.max(DURATION_WEIGHT, 1 / (n + 1)) : ms;
    await this.cmd(['HSET', `${this.prefix}durations`, key, JSON.stringify({ ms: next, n: n + 1, at: Date.now() })]);
  }

  async getFact(key: string): Promise<string | undefined> {
    return ((await this.cmd(['GET', `${this.prefix}fact:${key}`])) as string | null) ?? undefined;
  }

  async putFact(key: string, value: string, ttlMs: number): Promise<void> {
    await this.cmd(['SET', `${this.prefix}fact:${key}`, value, 'PX', String(Math.max(1, Math.round(ttlMs)))]);
  }

  async maxCost(model: string, numberResults: number): Promise<number | undefined> {
    const v = (await this.cmd(['GET', `${this.prefix}maxcost:${model}|${numberResults}`])) as string | null;
    return v === null ? undefined : Number(v);
  }

  async admit(b: AdmitBatch): Promise<AdmitResult> {
    const r = JSON.parse(
      String(
        await this.script(ADMIT, {
          uuids: b.uuids,
          callers: b.callerUuids,
          day: b.day,
          cap: b.cap ?? -1,
          now: Date.now(),
          reservations: b.reservations.map((x) => ({
            uuid: x.uuid,
            amount: x.amount,
            model: x.model ?? '',
            n: x.numberResults,
            units: x.units ?? 0,
            source: x.source ?? '',
            holder: x.holder ?? '',
          })),
          records: b.records.map((x) => recordArg(x.root, x.record)),
        }),
      ),
    ) as AdmitResult;
    return r;
  }

  finish(rootUuid: string, record: TaskRecord, settlements: Array<[string, number]>): Promise<Overrun[]> {
    return this.write(rootUuid, record, settlements) as Promise<Overrun[]>;
  }

  async putTaskIfUnchanged(rootUuid: string, record: TaskRecord, expected: string | null): Promise<boolean> {
    return (await this.write(rootUuid, record, [], expected)) !== 'changed';
  }

  finishIfUnchanged(
    rootUuid: string,
    record: TaskRecord,
    settlements: Array<[string, number]>,
    expected: string | null,
  ): Promise<Overrun[] | 'changed'> {
    return this.write(rootUuid, record, settlements, expected);
  }

  /** The record written and the settlements made in one script; with `expected`, only over that stored text (null: none). */
  private async write(
    rootUuid: string,
    record: TaskRecord,
    settlements: Array<[string, number]>,
    expected?: string | null,
  ): Promise<Overrun[] | 'changed'> {
    const run = async (over: string | null | undefined): Promise<string> =>
      String(
        await this.script(FINISH, {
          root: rootUuid,
          record: recordArg(rootUuid, record),
          settlements,
          ...(over !== undefined ? { guarded: true, expected: over } : {}),
        }),
      );
    let reply = await run(expected);
    if (reply === 'changed' && expected === null) {
      // null expects no record: a text that is not one (readTask skips it, so no writer could keep it) counts as
      // none, as in SQLite. Judged here, not in Lua (cjson cannot read every record), then written over only
      // while it is still that very text.
      const current = (await this.cmd(['GET', `${this.prefix}task:${rootUuid}`])) as string | null;
      if (current !== null && taskRecordOf(current) === undefined) reply = await run(current);
    }
    if (reply === 'changed') return 'changed';
    const r = JSON.parse(reply) as unknown;
    return Array.isArray(r) ? (r as Overrun[]).map(overrunFrom) : [];
  }

  async putJob(job: JobRecord, opts: { ifActive?: boolean } = {}): Promise<boolean> {
    const at = Date.parse(job.createdAt);
    const ttl = Math.max(1000, jobExpiresAt(job) - Date.now());
    const payload = JSON.stringify({
      ifActive: !!opts.ifActive,
      json: JSON.stringify(job),
      ttl,
      at,
      id: job.id,
      oldest: Date.now() - JOB_TTL_MS,
    });
    return (
      Number(
        await this.call((r) => PUT_JOB.run(r, [`${this.prefix}job:${job.id}`, `${this.prefix}jobs`], [payload])),
      ) === 1
    );
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const v = (await this.cmd(['GET', `${this.prefix}job:${id}`])) as string | null;
    const j = v ? jobRecordOf(v) : undefined;
    // Redis keeps a key at least a second; the job's own expiry decides.
    return j && jobExpiresAt(j) > Date.now() ? j : undefined;
  }

  async listJobs(limit: number, before?: string): Promise<Listed<JobRecord>> {
    const n = Math.max(1, Math.min(500, limit));
    const cut = before
      ? { at: Number(before.slice(0, before.indexOf(':'))), id: before.slice(before.indexOf(':') + 1) }
      : undefined;
    // Ties on the creation time are ordered by id, as in SQLite; a few extra cover them.
    const reply = (await this.cmd([
      'ZREVRANGEBYSCORE',
      `${this.prefix}jobs`,
      cut ? String(cut.at) : '+inf',
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      n + 50,
    ])) as unknown[];
    // RESP3 answers [member, score] pairs; RESP2 a flat list.
    const pairs: Array<[string, number]> = Array.isArray(reply[0])
      ? (reply as Array<[string, unknown]>).map(([m, sc]) => [String(m), Number(sc)])
      : reply.flatMap((m, i) => (i % 2 ? [] : [[String(m), Number(reply[i + 1])] as [string, number]]));
    const page: string[] = [];
    for (const [id, at] of pairs) {
      if (page.length >= n) break;
      if (cut && at === cut.at && id >= cut.id) continue;
      page.push(id);
    }
    if (!page.length) return [];
    const recs = (await this.cmd(['MGET', ...page.map((id) => `${this.prefix}job:${id}`)])) as Array<string | null>;
    const now = Date.now();
    const read = readAll(
      recs.flatMap((j, i) => (j ? [{ key: `job ${page[i]}`, json: j }] : [])),
      jobRecordOf,
    );
    const out: Listed<JobRecord> = read
      .filter((j) => jobExpiresAt(j) > now)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1));
    if (read.skipped) out.skipped = read.skipped;
    return out;
  }

  /** PING, for /healthz. */
  async ping(): Promise<boolean> {
    try {
      return (await this.cmd(['PING'])) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.redis.destroy();
  }
}
