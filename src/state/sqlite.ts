/**
 * The embedded state: one SQLite file per user (WAL, so the servers several
 * clients start, and CLI runs, share it), opened on first use. Writes that
 * must agree across processes (claiming UUIDs, reserving spend) run in
 * IMMEDIATE transactions, which take the write lock before reading.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '../shared/errors.js';
import { jobRecordOf, readAll, taskRecordOf, type Listed } from './records.js';
import {
  DURATION_MAX_MS,
  DURATION_WEIGHT,
  inLineage,
  lineageUuids,
  type AdmitBatch,
  type AdmitResult,
  type JobRecord,
  isJobDone,
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

/** Connections to unwritable journals, kept so that no finalizer closes them (and checkpoints into the -shm). */
const ABANDONED: BetterSqlite3.Database[] = [];

/** The page cache per connection, in KiB (SQLite's own default). */
export const CACHE_KIB = 2000;

/** How long a write waits for another process's lock before it is reported. */
const BUSY_TIMEOUT_MS = 5000;

/** Each entry moves the schema one version up; never edit a shipped one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE uuids (uuid TEXT PRIMARY KEY, root TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE tasks (root TEXT PRIMARY KEY, uuid TEXT NOT NULL, task_type TEXT NOT NULL, model TEXT, status TEXT NOT NULL,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, cost REAL, record TEXT NOT NULL);
   CREATE INDEX tasks_updated ON tasks (updated_at DESC);
   CREATE TABLE ledger (uuid TEXT PRIMARY KEY, day TEXT NOT NULL, model TEXT, number_results INTEGER NOT NULL,
     reserved REAL NOT NULL, actual REAL, at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX ledger_day ON ledger (day);
   CREATE INDEX ledger_model ON ledger (model, number_results);`,
  // Running totals per day, so a reservation reads one row instead of summing the day's ledger.
  `CREATE TABLE days (day TEXT PRIMARY KEY, spent REAL NOT NULL, pending REAL NOT NULL) WITHOUT ROWID;
   INSERT INTO days (day, spent, pending) SELECT day, SUM(COALESCE(actual, reserved)), SUM(CASE WHEN actual IS NULL THEN reserved ELSE 0 END) FROM ledger GROUP BY day;`,
  // Jobs (MCP tasks): tool calls a client follows by id, across reconnects and processes.
  `CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, record TEXT NOT NULL) WITHOUT ROWID;
   CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
   CREATE INDEX jobs_expires ON jobs (expires_at);`,
  // Quotes and overruns: each reservation's units (its charge teaches a price per unit), its quote's
  // source, and the sender whose lease keeps it open; the day's overruns; the senders' leases.
  `ALTER TABLE ledger ADD COLUMN units REAL;
   ALTER TABLE ledger ADD COLUMN source TEXT;
   ALTER TABLE ledger ADD COLUMN holder TEXT;
   ALTER TABLE ledger ADD COLUMN released REAL;
   ALTER TABLE days ADD COLUMN overrun REAL NOT NULL DEFAULT 0;
   CREATE TABLE holders (id TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX ledger_open ON ledger (at) WHERE actual IS NULL;`,
];

/**
 * Learned run times per model: a table of its own, made if missing rather than
 * by a migration (it is a cache; losing it costs a few slower first polls). A
 * running mean that weighs the first observations fully, then DURATION_WEIGHT.
 */
function durationStatements(db: BetterSqlite3.Database): Record<string, BetterSqlite3.Statement> {
  db.exec(
    'CREATE TABLE IF NOT EXISTS durations (key TEXT PRIMARY KEY, ms REAL NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID',
  );
  return {
    getDuration: db.prepare('SELECT ms FROM durations WHERE key = ?'),
    learnDuration: db.prepare(`INSERT INTO durations (key, ms, n, at) VALUES (@key, @ms, 1, @at)
      ON CONFLICT (key) DO UPDATE SET
        ms = CASE WHEN typeof(ms) IN ('real', 'integer') AND ms > 0 AND ms <= @max THEN ms + (excluded.ms - ms) * MAX(@weight, 1.0 / (n + 1)) ELSE excluded.ms END,
        n = CASE WHEN typeof(ms) IN ('real', 'integer') AND ms > 0 AND ms <= @max THEN n + 1 ELSE 1 END,
        at = excluded.at`),
  };
}

/** Learnt facts about the upstream: a cache as well (a lost one is learnt again), so made if missing too. */
function factStatements(db: BetterSqlite3.Database): Record<string, BetterSqlite3.Statement> {
  db.exec(
    'CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, value TEXT NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID',
  );
  return {
    getFact: db.prepare('SELECT value FROM facts WHERE key = ? AND until > ?'),
    putFact: db.prepare(
      'INSERT INTO facts (key, value, until) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, until = excluded.until',
    ),
  };
}

/** A state problem in one sentence: the path, what went wrong, what to do. */
export function stateError(path: string, e: unknown): ConfigError {
  const code = String((e as { code?: string })?.code ?? '');
  const msg = String((e as Error)?.message ?? e);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || /not a database|malformed/i.test(msg)) {
    return new ConfigError(
      `The task journal at ${path} is corrupt (${msg}).`,
      `Move it aside (mv "${path}" "${path}.bad") and the server starts a new one; tools that need no state keep working meanwhile.`,
    );
  }
  if (/NODE_MODULE_VERSION|compiled against a different Node|Could not locate the bindings|invalid ELF/i.test(msg)) {
    return new ConfigError(
      `The task journal at ${path} cannot be opened: the SQLite module (better-sqlite3) does not load under Node.js ${process.version}.`,
      'Run `npm rebuild better-sqlite3` with the Node.js that runs the server, or reinstall runware-mcp-server; tools that need no state keep working meanwhile.',
    );
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new ConfigError(
      `The task journal at ${path} stayed locked by another process for more than ${BUSY_TIMEOUT_MS / 1000} s.`,
      'Try again; if it persists, look for a stuck runware-mcp-server process.',
    );
  }
  if (
    code === 'SQLITE_READONLY' ||
    code === 'SQLITE_CANTOPEN' ||
    code === 'EACCES' ||
    code === 'EROFS' ||
    code === 'EPERM'
  ) {
    return new ConfigError(
      `The task journal at ${path} cannot be written (${msg}).`,
      'Point RUNWARE_STATE_DIR at a writable directory.',
    );
  }
  return new ConfigError(
    `The task journal at ${path} failed: ${msg}.`,
    'Check RUNWARE_STATE_DIR; moving the file aside starts a new journal.',
  );
}

type Row = { record: string };
type LedgerRow = {
  uuid: string;
  day: string;
  reserved: number;
  actual: number | null;
  model: string | null;
  source: string | null;
  released: number | null;
};

const overrunOf = (uuid: string, e: Omit<LedgerRow, 'uuid' | 'actual'>, actual: number): Overrun => ({
  taskUUID: uuid,
  day: e.day,
  ...(e.model ? { model: e.model } : {}),
  reservedUsd: e.reserved,
  chargedUsd: actual,
  usd: Math.round((actual - e.reserved) * 1e6) / 1e6,
  source: e.released !== null ? 'released' : (e.source ?? 'unknown'),
});

/** A journal that must be reopened (or left alone) rather than used: replaced, deleted, or no longer writable. */
export class StateGoneError extends ConfigError {
  readonly reopen = true;
  constructor(
    message: string,
    hint: string,
    readonly why: 'replaced' | 'unwritable',
  ) {
    super(message, hint);
  }
}

/**
 * Whether the journal's files can be written, checked before SQLite touches
 * them: a write into the WAL's memory-mapped -shm of a file that turned
 * unwritable (immutable, read-only mount) is a SIGBUS that kills the process,
 * not an error SQLite could return. Costs about 25 µs an operation (docs/recovery.md).
 */
export function assertWritable(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      accessSync(f, constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && f !== path) continue;
      if (code === 'ENOENT') return;
      throw new StateGoneError(
        `The task journal at ${path} cannot be written (${code ?? 'unknown'} on ${f}).`,
        'Make the journal files and RUNWARE_STATE_DIR writable again (chmod, chattr -i, a read-write mount); the server retries on its own and keeps serving meanwhile.',
        'unwritable',
      );
    }
  }
}

export class SqliteState implements StateStore {
  readonly location: string;
  private readonly db: BetterSqlite3.Database;
  private readonly stmt: Record<string, BetterSqlite3.Statement>;
  /** The file this connection opened: a file deleted or put in its place is noticed, not written into the void. */
  private readonly identity: { dev: number; ino: number };
  /** Set once it was found gone or unwritable: never touched again (closing could write into the -shm, too). */
  private gone: StateGoneError | undefined;

  private constructor(path: string, db: BetterSqlite3.Database) {
    this.location = path;
    this.db = db;
    const st = statSync(path);
    this.identity = { dev: st.dev, ino: st.ino };
    const p = (sql: string): BetterSqlite3.Statement => db.prepare(sql);
    this.stmt = {
      claim: p('INSERT INTO uuids (uuid, root, at) VALUES (?, ?, ?) ON CONFLICT (uuid) DO NOTHING'),
      hasUuid: p('SELECT 1 FROM uuids WHERE uuid = ?'),
      link: p(
        'INSERT INTO uuids (uuid, root, at) VALUES (?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET root = excluded.root',
      ),
      rootOf: p('SELECT root FROM uuids WHERE uuid = ?'),
      putTask:
        p(`INSERT INTO tasks (root, uuid, task_type, model, status, created_at, updated_at, cost, record) VALUES (@root, @uuid, @taskType, @model, @status, @createdAt, @updatedAt, @cost, @record)
        ON CONFLICT (root) DO UPDATE SET uuid = excluded.uuid, status = excluded.status, updated_at = excluded.updated_at, cost = excluded.cost, record = excluded.record`),
      getTask: p('SELECT record FROM tasks WHERE root = ?'),
      spentDay: p('SELECT spent, pending, overrun FROM days WHERE day = ?'),
      addDay: p(
        'INSERT INTO days (day, spent, pending) VALUES (?, ?, ?) ON CONFLICT (day) DO UPDATE SET spent = spent + excluded.spent, pending = pending + excluded.pending',
      ),
      entry: p('SELECT day, reserved, actual, model, source, released FROM ledger WHERE uuid = ?'),
      spentTotal: p('SELECT COALESCE(SUM(spent), 0) AS spent FROM days'),
      reserve: p(
        'INSERT INTO ledger (uuid, day, model, number_results, reserved, at, units, source, holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING',
      ),
      maxPerUnit: p('SELECT MAX(actual / units) AS m FROM ledger WHERE model = ? AND units > 0 AND actual > 0'),
      addOverrun: p('UPDATE days SET overrun = overrun + ? WHERE day = ?'),
      overruns: p(
        'SELECT uuid, day, model, reserved, actual, source, released FROM ledger WHERE day = ? AND actual > reserved + 1e-9 ORDER BY at DESC LIMIT ?',
      ),
      renewHolder: p(
        'INSERT INTO holders (id, until) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET until = excluded.until',
      ),
      stale: p(
        'SELECT l.uuid, l.day, l.reserved FROM ledger l LEFT JOIN holders h ON h.id = l.holder WHERE l.actual IS NULL AND l.reserved > 0 AND l.at < ? AND (h.until IS NULL OR h.until < ?) LIMIT ?',
      ),
      release: p(
        'UPDATE ledger SET released = reserved, reserved = 0 WHERE uuid = ? AND actual IS NULL AND reserved > 0',
      ),
      settle: p('UPDATE ledger SET actual = ? WHERE uuid = ?'),
      maxCost: p('SELECT MAX(actual) AS m FROM ledger WHERE model = ? AND number_results = ? AND actual > 0'),
      putJob: p(
        'INSERT INTO jobs (id, status, created_at, expires_at, record) VALUES (@id, @status, @createdAt, @expiresAt, @record) ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record',
      ),
      jobStatus: p('SELECT status FROM jobs WHERE id = ?'),
      getJob: p('SELECT record FROM jobs WHERE id = ? AND expires_at > ?'),
      listJobs: p(
        'SELECT record FROM jobs WHERE expires_at > @now AND (created_at < @at OR (created_at = @at AND id < @id)) ORDER BY created_at DESC, id DESC LIMIT @limit',
      ),
      expireJobs: p('DELETE FROM jobs WHERE expires_at <= ?'),
      ...durationStatements(db),
    };
  }

  /** Opens (creating and migrating) the journal in `dir`; throws a ConfigError naming the path. */
  static open(dir: string, opts: { busyTimeoutMs?: number } = {}): SqliteState {
    const path = join(dir, 'journal.sqlite');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Opening reads the -shm too: an unwritable journal is refused before SQLite maps it.
      assertWritable(path);
      // Loaded here, not at start-up: a server that never needs state never pays for the native module.
      const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
      const db = new Database(path, { timeout: opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // better-sqlite3 builds SQLite with a 16 MB page cache, which a growing journal fills page by
      // page: that was most of the server's RSS growth over a long run. The hot set (the UUID index,
      // the newest records) fits in SQLite's own default of 2 MB, and the OS caches the file besides.
      db.pragma(`cache_size = -${CACHE_KIB}`);
      db.pragma('foreign_keys = ON');
      // The version is read under the write lock: processes that open a new journal at once would
      // otherwise all see version 0 and run the same migrations one after another.
      db.transaction(() => {
        const version = Number(db.pragma('user_version', { simple: true }));
        if (version > MIGRATIONS.length)
          throw new ConfigError(
            `The task journal at ${path} is from a newer version (schema ${version}).`,
            'Upgrade runware-mcp-server, or point RUNWARE_STATE_DIR elsewhere.',
          );
        for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
        if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
      }).immediate();
      return new SqliteState(path, db);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw stateError(path, e);
    }
  }

  /** Before every operation: the same file as opened, and still writable. */
  private guard(): void {
    if (this.gone) throw this.gone;
    let st: { dev: number; ino: number } | undefined;
    try {
      st = statSync(this.location);
    } catch {
      st = undefined;
    }
    if (!st || st.dev !== this.identity.dev || st.ino !== this.identity.ino) {
      this.gone = new StateGoneError(
        `The task journal at ${this.location} was ${st ? 'replaced by another file' : 'deleted'} while in use.`,
        'It is reopened on its own; tasks written meanwhile went to the new file.',
        'replaced',
      );
      throw this.gone;
    }
    try {
      assertWritable(this.location);
    } catch (e) {
      this.gone = e as StateGoneError;
      throw e;
    }
  }

  /** Whether it was found gone or unwritable (the holder drops it and opens anew). */
  get abandoned(): boolean {
    return this.gone !== undefined;
  }

  private run<T>(fn: () => T): Promise<T> {
    try {
      this.guard();
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof StateGoneError ? e : stateError(this.location, e));
    }
  }

  claimUuids(uuids: string[], callerUuids: string[]): Promise<string[]> {
    return this.run(() =>
      this.db
        .transaction(() => {
          const taken = callerUuids.filter((u) => this.stmt.hasUuid!.get(u));
          if (taken.length) return taken;
          const now = Date.now();
          // A claimed UUID is its own root until a record links it into a lineage.
          for (const u of uuids) this.stmt.claim!.run(u, u, now);
          return [];
        })
        .immediate(),
    );
  }

  hasUuid(uuid: string): Promise<boolean> {
    return this.run(() => !!this.stmt.hasUuid!.get(uuid));
  }

  putTask(rootUuid: string, r: TaskRecord): Promise<void> {
    return this.run(() => {
      // Every UUID of the lineage finds the record.
      this.db.transaction(() => this.putRecord(rootUuid, r, Date.now())).immediate();
    });
  }

  getTask(uuid: string): Promise<TaskRecord | undefined> {
    return this.run(() => this.storedTask(uuid)?.record);
  }

  readTask(uuid: string): Promise<StoredTask | undefined> {
    return this.run(() => this.storedTask(uuid));
  }

  private storedTask(uuid: string): StoredTask | undefined {
    const root = (this.stmt.rootOf!.get(uuid) as { root: string } | undefined)?.root ?? uuid;
    const row = this.stmt.getTask!.get(root) as Row | undefined;
    // A row that is not a record (edited by hand, half-written) is as good as none.
    const rec = row ? taskRecordOf(row.record) : undefined;
    // Only a UUID of the record's own lineage gets it: older journals linked every UUID of a batch to its first task.
    return rec && row && inLineage(rec, uuid, root) ? { root, record: rec, text: row.record } : undefined;
  }

  listTasks(f: TaskFilter): Promise<Listed<TaskRecord>> {
    return this.run(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (clause: string, v: unknown): void => {
        where.push(clause);
        args.push(v);
      };
      if (f.status) add('status = ?', f.status);
      if (f.model) add('model = ?', f.model);
      if (f.since !== undefined) add('updated_at >= ?', f.since);
      const sql = `SELECT root, record FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC LIMIT ?`;
      const rows = this.db.prepare(sql).all(...args, Math.max(1, Math.min(500, f.limit ?? 20))) as Array<
        Row & { root: string }
      >;
      return readAll(
        rows.map((r) => ({ key: `task ${r.root}`, json: r.record })),
        taskRecordOf,
      );
    });
  }

  reserve(
    uuid: string,
    day: string,
    amount: number,
    cap: number | undefined,
    meta: ReservationMeta,
  ): Promise<Reservation> {
    return this.run(() =>
      this.db
        .transaction((): Reservation => {
          const spent = (this.stmt.spentDay!.get(day) as { spent: number } | undefined)?.spent ?? 0;
          if (cap !== undefined && spent + amount > cap + 1e-9)
            return { ok: false, spentToday: spent, cap, wanted: amount };
          if (this.insertReservation(uuid, day, amount, meta, Date.now())) this.stmt.addDay!.run(day, amount, amount);
          return { ok: true, reserved: amount };
        })
        .immediate(),
    );
  }

  settle(uuid: string, actual: number): Promise<void> {
    return this.run(() => {
      this.db.transaction(() => this.settleOne(uuid, actual)).immediate();
    });
  }

  private insertReservation(uuid: string, day: string, amount: number, m: ReservationMeta, now: number): boolean {
    return (
      this.stmt.reserve!.run(
        uuid,
        day,
        m.model ?? null,
        m.numberResults,
        amount,
        now,
        m.units ?? null,
        m.source ?? null,
        m.holder ?? null,
      ).changes === 1
    );
  }

  maxPerUnit(model: string): Promise<number | undefined> {
    return this.run(() => (this.stmt.maxPerUnit!.get(model) as { m: number | null }).m ?? undefined);
  }

  overruns(day: string, limit: number): Promise<Overrun[]> {
    return this.run(() =>
      (this.stmt.overruns!.all(day, limit) as LedgerRow[]).map((e) => overrunOf(e.uuid, e, e.actual!)),
    );
  }

  renewHolder(holder: string, ttlMs: number): Promise<void> {
    return this.run(() => {
      this.stmt.renewHolder!.run(holder, Date.now() + ttlMs);
    });
  }

  staleReservations(before: number, limit: number): Promise<Array<{ uuid: string; day: string; reserved: number }>> {
    return this.run(
      () => this.stmt.stale!.all(before, Date.now(), limit) as Array<{ uuid: string; day: string; reserved: number }>,
    );
  }

  release(uuid: string): Promise<boolean> {
    return this.run(() =>
      this.db
        .transaction((): boolean => {
          const e = this.stmt.entry!.get(uuid) as LedgerRow | undefined;
          if (!e || e.actual !== null || e.reserved <= 0 || this.stmt.release!.run(uuid).changes !== 1) return false;
          this.stmt.addDay!.run(e.day, -e.reserved, -e.reserved);
          return true;
        })
        .immediate(),
    );
  }

  spend(day: string): Promise<SpendSummary> {
    return this.run(() => {
      const d = (this.stmt.spentDay!.get(day) as { spent: number; pending: number; overrun: number } | undefined) ?? {
        spent: 0,
        pending: 0,
        overrun: 0,
      };
      const t = this.stmt.spentTotal!.get() as { spent: number };
      return { today: d.spent, pendingToday: d.pending, total: t.spent, overrunToday: d.overrun };
    });
  }

  maxCost(model: string, numberResults: number): Promise<number | undefined> {
    return this.run(() => (this.stmt.maxCost!.get(model, numberResults) as { m: number | null }).m ?? undefined);
  }

  admit(b: AdmitBatch): Promise<AdmitResult> {
    return this.run(() => this.admitTx.immediate(b));
  }

  /** Built once: better-sqlite3 makes a new wrapper each time transaction() is called, and admit runs on every call. */
  private readonly admitTx = this.txOf((b: AdmitBatch): AdmitResult => {
    const taken = b.callerUuids.find((u) => this.stmt.hasUuid!.get(u));
    if (taken) return { ok: false, taken };
    // A batch that reserves nothing (reads, uploads) neither reads nor changes the day's spend.
    let spent = b.reservations.length
      ? ((this.stmt.spentDay!.get(b.day) as { spent: number } | undefined)?.spent ?? 0)
      : 0;
    for (const [i, r] of b.reservations.entries()) {
      if (b.cap !== undefined && spent + r.amount > b.cap + 1e-9)
        return { ok: false, refused: i, spentToday: spent, cap: b.cap, wanted: r.amount };
      spent += r.amount;
    }
    const now = Date.now();
    // Each UUID is its own root: tasks sent together are not one lineage (a batch's first task
    // must never answer for the others).
    for (const u of b.uuids) this.stmt.claim!.run(u, u, now);
    for (const r of b.reservations)
      if (this.insertReservation(r.uuid, b.day, r.amount, r, now)) this.stmt.addDay!.run(b.day, r.amount, r.amount);
    for (const { root: rt, record } of b.records) this.putRecord(rt, record, now);
    return { ok: true };
  });

  private txOf<A extends unknown[], R>(fn: (...args: A) => R): { immediate: (...args: A) => R } {
    // Made on first use: field initialisers run before the constructor body sets this.db.
    let tx: BetterSqlite3.Transaction<(...args: A) => R> | undefined;
    return { immediate: (...args: A) => (tx ??= this.db.transaction(fn)).immediate(...args) };
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

  /** The record written and the settlements made in one step; with `expected`, only over that stored text (null: none). */
  private write(
    rootUuid: string,
    record: TaskRecord,
    settlements: Array<[string, number]>,
    expected?: string | null,
  ): Promise<Overrun[] | 'changed'> {
    return this.run(() =>
      this.db
        .transaction((): Overrun[] | 'changed' => {
          const current = (this.stmt.getTask!.get(rootUuid) as Row | undefined)?.record ?? null;
          // null expects no record: a text that is not one (readTask skips it, so no writer could keep it) counts as none.
          const none = expected === null && taskRecordOf(current) === undefined;
          if (expected !== undefined && current !== expected && !none) return 'changed';
          this.putRecord(rootUuid, record, Date.now());
          return settlements.flatMap(([u, actual]) => this.settleOne(u, actual) ?? []);
        })
        .immediate(),
    );
  }

  private putRecord(rootUuid: string, r: TaskRecord, now: number): void {
    for (const u of lineageUuids(rootUuid, r)) this.stmt.link!.run(u, rootUuid, now);
    this.stmt.putTask!.run({
      root: rootUuid,
      uuid: r.taskUUID,
      taskType: r.taskType,
      model: r.model ?? null,
      status: r.status,
      createdAt: Date.parse(r.createdAt),
      updatedAt: Date.parse(r.updatedAt),
      cost: r.cost ?? null,
      record: JSON.stringify(r),
    });
  }

  private settleOne(uuid: string, actual: number): Overrun | undefined {
    const e = this.stmt.entry!.get(uuid) as LedgerRow | undefined;
    if (!e) return undefined;
    // The day's total moves by the difference; a first settlement also clears the pending reservation.
    this.stmt.addDay!.run(e.day, actual - (e.actual ?? e.reserved), e.actual === null ? -e.reserved : 0);
    this.stmt.settle!.run(actual, uuid);
    // A first charge above its reservation is an overrun, recorded in the same transaction.
    if (e.actual !== null || actual <= e.reserved + 1e-9) return undefined;
    this.stmt.addOverrun!.run(actual - e.reserved, e.day);
    return overrunOf(uuid, e, actual);
  }

  putJob(job: JobRecord, opts: { ifActive?: boolean } = {}): Promise<boolean> {
    return this.run(() =>
      this.db
        .transaction((): boolean => {
          if (opts.ifActive) {
            const cur = this.stmt.jobStatus!.get(job.id) as { status: JobRecord['status'] } | undefined;
            if (cur && isJobDone(cur.status)) return false;
          }
          this.stmt.putJob!.run({
            id: job.id,
            status: job.status,
            createdAt: Date.parse(job.createdAt),
            expiresAt: jobExpiresAt(job),
            record: JSON.stringify(job),
          });
          // Expired jobs go as new ones come: the table stays the size of a day's work.
          this.stmt.expireJobs!.run(Date.now());
          return true;
        })
        .immediate(),
    );
  }

  getJob(id: string): Promise<JobRecord | undefined> {
    return this.run(() => {
      const row = this.stmt.getJob!.get(id, Date.now()) as Row | undefined;
      return row ? jobRecordOf(row.record) : undefined;
    });
  }

  listJobs(limit: number, before?: string): Promise<Listed<JobRecord>> {
    return this.run(() => {
      const [at, id] = before
        ? [Number(before.slice(0, before.indexOf(':'))), before.slice(before.indexOf(':') + 1)]
        : [Number.MAX_SAFE_INTEGER, ''];
      const rows = this.stmt.listJobs!.all({
        now: Date.now(),
        at: Number.isFinite(at) ? at : 0,
        id,
        limit: Math.max(1, Math.min(500, limit)),
      }) as Row[];
      return readAll(
        rows.map((r, i) => ({ key: `job #${i}`, json: r.record })),
        jobRecordOf,
      );
    });
  }

  typicalDuration(key: string): Promise<number | undefined> {
    return this.run(() => (this.stmt.getDuration!.get(key) as { ms: number } | undefined)?.ms);
  }

  learnDuration(key: string, ms: number): Promise<void> {
    return this.run(() => {
      // A stored time that is junk (a hand edit, an older bug) is learned over, not folded into.
      this.stmt.learnDuration!.run({ key, ms, at: Date.now(), weight: DURATION_WEIGHT, max: DURATION_MAX_MS });
    });
  }

  getFact(key: string): Promise<string | undefined> {
    return this.run(() => (this.facts().getFact!.get(key, Date.now()) as { value: string } | undefined)?.value);
  }

  putFact(key: string, value: string, ttlMs: number): Promise<void> {
    return this.run(() => {
      this.facts().putFact!.run(key, value, Date.now() + ttlMs);
    });
  }

  private factStmts: Record<string, BetterSqlite3.Statement> | undefined;
  private facts(): Record<string, BetterSqlite3.Statement> {
    return (this.factStmts ??= factStatements(this.db));
  }

  close(): Promise<void> {
    if (this.gone?.why === 'unwritable') {
      // Closing checkpoints the WAL through the -shm mapping: on an unwritable file that is the SIGBUS itself.
      ABANDONED.push(this.db);
      return Promise.resolve();
    }
    try {
      this.db.close();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(stateError(this.location, e));
    }
  }
}
