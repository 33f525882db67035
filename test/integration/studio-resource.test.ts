/**
 * The studio's MCP App surface, in-process: which tools name ui://runware/studio
 * (both keys, task support kept), the resource's MIME type and sandbox, and
 * the page it serves (self-contained, no remote script or style).
 */
import {
  RESOURCE_MIME_TYPE,
  RESOURCE_URI_META_KEY,
  registerAppResource,
  registerAppTool,
} from '@modelcontextprotocol/ext-apps/server';
import { getToolUiResourceUri } from '@modelcontextprotocol/ext-apps/app-bridge';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { MCP_APP_MIME_TYPE, registerStudio, STUDIO_URI, studioToolMeta } from '../../src/mcp/studio.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { serveInProcess } from '../in-process.js';

let app: AppContext;
let client: Client;

beforeAll(async () => {
  app = new AppContext(loadConfig({ HOME: '/nonexistent', RUNWARE_SIMULATE: '0' }), new Logger('error'));
  client = (await serveInProcess(app, { name: 'studio-surface' })).client;
});
afterAll(async () => {
  await client.close();
  await app.close();
});

describe('the studio MCP App', () => {
  it('is named by the generation tools and runware_tasks, under the current and the legacy key; task support is kept', async () => {
    const { tools } = await client.listTools();
    const withUi = tools
      .filter((t) => t._meta?.ui)
      .map((t) => t.name)
      .sort();
    expect(withUi).toEqual(['runware_poll', 'runware_run', 'runware_tasks', 'runware_text_to_image']);
    for (const t of tools.filter((x) => withUi.includes(x.name))) {
      expect(t._meta).toMatchObject({
        ui: { resourceUri: 'ui://runware/studio' },
        'ui/resourceUri': 'ui://runware/studio',
      });
    }
    expect(tools.find((t) => t.name === 'runware_text_to_image')!.execution).toEqual({ taskSupport: 'optional' });
    expect(tools.find((t) => t.name === 'runware_run')!.execution).toEqual({ taskSupport: 'optional' });
    expect(tools.find((t) => t.name === 'runware_account')!._meta).toBeUndefined();
    // As a host built on ext-apps reads it.
    expect(getToolUiResourceUri(tools.find((t) => t.name === 'runware_poll')!)).toBe('ui://runware/studio');
    expect(RESOURCE_URI_META_KEY).toBe('ui/resourceUri');
  });

  it("registers the resource as ext-apps' registerAppResource would: its MIME type", () => {
    expect(MCP_APP_MIME_TYPE).toBe(RESOURCE_MIME_TYPE);
    // What registerStudio passes to registerResource is what registerAppResource would pass for the same page.
    const ours: unknown[][] = [];
    const theirs: unknown[][] = [];
    registerStudio({ registerResource: (...a: unknown[]) => ours.push(a) } as unknown as McpServer);
    const [name, uri, config, read] = ours[0] as [string, string, Record<string, unknown>, never];
    const { mimeType: _m, ...rest } = config;
    registerAppResource({ registerResource: (...a: unknown[]) => theirs.push(a) } as never, name, uri, rest, read);
    expect(ours).toEqual(theirs);
  });

  it("links a tool to the studio as ext-apps' registerAppTool would: both keys, in its order", () => {
    // Loaded here, not at start-up (see src/mcp/studio.ts); the link must read the same to a host.
    const seen: Array<{ _meta: unknown }> = [];
    registerAppTool(
      { registerTool: (_n: string, c: { _meta: unknown }) => seen.push(c) } as never,
      'runware_poll',
      { _meta: { ui: { resourceUri: STUDIO_URI } } },
      (() => ({ content: [] })) as never,
    );
    expect(JSON.stringify(studioToolMeta())).toBe(JSON.stringify(seen[0]!._meta));
  });

  it('is listed as text/html;profile=mcp-app and serves one self-contained page with its sandbox', async () => {
    const { resources } = await client.listResources();
    expect(resources.find((r) => r.uri === 'ui://runware/studio')).toMatchObject({
      mimeType: 'text/html;profile=mcp-app',
    });
    const r = await client.readResource({ uri: 'ui://runware/studio' });
    const c = r.contents[0] as unknown as {
      text: string;
      mimeType: string;
      _meta: { ui: { csp: { resourceDomains: string[]; connectDomains: string[] } } };
    };
    expect(c.mimeType).toBe('text/html;profile=mcp-app');
    expect(c._meta.ui.csp.resourceDomains).toEqual(['https://im.runware.ai']);
    expect(c._meta.ui.csp.connectDomains).toEqual([]);
    expect(c.text).toMatch(/^<!doctype html>/);
    // Everything inline: no script or stylesheet from anywhere.
    expect(c.text).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/i);
    expect(c.text).not.toContain('/*STUDIO_SCRIPT*/');
    // Markup is never built from strings.
    expect(c.text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
