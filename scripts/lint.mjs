#!/usr/bin/env node
// Project rules a generic linter does not know:
// 1. stdout belongs to the MCP protocol: only the CLI front-end may write to it.
// 2. The core (runware/, runway/, media/, shared/, services/, state/) never imports a front-end (mcp/, commands/),
//    and the front-ends do not import each other (cli.ts, the entry point, joins them).
// 5. Only src/mcp/ knows the MCP SDK.
// 3. The simulator never imports the client: it is an independent implementation.
// 4. Only config.ts reads process.env.
// 6. src/mcp/tools/all.generated.ts is current (scripts/tool-index.mjs).
// 7. The state layer never imports runware/ (the client tells it plain records, src/state/ledger.ts),
//    and the task lifecycle has one owner: only the client admits tasks and records outcomes, and
//    only services/outputs.ts records where outputs were saved.
// 8. src/mcp/ reaches HTTP sessions and events through the interface in state/sessions.ts, never Redis itself.
// `--src DIR` lints another tree (the tests of these rules).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = process.argv[2] === '--src' && process.argv[3] ? resolve(process.argv[3]) : join(root, 'src');
const files = [];
const walk = (d) => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
};
walk(src);

const problems = [];
const CORE = /^(runware|runway|media|shared|services|state)\//;
for (const file of files) {
  const rel = relative(src, file);
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const at = `src/${rel}:${i + 1}`;
    if (/console\.(log|info|debug)\(|process\.stdout\.write/.test(line) && !/^(commands\/|cli\.ts)/.test(rel))
      problems.push(`${at}: writes to stdout outside the CLI front-end`);
    if (/console\.(warn|error)\(/.test(line)) problems.push(`${at}: use the logger (it scrubs secrets), not console`);
    if (/process\.env\b/.test(line) && rel !== 'config.ts' && rel !== 'cli.ts')
      problems.push(`${at}: reads process.env outside config.ts`);
    if (
      /\.(admit|admitRetry|admitBehind|recordOutcome)\(/.test(line) &&
      !rel.startsWith('state/') &&
      rel !== 'runware/client.ts'
    )
      problems.push(`${at}: only the client (runware/client.ts) admits tasks and records outcomes`);
    if (/\.recordSaves\(/.test(line) && rel !== 'services/outputs.ts')
      problems.push(`${at}: saved outputs are recorded in one place (services/outputs.ts materialize)`);
    const imp = /from '([^']+)'/.exec(line)?.[1] ?? /import\('([^']+)'\)/.exec(line)?.[1];
    if (imp?.startsWith('@modelcontextprotocol/sdk') && !rel.startsWith('mcp/'))
      problems.push(`${at}: only src/mcp/ may use the MCP SDK (${imp})`);
    if (!imp || !imp.startsWith('.')) return;
    if (rel.startsWith('mcp/') && /\/commands\//.test(`/${join(rel, '..', imp)}/`))
      problems.push(`${at}: the MCP front-end imports the CLI front-end (${imp})`);
    if (rel.startsWith('commands/') && /\/mcp\//.test(`/${join(rel, '..', imp)}/`))
      problems.push(`${at}: the CLI front-end imports the MCP front-end (${imp})`);
    if (CORE.test(rel) && /\/(mcp|commands)\//.test(`/${join(rel, '..', imp)}/`))
      problems.push(`${at}: core module imports a front-end (${imp})`);
    if (rel.startsWith('mcp/') && /\/state\/redis/.test(`/${join(rel, '..', imp)}`))
      problems.push(
        `${at}: the MCP front-end uses sessions and events through state/sessions.ts, not a Redis module (${imp})`,
      );
    if (rel.startsWith('simulator/') && !imp.startsWith('./'))
      problems.push(`${at}: the simulator imports outside itself (${imp})`);
    if (rel.startsWith('state/') && /\/runware\//.test(`/${join(rel, '..', imp)}/`))
      problems.push(`${at}: the state layer imports runware/ (${imp}); take plain records (state/ledger.ts)`);
  });
}
// 6. The tool index lists exactly the tool files (the build writes it; a stale one would drop a tool).
const { toolIndex, INDEX_FILE } = await import('./tool-index.mjs');
const toolsDir = join(src, 'mcp', 'tools');
if (existsSync(join(toolsDir, INDEX_FILE)) && readFileSync(join(toolsDir, INDEX_FILE), 'utf8') !== toolIndex(toolsDir))
  problems.push(
    `src/mcp/tools/${INDEX_FILE}: not current with the tool files; run node scripts/tool-index.mjs (the build does)`,
  );
if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stderr.write(`lint: ${files.length} files clean\n`);
