/**
 * The task lifecycle, as the client tells it to the state layer: a task is
 * admitted before it is sent (its UUID claimed, its cost reserved), a retry
 * under a fresh UUID is admitted again, each outcome is recorded once (the
 * record written and the reservation settled), and each saved output's path is
 * recorded after. The client (src/runware/client.ts) is the one caller of the
 * first three; the save is recorded where outputs are saved
 * (src/services/outputs.ts). The journal (journal.ts) implements it.
 *
 * The records are plain: the client parses results and reads task-type facts
 * (src/runware/ledger-records.ts), so state/ never reads a Runware answer.
 */
import type { JournalOutput, JournalStatus, Overrun } from './types.js';

/** A task as the ledger keeps it: what the client read from it, and the request to store (scrubbed). */
export interface LedgerTask {
  taskUUID: string;
  taskType: string;
  /** Charged for: reserved against the cap before it goes out, settled with its cost after. */
  billable: boolean;
  /** Kept in the journal (billable work and media storage); others only have their UUIDs claimed. */
  kept: boolean;
  model?: string;
  delivery?: 'sync' | 'async';
  /** How many results it asks for (what the reservation and the record count). */
  numberResults: number;
  /** The request as sent; the ledger stores it scrubbed of secrets and media data. */
  request: Record<string, unknown>;
}

/** One outcome of a task, already parsed from Runware's answer. */
export interface OutcomeRecord {
  /** The task's current UUID (the last of its lineage). */
  taskUUID: string;
  status: JournalStatus | 'processing';
  /** Where each output lives, in result order. */
  outputs: JournalOutput[];
  /** USD summed over the results that reported a cost. */
  cost?: number;
  /** Every result reported its cost, so the real charge is known and the reservation settles. */
  costKnown: boolean;
  errors: Array<{ code: string; message: string }>;
  /** Every earlier UUID of the lineage and what became of it; undefined keeps the recorded lineage. */
  attempts?: Array<{ taskUUID: string; outcome: string }>;
}

/** What recording an outcome did. */
export interface Recorded {
  written: boolean;
  /** When it was not written: the one line the result carries about it. */
  note?: string;
  /** The real charge passed the task's reservation. */
  overrun?: Overrun;
}

/** What the client quoted a billable task (src/runware/quote.ts). */
export interface TaskQuote {
  usd: number;
  /** Reference units: what the real charge is divided by to learn a price per unit. */
  units: number;
  source: string;
  how: string;
}

/** A retry the ledger refused, as the error item that fails it. */
export interface RetryRefusal {
  code: string;
  message: string;
  taskUUID: string;
}

declare const opaque: unique symbol;
/**
 * What one call asks the ledger to keep with its tasks' records (where outputs
 * are to be saved, so a poll after a restart saves there). Made by the caller
 * with callRecord(); the client carries it to the ledger unread.
 */
export type CallRecord = { readonly [opaque]: true };
interface CallFields {
  saveTo?: string;
}
export const callRecord = (fields: CallFields): CallRecord =>
  ({ ...(fields.saveTo !== undefined ? { saveTo: fields.saveTo } : {}) }) as unknown as CallRecord;
export const callFields = (c: CallRecord | undefined): CallFields => (c ?? {}) as CallFields;

export interface TaskLedger {
  /**
   * Before the first send: claims every UUID across processes (refusing a
   * caller's reused one), reserves each billable task against the cap, and
   * writes a `submitted` record. Throws, having claimed and reserved nothing,
   * when a task must not go out; false when they may go out unrecorded.
   */
  admit(
    tasks: LedgerTask[],
    callerUuids: string[],
    opts?: { call?: CallRecord; quotes?: ReadonlyMap<string, TaskQuote> },
  ): Promise<boolean>;
  /** Whether admit() must finish before the tasks go out (else admitBehind() may run while they are in flight). */
  mustAdmitFirst(tasks: LedgerTask[], callerUuids: string[]): boolean;
  /** admit() for tasks that need not wait for it, begun once the request is on the wire. */
  admitBehind(tasks: LedgerTask[]): Promise<void>;
  /** Before a retry goes out under a fresh UUID: claimed and reserved like the first send; the refusal when it must not go. */
  admitRetry(task: LedgerTask, previous: string, quote?: TaskQuote): Promise<RetryRefusal | undefined>;
  /**
   * An outcome: the record updated and the lineage's reservations settled once
   * the cost is final. Without `task` (a poll of a task another process sent)
   * the stored record supplies it; nothing is written when there is none.
   */
  recordOutcome(task: LedgerTask | undefined, outcome: OutcomeRecord, call?: CallRecord): Promise<Recorded>;
  /**
   * The paths the task's outputs were saved to, by output index (gaps for outputs not saved).
   * With `uuids` (each output's UUID, same order), a path goes to the output of that UUID
   * wherever the record has it, and an output the record does not list yet (saved
   * before the call's outcome knew it) is added, so a later poll does not save it again.
   */
  recordSaves(taskUUID: string, paths: Array<string | undefined>, uuids?: Array<string | undefined>): Promise<void>;
}

/** What `X-Runware-Dry-Run` was found to do: price a task, acknowledge it without a price, or run it (ignored). */
export type DryRunMode = 'priced' | 'ack' | 'ignored';

/** What quotes and the spend gate ask of the ledger besides the lifecycle (src/runware/spend.ts). */
export interface SpendLedger {
  /** USD per UTC day; undefined = no cap. */
  readonly cap: number | undefined;
  spentToday(): Promise<number | undefined>;
  /** What the upstream's dry run was found to do, by any process, while that finding is fresh; undefined when unknown. */
  dryRunMode(): Promise<DryRunMode | undefined>;
  rememberDryRunMode(mode: DryRunMode): Promise<void>;
  /** Throws the cap's refusal when today's spend plus these tasks' estimates already passes it (a forecast; admit decides). */
  refuseOverCap(tasks: LedgerTask[], quotes?: Map<string, TaskQuote>): Promise<void>;
  learnedPerUnit(model: string): Promise<number | undefined>;
  /** A task sent outside a call's admission (a dry-run probe): claimed and reserved, no record. False when it must not go out. */
  reserveAlone(task: LedgerTask, quote: TaskQuote): Promise<boolean>;
  settleAlone(task: LedgerTask, actual: number): Promise<void>;
  /** A charge no reservation covered: recorded at once as an overrun. */
  chargeUnplanned(task: LedgerTask, actual: number): Promise<void>;
  staleReservations(windowMs: number): Promise<Array<{ uuid: string; day: string; reserved: number }>>;
  release(uuid: string): Promise<boolean>;
}

/** Learned run times per model (durations.ts). */
export interface DurationLedger {
  readonly durations: { typical(key: string): Promise<number | undefined>; learn(key: string, ms: number): void };
}

/** Everything the client asks of the state layer. */
export type ClientLedger = TaskLedger & SpendLedger & DurationLedger;
