#!/usr/bin/env node
// Runs the MCP conformance suite (v0.1.16, Node 22 via npx) against the built server's
// Streamable HTTP endpoint (with --simulate). Only scenarios that do not need the
// suite's fixture tools apply to a production server. Prints "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTool } from './npx-fetch.mjs';

if (!fetchTool(['node@22', '@modelcontextprotocol/conformance@0.1.16'], 'conformance', ['list', '--server'])) {
  process.stdout.write('SKIPPED conformance: the suite could not be fetched from the npm registry (see stderr); nothing was checked\n');
  process.exit(0);
}

const SCENARIOS = ['server-initialize', 'tools-list', 'ping', 'logging-set-level', 'dns-rebinding-protection'];
const root = new URL('..', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'rw-conformance-'));
const server = spawn(process.execPath, [join(root, 'dist/cli.js'), '--simulate', 'serve', '--http', '--port', '0'], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
server.stderr.on('data', (d) => (err += d));
for (let i = 0; i < 100 && !/Streamable HTTP at (\S+)/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
const url = /Streamable HTTP at (\S+)/.exec(err)?.[1];

let passed = 0;
let failed = 0;
if (!url) {
  process.stdout.write(`FAIL conformance: server did not start: ${err.slice(0, 300)}\n`);
  failed++;
} else {
  for (const scenario of SCENARIOS) {
    const out = join(home, scenario);
    const r = spawnSync('npx', ['-y', '-p', 'node@22', '-p', '@modelcontextprotocol/conformance@0.1.16', 'conformance', 'server', '--url', url, '--scenario', scenario, '-o', out], { env: { PATH: process.env.PATH, HOME: process.env.HOME ?? home }, encoding: 'utf8', timeout: 240_000, cwd: home });
    const m = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(r.stdout ?? '');
    const good = r.status === 0 && m && m[3] === '0' && m[1] === m[2];
    if (good) passed++;
    else failed++;
    process.stdout.write(`${good ? 'ok  ' : 'FAIL'} conformance ${scenario}${m ? ` (${m[1]}/${m[2]} checks)` : ''}${good ? '' : `: ${(r.stdout + r.stderr).split('\n').filter((l) => /FAILURE|rror/.test(l)).join(' ').slice(0, 400)}`}\n`);
  }
}
server.kill('SIGTERM');
process.stdout.write(`conformance: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
