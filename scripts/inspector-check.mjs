#!/usr/bin/env node
// Drives the built server through the official MCP Inspector CLI (v2, Node 22 via npx)
// against --simulate: tools/list (also under --strict, with no warning), prompts and resource
// templates, then one tools/call per tool. Prints one line per
// check and a final "N passed, N failed"; exits 1 if any failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTool } from './npx-fetch.mjs';

const root = new URL('..', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'rw-inspector-'));
// A local input for runware_run and runware_upload, inside the output root.
const { renderImage } = await import(join(root, 'dist/simulator/images.js'));
writeFileSync(join(out, 'cat.png'), renderImage('PNG', 64, 64, 1));
const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? out, npm_config_yes: 'true' };
// The server runs under this Node (its native SQLite module is built for it); only the Inspector needs 22.
const base = [
  '-y',
  '-p',
  'node@22',
  '-p',
  '@modelcontextprotocol/inspector@2',
  'mcp-inspector',
  '--cli',
  process.execPath,
  join(root, 'dist/cli.js'),
  '--simulate',
  '--',
  '-e',
  `RUNWARE_OUTPUT_DIR=${out}`,
  '-e',
  `RUNWARE_STATE_DIR=${join(out, 'state')}`,
];

const checks = [
  ['tools/list', ['--method', 'tools/list'], (r) => r.tools?.length === 11],
  // --strict: the Inspector's portability warnings (empty schemas, type arrays) on stderr; there must be none.
  [
    'tools/list --strict',
    ['--method', 'tools/list', '--strict'],
    (r, stderr) => r.tools?.length === 11 && !/^Warning/m.test(stderr),
  ],
  ['prompts/list', ['--method', 'prompts/list'], (r) => r.prompts?.some((p) => p.name === 'generate_image')],
  [
    'prompts/get',
    ['--method', 'prompts/get', '--prompt-name', 'find_model', '--prompt-args', 'need=anime style'],
    (r) => /runware_model_search/.test(r.messages?.[0]?.content?.text ?? ''),
  ],
  [
    'resources/templates/list',
    ['--method', 'resources/templates/list'],
    (r) => r.resourceTemplates?.some((t) => t.uriTemplate === 'runware://tasks/{taskUUID}'),
  ],
  [
    'runware_model_search',
    [
      '--method',
      'tools/call',
      '--tool-name',
      'runware_model_search',
      '--tool-args-json',
      '{"search":"flux","limit":2}',
    ],
    (r) => r.structuredContent?.results?.length === 2,
  ],
  [
    'runware_text_to_image',
    [
      '--method',
      'tools/call',
      '--tool-name',
      'runware_text_to_image',
      '--tool-args-json',
      '{"prompt":"a lighthouse","width":256,"height":256,"saveTo":"inspector/"}',
    ],
    (r) => r.structuredContent?.status === 'success' && r.structuredContent.images[0].savedTo,
  ],
  [
    'runware_model_info',
    ['--method', 'tools/call', '--tool-name', 'runware_model_info', '--tool-args-json', '{"model":"klingai:5@3"}'],
    (r) => r.structuredContent?.taskType === 'videoInference' && r.structuredContent.deliveryMethods?.[0] === 'async',
  ],
  [
    'runware_run',
    [
      '--method',
      'tools/call',
      '--tool-name',
      'runware_run',
      '--tool-args-json',
      '{"model":"runware:109@1","params":{"inputImage":"cat.png"},"saveTo":"inspector/"}',
    ],
    (r) =>
      r.structuredContent?.status === 'success' &&
      r.structuredContent.uploads?.length === 1 &&
      r.structuredContent.outputs[0].savedTo,
  ],
  [
    'runware_upload',
    ['--method', 'tools/call', '--tool-name', 'runware_upload', '--tool-args-json', '{"path":"cat.png"}'],
    (r) => /^[0-9a-f-]{36}$/.test(r.structuredContent?.mediaUUID ?? ''),
  ],
  [
    'runware_request',
    [
      '--method',
      'tools/call',
      '--tool-name',
      'runware_request',
      '--tool-args-json',
      '{"tasks":[{"taskType":"promptEnhance","prompt":"a cat"}]}',
    ],
    (r) => r.structuredContent?.tasks?.[0]?.status === 'success',
  ],
  [
    'runware_poll',
    [
      '--method',
      'tools/call',
      '--tool-name',
      'runware_poll',
      '--tool-args-json',
      '{"taskUUID":"3b241101-e2bb-4255-8caf-4136c566a962"}',
    ],
    (r) => r.structuredContent?.status === 'unknown',
  ],
  [
    'runware_tasks',
    ['--method', 'tools/call', '--tool-name', 'runware_tasks', '--tool-args-json', '{"limit":5}'],
    (r) => r.structuredContent?.tasks?.length >= 2,
  ], // made by the earlier checks' processes
  [
    'runware_account',
    ['--method', 'tools/call', '--tool-name', 'runware_account', '--tool-args-json', '{}'],
    (r) => r.structuredContent?.balance === 42.5 && typeof r.structuredContent.spend?.today === 'number',
  ],
  [
    'runway_get_task',
    [
      '--method',
      'tools/call',
      '--tool-name',
      'runway_get_task',
      '--tool-args-json',
      '{"id":"2c8dec65-7882-494b-9365-d1418676cd62"}',
    ],
    (r) => r.structuredContent?.status === 'succeeded',
  ],
  [
    'runway_list_accounts',
    ['--method', 'tools/call', '--tool-name', 'runway_list_accounts', '--tool-args-json', '{}'],
    (r) => Array.isArray(r.structuredContent?.accounts),
  ],
];

let passed = 0;
let failed = 0;
if (!fetchTool(['node@22', '@modelcontextprotocol/inspector@2'], 'mcp-inspector', ['--help'])) {
  process.stdout.write(
    'SKIPPED inspector: the Inspector could not be fetched from the npm registry (see stderr); nothing was checked\n',
  );
  process.exit(0);
}
for (const [name, args, ok] of checks) {
  const r = spawnSync('npx', [...base, ...args, '--format', 'json'], { env, encoding: 'utf8', timeout: 240_000 });
  let result;
  try {
    const parsed = JSON.parse(r.stdout);
    result = parsed.result ?? parsed;
  } catch {
    result = undefined;
  }
  const good = r.status === 0 && result !== undefined && Boolean(ok(result, r.stderr ?? ''));
  if (good) passed++;
  else failed++;
  process.stdout.write(
    `${good ? 'ok  ' : 'FAIL'} inspector ${name}${
      good
        ? ''
        : ` (exit ${r.status}): ${(r.stderr || r.stdout || '')
            .split('\n')
            .filter((l) => !l.startsWith('npm warn'))
            .join(' ')
            .slice(0, 500)}`
    }\n`,
  );
}

// The README's own Inspector commands, exactly as written, through a shell: the server must run
// on this Node (its journal opens: no "journal unavailable", and the journal file is made).
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const block = /\*\*MCP Inspector\*\*[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
const commands = block
  .replace(/\\\n\s*/g, '')
  .split('\n')
  .filter((l) => l.startsWith('npx '));
const readmeChecks = [(r) => r.tools?.length === 11, (r) => r.structuredContent?.status === 'success'];
if (commands.length !== readmeChecks.length) {
  failed++;
  process.stdout.write(
    `FAIL inspector README: expected ${readmeChecks.length} commands in its MCP Inspector block, found ${commands.length}\n`,
  );
}
for (const [i, command] of commands.slice(0, readmeChecks.length).entries()) {
  const home = mkdtempSync(join(tmpdir(), 'rw-inspector-home-'));
  const r = spawnSync('sh', ['-c', command], {
    cwd: root,
    env: { ...env, HOME: home },
    encoding: 'utf8',
    timeout: 240_000,
  });
  let result;
  try {
    const parsed = JSON.parse(r.stdout);
    result = parsed.result ?? parsed;
  } catch {
    result = undefined;
  }
  const journal = existsSync(join(home, '.local', 'state', 'runware-mcp-server', 'simulator', 'journal.sqlite'));
  const good =
    r.status === 0 &&
    result !== undefined &&
    Boolean(readmeChecks[i](result)) &&
    !/journal unavailable/.test(r.stderr ?? '') &&
    journal;
  if (good) passed++;
  else failed++;
  process.stdout.write(
    `${good ? 'ok  ' : 'FAIL'} inspector README command ${i + 1}${
      good
        ? ''
        : ` (exit ${r.status}, journal ${journal ? 'opened' : 'missing'}): ${(r.stderr || r.stdout || '')
            .split('\n')
            .filter((l) => !l.startsWith('npm '))
            .join(' ')
            .slice(0, 500)}`
    }\n`,
  );
}
process.stdout.write(`inspector: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
