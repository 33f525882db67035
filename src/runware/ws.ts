/**
 * WebSocket transport. The key travels only in the connect-time
 * authentication message; the session UUID it returns is used to resume after
 * a drop. Each send() registers its tasks by taskUUID and resolves once every
 * task is complete (all expected items, or an error), giving the client the
 * same {data, errors} envelope REST gives. A drop while tasks are in flight
 * rejects with NetworkError(sent) so the client's landing check runs.
 */
import type { WebSocket as UndiciWebSocket } from 'undici';
import { CancelledError, NetworkError, UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { undici } from '../shared/undici.js';
import type { Task } from './rules.js';
import type { Transport, TransportReply } from './transport.js';

export interface WsOptions {
  url: string;
  apiKey: string;
  logger: Logger;
  authTimeoutMs?: number;
  /** Bound on one send: the server's sync budget is about 120 s. */
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
}

type Raw = Record<string, unknown>;

interface Group {
  /** Items still expected per taskUUID. */
  expected: Map<string, number>;
  reads: Set<string>;
  data: Raw[];
  errors: Raw[];
  resolve: (r: TransportReply) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

/** How many result items a task produces when it completes synchronously. */
export function expectedItems(t: Task): number {
  if (t.deliveryMethod === 'async') return 1;
  if (t.taskType === 'imageInference' && typeof t.numberResults === 'number') return t.numberResults;
  if (t.taskType === 'promptEnhance' && typeof t.promptVersions === 'number') return t.promptVersions;
  return 1;
}

export class WsTransport implements Transport {
  readonly name = 'ws' as const;
  private socket: UndiciWebSocket | undefined;
  private connecting: Promise<UndiciWebSocket> | undefined;
  private sessionUUID: string | undefined;
  private everConnected = false;
  private readonly byUuid = new Map<string, Group>();
  private readonly groups = new Set<Group>();
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: WsOptions) {
    this.log = opts.logger.child('ws');
  }

  async send(tasks: Task[], { signal }: { signal?: AbortSignal } = {}): Promise<TransportReply> {
    if (signal?.aborted) throw new CancelledError();
    const ws = await this.connect(signal);
    return new Promise<TransportReply>((resolve, reject) => {
      const group: Group = {
        expected: new Map(tasks.map((t) => [t.taskUUID, expectedItems(t)])),
        reads: new Set(tasks.filter((t) => t.taskType === 'getResponse').map((t) => t.taskUUID)),
        data: [],
        errors: [],
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
        reject(new NetworkError('Runware WebSocket: no complete answer in time.', true, 'TIMEOUT'));
      }, this.opts.requestTimeoutMs ?? 150_000);
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

  /** Connects and authenticates once; concurrent callers share the attempt. */
  private async connect(signal?: AbortSignal): Promise<UndiciWebSocket> {
    if (this.socket && this.socket.readyState === 1) return this.socket;
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    const ws = await this.connecting;
    if (signal?.aborted) throw new CancelledError();
    return ws;
  }

  private async open(): Promise<UndiciWebSocket> {
    const { WebSocket } = await undici();
    const ws = new WebSocket(this.opts.url);
    const authTimeout = this.opts.authTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new NetworkError('Runware WebSocket: authentication timed out.', false, 'AUTH_TIMEOUT'));
      }, authTimeout);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      ws.addEventListener('error', () => fail(new NetworkError('Runware WebSocket: could not connect.', false, 'CONNECT')));
      ws.addEventListener('close', () => fail(new NetworkError('Runware WebSocket: closed during authentication.', false, 'CLOSED')));
      ws.addEventListener('open', () => {
        // The one place the key is sent over WebSocket.
        ws.send(JSON.stringify([{ taskType: 'authentication', apiKey: this.opts.apiKey, ...(this.sessionUUID ? { connectionSessionUUID: this.sessionUUID } : {}) }]));
      });
      const onAuth = (ev: { data: unknown }): void => {
        const msg = this.parse(ev.data);
        const ok = (msg?.data as Raw[] | undefined)?.find((d) => d.taskType === 'authentication' && typeof d.connectionSessionUUID === 'string');
        const errs = [...((msg?.errors as Raw[] | undefined) ?? []), ...(msg?.error && typeof msg.error === 'object' ? [msg.error as Raw] : [])];
        if (ok) {
          clearTimeout(timer);
          const resumed = this.sessionUUID === ok.connectionSessionUUID;
          this.sessionUUID = String(ok.connectionSessionUUID);
          ws.removeEventListener('message', onAuth);
          if (resumed) this.log.info('WebSocket reconnected; session resumed');
          else if (this.everConnected) this.log.info('WebSocket reconnected; new session');
          else this.log.debug('WebSocket connected');
          this.everConnected = true;
          resolve();
        } else if (errs.length || msg?.error === true) {
          const e = errs[0] ?? { code: 'invalidApiKey', message: String(msg?.errorMessage ?? 'Authentication failed.') };
          ws.close();
          fail(new UpstreamError(`Runware refused the key: ${String(e.message ?? e.code)}`, { code: String(e.code ?? 'invalidApiKey'), category: 'auth', retryable: false, hint: 'Check RUNWARE_API_KEY, or run with --simulate.' }));
        }
      };
      ws.addEventListener('message', onAuth);
    });
    ws.addEventListener('message', (ev) => this.onMessage(ev.data));
    ws.addEventListener('close', () => this.onClose(ws));
    this.socket = ws;
    this.startPing(ws);
    return ws;
  }

  private parse(data: unknown): Raw | undefined {
    try {
      const v = JSON.parse(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer).toString('utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined;
    } catch {
      return undefined;
    }
  }

  private onMessage(raw: unknown): void {
    const msg = this.parse(raw);
    if (!msg) return;
    const data = Array.isArray(msg.data) ? (msg.data as Raw[]) : [];
    const errors = [...(Array.isArray(msg.errors) ? (msg.errors as Raw[]) : []), ...(Array.isArray(msg.error) ? (msg.error as Raw[]) : msg.error && typeof msg.error === 'object' ? [msg.error as Raw] : [])];
    const touched = new Set<Group>();
    for (const d of data) {
      // Keep-alive pongs and auth replies name no task; a ping *task* carries its taskUUID.
      if (d.taskType === 'authentication' || (d.taskType === 'ping' && d.taskUUID === undefined)) continue;
      const g = typeof d.taskUUID === 'string' ? this.byUuid.get(d.taskUUID) : undefined;
      if (!g) continue;
      g.data.push(d);
      touched.add(g);
      // A getResponse reply holds the task's whole state in one frame.
      if (g.reads.has(String(d.taskUUID))) g.expected.set(String(d.taskUUID), 0);
      else g.expected.set(String(d.taskUUID), (g.expected.get(String(d.taskUUID)) ?? 1) - 1);
    }
    for (const e of errors) {
      const uuid = typeof e.taskUUID === 'string' ? e.taskUUID : undefined;
      const g = uuid ? this.byUuid.get(uuid) : this.oldest();
      if (!g) continue;
      g.errors.push(e);
      touched.add(g);
      if (uuid) g.expected.set(uuid, 0);
      // An error that names no task ends the whole request it answers.
      else for (const k of g.expected.keys()) g.expected.set(k, 0);
    }
    if (data.length === 0 && errors.length === 0 && Array.isArray(msg.data)) {
      // An empty answer names no task: it belongs to the oldest getResponse waiting for one.
      const g = [...this.groups].find((x) => [...x.reads].some((u) => (x.expected.get(u) ?? 0) > 0));
      if (g) {
        for (const u of g.reads) if ((g.expected.get(u) ?? 0) > 0) {
          g.expected.set(u, 0);
          break;
        }
        touched.add(g);
      }
    }
    for (const g of touched) {
      if ([...g.expected.values()].every((n) => n <= 0)) {
        g.cleanup();
        g.resolve({ status: 200, body: { data: g.data, ...(g.errors.length ? { errors: g.errors } : {}) } });
      }
    }
  }

  private oldest(): Group | undefined {
    return this.groups.values().next().value;
  }

  private onClose(ws: UndiciWebSocket): void {
    if (this.socket !== ws) return;
    this.socket = undefined;
    clearInterval(this.pingTimer);
    // Whatever was in flight may have landed: the client checks before resending.
    for (const g of [...this.groups]) {
      g.cleanup();
      g.reject(new NetworkError('Runware WebSocket: the connection closed with tasks in flight.', true, 'CLOSED'));
    }
    this.log.info('WebSocket closed; the next call reconnects');
  }

  /** Keeps the connection alive while work is in flight; idle sockets may be closed by the server. */
  private startPing(ws: UndiciWebSocket): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (this.groups.size > 0 && ws.readyState === 1) ws.send(JSON.stringify([{ taskType: 'ping', ping: true }]));
    }, this.opts.pingIntervalMs ?? 30_000);
    this.pingTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    const ws = this.socket;
    this.socket = undefined;
    ws?.close();
  }
}
