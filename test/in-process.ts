/**
 * The real server for an AppContext and the SDK's Client over an in-memory pair: what most
 * integration tests talk to. The client lists the tools first, so it checks every result's
 * structuredContent against its tool's output schema, as a strict client does.
 * (Apart from test/helpers.ts so that tests which never serve do not load the server.)
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createServer, type CreateOptions } from '../src/mcp/server.js';
import type { AppContext } from '../src/services/context.js';

export interface InProcess {
  client: Client;
  /** Closes the client and the server; the AppContext stays the caller's to close. */
  close(): Promise<void>;
}

export async function serveInProcess(
  app: AppContext,
  opts: { name?: string; client?: Client; listTools?: boolean; server?: CreateOptions } = {},
): Promise<InProcess> {
  const { server, dispose } = opts.server ? createServer(app, opts.server) : createServer(app);
  const client = opts.client ?? new Client({ name: opts.name ?? 'test', version: '0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  if (opts.listTools !== false) await client.listTools();
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
      dispose();
    },
  };
}
