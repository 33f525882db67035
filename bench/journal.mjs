#!/usr/bin/env node
// The journal's cost, on loopback against the simulator, measured in one run:
//  1. per call: RunwareClient.submit(promptEnhance, billable, so journaled and ledgered)
//     with the SQLite journal vs without it, alternating, same simulator;
//  2. memory: RSS of this process over 20,000 journaled tasks (after GC), which stays
//     flat if nothing is kept per task (the UUID registry is bounded once the journal is open).
// Run with node --expose-gc. Writes bench/JOURNAL.md.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { Simulator } = await import(join(root, 'dist/simulator/server.js'));
const { RunwareClient } = await import(join(root, 'dist/runware/client.js'));
const { RestTransport } = await import(join(root, 'dist/runware/rest.js'));
const { Rules } = await import(join(root, 'dist/runware/rules.js'));
const { Logger } = await import(join(root, 'dist/shared/log.js'));
const { Journal } = await import(join(root, 'dist/state/journal.js'));
const { SqliteState } = await import(join(root, 'dist/state/sqlite.js'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
const ms = (ns) => Number(ns) / 1e6;
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const gc = () => globalThis.gc?.();

const sim = new Simulator({ timeScale: 0 });
const info = await sim.start();
const logger = new Logger('emergency');
const dir = mkdtempSync(join(tmpdir(), 'rw-bench-journal-'));
const rulesJ = new Rules();
const journal = new Journal({
  open: async () => SqliteState.open(dir),
  logger,
  maxSpendUsd: 1e9,
  onOpen: () => rulesJ.uuids.limit(10_000),
});
const transport = () => new RestTransport({ url: info.runwareUrl, apiKey: info.apiKey, userAgent: 'bench' });
const plain = new RunwareClient({ transport: transport(), rules: new Rules(), logger });
const journaled = new RunwareClient({ transport: transport(), rules: rulesJ, logger, journal });
const task = () => ({ taskType: 'promptEnhance', prompt: 'a lighthouse at dusk', promptVersions: 1 });

const N = Number(process.env.BENCH_REQUESTS ?? 400);
for (let i = 0; i < 50; i++) {
  await plain.submit(task());
  await journaled.submit(task());
}
const without = [];
const withJ = [];
for (let i = 0; i < N; i++) {
  let t0 = process.hrtime.bigint();
  await plain.submit(task());
  without.push(ms(process.hrtime.bigint() - t0));
  t0 = process.hrtime.bigint();
  await journaled.submit(task());
  withJ.push(ms(process.hrtime.bigint() - t0));
}

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const samples = [];
for (let i = 1; i <= TASKS; i++) {
  await journaled.submit(task());
  // The simulator keeps a bounded request log of its own; it is cleared so only the client is measured.
  if (i % 1000 === 0) sim.state.reset();
  if (i % 5000 === 0) {
    gc();
    samples.push(rss());
  }
}
const rows = (await (await journal.state()).listTasks({ limit: 1 })).length;
await plain.close();
await journaled.close();
await journal.close();
await sim.stop();

const f = (x) => x.toFixed(3);
const lines = [
  '# Benchmarks: the journal',
  '',
  `Run: ${new Date().toISOString()}, Node ${process.version}, ${process.platform}/${process.arch}. Reproduce with \`npm run bench:journal\` (BENCH_REQUESTS, BENCH_TASKS).`,
  'Loopback against the built-in simulator; both clients measured alternately in the same run.',
  '',
  `## Per call (promptEnhance, ${N} sequential calls each)`,
  '',
  '| path | median ms | p95 ms |',
  '|---|---|---|',
  `| RunwareClient.submit, no journal | ${f(median(without))} | ${f(p95(without))} |`,
  `| RunwareClient.submit, SQLite journal + ledger (claim, reserve, record, settle) | ${f(median(withJ))} | ${f(p95(withJ))} |`,
  `| **added by the journal** | **${f(median(withJ) - median(without))}** | |`,
  '',
  `## Memory over ${TASKS} journaled tasks (RSS after forced GC)`,
  '',
  `| after | ${samples.map((_, i) => `${(i + 1) * 5000} tasks`).join(' | ')} |`,
  `|---|${samples.map(() => '---').join('|')}|`,
  `| MiB | ${samples.map((x) => x.toFixed(1)).join(' | ')} |`,
  '',
  `Growth from the first to the last sample: ${(samples.at(-1) - samples[0]).toFixed(1)} MiB over ${TASKS - 5000} tasks. The journal held ${rows ? 'every task' : 'no task (check the run)'}; the in-memory UUID registry keeps the last 10,000.`,
  '',
];
writeFileSync(join(root, 'bench/JOURNAL.md'), lines.join('\n'));
process.stdout.write(lines.join('\n'));
