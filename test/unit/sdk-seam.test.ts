/**
 * The one seam into SDK internals (src/mcp/harden.ts): every internal it patches is still there in the
 * installed SDK, and the SDK is pinned exactly, so an upgrade that moves one fails here by name.
 */
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describe, expect, it } from 'vitest';
import { harden, missingSdkInternals } from '../../src/mcp/harden.js';

describe('the SDK seam', () => {
  it('finds every SDK internal harden.ts patches in the installed SDK', () => {
    const server = new McpServer({ name: 't', version: '0' }, { capabilities: { tools: {}, logging: {} } });
    expect(
      missingSdkInternals(server),
      'an SDK internal harden.ts relies on is gone: pin the SDK back, or move the patch',
    ).toEqual([]);
  });

  it('pins the SDK exactly in package.json (no ^ or ~), at the version installed', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const pinned = pkg.dependencies['@modelcontextprotocol/sdk']!;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const installed = (
      JSON.parse(readFileSync('node_modules/@modelcontextprotocol/sdk/package.json', 'utf8')) as { version: string }
    ).version;
    expect(installed).toBe(pinned);
  });

  it('refuses to start on an SDK without them, naming what is missing', () => {
    const server = new McpServer({ name: 't', version: '0' }, { capabilities: { tools: {} } });
    delete (server as unknown as Record<string, unknown>)._registeredTools;
    expect(() => harden(server, { catalog: new Map() })).toThrow(/lacks McpServer\._registeredTools/);
  });
});
