/**
 * The Desktop bundle: `scripts/mcpb.mjs` builds it with @anthropic-ai/mcpb (which
 * validates the manifest), and the unpacked bundle's server starts the way Claude
 * Desktop starts it (the manifest's command, args and env, settings substituted) and
 * lists its tools.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const work = mkdtempSync(join(tmpdir(), 'rw-mcpb-'));
const unpacked = join(work, 'unpacked');
let bundle = '';
let manifest: {
  manifest_version: string;
  server: { mcp_config: { command: string; args: string[]; env: Record<string, string> } };
  tools: Array<{ name: string }>;
  user_config: Record<string, { type: string; sensitive?: boolean }>;
};

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'mcpb.mjs')], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`bundle:mcpb failed: ${r.stderr}`);
  bundle = r.stdout.trim();
  const u = spawnSync(join(ROOT, 'node_modules', '.bin', 'mcpb'), ['unpack', bundle, unpacked], { encoding: 'utf8' });
  if (u.status !== 0) throw new Error(`mcpb unpack failed: ${u.stderr}`);
  manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8'));
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the .mcpb Desktop bundle', () => {
  it('is on manifest 0.4 and its settings cover the keys (sensitive) and the output folder', () => {
    expect(bundle).toMatch(new RegExp(`-${process.platform}-${process.arch}\\.mcpb$`));
    expect(manifest.manifest_version).toBe('0.4');
    const c = manifest.user_config;
    expect(c.runware_api_key).toMatchObject({ type: 'string', sensitive: true });
    for (const k of ['runway_api_secret', 'useapi_api_token', 'makevid_api_key'])
      expect(c[k], k).toMatchObject({ sensitive: true });
    expect(c.output_dir!.type).toBe('directory');
    expect(c.input_dir!.type).toBe('directory');
    // Every setting reaches the server as one env var the config reads.
    expect(Object.keys(manifest.server.mcp_config.env).sort()).toEqual([
      'MAKEVID_API_KEY',
      'RUNWARE_API_KEY',
      'RUNWARE_INPUT_DIRS',
      'RUNWARE_MAX_SPEND_USD',
      'RUNWARE_OUTPUT_DIR',
      'RUNWARE_SIMULATE',
      'RUNWAYML_API_SECRET',
      'USEAPI_API_TOKEN',
    ]);
  });

  it('carries the studio page, and sharp with its package for this platform (previews load it on first use)', () => {
    expect(readFileSync(join(unpacked, 'dist', 'studio.html'), 'utf8')).toMatch(/^<!doctype html>/);
    expect(existsSync(join(unpacked, 'node_modules', 'sharp', 'package.json'))).toBe(true);
    const platform = join(unpacked, 'node_modules', '@img', `sharp-${process.platform}-${process.arch}`);
    // Linux with musl has its own package name; the glibc one is what this install has when present.
    if (existsSync(join(ROOT, 'node_modules', '@img', `sharp-${process.platform}-${process.arch}`)))
      expect(existsSync(platform)).toBe(true);
    const r = spawnSync(process.execPath, ['-e', "require('sharp')"], { cwd: unpacked, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it("starts as Desktop starts it, with settings left empty, and lists the manifest's tools", async () => {
    const cfg = manifest.server.mcp_config;
    const out = join(work, 'out');
    // Desktop substitutes ${__dirname} and the settings the user gave; the rest stay placeholders.
    const given: Record<string, string> = { simulate: 'true', output_dir: out };
    const env = Object.fromEntries(
      Object.entries(cfg.env).map(([k, v]) => [
        k,
        v.replace(/\$\{user_config\.(\w+)\}/g, (m, name: string) => given[name] ?? m),
      ]),
    );
    const args = cfg.args.map((a) => a.replace('${__dirname}', unpacked));
    const transport = new StdioClientTransport({
      command: cfg.command === 'node' ? process.execPath : cfg.command,
      args,
      env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(work, 'home-')), ...env },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'mcpb-test', version: '0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(manifest.tools.map((t) => t.name).sort());
      const r = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a desktop fox', width: 256, height: 256, saveTo: 'x.png' },
      })) as CallToolResult;
      expect(r.isError, JSON.stringify(r.content).slice(0, 400)).toBeFalsy();
      expect((r.structuredContent as { images: Array<{ savedTo: string }> }).images[0]!.savedTo).toBe(
        join(out, 'x.png'),
      );
    } finally {
      await client.close();
    }
  }, 60_000);
});
