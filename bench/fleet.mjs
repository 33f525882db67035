#!/usr/bin/env node
// One instance against three sharing a Redis (#12), on the same work, in one run:
// CALLS runware_model_search calls from 12 MCP clients over Streamable HTTP, each
// Runware request held HOLD_MS by the simulator (a stand-in for upstream latency),
// RUNWARE_MAX_CONCURRENCY=LIMIT. Rows: one instance on the embedded journal, one on
// Redis, three on Redis. The limit is global across instances, so three do not
// send more at once than one: what three buy is MCP-side capacity and failover.
// Writes bench/FLEET.md. Needs redis-server (Debian's package) on PATH.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const SMOKE = process.argv.includes('--smoke');
const CALLS = SMOKE ? 24 : 600;
const HOLD_MS = 100;
const LIMIT = 16;
const CLIENTS = 32;

if (spawnSync('redis-server', ['--version']).status !== 0) {
  process.stderr.write('SKIPPED: bench/fleet.mjs needs redis-server (apt-get install redis-server)\n');
  process.exit(0);
}
const { Simulator } = await import(join(root, 'dist/simulator/server.js'));
const sim = new Simulator({
  timeScale: 0.05,
  credentials: {
    apiKey: 'bench-key-0123456789abcdef',
    runwaySecret: 'key_bench0123456789',
    useapiToken: 'user:1-bench0123456789',
    makevidKey: 'bench-makevid-0123456789',
  },
});
const info = await sim.start();

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const redisPort = await freePort();
const redis = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 300));

const env = (extra) => ({
  PATH: process.env.PATH,
  HOME: mkdtempSync(join(tmpdir(), 'rw-fleet-home-')),
  RUNWARE_LOG_LEVEL: 'error',
  RUNWARE_API_URL: info.runwareUrl,
  RUNWARE_WS_URL: info.wsUrl,
  RUNWARE_API_KEY: info.apiKey,
  RUNWARE_SCHEMAS_URL: info.schemasUrl,
  RUNWARE_CONTENT_URL: info.contentUrl,
  RUNWARE_STATE_DIR: mkdtempSync(join(tmpdir(), 'rw-fleet-state-')),
  RUNWARE_MAX_CONCURRENCY: String(LIMIT),
  RUNWARE_TIME_SCALE: '0.05',
  ...extra,
});
async function instance(extra) {
  const child = spawn(process.execPath, [cli, 'serve', '--http', '--port', '0'], {
    env: env(extra),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 400 && !/Streamable HTTP at (\S+)/.test(err); i++) await new Promise((r) => setTimeout(r, 10));
  return { child, url: /Streamable HTTP at (\S+)/.exec(err)[1] };
}

async function run(name, n, extra) {
  const insts = await Promise.all(Array.from({ length: n }, () => instance(extra)));
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const c = new Client({ name: 'bench', version: '0' });
      await c.connect(new StreamableHTTPClientTransport(new URL(insts[i % n].url)));
      return c;
    }),
  );
  // Warm-up: every client's first call (schemas, connections).
  await Promise.all(clients.map((c) => c.callTool({ name: 'runware_model_search', arguments: { search: 'warm' } })));
  sim.state.reset();
  sim.state.holdMs = HOLD_MS;
  const lat = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (next < CALLS) {
        next++;
        const s = performance.now();
        const r = await c.callTool({ name: 'runware_model_search', arguments: { search: `m${next}` } });
        if (r.isError) throw new Error(JSON.stringify(r.content));
        lat.push(performance.now() - s);
      }
    }),
  );
  const wall = performance.now() - t0;
  const maxInFlight = sim.state.maxInFlight;
  for (const c of clients) await c.close();
  for (const i of insts) i.child.kill('SIGTERM');
  lat.sort((a, b) => a - b);
  return {
    name,
    wall,
    perSec: (CALLS / wall) * 1000,
    p50: lat[Math.floor(lat.length / 2)],
    p95: lat[Math.floor(lat.length * 0.95)],
    maxInFlight,
    ideal: Math.ceil(CALLS / LIMIT) * HOLD_MS,
  };
}

const url = `redis://127.0.0.1:${redisPort}`;
const rows = [
  await run('1 instance, embedded journal', 1, {}),
  await run('1 instance, Redis', 1, { RUNWARE_STATE_URL: url }),
  await run('3 instances, one Redis', 3, { RUNWARE_STATE_URL: url }),
];
redis.kill('SIGTERM');
await sim.stop();

const base = rows[0];
const md =
  `# One instance against three\n\n` +
  `Made by \`npm run bench:fleet\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, all processes on one ${cpus().length}-core machine, ${CALLS} \`runware_model_search\` calls from ${CLIENTS} MCP clients over Streamable HTTP; ` +
  `every Runware request held ${HOLD_MS} ms by the simulator; RUNWARE_MAX_CONCURRENCY=${LIMIT}, which with Redis counts across all instances. ` +
  `The ideal is ${CALLS}/${LIMIT} waves of ${HOLD_MS} ms = ${base.ideal} ms.\n\n` +
  `| setup | wall ms | calls/s | vs one embedded | vs ideal | p50 ms | p95 ms | most in flight upstream |\n|---|---|---|---|---|---|---|---|\n` +
  rows
    .map(
      (r) =>
        `| ${r.name} | ${r.wall.toFixed(0)} | ${r.perSec.toFixed(1)} | ${(r.perSec / base.perSec).toFixed(2)}× | ${(r.wall / r.ideal).toFixed(2)}× | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.maxInFlight} |`,
    )
    .join('\n') +
  `\n\nReading it: the limit is per API key, so three instances send no more at once than one (the last column never passes ${LIMIT}); ` +
  `the Redis rows show what the shared state costs per call (a lease, the session check), and three instances spread the MCP work and survive one dying.\n`;
if (!SMOKE) writeFileSync(join(root, 'bench/FLEET.md'), md);
process.stdout.write(md);
process.exit(0);
