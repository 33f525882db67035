/**
 * WebSocket transport. The key travels only in the connect-time
 * authentication message. Each send() registers its tasks by taskUUID and
 * resolves once every task is complete (all expected items, or an error),
 * giving the client the same {data, errors} envelope REST gives.
 *
 * A drop does not forget what is in flight: the transport reconnects at once
 * with the session UUID, lets a replay (if the API sends one) complete the
 * tasks, and only rejects what the replay did not complete, as
 * NetworkError(sent), so the client's landing check asks about exactly those.
 * A refused resume authenticates again without the session UUID.
 *
 * Frames that name no task never complete or fail a task in flight; reads are
 * sent one at a time, so an empty answer (which names no task) can only be
 * the one pending read's.
 */
import type { WebSocket as UndiciWebSocket } from 'undici';
import { CancelledError, NetworkError, UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { undici } from '../shared/undici.js';
import type { DataItem } from './errors.js';
import { resultKey } from './poll.js';
import { isReadType, type Task } from './rules.js';
import type { SendOptions, Transport, TransportReply } from './transport.js';
import { canonicalType } from './task-types.js';
import { expectedResults, isFinished } from './verdicts.js';
import { TUNABLE, WS } from './timing.js';

export interface WsOptions {
  url: string;
  apiKey: string;
  logger: Logger;
  authTimeoutMs?: number;
  /** Bound on one send when the caller gives none: the server's sync budget is about 120 s. */
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  /** A socket with no pong this long after a ping counts as dropped. */
  pongTimeoutMs?: number;
  /** After a resumed session, how long a replay may take to complete the tasks in flight. */
  replayGraceMs?: number;
}

type Raw = Record<string, unknown>;

interface Group {
  tasks: Task[];
  /** Items still expected per taskUUID. */
  expected: Map<string, number>;
  /** Result identities seen per taskUUID, so duplicate frames count once. */
  seen: Map<string, Set<string>>;
  isRead: boolean;
  data: Raw[];
  errors: Raw[];
  /** Told of each new result item as its frame arrives (SendOptions.onItem). */
  onItem?: ((item: DataItem) => void) | undefined;
  resolve: (r: TransportReply) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

/** How many result items a task produces before it is complete on the socket. */
export function expectedItems(t: Task): number {
  if (t.deliveryMethod === 'async') return 1;
  return expectedResults(t);
}

const isObj = (v: unknown): v is Raw => !!v && typeof v === 'object' && !Array.isArray(v);

/** An item or error naming `t`'s UUID is about `t` only if it names no other type (a read's answer names the task it read, so reads are not asked). */
const ofType = (t: Task, d: Raw): boolean =>
  d.taskType === undefined || canonicalType(String(d.taskType)) === canonicalType(t.taskType);

/**
 * Whether a frame's item is `t`'s answer, counted towards completing it: of its type, and for
 * sync work a result or a "success" (one with no output is looked up), never a marker such
 * as "processing" (a batch would end a result short, the rest billed and never asked for).
 */
const answers = (t: Task, d: Raw): boolean =>
  ofType(t, d) && (t.deliveryMethod !== 'sync' || d.status === 'success' || isFinished(d as DataItem, t.taskType));

export class WsTransport implements Transport {
  readonly name = 'ws' as const;
  private socket: UndiciWebSocket | undefined;
  private connecting: Promise<UndiciWebSocket> | undefined;
  /** Set once Runware refuses the key at authentication: permanent for this process. */
  private keyRefused: UpstreamError | undefined;
  private sessionUUID: string | undefined;
  private everConnected = false;
  private readonly byUuid = new Map<string, Group>();
  private readonly groups = new Set<Group>();
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** Reads go one at a time (see the header). */
  private readChain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: WsOptions) {
    this.log = opts.logger.child('ws');
  }

  async send(tasks: Task[], { signal, timeoutMs, onItem }: SendOptions = {}): Promise<TransportReply> {
    if (signal?.aborted) throw new CancelledError();
    const isRead = tasks.length > 0 && tasks.every((t) => isReadType(t.taskType));
    if (!isRead) return this.sendNow(tasks, signal, timeoutMs, onItem);
    const run = this.readChain.then(() => this.sendNow(tasks, signal, timeoutMs));
    this.readChain = run.catch(() => undefined);
    return run;
  }

  private async sendNow(
    tasks: Task[],
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    onItem?: (item: DataItem) => void,
  ): Promise<TransportReply> {
    const started = Date.now();
    const budget = timeoutMs ?? this.opts.requestTimeoutMs ?? TUNABLE.requestTimeoutMs;
    const ws = await this.connect(signal, budget);
    const left = Math.max(1, budget - (Date.now() - started));
    return new Promise<TransportReply>((resolve, reject) => {
      const group: Group = {
        tasks,
        expected: new Map(tasks.map((t) => [t.taskUUID, isReadType(t.taskType) ? 1 : expectedItems(t)])),
        seen: new Map(),
        isRead: tasks.every((t) => isReadType(t.taskType)),
        data: [],
        errors: [],
        onItem,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.groups.delete(group);
          for (const t of tasks) if (this.byUuid.get(t.taskUUID) === group) this.byUuid.delete(t.taskUUID);
        },
      };
      const timer = setTimeout(() => {
        group.cleanup();
        reject(new NetworkError('Runware WebSocket: no complete answer before the deadline.', true, 'TIMEOUT'));
      }, left);
      const onAbort = (): void => {
        group.cleanup();
        reject(new CancelledError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.groups.add(group);
      for (const t of tasks) this.byUuid.set(t.taskUUID, group);
      try {
        ws.send(JSON.stringify(tasks));
      } catch {
        group.cleanup();
        reject(new NetworkError('Runware WebSocket: the connection closed before sending.', false, 'CLOSED'));
      }
    });
  }

  /**
   * Connects and authenticates once; concurrent callers share the attempt. The attempt has its
   * own deadline (the authentication timeout), each caller waits for it within its own budget:
   * one call with little time left must not fail the connection every other call is waiting for.
   */
  private async connect(signal?: AbortSignal, budgetMs?: number): Promise<UndiciWebSocket> {
    if (this.socket && this.socket.readyState === 1) return this.socket;
    // A refused key stays refused: every later call gets the same answer without a new connection.
    if (this.keyRefused) throw this.keyRefused;
    if (!this.connecting) {
      this.connecting = this.open().finally(() => {
        this.connecting = undefined;
      });
      // Its failure is each waiting caller's to report; one that no caller waits for any more is no crash.
      this.connecting.catch(() => undefined);
    }
    const ws = await waitWithin(this.connecting, signal, budgetMs, this.opts.url);
    if (signal?.aborted) throw new CancelledError();
    return ws;
  }

  private async open(budgetMs?: number): Promise<UndiciWebSocket> {
    this.closed = false;
    try {
      return await this.openOnce(this.sessionUUID, budgetMs);
    } catch (e) {
      if (resumeIdTimedOut(e, this.sessionUUID)) {
        // A session that cannot even authenticate is dead: the next attempt starts afresh.
        this.sessionUUID = undefined;
      }
      if (e instanceof ResumeRefused) {
        // The API would not resume that session: start a new one; nothing will be replayed.
        this.log.info('WebSocket resume refused; authenticating without the session UUID');
        this.sessionUUID = undefined;
        this.failInFlight('the session could not be resumed');
        return this.openOnce(undefined, budgetMs);
      }
      throw e;
    }
  }

  private async openOnce(resumeId: string | undefined, budgetMs?: number): Promise<UndiciWebSocket> {
    const { WebSocket } = await undici();
    const url = this.opts.url;
    const ws = new WebSocket(url);
    const authTimeout = Math.min(this.opts.authTimeoutMs ?? WS.authTimeoutMs, budgetMs ?? Infinity);
    let resumed = false;
    let authed = false;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => {
          fail(new NetworkError(`Runware WebSocket: authentication at ${url} timed out.`, false, 'AUTH_TIMEOUT'));
          ws.close();
        },
        Math.max(1, authTimeout),
      );
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      };
      ws.addEventListener('error', () =>
        fail(new NetworkError(`Runware WebSocket: could not connect to ${url}.`, false, 'CONNECT')),
      );
      ws.addEventListener('close', () =>
        fail(new NetworkError(`Runware WebSocket: ${url} closed during authentication.`, false, 'CLOSED')),
      );
      ws.addEventListener('open', () => {
        // The one place the key is sent over WebSocket.
        ws.send(
          JSON.stringify([
            {
              taskType: 'authentication',
              apiKey: this.opts.apiKey,
              ...(resumeId ? { connectionSessionUUID: resumeId } : {}),
            },
          ]),
        );
      });
      const onAuth = (ev: { data: unknown }): void => {
        const msg = this.parse(ev.data);
        if (!msg) return;
        const data = Array.isArray(msg.data) ? msg.data.filter(isObj) : [];
        const ok = data.find((d) => d.taskType === 'authentication' && typeof d.connectionSessionUUID === 'string');
        const errs = [
          ...(Array.isArray(msg.errors) ? msg.errors.filter(isObj) : []),
          ...(Array.isArray(msg.error) ? msg.error.filter(isObj) : isObj(msg.error) ? [msg.error] : []),
        ];
        if (ok) {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resumed = resumeId !== undefined && resumeId === ok.connectionSessionUUID;
          this.sessionUUID = String(ok.connectionSessionUUID);
          // From here on frames are routed (a replay may come in the same chunk as this reply).
          authed = true;
          resolve();
        } else if (errs.length || msg.error === true) {
          const e = errs[0] ?? { code: 'invalidApiKey', message: String(msg.errorMessage ?? 'Authentication failed.') };
          const code = String(e.code ?? 'invalidApiKey');
          ws.close();
          if (resumeId && !/apikey/i.test(code)) fail(new ResumeRefused(code));
          else {
            this.keyRefused = new UpstreamError(`Runware refused the key: ${String(e.message ?? e.code)}`, {
              code,
              category: 'auth',
              retryable: false,
              hint: 'Check RUNWARE_API_KEY, then restart the server (the refusal is remembered), or run with --simulate.',
            });
            fail(this.keyRefused);
          }
        }
      };
      ws.addEventListener('message', (ev) => (authed ? this.onMessage(ev.data) : onAuth(ev)));
    });
    ws.addEventListener('close', () => this.onClose(ws));
    this.socket = ws;
    this.startPing(ws);
    if (this.everConnected)
      this.log.info(resumed ? 'WebSocket reconnected; session resumed' : 'WebSocket reconnected; new session');
    else this.log.debug('WebSocket connected');
    this.everConnected = true;
    if (!resumed) this.failInFlight('a new session replays nothing');
    else this.awaitReplay();
    return ws;
  }

  private parse(data: unknown): Raw | undefined {
    try {
      const v = JSON.parse(
        typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer).toString('utf8'),
      ) as unknown;
      return isObj(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** Routes one frame. No upstream byte may throw here: this runs inside an event listener. */
  private onMessage(raw: unknown): void {
    try {
      this.route(raw);
    } catch (e) {
      this.log.warn('ignored a WebSocket frame that could not be routed', {
        error: String((e as Error)?.message ?? e),
      });
    }
  }

  private route(raw: unknown): void {
    const msg = this.parse(raw);
    if (!msg) return;
    this.gotTraffic();
    const data = Array.isArray(msg.data) ? msg.data.filter(isObj) : [];
    const errors = [
      ...(Array.isArray(msg.errors) ? msg.errors.filter(isObj) : []),
      ...(Array.isArray(msg.error) ? msg.error.filter(isObj) : isObj(msg.error) ? [msg.error] : []),
    ];
    const touched = new Set<Group>();
    for (const d of data) {
      // Keep-alive pongs and auth replies name no task; a ping *task* carries its taskUUID.
      if (d.taskType === 'authentication' || (d.taskType === 'ping' && d.taskUUID === undefined)) continue;
      const uuid = typeof d.taskUUID === 'string' ? d.taskUUID : undefined;
      const g = uuid ? this.byUuid.get(uuid) : undefined;
      if (!g || !uuid) continue;
      // Only the task's own answer completes it: not an item of another type, nor (sync) one that is no result.
      const task = g.isRead ? undefined : g.tasks.find((t) => t.taskUUID === uuid && !isReadType(t.taskType));
      if (task && !answers(task, d)) continue;
      const keys = g.seen.get(uuid) ?? new Set<string>();
      g.seen.set(uuid, keys);
      const key = resultKey(d);
      if (keys.has(key)) continue; // a duplicate frame counts once
      keys.add(key);
      g.data.push(d);
      touched.add(g);
      if (!g.isRead) g.onItem?.(d as DataItem);
      // A read's answer holds the task's whole state in one frame.
      if (g.isRead) g.expected.set(uuid, 0);
      else g.expected.set(uuid, (g.expected.get(uuid) ?? 1) - 1);
    }
    for (const e of errors) {
      const uuid = typeof e.taskUUID === 'string' ? e.taskUUID : undefined;
      const g = uuid ? this.byUuid.get(uuid) : this.soleRead();
      const task = g && !g.isRead ? g.tasks.find((t) => t.taskUUID === uuid && !isReadType(t.taskType)) : undefined;
      if (task && !ofType(task, e)) continue;
      if (!g) {
        // An error that names no task belongs to no task: it never fails one in flight.
        this.log.warn('Runware sent an error that names no task; ignored', { code: String(e.code ?? '') });
        continue;
      }
      g.errors.push(e);
      touched.add(g);
      if (uuid) g.expected.set(uuid, 0);
      else for (const k of g.expected.keys()) g.expected.set(k, 0);
    }
    let untagged: Group | undefined;
    // Only a frame whose data is truly empty is an (empty) answer; `[null]` or items naming no task answer nothing.
    if (errors.length === 0 && Array.isArray(msg.data) && msg.data.length === 0) {
      // An empty answer names no task: only the one pending read can own it, and even then it may be another message's.
      untagged = this.soleRead();
      if (untagged) {
        for (const k of untagged.expected.keys()) untagged.expected.set(k, 0);
        touched.add(untagged);
      }
    }
    for (const g of touched) {
      if ([...g.expected.values()].every((n) => n <= 0)) {
        g.cleanup();
        const empty = g === untagged && g.data.length === 0 && g.errors.length === 0;
        g.resolve({
          status: 200,
          body: { data: g.data, ...(g.errors.length ? { errors: g.errors } : {}) },
          ...(empty ? { untagged: true } : {}),
        });
      }
    }
  }

  /** The pending read, when it is the only one (reads are sent one at a time). */
  private soleRead(): Group | undefined {
    const reads = [...this.groups].filter((g) => g.isRead);
    return reads.length === 1 ? reads[0] : undefined;
  }

  private onClose(ws: UndiciWebSocket): void {
    if (this.socket !== ws) return;
    this.socket = undefined;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    if (this.closed || this.groups.size === 0) {
      if (!this.closed) this.log.info('WebSocket closed; the next call reconnects');
      return;
    }
    // Tasks are in flight: resume the session now, so a replay can complete them.
    this.log.info('WebSocket dropped with tasks in flight; resuming the session');
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    this.connecting.catch((e: unknown) =>
      this.failInFlight(`reconnecting failed: ${String((e as Error)?.message ?? e)}`),
    );
  }

  /** After a resume, what the replay has not completed within the grace gets a landing check. */
  private awaitReplay(): void {
    const pending = [...this.groups];
    if (pending.length === 0) return;
    const t = setTimeout(() => {
      for (const g of pending) if (this.groups.has(g)) this.rejectGroup(g, 'the resumed session replayed no answer');
    }, this.opts.replayGraceMs ?? WS.replayGraceMs);
    t.unref();
  }

  private failInFlight(why: string): void {
    for (const g of [...this.groups]) this.rejectGroup(g, why);
  }

  private rejectGroup(g: Group, why: string): void {
    g.cleanup();
    // Whatever was in flight may have landed: the client checks before resending.
    g.reject(
      new NetworkError(`Runware WebSocket: the connection dropped with tasks in flight (${why}).`, true, 'DROPPED'),
    );
  }

  /** Any frame proves the socket alive. */
  private gotTraffic(): void {
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  /** Pings while work is in flight; a socket that stays silent past the pong deadline is dropped. */
  private startPing(ws: UndiciWebSocket): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (this.groups.size === 0 || ws.readyState !== 1) return;
      ws.send(JSON.stringify([{ taskType: 'ping', ping: true }]));
      if (this.pongTimer) return;
      this.pongTimer = setTimeout(() => {
        this.pongTimer = undefined;
        this.log.warn('WebSocket silent past the pong deadline; treating it as dropped');
        this.onClose(ws);
        try {
          ws.close();
        } catch {
          // already closing
        }
      }, this.opts.pongTimeoutMs ?? WS.pongTimeoutMs);
      this.pongTimer.unref();
    }, this.opts.pingIntervalMs ?? WS.pingIntervalMs);
    this.pingTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    const ws = this.socket;
    this.socket = undefined;
    ws?.close();
  }
}

/** `p` for a caller with `budgetMs` to spare: its cancellation or its budget ends its wait, not `p`. */
function waitWithin<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  budgetMs: number | undefined,
  url: string,
): Promise<T> {
  if (budgetMs === undefined && !signal) return p;
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => (done(), reject(new CancelledError()));
    const timer =
      budgetMs === undefined
        ? undefined
        : setTimeout(
            () => (
              done(),
              reject(new NetworkError(`Runware WebSocket: authentication at ${url} timed out.`, false, 'AUTH_TIMEOUT'))
            ),
            Math.max(1, budgetMs),
          );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (done(), resolve(v)),
      (e: unknown) => (done(), reject(e as Error)),
    );
  });
}

const resumeIdTimedOut = (e: unknown, sessionUUID: string | undefined): boolean =>
  sessionUUID !== undefined && e instanceof NetworkError && e.causeCode === 'AUTH_TIMEOUT';

class ResumeRefused extends Error {
  constructor(readonly code: string) {
    super(`resume refused (${code})`);
  }
}
