/**
 * Every client snippet in README.md, parsed out of it and started as the client would start it
 * (with "--simulate" added to args, as the README says to try it with no key, and the
 * snippet's placeholder key kept): Claude Desktop, Cursor, VS Code (`servers`) and `claude mcp add`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { Capture, ROOT } from '../helpers.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const capture = new Capture();

/** The first fenced block of `lang` after the bold label `**label**`. */
function blockAfter(label: string, lang: string): string {
  const at = readme.indexOf(`**${label}**`);
  if (at < 0) throw new Error(`README has no **${label}** section`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme.slice(at));
  if (!m) throw new Error(`no ${lang} block after **${label}**`);
  return m[1]!;
}

interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** The checkout stands in for /path/to/runware-mcp-server, a temporary home for /Users/you. */
function localize(l: Launch): Launch {
  const home = capture.tempDir('rw-snippet-home-');
  const fix = (s: string): string => s.replace('/path/to/runware-mcp-server', ROOT).replace('/Users/you', home);
  return {
    command: l.command,
    args: l.args.map(fix),
    env: Object.fromEntries(Object.entries(l.env).map(([k, v]) => [k, fix(v)])),
  };
}

function fromJson(label: string, key: 'mcpServers' | 'servers'): Launch {
  const json = JSON.parse(blockAfter(label, 'json')) as Record<
    string,
    Record<string, { command: string; args: string[]; env?: Record<string, string>; type?: string }>
  >;
  expect(Object.keys(json), `${label} uses "${key}"`).toEqual([key]);
  const entry = json[key]!.runware!;
  if (key === 'servers') expect(entry.type).toBe('stdio');
  return { command: entry.command, args: entry.args, env: entry.env ?? {} };
}

function fromClaudeMcpAdd(): Launch {
  const line = blockAfter('Claude Code', 'sh').trim();
  const words = line.split(/\s+/);
  expect(words.slice(0, 4)).toEqual(['claude', 'mcp', 'add', 'runware']);
  const dash = words.indexOf('--');
  const env: Record<string, string> = {};
  for (let i = 4; i < dash; i++)
    if (words[i] === '-e') env[words[i + 1]!.split('=')[0]!] = words[i + 1]!.split('=').slice(1).join('=');
  return { command: words[dash + 1]!, args: words.slice(dash + 2), env };
}

async function startsAndLists(l: Launch): Promise<void> {
  const { command, args, env } = localize(l);
  // A client starts `node` from its own PATH; here that is this Node.
  const transport = new StdioClientTransport({
    command: command === 'node' ? process.execPath : command,
    args: [...args, '--simulate'],
    env: { PATH: process.env.PATH ?? '', HOME: capture.tempDir('rw-snippet-home-'), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'snippet', version: '0' });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.length, stderr).toBe(11);
    const r = await client.callTool({ name: 'runware_model_search', arguments: { search: 'flux', limit: 1 } });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  } finally {
    await client.close();
    capture.add(stderr);
  }
}

describe('README client snippets start the server they name', () => {
  it('Claude Desktop (mcpServers)', async () => {
    await startsAndLists(fromJson('Claude Desktop', 'mcpServers'));
  });
  it('Cursor (mcpServers)', async () => {
    await startsAndLists(fromJson('Cursor', 'mcpServers'));
  });
  it('VS Code (servers, type stdio)', async () => {
    await startsAndLists(fromJson('VS Code', 'servers'));
  });
  it('Claude Code (claude mcp add)', async () => {
    await startsAndLists(fromClaudeMcpAdd());
  });
});
