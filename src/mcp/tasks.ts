/**
 * Task-augmented tool calls (MCP 2025-11-25, experimental): a call that
 * carries `task` is answered at once with a task handle, and the tool goes on
 * running here in the background. The client follows it with tasks/get and
 * tasks/result, and may stop it with tasks/cancel. Calls without `task` are
 * not touched.
 *
 * The task store is the journal's state (SQLite, or Redis when shared), so a
 * task outlives a reconnect and any process on the same state answers for it.
 *
 * A job's states (JobStatus), and what moves it:
 *   working  -> completed   the tool returned a result
 *   working  -> failed      the tool returned an isError result, or the process
 *                           running it stopped (no heartbeat for STALE_MS)
 *   working  -> cancelled   tasks/cancel: the polling stops at once
 * A done job never moves again: every write after the first is `ifActive`, so
 * a cancel and a finish cannot both win.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CreateTaskOptions, TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import {
  ErrorCode,
  ListRootsResultSchema,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type Request,
  type RequestId,
  type Result,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { AppContext } from '../services/context.js';
import type { Logger } from '../shared/log.js';
import { scrubber } from '../shared/redact.js';
import { isJobDone, jobCursor, JOB_TTL_MS, type JobRecord, type JobStatus, type StateStore } from '../state/types.js';
import type { TaskStarter } from './harden.js';
import { errorResult } from './results.js';

/** How often a client is told to poll, and how often a running job says it is alive. */
export const POLL_INTERVAL_MS = 1000;
const HEARTBEAT_MS = 10_000;
/** A working job whose runner has been silent this long is reported failed. */
export const STALE_MS = 45_000;
/** Progress messages update the stored job at most this often. */
const STATUS_EVERY_MS = 1000;
const PAGE = 50;

/** Jobs running in this process, by id, so tasks/cancel (from any session) can stop them. */
const running = new Map<string, AbortController>();

const CANCELLED_MESSAGE =
  'Cancelled by the client: polling stopped. Runware has no cancel, so a generation already sent may still finish and be billed; runware_tasks lists it and runware_poll fetches its result.';

function toTask(j: JobRecord): Task {
  return {
    taskId: j.id,
    status: j.status,
    ttl: j.ttlMs,
    createdAt: j.createdAt,
    lastUpdatedAt: j.updatedAt,
    pollInterval: j.pollIntervalMs,
    ...(j.statusMessage ? { statusMessage: j.statusMessage } : {}),
  };
}

/**
 * The SDK's TaskStore over the shared state. Sessions are a boundary:
 * tasks/list shows the calling session's tasks only; tasks/get, tasks/result
 * and tasks/cancel reach a task from its own session, or, when the HTTP
 * server has a token, from any session of that token (a reconnect). Without
 * a token a later session reaches the work through runware_poll and the journal.
 */
export class JournalTaskStore implements TaskStore {
  private readonly runner: string;
  /** The session of calls that name none (stdio: this process). */
  private readonly ownScope = randomUUID();
  private readonly tokenReach: string | undefined;

  constructor(
    private readonly app: AppContext,
    private readonly log: Logger,
    opts: { token?: string } = {},
  ) {
    this.runner = app.config.instanceId;
    this.tokenReach = opts.token
      ? `token:${createHash('sha256').update(`runware-mcp-tasks:${opts.token}`).digest('hex').slice(0, 24)}`
      : undefined;
  }

  private scopeOf(sessionId: string | undefined): string {
    return sessionId ?? this.ownScope;
  }

  private reachOf(sessionId: string | undefined): string {
    return this.tokenReach ?? this.scopeOf(sessionId);
  }

  /** A job another session may not see is, to it, no job at all (records from before this rule included). */
  private reachable(j: JobRecord | undefined, sessionId: string | undefined): JobRecord | undefined {
    return j && j.reach === this.reachOf(sessionId) ? j : undefined;
  }

  private async state(): Promise<StateStore> {
    try {
      return await this.app.journal.state();
    } catch (e) {
      throw new McpError(
        ErrorCode.InternalError,
        `Tasks are kept in the journal, which is unavailable: ${(e as Error).message}. Call the tool without "task".`,
      );
    }
  }

  private async job(taskId: string, sessionId?: string, check = false): Promise<JobRecord> {
    const found = await (await this.state()).getJob(taskId);
    const j = check ? this.reachable(found, sessionId) : found;
    if (!j)
      throw new McpError(
        ErrorCode.InvalidParams,
        `Task not found: ${scrubber.text(taskId).slice(0, 80)} (unknown, or older than its ttl).`,
      );
    return j;
  }

  async createTask(
    params: CreateTaskOptions,
    _requestId: RequestId,
    request: Request,
    sessionId?: string,
  ): Promise<Task> {
    const now = new Date().toISOString();
    const ttl = typeof params.ttl === 'number' && params.ttl > 0 ? Math.min(params.ttl, JOB_TTL_MS) : JOB_TTL_MS;
    const job: JobRecord = {
      id: randomUUID(),
      status: 'working',
      createdAt: now,
      updatedAt: now,
      ttlMs: ttl,
      pollIntervalMs: Math.max(POLL_INTERVAL_MS, params.pollInterval ?? POLL_INTERVAL_MS),
      tool: String((request.params as { name?: unknown } | undefined)?.name ?? request.method),
      runner: this.runner,
      heartbeatAt: now,
      statusMessage: 'started',
      session: this.scopeOf(sessionId),
      reach: this.reachOf(sessionId),
    };
    await (await this.state()).putJob(job);
    return toTask(job);
  }

  async getTask(taskId: string, sessionId?: string): Promise<Task | null> {
    const j = this.reachable(await (await this.state()).getJob(taskId), sessionId);
    if (!j) return null;
    return toTask(await this.reap(j));
  }

  /** The task as its runner sees it, whoever asked for it. */
  async peek(taskId: string): Promise<Task | null> {
    const j = await (await this.state()).getJob(taskId);
    return j ? toTask(j) : null;
  }

  /** A working job whose runner stopped (no heartbeat) is failed here, with where its work can still be found. */
  private async reap(j: JobRecord): Promise<JobRecord> {
    if (j.status !== 'working' || running.has(j.id) || Date.now() - Date.parse(j.heartbeatAt) < STALE_MS) return j;
    const message = `The server process running this task stopped before it finished. Any Runware task it sent is in the journal: runware_tasks lists it and runware_poll fetches it (free; never run it again).`;
    const failed: JobRecord = {
      ...j,
      status: 'failed',
      statusMessage: message,
      updatedAt: new Date().toISOString(),
      result: errorResult({ kind: 'state', message, next: 'Call runware_tasks, then runware_poll with the taskUUID.' }),
    };
    const st = await this.state();
    return (await st.putJob(failed, { ifActive: true })) ? failed : ((await st.getJob(j.id)) ?? failed);
  }

  async storeTaskResult(taskId: string, status: 'completed' | 'failed', result: Result): Promise<void> {
    const j = await this.job(taskId);
    await (
      await this.state()
    ).putJob(
      {
        ...j,
        status,
        result,
        statusMessage: status,
        updatedAt: new Date().toISOString(),
        heartbeatAt: new Date().toISOString(),
      },
      { ifActive: true },
    );
  }

  async getTaskResult(taskId: string, sessionId?: string): Promise<Result> {
    const j = await this.job(taskId, sessionId, true);
    if (!isJobDone(j.status) || j.result === undefined)
      throw new McpError(ErrorCode.InvalidParams, `Task ${taskId} has no result yet (status ${j.status}).`);
    return j.result as Result;
  }

  async updateTaskStatus(
    taskId: string,
    status: Task['status'],
    statusMessage?: string,
    sessionId?: string,
  ): Promise<void> {
    // A cancel comes from a client; other changes come from the runner itself.
    const j = await this.job(taskId, sessionId, status === 'cancelled');
    const now = new Date().toISOString();
    const next: JobRecord = {
      ...j,
      status: status as JobStatus,
      updatedAt: now,
      heartbeatAt: j.runner === this.runner ? now : j.heartbeatAt,
      ...(statusMessage ? { statusMessage: scrubber.text(statusMessage) } : {}),
    };
    if (status === 'cancelled') {
      next.statusMessage = CANCELLED_MESSAGE;
      next.result = errorResult({
        kind: 'cancelled',
        message: CANCELLED_MESSAGE,
        next: 'runware_tasks lists what was sent; runware_poll fetches a result without running anything again.',
      });
    }
    const wrote = await (await this.state()).putJob(next, { ifActive: true });
    if (wrote && status === 'cancelled') {
      running.get(taskId)?.abort();
      this.log.info(`task ${taskId} (${j.tool}) cancelled by the client`);
    }
  }

  async listTasks(cursor?: string, sessionId?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const jobs = await (await this.state()).listJobs(PAGE, cursor);
    const scope = this.scopeOf(sessionId);
    const tasks = await Promise.all(
      jobs.filter((j) => j.session === scope).map(async (j) => toTask(await this.reap(j))),
    );
    return { tasks, ...(jobs.length === PAGE ? { nextCursor: jobCursor(jobs[jobs.length - 1]!) } : {}) };
  }

  /** While a job runs here: its heartbeat, and progress as its status message. */
  async touch(taskId: string, statusMessage?: string): Promise<void> {
    const st = await this.state();
    const j = await st.getJob(taskId);
    if (!j || isJobDone(j.status)) return;
    const now = new Date().toISOString();
    await st.putJob(
      {
        ...j,
        heartbeatAt: now,
        updatedAt: statusMessage ? now : j.updatedAt,
        ...(statusMessage ? { statusMessage: scrubber.text(statusMessage) } : {}),
      },
      { ifActive: true },
    );
  }
}

/** A job's status message from a progress report: always with the number, and the tool's words when it gave any. */
export function progressStatus(p: { progress: number; total?: number; message?: string }): string {
  const amount = p.total ? `${Math.round(p.progress)} of ${p.total}` : `${Math.round(p.progress)}%`;
  return p.message && p.message.includes(amount) ? p.message : p.message ? `${amount}: ${p.message}` : amount;
}

type HandlerExtra = {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number; [k: string]: unknown };
  sendNotification: (n: { method: string; params?: Record<string, unknown> }) => Promise<void>;
  sendRequest: (...a: never[]) => Promise<unknown>;
};

/**
 * Starts task-augmented calls: the job is written, the handle returned, and
 * the tool runs with its own abort signal (tasks/cancel), heartbeat, and
 * progress going to the job's status message (and to the client's progress
 * token, when it gave one, for the task's whole life).
 */
export function taskStarter(store: JournalTaskStore, server: Server, log: Logger): TaskStarter {
  return {
    async start(name, run, request: CallToolRequest, rawExtra) {
      const extra = rawExtra as HandlerExtra & { requestId: RequestId };
      const task = await store.createTask(
        request.params.task ?? {},
        extra.requestId,
        request,
        (extra as { sessionId?: string }).sessionId,
      );
      const id = task.taskId;
      const abort = new AbortController();
      running.set(id, abort);
      const beat = setInterval(() => void store.touch(id).catch(() => undefined), HEARTBEAT_MS);
      beat.unref();
      let lastStatus = 0;
      const token = extra._meta?.progressToken;
      const bgExtra: HandlerExtra = {
        ...extra,
        signal: abort.signal,
        // The call's own stream is gone once the handle is sent: notifications and requests go unrelated.
        // A tool reports progress only for a progressToken: with none from the client, the task's own
        // stands in, so the job's status message carries the percentage either way.
        _meta: {
          ...extra._meta,
          progressToken: token ?? `task:${id}`,
          'io.modelcontextprotocol/related-task': { taskId: id },
        },
        sendNotification: async (n) => {
          if (n.method !== 'notifications/progress') return server.notification(n as never);
          const p = n.params as { progress: number; total?: number; message?: string };
          const now = Date.now();
          if (now - lastStatus >= STATUS_EVERY_MS) {
            lastStatus = now;
            void store.touch(id, progressStatus(p)).catch(() => undefined);
          }
          if (token !== undefined)
            await server
              .notification({ method: 'notifications/progress', params: { ...p, progressToken: token } })
              .catch(() => undefined);
        },
        sendRequest: ((r: { method: string }, schema: typeof ListRootsResultSchema, o?: { timeout?: number }) =>
          r.method === 'ping' ? Promise.resolve({}) : server.request(r as never, schema, o)) as never,
      };
      void (async () => {
        let result: CallToolResult;
        try {
          result = await run(bgExtra);
        } catch (e) {
          result = errorResult({ kind: 'internal', message: (e as Error).message });
        } finally {
          clearInterval(beat);
          running.delete(id);
        }
        try {
          await store.storeTaskResult(id, result.isError ? 'failed' : 'completed', result);
          const t = await store.peek(id);
          if (t)
            await server
              .notification({ method: 'notifications/tasks/status', params: t } as never)
              .catch(() => undefined);
        } catch (e) {
          // The client cannot fetch it now; the Runware taskUUID lets runware_poll fetch it again, free.
          const uuid = (result.structuredContent as { taskUUID?: unknown } | undefined)?.taskUUID;
          log.warn(
            `task ${id} (${name}) finished, but its result could not be stored: ${(e as Error).message}${typeof uuid === 'string' ? `; runware_poll with taskUUID ${uuid} fetches it` : ''}`,
          );
        }
      })();
      return { task };
    },
  };
}
