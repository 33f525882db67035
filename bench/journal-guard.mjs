#!/usr/bin/env node
// What keeping WAL safe costs: a call's three journal operations (admit, read, finish) on
// SQLite with WAL, with WAL plus the writability/identity check the store runs before each
// operation (src/state/sqlite.ts, assertWritable), and with a rollback journal instead.
// Prints microseconds per call; docs/recovery.md ("When the journal fails") quotes a run.
import { accessSync, constants, mkdtempSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const Database = createRequire(import.meta.url)('better-sqlite3');
const N = Number(process.argv[2] ?? 3000);

function perCall(mode, check) {
  const path = join(mkdtempSync(join(tmpdir(), 'rw-guard-')), 'journal.sqlite');
  const db = new Database(path);
  db.pragma(`journal_mode = ${mode}`);
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)');
  const put = db.prepare('INSERT INTO t VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
  const get = db.prepare('SELECT v FROM t WHERE k = ?');
  const guard = () => {
    statSync(path);
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      try {
        accessSync(f, constants.W_OK);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
    }
  };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    if (check) guard();
    db.transaction(() => put.run(`k${i}`, 'x'.repeat(800))).immediate();
    if (check) guard();
    get.get(`k${i}`);
    if (check) guard();
    db.transaction(() => put.run(`k${i}`, 'y'.repeat(900))).immediate();
  }
  db.close();
  return Number(process.hrtime.bigint() - t0) / N / 1000;
}

for (let round = 1; round <= 2; round++) {
  const r = {
    WAL: perCall('WAL', false),
    'WAL + check': perCall('WAL', true),
    DELETE: perCall('DELETE', false),
    TRUNCATE: perCall('TRUNCATE', false),
  };
  process.stdout.write(
    `round ${round}: ${Object.entries(r)
      .map(([k, v]) => `${k} ${v.toFixed(0)} µs/call`)
      .join(', ')}\n`,
  );
}
