/**
 * One schema snapshot per tool (test/snapshots/tools/<name>.json), so a change
 * to a tool shows in one small file in review. Update with `npx vitest run -u
 * test/integration/tool-snapshots.test.ts`; test/e2e/mcp-stdio.test.ts holds
 * the built bin's tools/list to the same files. Icons are left out (inline
 * SVGs, checked against each definition in tool-registrar.test.ts).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { SNAPSHOT_DIR, toolSnapshot } from '../tool-snapshot.js';
import { serveInProcess } from '../in-process.js';

let app: AppContext;
let client: Client;
let tools: Tool[];

beforeAll(async () => {
  app = new AppContext(loadConfig({ HOME: '/nonexistent', RUNWARE_SIMULATE: '0' }), new Logger('error'));
  client = (await serveInProcess(app, { name: 'tool-snapshots' })).client;
  tools = (await client.listTools()).tools;
});
afterAll(async () => {
  await client.close();
  await app.close();
});

describe('tool schema snapshots', () => {
  it('each tool matches its own committed snapshot', async () => {
    for (const t of tools) await expect(toolSnapshot(t)).toMatchFileSnapshot(join(SNAPSHOT_DIR, `${t.name}.json`));
  });

  it('keeps no snapshot of a tool that is gone', () => {
    // A missing one is written on the first run (and fails in CI): toMatchFileSnapshot above.
    const names = new Set(tools.map((t) => t.name));
    expect(readdirSync(SNAPSHOT_DIR).filter((f) => !names.has(f.replace(/\.json$/, '')))).toEqual([]);
  });
});
