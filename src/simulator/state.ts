/** Shared simulator state: options, the request log, faults, and scaled time. */
import { randomUUID } from 'node:crypto';

export type FaultKind =
  | 'latency'
  | 'http429'
  | 'http500'
  | 'http503'
  | 'http504'
  | 'http596'
  | 'http401'
  | 'http404'
  | 'http410'
  | 'http412'
  | 'http422'
  | 'reset'
  | 'resetAfterAccept'
  | 'malformed'
  | 'taskError'
  | 'asyncError'
  /** An HTTP answer from something in front of the API (a proxy): `status`, `body`, `when`. */
  | 'proxy'
  /** WebSocket: every result frame is sent twice. */
  | 'duplicateFrames'
  /** WebSocket: the results of one message are sent in reverse order. */
  | 'interleave'
  /** WebSocket: the socket drops after the tasks ran; `resume` says whether the session can still be resumed. */
  | 'wsDrop'
  /** WebSocket: the server stops answering pings (and everything else) without closing. */
  | 'silence'
  /** The schema or content service: one answer of HTTP `status` (default 503). */
  | 'catalog'
  /** Every result of the answer says "success" with no output and no cost; the task ran (and is billed), a later read gets it. */
  | 'emptySuccess';

export type Surface = 'runware' | 'runway' | 'useapi' | 'makevid' | 'schemas' | 'content';

export interface Fault {
  kind: FaultKind;
  /** How many requests it applies to (default 1). */
  count?: number;
  /** Which API it applies to (default runware). */
  surface?: Surface;
  /** Only requests whose tasks include this taskType. */
  taskType?: string;
  /** For taskError: only the task at this index of the array. */
  taskIndex?: number;
  /** For taskError/asyncError: the error code (default timeoutProvider). */
  code?: string;
  /** For latency: real milliseconds. */
  ms?: number;
  /** For 429: the Retry-After value in seconds (sent only when the retryAfter option is on). */
  retryAfter?: number;
  /** For proxy: the HTTP status (default 502). */
  status?: number;
  /** For proxy: Runware's own error body, no body, or an HTML page (default none). */
  body?: 'runware' | 'none' | 'html';
  /** For proxy: before the API saw the request, or after the tasks ran (default after). */
  when?: 'before' | 'after';
  /** For wsDrop: within the resume window, or beyond it (the buffer is gone). */
  resume?: 'inside' | 'beyond';
}

export interface LogEntry {
  id: number;
  at: string;
  surface: Surface | 'media' | 'control';
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status?: number;
  fault?: FaultKind;
}

/**
 * Every behaviour the reference marks UNKNOWN is a switch, with each
 * possibility implemented. `PESSIMISTIC` is the default in tests: the choice
 * under which a careless client loses results or bills twice.
 */
export interface SimOptions {
  /** Durations are multiplied by this (0.1 = ten times faster). */
  timeScale: number;
  /** getResponse also answers for sync tasks (the result stays fetchable). */
  getResponseCoversSync: boolean;
  /** What getResponse says for a UUID it does not know. */
  unknownTask: 'empty' | 'notFound' | 'expired' | 'http404';
  /** What a task with an already-used taskUUID gets. */
  reusedUuid: 'conflict' | 'conflictNoUuid' | 'runsAgain';
  /** Whether re-authenticating with the session UUID replays buffered results. */
  wsResumeReplays: boolean;
  /** What an unknown or expired connectionSessionUUID gets at authentication. */
  staleSession: 'refused' | 'newSession';
  /** Whether a 429 carries Retry-After. */
  retryAfter: boolean;
  /** Whether the N results of one WebSocket task come in N frames or in one. */
  wsFraming: 'perItem' | 'oneFrame';
  /** What getTaskDetails says for a UUID it does not know. */
  taskDetailsUnknown: 'error' | 'empty' | 'noResponse' | 'http404';
  /** What getTaskDetails says for a task still running. */
  taskDetailsRunning: 'noResponse' | 'processing';
  /** getTaskDetails lag: a task it received is "not found" to its first N queries (as if not yet registered). */
  taskDetailsLag: 0 | 1 | 2 | 3;
  /** Hostile upstream: traversal names, secrets echoed in errors, null items, frames that name no task. */
  hostile: boolean;
  /**
   * With `hostile`, what the schema service answers for a known model: a catastrophic
   * pattern on every string, nesting thousands deep, a $ref loop, a body over 5 MiB, or
   * a poisoned schema (prompts of one character at most) kept fresh for decades.
   */
  hostileSchema: 'none' | 'redos' | 'deep' | 'loop' | 'huge' | 'poisoned';
  /** The schema and content services answer 503 (a fault, not an unknown). */
  catalogDown: boolean;
  /**
   * What `X-Runware-Dry-Run: 1` does (UNKNOWN in the reference): ignored (the task runs and
   * is billed, the pessimistic default), an acknowledgement without cost, or a priced answer.
   * The client never sends it; the switch shows why an estimate must not rely on it.
   */
  dryRun: 'ignored' | 'ack' | 'priced';
}

/** The possibilities of each unknown, for tests that run the combinations. */
export const UNKNOWNS = {
  getResponseCoversSync: [false, true],
  unknownTask: ['empty', 'notFound', 'expired', 'http404'],
  reusedUuid: ['runsAgain', 'conflict', 'conflictNoUuid'],
  wsResumeReplays: [false, true],
  staleSession: ['refused', 'newSession'],
  retryAfter: [false, true],
  wsFraming: ['perItem', 'oneFrame'],
  taskDetailsUnknown: ['noResponse', 'empty', 'error', 'http404'],
  taskDetailsRunning: ['noResponse', 'processing'],
  taskDetailsLag: [0, 1, 2, 3],
} as const satisfies {
  [K in Exclude<keyof SimOptions, 'timeScale' | 'hostile' | 'hostileSchema' | 'catalogDown' | 'dryRun'>]: ReadonlyArray<
    SimOptions[K]
  >;
};

/** The default: the first possibility of each unknown, the one that hides the most. */
export const PESSIMISTIC: Omit<SimOptions, 'timeScale'> = {
  getResponseCoversSync: false,
  unknownTask: 'empty',
  reusedUuid: 'runsAgain',
  wsResumeReplays: false,
  staleSession: 'refused',
  retryAfter: false,
  wsFraming: 'perItem',
  taskDetailsUnknown: 'noResponse',
  taskDetailsRunning: 'noResponse',
  taskDetailsLag: 0,
  hostile: false,
  hostileSchema: 'none',
  catalogDown: false,
  dryRun: 'ignored',
};

export class SimState {
  readonly log: LogEntry[] = [];
  private readonly faults: Array<Fault & { left: number }> = [];
  /** Tasks that ran (and would be billed), per taskUUID. */
  readonly accepted = new Map<string, number>();
  /** Runs that succeeded (not failed by a task error), per taskUUID: a task billed for a result. */
  readonly succeeded = new Map<string, number>();
  /** Random faults: each Runware request draws one of `faults` with probability `rate` (seeded, repeatable). */
  random: { rate: number; faults: Fault[]; next: () => number } | undefined;
  /** A test's prices: USD per reference unit by model (pricing.ts), in place of the catalogue's. */
  readonly prices = new Map<string, number>();
  /** Every taskUUID the simulated API has seen, run or not. */
  readonly known = new Set<string>();
  /** Real milliseconds every Runware request is held before it is answered (load, not a fault). */
  holdMs = 0;
  /** Benchmarks: every image takes exactly this long (ms, unscaled), whatever its size and steps. */
  imageMs: number | undefined = undefined;
  /** Test control (hold): results from this index on, of every task, wait for release(). */
  heldFrom: number | undefined = undefined;
  /** Test control (hold): media bodies stop half way until release(). */
  mediaHeld = false;
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  /** Runware requests being handled now, and the most at once since the last reset (for concurrency limits). */
  inFlight = 0;
  maxInFlight = 0;
  private nextId = 1;

  constructor(
    public options: SimOptions,
    readonly credentials: { apiKey: string; runwaySecret: string; useapiToken: string; makevidKey: string },
  ) {}

  record(e: Omit<LogEntry, 'id' | 'at'>): LogEntry {
    const entry: LogEntry = { id: this.nextId++, at: new Date().toISOString(), ...e };
    this.log.push(entry);
    if (this.log.length > 1000) this.log.shift();
    return entry;
  }

  addFaults(...faults: Fault[]): void {
    for (const f of faults) this.faults.push({ ...f, left: f.count ?? 1 });
  }

  /** Takes the first fault that matches this request, if any. */
  takeFault(surface: Surface, taskTypes: string[] = []): Fault | undefined {
    const queued = this.takeQueued(surface, taskTypes);
    if (queued || surface !== 'runware' || !this.random || this.random.faults.length === 0) return queued;
    const r = this.random;
    if (r.next() >= r.rate) return undefined;
    return r.faults[Math.floor(r.next() * r.faults.length)];
  }

  private takeQueued(surface: Surface, taskTypes: string[]): Fault | undefined {
    const i = this.faults.findIndex(
      (f) => (f.surface ?? 'runware') === surface && (!f.taskType || taskTypes.includes(f.taskType)),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.left--;
    if (f.left <= 0) this.faults.splice(i, 1);
    return f;
  }

  get pendingFaults(): number {
    return this.faults.length;
  }

  scaled(ms: number): number {
    return Math.max(0, Math.round(ms * this.options.timeScale));
  }

  /**
   * Holds back a batch's later results (getResponse shows them processing and
   * getTaskDetails the task running; a sync answer sends what is ready, over a
   * WebSocket one frame each, and waits for the rest), and/or stalls media
   * downloads half way, until release(): a test sees what a client does
   * meanwhile without guessing at timings.
   */
  hold(what: { resultsFrom?: number; media?: boolean }): void {
    if (!this.gate) {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      this.gate = { promise, open };
    }
    if (what.resultsFrom !== undefined) this.heldFrom = what.resultsFrom;
    if (what.media) this.mediaHeld = true;
  }

  release(): void {
    this.heldFrom = undefined;
    this.mediaHeld = false;
    this.gate?.open();
    this.gate = undefined;
  }

  /** Resolves when what is held is released (at once when nothing is). */
  released(): Promise<void> {
    return this.gate?.promise ?? Promise.resolve();
  }

  private readonly resetHooks: Array<() => void> = [];

  onReset(fn: () => void): void {
    this.resetHooks.push(fn);
  }

  /** Forgets requests, faults and tasks; options go back to the pessimistic defaults (time scale kept). */
  reset(): void {
    this.log.length = 0;
    this.faults.length = 0;
    this.accepted.clear();
    this.succeeded.clear();
    this.known.clear();
    this.prices.clear();
    this.random = undefined;
    this.holdMs = 0;
    this.imageMs = undefined;
    this.release();
    this.maxInFlight = this.inFlight;
    Object.assign(this.options, PESSIMISTIC);
    for (const fn of this.resetHooks) fn();
  }

  /** A small seeded generator (mulberry32), so a fault run can be repeated exactly. */
  static seeded(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /**
   * Random keys with no word in them: the scrubber counts any 10-character run of a key as
   * the key, so a key spelled "sim-runware-<hex>" made "runware-" plus two hex digits of a
   * file name look like a leak, and each simulator a process started added two more digits.
   */
  static newCredentials(): SimState['credentials'] {
    const r = (): string => `zq${randomUUID().replace(/-/g, '')}`;
    return { apiKey: r(), runwaySecret: r(), useapiToken: r(), makevidKey: r() };
  }
}
