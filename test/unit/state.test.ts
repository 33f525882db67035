import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scrubRequest, utcDay } from '../../src/state/journal.js';
import { SqliteState } from '../../src/state/sqlite.js';
import { ConfigError } from '../../src/shared/errors.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'rw-state-unit-'));

describe('the SQLite state', () => {
  it('claims UUIDs once, refusing a used caller UUID and claiming nothing then', async () => {
    const s = SqliteState.open(dir());
    expect(await s.claimUuids(['a', 'b'], ['a'])).toEqual([]);
    expect(await s.claimUuids(['c', 'a'], ['a'])).toEqual(['a']);
    expect(await s.hasUuid('c')).toBe(false);
    expect(await s.hasUuid('b')).toBe(true);
    await s.close();
  });

  it('reserves against the cap atomically, settles to the real cost, and keeps the day totals', async () => {
    const s = SqliteState.open(dir());
    const day = utcDay();
    expect(await s.reserve('t1', day, 0.4, 1, { model: 'm', numberResults: 1 })).toEqual({ ok: true, reserved: 0.4 });
    expect(await s.reserve('t2', day, 0.4, 1, { model: 'm', numberResults: 1 })).toEqual({ ok: true, reserved: 0.4 });
    expect(await s.reserve('t3', day, 0.4, 1, { model: 'm', numberResults: 1 })).toMatchObject({ ok: false, spentToday: 0.8, cap: 1, wanted: 0.4 });
    expect(await s.spend(day)).toMatchObject({ today: 0.8, pendingToday: 0.8 });
    await s.settle('t1', 0.1);
    await s.settle('t2', 0);
    const after = await s.spend(day);
    expect(after.today).toBeCloseTo(0.1);
    expect(after.pendingToday).toBeCloseTo(0);
    expect(await s.maxCost('m', 1)).toBe(0.1);
    // A second settlement moves the total by the difference only.
    await s.settle('t1', 0.2);
    expect((await s.spend(day)).today).toBeCloseTo(0.2);
    expect((await s.spend('1999-01-01')).today).toBe(0);
    await s.close();
  });

  it('finds a record by any UUID of its lineage, and lists by filter', async () => {
    const s = SqliteState.open(dir());
    const now = new Date().toISOString();
    await s.putTask('root', { taskUUID: 'second', attempts: [{ taskUUID: 'root', outcome: 'timeoutProvider' }], taskType: 'imageInference', model: 'm', status: 'success', createdAt: now, updatedAt: now, numberResults: 1, outputs: [], request: {} });
    expect((await s.getTask('root'))?.taskUUID).toBe('second');
    expect((await s.getTask('second'))?.taskUUID).toBe('second');
    expect(await s.listTasks({ status: 'error' })).toEqual([]);
    expect(await s.listTasks({ model: 'm', since: Date.now() - 60_000 })).toHaveLength(1);
    await s.close();
  });

  it('never answers for a task of the same batch: each admitted UUID is its own lineage', async () => {
    const s = SqliteState.open(dir());
    const now = new Date().toISOString();
    const image = { taskUUID: 'img', attempts: [], taskType: 'imageInference', status: 'submitted' as const, createdAt: now, updatedAt: now, numberResults: 2, outputs: [], request: { taskUUID: 'img' } };
    // An image and a (never journaled) model search sent together.
    expect(await s.admit({ uuids: ['img', 'search'], callerUuids: [], day: utcDay(), cap: undefined, reservations: [], records: [{ root: 'img', record: image }] })).toEqual({ ok: true });
    expect(await s.getTask('search')).toBeUndefined();
    expect((await s.getTask('img'))?.numberResults).toBe(2);
    await s.claimUuids(['a1', 'a2'], []);
    await s.putTask('a1', { ...image, taskUUID: 'a1', request: {} });
    expect(await s.getTask('a2')).toBeUndefined();
    expect(await s.hasUuid('search')).toBe(true);
    await s.close();
  });

  it('refuses a record to a UUID outside its lineage, even from a journal that linked one there', async () => {
    const d = dir();
    const s = SqliteState.open(d);
    const now = new Date().toISOString();
    await s.putTask('img', { taskUUID: 'img', attempts: [], taskType: 'imageInference', status: 'success', createdAt: now, updatedAt: now, numberResults: 2, outputs: [], request: {} });
    await s.close();
    // What an older version wrote: a batch's second UUID linked to the first task's root.
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(d, 'journal.sqlite'));
    db.prepare('INSERT INTO uuids (uuid, root, at) VALUES (?, ?, ?)').run('search', 'img', Date.now());
    db.close();
    const again = SqliteState.open(d);
    expect(await again.getTask('search')).toBeUndefined();
    expect((await again.getTask('img'))?.taskUUID).toBe('img');
    await again.close();
  });

  it('reopens (migrations run once) and reports a corrupt file by path with what to do', async () => {
    const d = dir();
    await SqliteState.open(d).close();
    await SqliteState.open(d).close();
    const bad = dir();
    writeFileSync(join(bad, 'journal.sqlite'), 'not a database '.repeat(100));
    let e: unknown;
    try {
      SqliteState.open(bad);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toContain(join(bad, 'journal.sqlite'));
    expect((e as ConfigError).message).toMatch(/corrupt/);
    expect((e as ConfigError).hint).toMatch(/Move it aside/);
  });
});

describe('requests as the journal keeps them', () => {
  it('reduces media data to its size and hash', () => {
    const big = 'data:image/png;base64,' + 'A'.repeat(4000);
    const r = scrubRequest({ prompt: 'a cat', seedImage: big, list: ['x', big] }) as Record<string, unknown>;
    expect(r.prompt).toBe('a cat');
    expect(String(r.seedImage)).toMatch(/^\[media: 4022 chars, sha256 [0-9a-f]{16}\]$/);
    expect((r.list as string[])[1]).toBe(r.seedImage);
  });
});
