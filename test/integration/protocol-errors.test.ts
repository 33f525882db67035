/** JSON-RPC errors as an SDK client shows them: one "MCP error" prefix, and the real reason. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { serveInProcess } from '../in-process.js';

let client: Client;
let app: AppContext;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-protocol-'));
  app = new AppContext(
    loadConfig({ RUNWARE_STATE_DIR: join(dir, 'state'), RUNWARE_OUTPUT_DIR: dir, RUNWARE_LOG_LEVEL: 'error' }),
    new Logger('error'),
  );
  client = (await serveInProcess(app, { name: 'protocol-errors' })).client;
});
afterAll(async () => {
  await client.close();
  await app.close();
});

const messageOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: Error) => e.message,
  );

describe('protocol errors', () => {
  it('an unknown tool: -32602 once, naming the tools', async () => {
    const msg = await messageOf(client.callTool({ name: 'runware_nope', arguments: {} }));
    expect(msg).toMatch(/^MCP error -32602: Unknown tool "runware_nope"\. The tools are: /);
    expect(msg.match(/MCP error/g)).toHaveLength(1);
  });

  it('a task resource whose id is not a UUID says so', async () => {
    const msg = await messageOf(client.readResource({ uri: 'runware://tasks/not-a-uuid' }));
    expect(msg).toMatch(/^MCP error -32602: taskUUID: "not-a-uuid" is not a UUID/);
    expect(msg).not.toMatch(/in the journal/);
  });

  it('a well-formed UUID the journal lacks still says it is not in the journal', async () => {
    const msg = await messageOf(client.readResource({ uri: 'runware://tasks/3b241101-e2bb-4255-8caf-4136c566a962' }));
    expect(msg).toMatch(/^MCP error -32602: taskUUID: no task 3b241101-e2bb-4255-8caf-4136c566a962 in the journal/);
  });
});
