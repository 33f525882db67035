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
  | 'asyncError';

export type Surface = 'runware' | 'runway' | 'useapi' | 'makevid';

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
  /** For 429: the Retry-After value in seconds. */
  retryAfter?: number;
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

export interface SimOptions {
  /** Durations are multiplied by this (0.1 = ten times faster). */
  timeScale: number;
  /** getResponse also answers for sync tasks (the result stays fetchable). */
  getResponseCoversSync: boolean;
  /** What getResponse says for a UUID it never saw: `{data:[]}` or a taskNotFound error. */
  unknownTask: 'empty' | 'notFound';
}

export class SimState {
  readonly log: LogEntry[] = [];
  private readonly faults: Array<Fault & { left: number }> = [];
  /** Tasks that ran (and would be billed), per taskUUID. */
  readonly accepted = new Map<string, number>();
  /** Every taskUUID the simulated API has seen, run or not. */
  readonly known = new Set<string>();
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
    const i = this.faults.findIndex((f) => (f.surface ?? 'runware') === surface && (!f.taskType || taskTypes.includes(f.taskType)));
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

  reset(): void {
    this.log.length = 0;
    this.faults.length = 0;
    this.accepted.clear();
    this.known.clear();
  }

  static newCredentials(): SimState['credentials'] {
    const r = (): string => randomUUID().replace(/-/g, '');
    return { apiKey: `sim-runware-${r()}`, runwaySecret: `key_sim${r()}`, useapiToken: `user:1-sim${r()}`, makevidKey: `sim-makevid-${r()}` };
  }
}
