#!/usr/bin/env node
// The yardstick: a bare MCP SDK server with one zod tool over stdio. With --post URL,
// its tool makes the same single POST a runware_model_search makes, for per-call cost.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

const i = process.argv.indexOf('--post');
const url = i > 0 ? process.argv[i + 1] : undefined;
const key = process.env.BENCH_KEY ?? '';
const server = new McpServer({ name: 'bare', version: '0' });
let dispatcher;
let request;
server.registerTool(
  'search',
  { description: 'Search models.', inputSchema: { search: z.string() } },
  async ({ search }) => {
    if (!url) return { content: [{ type: 'text', text: search }] };
    if (!request) {
      const u = await import('undici');
      request = u.request;
      dispatcher = new u.Agent({ keepAliveTimeout: 30_000 });
    }
    const r = await request(url, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ taskType: 'modelSearch', taskUUID: randomUUID(), search, limit: 5 }]),
    });
    return { content: [{ type: 'text', text: JSON.stringify(await r.body.json()) }] };
  },
);
await server.connect(new StdioServerTransport());
