/**
 * The state that outlives a process, behind one interface: the journal of
 * tasks, every taskUUID ever sent, and the spend ledger. SQLite (embedded, the
 * default) and Redis (shared by instances) implement it. Every method is
 * async so either can; every write is whole or not at all.
 */

export type JournalStatus = 'submitted' | 'processing' | 'success' | 'partial' | 'error' | 'unknown';

export interface JournalOutput {
  url?: string;
  uuid?: string;
  /** ISO time the URL stops working, when known. */
  expiresAt?: string;
  savedTo?: string;
  kind?: string;
}

export interface TaskRecord {
  /** The task's current taskUUID (the last of its lineage). */
  taskUUID: string;
  /** Every UUID the task was sent under, oldest first, with what became of each. */
  attempts: Array<{ taskUUID: string; outcome: string }>;
  taskType: string;
  model?: string;
  delivery?: 'sync' | 'async';
  status: JournalStatus;
  createdAt: string;
  updatedAt: string;
  /** USD, summed over results, once known. */
  cost?: number;
  numberResults: number;
  outputs: JournalOutput[];
  /** The request as sent, scrubbed: no secrets, media data reduced to its size and hash. */
  request: Record<string, unknown>;
  /** Where the caller asked outputs to be saved, so a poll after a restart can save them. */
  saveTo?: string;
  errors?: Array<{ code: string; message: string }>;
  /** What the task was quoted before it was reserved, and where the price came from. */
  quote?: { usd: number; source: string };
}

export interface TaskFilter {
  status?: JournalStatus;
  /** ISO time or epoch ms: records updated at or after it. */
  since?: number;
  model?: string;
  limit?: number;
}

/** What a reservation against the daily cap decided. */
export type Reservation =
  { ok: true; reserved: number } | { ok: false; spentToday: number; cap: number; wanted: number };

export interface SpendSummary {
  today: number;
  total: number;
  /** Today's overruns: what real charges passed their reservations by (included in today). */
  overrunToday?: number;
  /** Reserved today for tasks whose cost is not settled yet (included in today). */
  pendingToday: number;
}

/** Every UUID a record answers to: its first (the root), every attempt's, and its current one. */
export const lineageUuids = (root: string, r: TaskRecord): string[] => [
  ...new Set([root, ...r.attempts.map((a) => a.taskUUID), r.taskUUID]),
];

/** Whether `uuid` is one of the record's own UUIDs; a store hands a record to no other. */
export const inLineage = (r: TaskRecord, uuid: string, root: string): boolean =>
  uuid === root || r.taskUUID === uuid || r.attempts.some((a) => a.taskUUID === uuid);

export type JobStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';
export const isJobDone = (s: JobStatus): boolean => s === 'completed' || s === 'failed' || s === 'cancelled';

/**
 * A job a client follows by id (an MCP task): a tool call running in the
 * background. Kept here, not in memory, so it outlives a reconnect and any
 * instance can answer for it.
 */
export interface JobRecord {
  id: string;
  status: JobStatus;
  statusMessage?: string;
  /** ISO times. */
  createdAt: string;
  updatedAt: string;
  /** How long it is kept after it was created, in ms (null: the store's default). */
  ttlMs: number | null;
  pollIntervalMs: number;
  /** The tool it runs. */
  tool: string;
  /** The process that runs it, and when that process last said it still does. */
  runner: string;
  heartbeatAt: string;
  /** The result as the client gets it (already scrubbed), once done. */
  result?: unknown;
  /** The MCP session that started it (or the process, over stdio): tasks/list shows it to that one only. */
  session?: string;
  /** Who may get, fetch or cancel it by id: the session, or with an HTTP token every session of that token. */
  reach?: string;
}

/** A task record as stored: under which key, and its exact text. */
export interface StoredTask {
  root: string;
  record: TaskRecord;
  text: string;
}

export interface StateStore {
  /** Where it lives, for messages. */
  readonly location: string;
  /**
   * Claims UUIDs as used: each is recorded, and the call fails (claiming none)
   * if any of `callerUuids` was used before, by any process. Returns the ones already used.
   */
  claimUuids(uuids: string[], callerUuids: string[]): Promise<string[]>;
  hasUuid(uuid: string): Promise<boolean>;
  /** Inserts or updates a task record (keyed by its first UUID; any later UUID finds it). */
  putTask(rootUuid: string, record: TaskRecord): Promise<void>;
  /** putTask, only over the record text `expected` (see finishIfUnchanged); false when it changed, writing nothing. */
  putTaskIfUnchanged(rootUuid: string, record: TaskRecord, expected: string | null): Promise<boolean>;
  /** The record a UUID (any of its lineage) belongs to; never another task's (a UUID claimed in the same batch is not of its lineage). */
  getTask(uuid: string): Promise<TaskRecord | undefined>;
  /**
   * getTask, with the key the record is stored under and its stored text exactly: what
   * finishIfUnchanged is given back, so a read-modify-write loses no one else's write.
   */
  readTask(uuid: string): Promise<StoredTask | undefined>;
  listTasks(filter: TaskFilter): Promise<TaskRecord[]>;
  /** Reserves `amount` USD for `uuid` on `day`, atomically across processes, unless it would pass `cap`. */
  reserve(
    uuid: string,
    day: string,
    amount: number,
    cap: number | undefined,
    meta: ReservationMeta,
  ): Promise<Reservation>;
  /** Replaces a reservation with the real cost (0 for a task that failed); an overrun is recorded at once. */
  settle(uuid: string, actual: number): Promise<void>;
  /** The most a model has been charged per reference unit (see src/runware/quote.ts), for quotes. */
  maxPerUnit(model: string): Promise<number | undefined>;
  /** Today's overruns, newest first. */
  overruns(day: string, limit: number): Promise<Overrun[]>;
  /** Says that `holder` still sends the tasks it reserved for, for `ttlMs` more. */
  renewHolder(holder: string, ttlMs: number): Promise<void>;
  /** Reservations still open, made before `before` (epoch ms), whose holder's lease has expired. */
  staleReservations(before: number, limit: number): Promise<Array<{ uuid: string; day: string; reserved: number }>>;
  /** Releases an open reservation (it counts 0); a charge that comes later is recorded as an overrun. False when it was settled meanwhile. */
  release(uuid: string): Promise<boolean>;
  spend(day: string): Promise<SpendSummary>;
  /** The highest settled cost seen for a model and result count, for estimates. */
  maxCost(model: string, numberResults: number): Promise<number | undefined>;
  /**
   * The first send of a batch, in one atomic step: refuses (writing nothing) when a
   * caller UUID was used or a reservation would pass the cap; else claims the UUIDs,
   * reserves, and writes the `submitted` records.
   */
  admit(batch: AdmitBatch): Promise<AdmitResult>;
  /** An outcome, in one atomic step: the record written and the lineage's reservations settled. Returns the overruns it recorded. */
  finish(rootUuid: string, record: TaskRecord, settlements: Array<[uuid: string, actual: number]>): Promise<Overrun[]>;
  /**
   * finish, in the same atomic step only if the record stored under `rootUuid` is still the text
   * `expected` (null: still none; a stored text that is not a record, which readTask skips, counts as
   * none). Otherwise nothing is written or settled, and it says `changed`.
   */
  finishIfUnchanged(
    rootUuid: string,
    record: TaskRecord,
    settlements: Array<[uuid: string, actual: number]>,
    expected: string | null,
  ): Promise<Overrun[] | 'changed'>;
  /** Writes a job; with `ifActive`, only while the stored one is not done (so a cancel and a finish cannot both win). */
  putJob(job: JobRecord, opts?: { ifActive?: boolean }): Promise<boolean>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Newest first; `before` is the createdAt/id cursor of the last one seen. */
  listJobs(limit: number, before?: string): Promise<JobRecord[]>;
  /** A model's typical run time in ms, learned from finished tasks and shared across processes (durations.ts). */
  typicalDuration?(key: string): Promise<number | undefined>;
  /** Folds one observed run time into the model's typical one. */
  learnDuration?(key: string, ms: number): Promise<void>;
  /** A small fact learnt about the upstream (what its dry run does), shared across processes until it expires. */
  getFact?(key: string): Promise<string | undefined>;
  putFact?(key: string, value: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** How much one new observation moves a typical duration (after the first few, which count more). */
export const DURATION_WEIGHT = 0.3;
/** Longer than any task runs: a stored time past it (or not a positive number) is junk, read as "not learned" and learned over. */
export const DURATION_MAX_MS = 24 * 3600_000;
/** A learned run time worth trusting, or undefined. */
export const saneDuration = (ms: unknown): number | undefined =>
  typeof ms === 'number' && Number.isFinite(ms) && ms > 0 && ms <= DURATION_MAX_MS ? ms : undefined;

/** Jobs are kept this long unless the client asked for less. */
export const JOB_TTL_MS = 24 * 3_600_000;
export const jobCursor = (j: JobRecord): string => `${Date.parse(j.createdAt)}:${j.id}`;
export const jobExpiresAt = (j: JobRecord): number =>
  Date.parse(j.createdAt) + Math.min(j.ttlMs ?? JOB_TTL_MS, JOB_TTL_MS);

export interface AdmitBatch {
  uuids: string[];
  callerUuids: string[];
  day: string;
  cap: number | undefined;
  reservations: Array<{ uuid: string; amount: number } & ReservationMeta>;
  records: Array<{ root: string; record: TaskRecord }>;
}

export type AdmitResult =
  | { ok: true }
  | { ok: false; taken: string }
  | { ok: false; refused: number; spentToday: number; cap: number; wanted: number };

/** What a reservation remembers besides its amount. */
export interface ReservationMeta {
  model?: string;
  numberResults: number;
  /** Reference units of the task, so its real charge teaches a price per unit. */
  units?: number;
  /** Where the quote came from (dryRun, pricing, learned, ceiling). */
  source?: string;
  /** The sender whose lease keeps the reservation open. */
  holder?: string;
}

/** A real charge above its reservation. */
export interface Overrun {
  taskUUID: string;
  day: string;
  model?: string;
  reservedUsd: number;
  chargedUsd: number;
  /** chargedUsd - reservedUsd. */
  usd: number;
  /** The quote's source that was wrong ("released": the reservation had been released). */
  source: string;
}
