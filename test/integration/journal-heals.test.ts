/**
 * A journal that heals: a lock at first use is retried, not fatal for the
 * process; while it is down every result says so, caller UUIDs and capped
 * billable work are refused; a journal made unwritable is an error, never a
 * SIGBUS; one deleted or replaced under the server is noticed and reopened.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RestTransport } from '../../src/runware/rest.js';
import { RunwareClient } from '../../src/runware/client.js';
import { Rules } from '../../src/runware/rules.js';
import { PolicyError } from '../../src/shared/errors.js';
import { Logger } from '../../src/shared/log.js';
import { Journal } from '../../src/state/journal.js';
import { ledgerTask, outcomeRecord } from '../../src/runware/ledger-records.js';
import { SqliteState } from '../../src/state/sqlite.js';
import { CANARY, imageTask, useSim } from '../helpers.js';

const sim = useSim();
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

function setup(opts: { cap?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'rw-heal-'));
  const logger = new Logger('error');
  const journal = new Journal({
    open: async () => SqliteState.open(dir, { busyTimeoutMs: 50 }),
    logger,
    maxSpendUsd: opts.cap,
    reopenMs: { first: 30, max: 120 },
  });
  const transport = new RestTransport({
    url: sim().info.runwareUrl,
    apiKey: CANARY.apiKey,
    userAgent: 'test',
    headersTimeoutMs: 5000,
  });
  const client = new RunwareClient({
    transport,
    rules: new Rules(),
    logger,
    journal,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, budgetMs: 5000 },
    settleMs: 5,
  });
  const path = join(dir, 'journal.sqlite');
  /** Another process's view of the file, opened fresh. */
  const other = async (uuid: string) => {
    const st = SqliteState.open(dir);
    try {
      return await st.getTask(uuid);
    } finally {
      await st.close();
    }
  };
  return { dir, path, journal, client, other };
}

const until = async (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the file system here honours chattr +i (root on ext4 and the like). */
function canMakeImmutable(dir: string): boolean {
  const f = join(dir, 'probe');
  try {
    execFileSync('sh', ['-c', `touch '${f}' && chattr +i '${f}' && chattr -i '${f}'`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(f, { force: true });
  }
}

describe('a journal locked at its first use', () => {
  it('is retried with backoff; tasks meanwhile say they are unrecorded; caller UUIDs and capped work are refused', async () => {
    const { path, journal, client, dir, other } = setup();
    // Another process holds the write lock while the server first needs the journal.
    SqliteState.open(dir).close();
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    const r1 = await client.submit(imageTask());
    expect(r1.tasks[0]!.status).toBe('success');
    expect(r1.tasks[0]!.note).toMatch(
      /^Not recorded in the task journal \(.*locked.*\): a restart cannot find this task, so keep its taskUUID\.$/,
    );
    expect(journal.unavailable).toMatch(/unavailable since/);
    // A caller's own UUID cannot be checked against every earlier use: refused, nothing sent.
    const sent = sim().runwareRequests().length;
    await expect(client.submit(imageTask({ taskUUID: randomUUID() }))).rejects.toThrow(PolicyError);
    expect(sim().runwareRequests().length).toBe(sent);
    holder.exec('COMMIT');
    holder.close();
    await until(150);
    const r2 = await client.submit(imageTask());
    expect(r2.tasks[0]!.note).toBeUndefined();
    expect(journal.unavailable).toBeUndefined();
    expect((await other(r2.tasks[0]!.taskUUID))?.status).toBe('success');
  });

  it('with a cap, nothing billable goes out unrecorded', async () => {
    const { path, client, dir } = setup({ cap: 5 });
    SqliteState.open(dir).close();
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      await expect(client.submit(imageTask())).rejects.toThrow(/spend ledger is unavailable/);
      expect(sim().state.accepted.size).toBe(0);
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
  });
});

describe('a journal deleted or replaced under a running server', () => {
  it('is noticed and reopened: the next task is in the file other processes read', async () => {
    const { path, journal, client, other } = setup();
    const r1 = await client.submit(imageTask());
    expect((await other(r1.tasks[0]!.taskUUID))?.status).toBe('success');
    for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    const r2 = await client.submit(imageTask());
    expect(r2.tasks[0]!.note).toBeUndefined();
    expect((await other(r2.tasks[0]!.taskUUID))?.status).toBe('success');
    // Replaced by another file (moved aside, a fresh one put in its place): the same.
    renameSync(path, `${path}.bad`);
    SqliteState.open(join(path, '..')).close();
    const r3 = await client.submit(imageTask());
    expect((await other(r3.tasks[0]!.taskUUID))?.status).toBe('success');
    expect(journal.unavailable).toBeUndefined();
  });
});

describe('a journal made unwritable under a running server', () => {
  it('is an error in the result, never a crash, and is used again once writable', async (ctx) => {
    const { dir, path, client, journal, other } = setup();
    if (!canMakeImmutable(dir)) {
      process.stderr.write(
        'SKIPPED: chattr +i is not available here (needs root on a file system with the immutable flag)\n',
      );
      ctx.skip();
    }
    const r1 = await client.submit(imageTask({ numberResults: 2 }));
    expect(r1.tasks[0]!.status).toBe('success');
    const files = [path, `${path}-wal`, `${path}-shm`];
    execFileSync('chattr', ['+i', ...files]);
    try {
      // Each of these, on the old code, was a SIGBUS of the whole process.
      for (let i = 0; i < 3; i++) {
        const r = await client.submit(imageTask({ numberResults: 2 }));
        expect(r.tasks[0]!.status).toBe('success');
        expect(r.tasks[0]!.note).toMatch(/Not recorded in the task journal \(.*cannot be written/);
      }
      expect(journal.unavailable).toMatch(/cannot be written/);
      await expect(client.submit(imageTask({ taskUUID: randomUUID() }))).rejects.toThrow(
        /cannot be checked against every earlier use/,
      );
    } finally {
      execFileSync('chattr', ['-i', ...files]);
    }
    await until(200);
    const r2 = await client.submit(imageTask());
    expect(r2.tasks[0]!.note).toBeUndefined();
    expect((await other(r2.tasks[0]!.taskUUID))?.status).toBe('success');
  });
});

describe('cost is never settled at 0 because a field is missing', () => {
  it("a result without its cost keeps its reservation as the day's spend; one with it settles", async () => {
    const { journal } = setup({ cap: 5 });
    const store = await journal.state();
    const task = ledgerTask({ taskType: 'imageInference', taskUUID: randomUUID(), model: 'runware:101@1' });
    await journal.admit([task], []);
    const reserved = (await store.spend(new Date().toISOString().slice(0, 10))).today;
    expect(reserved).toBeGreaterThan(0);
    await journal.recordOutcome(
      task,
      outcomeRecord({
        taskUUID: task.taskUUID,
        status: 'success',
        results: [{ taskUUID: task.taskUUID, imageURL: 'https://x/1.png' }],
        errors: [],
        attempts: [],
      }),
    );
    expect((await store.spend(new Date().toISOString().slice(0, 10))).today).toBe(reserved);
    const paid = ledgerTask({ taskType: 'imageInference', taskUUID: randomUUID(), model: 'runware:101@1' });
    await journal.admit([paid], []);
    await journal.recordOutcome(
      paid,
      outcomeRecord({
        taskUUID: paid.taskUUID,
        status: 'success',
        results: [{ taskUUID: paid.taskUUID, imageURL: 'https://x/2.png', cost: 0.002 }],
        errors: [],
        attempts: [],
      }),
    );
    expect((await store.spend(new Date().toISOString().slice(0, 10))).today).toBeCloseTo(reserved + 0.002, 6);
  });
});
