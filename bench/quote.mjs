#!/usr/bin/env node
// What a price quote costs per call (#27), on loopback against the simulator, one run:
//  - the quote alone (SpendGate.quote), with the simulator's dry run ignored (the probe runs once,
//    then quotes come from the content service's pricing) and priced (a dry run per new model and
//    dimensions), cold (a new client: probe, pricing fetch, dry run) and cached (the same task again);
//  - a whole text-to-image-sized submit (imageInference, sync) with RUNWARE_MAX_SPEND_USD set and
//    cached quotes, against the same submit with no cap (quotes from the ledger only, no network).
// Writes bench/QUOTE.md.
import { mkdtempSync, writeFileSync } from 'node:fs';
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
const { ModelCatalog } = await import(join(root, 'dist/runware/schemas/catalog.js'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
const ms = (ns) => Number(ns) / 1e6;

const sim = new Simulator({ timeScale: 0 });
const info = await sim.start();
const logger = new Logger('emergency');
const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-bench-quote-')));

function client(cap) {
  const rules = new Rules();
  const journal = new Journal({ open: async () => state, logger, maxSpendUsd: cap });
  const catalog = new ModelCatalog({
    schemasUrl: info.schemasUrl,
    contentUrl: info.contentUrl,
    userAgent: 'bench',
    logger,
  });
  const pricing = async (air) => (await catalog.pricing(air, (await catalog.registryEntry(air)).slug))?.examples;
  return new RunwareClient({
    transport: new RestTransport({ url: info.runwareUrl, apiKey: info.apiKey, userAgent: 'bench' }),
    rules,
    logger,
    journal,
    spend: { dryRun: true, pricing },
  });
}
const task = (rules, w = 1024) => ({
  taskType: 'imageInference',
  taskUUID: rules.uuids.fresh(),
  positivePrompt: 'a lighthouse',
  model: 'runware:101@1',
  width: w,
  height: w,
  steps: 28,
  numberResults: 1,
});

async function quoteBench(mode) {
  sim.state.options.dryRun = mode;
  const cold = [];
  for (let i = 0; i < 30; i++) {
    const c = client(1e9);
    const t0 = process.hrtime.bigint();
    await c.spend.quote([task(c.rules)]);
    cold.push(ms(process.hrtime.bigint() - t0));
    await c.close();
  }
  const c = client(1e9);
  await c.spend.quote([task(c.rules)]);
  const cached = [];
  for (let i = 0; i < 500; i++) {
    const t0 = process.hrtime.bigint();
    await c.spend.quote([task(c.rules)]);
    cached.push(ms(process.hrtime.bigint() - t0));
  }
  await c.close();
  return { mode, cold: median(cold), coldP95: p95(cold), cached: median(cached), cachedP95: p95(cached) };
}

const rows = [];
for (const mode of ['ignored', 'priced']) rows.push(await quoteBench(mode));

// A whole submit, cap vs no cap, alternating.
sim.state.options.dryRun = 'ignored';
const capped = client(1e9);
const free = client(undefined);
const submitTask = () => ({
  taskType: 'imageInference',
  positivePrompt: 'a lighthouse',
  model: 'runware:101@1',
  width: 512,
  height: 512,
  steps: 4,
});
for (let i = 0; i < 50; i++) {
  await capped.submit(submitTask());
  await free.submit(submitTask());
}
const a = [];
const b = [];
for (let i = 0; i < 400; i++) {
  let t0 = process.hrtime.bigint();
  await free.submit(submitTask());
  a.push(ms(process.hrtime.bigint() - t0));
  t0 = process.hrtime.bigint();
  await capped.submit(submitTask());
  b.push(ms(process.hrtime.bigint() - t0));
}
await capped.close();
await free.close();
await sim.stop();

const f = (x) => x.toFixed(3);
const out = `# What a quote costs per call

One run of \`node bench/quote.mjs\` (after \`npm run build\`), loopback simulator (time scale 0),
SQLite ledger, ${new Date().toISOString().slice(0, 10)}. Milliseconds; median (p95).

| simulator dry run | cold: a new client, first quote | cached: the same model and dimensions again |
|---|---|---|
${rows.map((r) => `| ${r.mode} | ${f(r.cold)} (${f(r.coldP95)}) | ${f(r.cached)} (${f(r.cachedP95)}) |`).join('\n')}

Cold includes, once per process: the dry-run probe (a one-result promptEnhance, reserved, sent with the
header, settled), the registry and pricing fetch from the content service, and (priced) the task's own dry
run. Cached is a ledger read for the learned price per unit (the floor under every quote) and a map lookup.

A whole submit (imageInference 512², sync) with RUNWARE_MAX_SPEND_USD set and quotes cached, against the
same submit with no cap (no network quote): ${f(median(b))} ms vs ${f(median(a))} ms, **${(median(b) / median(a)).toFixed(2)}x**
(p95 ${f(p95(b))} vs ${f(p95(a))}). The goal for the whole tool call is at most 1.15x the bare SDK tool;
bench/run.mjs measures that end to end.
`;
writeFileSync(join(root, 'bench/QUOTE.md'), out);
process.stdout.write(out);
