import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scrubRequest } from '../../src/state/journal.js';
import { CACHE_KIB, SqliteState } from '../../src/state/sqlite.js';
import { ConfigError } from '../../src/shared/errors.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'rw-state-unit-'));

/** SQLite only; what every store must do is in test/integration/state-contract.test.ts. */
describe('the SQLite state', () => {
  it('refuses a record to a UUID outside its lineage, even from a journal that linked one there', async () => {
    const d = dir();
    const s = SqliteState.open(d);
    const now = new Date().toISOString();
    await s.putTask('img', {
      taskUUID: 'img',
      attempts: [],
      taskType: 'imageInference',
      status: 'success',
      createdAt: now,
      updatedAt: now,
      numberResults: 2,
      outputs: [],
      request: {},
    });
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

  it("keeps its page cache to SQLite's default 2 MB (better-sqlite3 builds with 16 MB, which a long run fills)", async () => {
    const d = dir();
    const s = SqliteState.open(d) as unknown as { db: { pragma: (q: string, o: { simple: true }) => unknown } };
    expect(s.db.pragma('cache_size', { simple: true })).toBe(-CACHE_KIB);
    expect(CACHE_KIB).toBeLessThanOrEqual(2000);
    await (s as unknown as SqliteState).close();
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
