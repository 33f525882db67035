/**
 * The package as users get it: `npm pack`, installed into an empty prefix with
 * production dependencies only (the npm registry or its cache), then the installed
 * bin driven over MCP stdio and as a CLI, against the simulator. better-sqlite3's own
 * install script runs as for a user, but finds its prebuilt addon in a local folder
 * made from the one `npm ci` built here: a user's fetches it from GitHub, which CI
 * cannot reach, and building it from source took most of this suite's four minutes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const work = mkdtempSync(join(tmpdir(), 'rw-pack-'));
const prefix = join(work, 'prefix');
let files: string[] = [];
let bin = '';
let installError = '';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};
// A clean environment, as a user's client starts the server: PATH and a fresh HOME, and npm's own cache.
const userEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: mkdtempSync(join(work, 'home-')),
});

beforeAll(() => {
  // dist/ is built (pretest); without --ignore-scripts, pack's `prepare` would rebuild it under the other test files' feet.
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed[0]!.files.map((f) => f.path);
  const tgz = join(work, packed[0]!.filename);
  const sqlite = localSqlitePrebuild();
  const r = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--omit=dev',
      '--no-audit',
      '--no-fund',
      '--no-save',
      '--prefer-offline',
      tgz,
      ...(sqlite ? [`better-sqlite3@${sqlite.version}`] : []),
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        npm_config_update_notifier: 'false',
        ...(sqlite ? { npm_config_better_sqlite3_local_prebuilds: sqlite.dir } : {}),
      },
      timeout: 420_000,
    },
  );
  if (r.status !== 0)
    installError = `npm install of the packed tarball failed (${r.status}): ${(r.stderr ?? '').slice(-1500)}`;
  bin = join(prefix, 'node_modules', '.bin', Object.keys(pkg.bin)[0]!);
}, 480_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * better-sqlite3's addon as prebuild-install looks for it locally (its download's file name),
 * packed from the one built for this checkout; the install pins that version so the name matches.
 */
function localSqlitePrebuild(): { dir: string; version: string } | undefined {
  const mod = join(ROOT, 'node_modules', 'better-sqlite3');
  const addon = join(mod, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(addon)) return undefined;
  const version = (JSON.parse(readFileSync(join(mod, 'package.json'), 'utf8')) as { version: string }).version;
  const stage = join(work, 'addon');
  mkdirSync(join(stage, 'build', 'Release'), { recursive: true });
  copyFileSync(addon, join(stage, 'build', 'Release', 'better_sqlite3.node'));
  const dir = join(work, 'prebuilds');
  mkdirSync(dir);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, name), '-C', stage, 'build']);
  return { dir, version };
}

describe('the packed tarball', () => {
  it('ships the bin, its bundle and code cache, the skill, README and LICENSE, and nothing else', () => {
    expect(files.sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist/cli.js',
      'dist/load-bundle.cjs',
      'dist/runware-mcp-server.cjs',
      'dist/runware-mcp-server.cjs.cache',
      'dist/studio.html',
      'package.json',
      'skills/runware-mcp/SKILL.md',
    ]);
    // No source maps pointing at sources that are not shipped, and no install step that needs dev tools.
    expect(files.some((f) => f.endsWith('.map'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & {
      scripts: Record<string, string>;
    };
    // `prepare` builds a clone (npm runs it for `npm install` in a checkout and for `npm pack`, never for a tarball's install).
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(manifest.scripts[hook], hook).toBeUndefined();
    expect(manifest.scripts.prepare).toBe('npm run build');
    expect(manifest.main).toBeUndefined();
    expect(manifest.license).toBe('MIT');
    expect((manifest.engines as { node: string }).node).toBe('>=20.18');
  });

  it('installs into an empty prefix with production dependencies only', () => {
    expect(installError).toBe('');
    expect(existsSync(bin)).toBe(true);
    expect(existsSync(join(prefix, 'node_modules', 'vitest'))).toBe(false);
  });

  it('the installed CLI runs: --version, --help on stdout, a command under --simulate', () => {
    expect(installError).toBe('');
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8', env: userEnv() });
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toContain(pkg.version);
    const h = spawnSync(bin, ['--help'], { encoding: 'utf8', env: userEnv() });
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/serve/);
    const s = spawnSync(bin, ['--simulate', 'model-search', '--search', 'flux'], {
      encoding: 'utf8',
      env: userEnv(),
      timeout: 60_000,
    });
    expect(s.status, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).results.length).toBeGreaterThan(0);
  });

  it('the installed server answers over MCP stdio: tools/list, then a text-to-image call', async () => {
    expect(installError).toBe('');
    const env = userEnv();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [realpathSync(bin), '--simulate'],
      env,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'pack-test', version: '0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('runware_text_to_image');
      const r = (await client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a lighthouse', width: 512, height: 512 },
      })) as CallToolResult;
      expect(r.isError, JSON.stringify(r.content).slice(0, 400)).toBeFalsy();
      expect((r.structuredContent as { status: string }).status).toBe('success');
    } finally {
      await client.close();
    }
    // The installed better-sqlite3 loads: the journal holds the task (a missing native module would only warn).
    const t = spawnSync(bin, ['--simulate', 'tasks'], { encoding: 'utf8', env });
    expect(t.status, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout).tasks).toHaveLength(1);
  }, 60_000);
});
