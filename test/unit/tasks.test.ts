/** The task state machine over the journal's store: working -> completed | failed | cancelled, and never out of a done state. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallToolRequest, CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { JournalTaskStore, STALE_MS, taskStarter } from '../../src/mcp/tasks.js';
import type { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { SqliteState } from '../../src/state/sqlite.js';
import { JOB_TTL_MS } from '../../src/state/types.js';
import { waitFor } from '../helpers.js';

function setup(runner = 'me') {
  const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-tasks-')));
  const app = { journal: { state: async () => state }, config: { instanceId: runner } } as unknown as AppContext;
  return { state, store: new JournalTaskStore(app, new Logger('error')) };
}
const request = { method: 'tools/call', params: { name: 'runware_run', arguments: {} } };
const done: CallToolResult = { content: [{ type: 'text', text: 'ok' }], structuredContent: { status: 'success' } };
const fakeServer = { notification: async () => undefined, request: async () => ({}) } as unknown as Server;

describe('JournalTaskStore', () => {
  it('creates working tasks with a capped ttl, and completes them with their result', async () => {
    const { store } = setup();
    const t = await store.createTask({ ttl: 10 * JOB_TTL_MS, pollInterval: 10 }, 1, request);
    expect(t).toMatchObject({ status: 'working', ttl: JOB_TTL_MS, pollInterval: 1000 });
    await expect(store.getTaskResult(t.taskId)).rejects.toThrow(/no result yet/);
    await store.storeTaskResult(t.taskId, 'completed', done);
    expect((await store.getTask(t.taskId))!.status).toBe('completed');
    expect(await store.getTaskResult(t.taskId)).toEqual(done);
  });

  it('cancelled is final: its result says so, and a finish that comes after is ignored', async () => {
    const { store } = setup();
    const t = await store.createTask({}, 1, request);
    await store.updateTaskStatus(t.taskId, 'cancelled');
    await store.storeTaskResult(t.taskId, 'completed', done);
    const after = await store.getTask(t.taskId);
    expect(after).toMatchObject({ status: 'cancelled', statusMessage: expect.stringMatching(/polling stopped/) });
    expect(await store.getTaskResult(t.taskId)).toMatchObject({
      isError: true,
      structuredContent: { error: { kind: 'cancelled' } },
    });
  });

  it('a task whose runner went silent is failed, pointing at the journal; a live one on another runner is not', async () => {
    const { state, store } = setup();
    const old = new Date(Date.now() - STALE_MS - 1000).toISOString();
    const base = {
      status: 'working' as const,
      createdAt: old,
      updatedAt: old,
      ttlMs: 60_000,
      pollIntervalMs: 1000,
      tool: 'runware_run',
      session: 'S',
      reach: 'S',
    };
    await state.putJob({ ...base, id: 'stale', runner: 'gone', heartbeatAt: old });
    await state.putJob({ ...base, id: 'alive', runner: 'other', heartbeatAt: new Date().toISOString() });
    expect(await store.getTask('stale', 'S')).toMatchObject({
      status: 'failed',
      statusMessage: expect.stringMatching(/runware_tasks.*runware_poll/),
    });
    expect(await store.getTaskResult('stale', 'S')).toMatchObject({
      isError: true,
      structuredContent: { error: { kind: 'state' } },
    });
    expect((await store.getTask('alive', 'S'))!.status).toBe('working');
    expect(await store.getTask('never', 'S')).toBeNull();
    await expect(store.getTaskResult('never', 'S')).rejects.toThrow(/Task not found/);
  });

  it('lists newest first, in pages with a cursor', async () => {
    const { store } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) ids.push((await store.createTask({}, i, request)).taskId);
    const p1 = await store.listTasks();
    expect(p1.tasks).toHaveLength(50);
    expect(p1.nextCursor).toBeTruthy();
    const p2 = await store.listTasks(p1.nextCursor);
    expect(new Set([...p1.tasks, ...p2.tasks].map((t) => t.taskId))).toEqual(new Set(ids));
    expect(p2.nextCursor).toBeUndefined();
  });
});

describe('taskStarter', () => {
  it('answers with the task at once, runs the tool in the background, and tasks/cancel aborts it', async () => {
    const { store } = setup();
    let signal: AbortSignal | undefined;
    let release!: () => void;
    const started = taskStarter(store, fakeServer, new Logger('error'));
    const run = (extra: unknown): Promise<CallToolResult> =>
      new Promise((resolve) => {
        signal = (extra as { signal: AbortSignal }).signal;
        release = () => resolve(done);
        signal.addEventListener('abort', () =>
          resolve({ isError: true, content: [{ type: 'text', text: 'aborted' }] }),
        );
      });
    const req = { method: 'tools/call', params: { name: 'runware_run', arguments: {}, task: {} } } as CallToolRequest;
    const extra = {
      signal: new AbortController().signal,
      requestId: 1,
      sendNotification: async () => undefined,
      sendRequest: async () => ({}),
    };
    const { task } = (await started.start('runware_run', run, req, extra)) as {
      task: { taskId: string; status: string };
    };
    expect(task.status).toBe('working');
    await new Promise((r) => setTimeout(r, 10));
    expect(signal?.aborted).toBe(false);
    await store.updateTaskStatus(task.taskId, 'cancelled');
    expect(signal?.aborted).toBe(true);
    // An absence check: the aborted tool's answer, given time to land, must not move the cancelled task.
    await new Promise((r) => setTimeout(r, 20));
    expect((await store.getTask(task.taskId))!.status).toBe('cancelled');

    // And one left alone completes with the tool's result.
    const second = (await started.start('runware_run', run, req, extra)) as { task: { taskId: string } };
    release();
    await waitFor(async () => (await store.getTask(second.task.taskId))!.status !== 'working', {
      what: 'the second task to complete',
    });
    expect(await store.getTaskResult(second.task.taskId)).toEqual(done);
  });
});

describe('sessions are a boundary for tasks (hardening, second wave)', () => {
  it('without a token: tasks/list shows the session its own tasks, and by id another session reaches nothing', async () => {
    const { store } = setup();
    const a = await store.createTask({}, 1, request, 'session-A');
    await store.createTask({}, 2, request, 'session-B');
    expect((await store.listTasks(undefined, 'session-A')).tasks.map((t) => t.taskId)).toEqual([a.taskId]);
    expect(await store.getTask(a.taskId, 'session-B')).toBeNull();
    await expect(store.getTaskResult(a.taskId, 'session-B')).rejects.toThrow(/Task not found/);
    await expect(store.updateTaskStatus(a.taskId, 'cancelled', undefined, 'session-B')).rejects.toThrow(
      /Task not found/,
    );
    expect((await store.getTask(a.taskId, 'session-A'))!.status).toBe('working');
  });

  it('with a token: a new session of the same token (a reconnect) reaches a task by id, but does not list it', async () => {
    const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-tasks-')));
    const app = { journal: { state: async () => state }, config: { instanceId: 'me' } } as unknown as AppContext;
    const withToken = new JournalTaskStore(app, new Logger('error'), { token: 'a-long-enough-token' });
    const t = await withToken.createTask({}, 1, request, 'session-A');
    expect((await withToken.getTask(t.taskId, 'session-C'))!.taskId).toBe(t.taskId);
    expect((await withToken.listTasks(undefined, 'session-C')).tasks).toEqual([]);
    // Another server configured without that token (or with another) reaches nothing.
    const other = new JournalTaskStore(app, new Logger('error'), { token: 'another-token-entirely' });
    expect(await other.getTask(t.taskId, 'session-A')).toBeNull();
  });
});
