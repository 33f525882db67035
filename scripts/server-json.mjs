#!/usr/bin/env node
// server.json, the MCP Registry entry, made from package.json: the name (mcpName, the one place
// the namespace is written), version, repository and npm package come from there, and every
// variable src/config.ts reads is listed with what it does. `node scripts/server-json.mjs`
// rewrites server.json; a test checks it is current, validates it against the Registry's
// schema (test/fixtures/mcp-registry) and checks that no config variable is missing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const secret = { isSecret: true };
const v = (name, description, extra = {}) => ({ name, description, ...extra });

/** Every variable src/config.ts reads, as a client's setup form shows it. */
export const ENVIRONMENT = [
  v(
    'RUNWARE_API_KEY',
    'Runware API key (my.runware.ai -> API Keys); needed by every runware_* tool unless RUNWARE_SIMULATE is on',
    secret,
  ),
  v('RUNWARE_API_URL', 'Runware REST endpoint', { default: 'https://api.runware.ai/v1' }),
  v('RUNWARE_WS_URL', 'Runware WebSocket endpoint', { default: 'wss://ws-api.runware.ai/v1' }),
  v('RUNWARE_TRANSPORT', 'rest or ws', { default: 'rest', choices: ['rest', 'ws'] }),
  v('RUNWARE_SIMULATE', '1 = use the built-in simulator (no key, nothing billed)', { format: 'boolean' }),
  v(
    'RUNWARE_OUTPUT_DIR',
    "Absolute folder where outputs are saved (a leading ~ is expanded); default: the client's first root, else ~/runware-output",
    { format: 'filepath' },
  ),
  v(
    'RUNWARE_INPUT_DIRS',
    'More absolute folders local input files may come from, separated by : (; on Windows) or commas',
    { format: 'filepath' },
  ),
  v('RUNWARE_MAX_CONCURRENCY', 'Tasks in flight at once', { format: 'number', default: '4' }),
  v('RUNWARE_PREVIEW_MAX_BYTES', 'Byte budget for inline image previews per result; 0 turns them off', {
    format: 'number',
    default: '524288',
  }),
  v('RUNWARE_LOG_LEVEL', 'Log level (stderr and MCP log messages)', {
    default: 'info',
    choices: ['debug', 'info', 'notice', 'warning', 'error'],
  }),
  v('RUNWARE_SIM_TIME_SCALE', 'With the simulator: simulated durations and polling are multiplied by this', {
    format: 'number',
    default: '1',
  }),
  v('RUNWARE_TIME_SCALE', "For tests against an external simulator: the client's waits are multiplied by this", {
    format: 'number',
    default: '1',
  }),
  v('RUNWAYML_API_SECRET', 'Official Runway API secret (dev.runwayml.com), for runway_get_task', secret),
  v('RUNWAYML_API_URL', 'Official Runway API endpoint', { default: 'https://api.dev.runwayml.com' }),
  v('USEAPI_API_TOKEN', 'useapi.net token, for Runway tasks through useapi.net', secret),
  v('USEAPI_API_URL', 'useapi.net endpoint', { default: 'https://api.useapi.net/v1' }),
  v('MAKEVID_API_KEY', 'makevid.ai key, for Runway tasks through makevid.ai', secret),
  v('MAKEVID_API_URL', 'makevid.ai endpoint', { default: 'https://makevid.ai/api/v1' }),
  v(
    'RUNWARE_MCP_HTTP_TOKEN',
    'Bearer token the Streamable HTTP transport (serve --http) requires; at least 12 characters',
    secret,
  ),
  v(
    'RUNWARE_MCP_ALLOWED_HOSTS',
    'Comma-separated Host names the HTTP server answers to besides loopback and the bind address',
  ),
  v('RUNWARE_MCP_HTTP_MAX_SESSIONS', 'HTTP sessions kept at once', { format: 'number', default: '200' }),
  v('RUNWARE_MCP_HTTP_IDLE_SECONDS', 'An idle HTTP session is closed after this many seconds', {
    format: 'number',
    default: '600',
  }),
  v('RUNWARE_MCP_HTTP_STATELESS', '1 = HTTP with no sessions, every POST on its own', { format: 'boolean' }),
  v('RUNWARE_SCHEMAS_URL', "Runware's public per-model schema service", { default: 'https://schemas.runware.ai' }),
  v('RUNWARE_CONTENT_URL', "Runware's public content service (pricing)", { default: 'https://content.runware.ai' }),
  v(
    'RUNWARE_CACHE_DIR',
    'Absolute folder for fetched schemas, registry and pricing; default $XDG_CACHE_HOME/runware-mcp-server',
    { format: 'filepath' },
  ),
  v('XDG_CACHE_HOME', 'Base of the default cache folder (~/.cache)', { format: 'filepath' }),
  v('RUNWARE_UPLOAD_MAX_BYTES', 'Largest local file sent as an input (at most 6 MiB)', {
    format: 'number',
    default: '5242880',
  }),
  v(
    'RUNWARE_STATE_DIR',
    'Absolute folder of the task journal and spend ledger; default $XDG_STATE_HOME/runware-mcp-server',
    { format: 'filepath' },
  ),
  v('XDG_STATE_HOME', 'Base of the default state folder (~/.local/state)', { format: 'filepath' }),
  v(
    'RUNWARE_STATE_URL',
    'redis:// or rediss:// URL of a Redis shared by several instances (journal, spend ledger, limits, HTTP sessions); may hold a password',
    secret,
  ),
  v(
    'RUNWARE_STATE_LEASE_SECONDS',
    'With RUNWARE_STATE_URL: how long a concurrency permit outlives an instance that died holding it',
    { format: 'number', default: '30' },
  ),
  v(
    'RUNWARE_RESEND_UNKNOWN',
    'after-settle: a task whose fate is unknown is resent under its UUID only after getTaskDetails said not found across the settle window; never: it is never resent',
    { default: 'after-settle', choices: ['after-settle', 'never'] },
  ),
  v('RUNWARE_MAX_SPEND_USD', 'Spend cap per UTC day in US dollars, across every process sharing the state', {
    format: 'number',
  }),
  v(
    'RUNWARE_PRICE_CEILINGS',
    'Raise the per-unit price ceilings a task is reserved at when nothing better quotes it: taskType=USD pairs separated by commas (e.g. imageInference=0.5,videoInference=10)',
  ),
  v(
    'RUNWARE_CONFIRM_ABOVE_USD',
    'A task quoted above this many US dollars asks first (MCP elicitation, or confirmCostUsd; the CLI asks on a terminal or needs --yes)',
    { format: 'number' },
  ),
  v(
    'RUNWARE_RETRY_ATTEMPTS',
    'Attempts of a request that failed in a way worth retrying (429, 5xx, network), the first included; a task whose fate is unknown is checked with getTaskDetails before any resend',
    { format: 'number', default: '4' },
  ),
  v(
    'RUNWARE_RETRY_BASE_SECONDS',
    'Backoff before the first retry, doubling after (with full jitter); a Retry-After from the server wins',
    { format: 'number', default: '0.5' },
  ),
  v('RUNWARE_RETRY_MAX_DELAY_SECONDS', 'Longest backoff between two attempts', { format: 'number', default: '8' }),
  v('RUNWARE_RETRY_BUDGET_SECONDS', 'No retry starts this long after the first attempt', {
    format: 'number',
    default: '60',
  }),
  v('RUNWARE_READ_TIMEOUT_SECONDS', 'How long a read (getTaskDetails, a poll, a dry run) waits for its answer', {
    format: 'number',
    default: '10',
  }),
  v(
    'RUNWARE_REQUEST_TIMEOUT_SECONDS',
    "How long a sent task waits for Runware's answer before its fate counts as unknown (then checked, never blindly resent)",
    { format: 'number', default: '150' },
  ),
  v('RUNWARE_POLL_MAX_SECONDS', 'Polls of a long task are never further apart than this', {
    format: 'number',
    default: '60',
  }),
  v('RUNWARE_DOWNLOAD_TIMEOUT_SECONDS', "Longest one output download may take (also bounded by the call's wait)", {
    format: 'number',
    default: '60',
  }),
];

export function serverJson() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return {
    $schema: 'https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json',
    name: pkg.mcpName,
    title: 'Runware',
    description: 'Any Runware model (image, video, audio, 3D) checked against its live schema; Runway task lookup.',
    repository: { url: pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, ''), source: 'github' },
    version: pkg.version,
    packages: [
      {
        registryType: 'npm',
        registryBaseUrl: 'https://registry.npmjs.org',
        identifier: pkg.name,
        version: pkg.version,
        transport: { type: 'stdio' },
        environmentVariables: ENVIRONMENT,
      },
    ],
  };
}

export const serverJsonText = () => `${JSON.stringify(serverJson(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(join(root, 'server.json'), serverJsonText());
  process.stdout.write('server.json written\n');
}
