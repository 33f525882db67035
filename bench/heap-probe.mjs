#!/usr/bin/env node --expose-gc
// Retained heap per tool call: server and simulator in one process over an in-memory
// MCP transport, the simulator's own state cleared, the heap collected before each reading.
// Prints JSON: {calls, retainedBytesPerCall, uuidsRemembered}.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';

const root = new URL('..', import.meta.url).pathname;
const { Simulator } = await import(join(root, 'dist/simulator/server.js'));
const { loadConfig, withSimulator } = await import(join(root, 'dist/config.js'));
const { AppContext } = await import(join(root, 'dist/services/context.js'));
const { createServer } = await import(join(root, 'dist/mcp/server.js'));
const { Logger } = await import(join(root, 'dist/shared/log.js'));

const sim = new Simulator({ timeScale: 0 });
const info = await sim.start();
const app = new AppContext(withSimulator(loadConfig({ HOME: process.env.HOME ?? '/tmp' }), info), new Logger('error'));
const { server } = createServer(app);
const [ct, st] = InMemoryTransport.createLinkedPair();
await server.connect(st);
const client = new Client({ name: 'heap', version: '0' });
await client.connect(ct);
const settled = () => {
  sim.state.reset();
  sim.runware.jobs.clear();
  sim.runware.media.clear();
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const CALLS = Number(process.env.HEAP_CALLS ?? 5000);
for (let i = 0; i < 1000; i++) await client.callTool({ name: 'runware_model_search', arguments: { search: 'flux' } });
const before = settled();
for (let i = 0; i < CALLS; i++) await client.callTool({ name: 'runware_model_search', arguments: { search: 'flux' } });
const after = settled();
process.stdout.write(
  JSON.stringify({
    calls: CALLS,
    retainedBytesPerCall: Math.round((after - before) / CALLS),
    uuidsRemembered: app.rules.uuids.size,
  }),
);
await client.close();
await sim.stop();
process.exit(0);
