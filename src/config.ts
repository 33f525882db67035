/**
 * The ONE place that reads the environment and flags. Everything else gets a
 * validated Config. Every secret read here is registered with the scrubber.
 */
import { homedir, hostname } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { DECIMAL } from './shared/decimal.js';
import { ConfigError } from './shared/errors.js';
import { LEVELS, type LogLevel } from './shared/log.js';
import { MIN_SECRET_LENGTH, scrubber } from './shared/redact.js';
import type { RetryPolicy } from './runware/retry.js';
import { TASK_TYPES } from './runware/task-types.js';
import { TUNABLE } from './runware/timing.js';

export const VERSION = '0.1.0';

const url = (name: string) =>
  z
    .url({ message: `${name} must be an absolute http(s) or ws(s) URL` })
    .refine((u) => /^(https?|wss?):\/\//.test(u), { message: `${name} must use http(s) or ws(s)` });

/** A secret env var: trimmed; one too short to keep out of outputs is refused rather than leaked or mangled. */
const optionalSecret = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined))
  .refine((v) => v === undefined || v.length >= MIN_SECRET_LENGTH, {
    message: `is shorter than ${MIN_SECRET_LENGTH} characters, too short to be kept out of every output; use the full key or token from the provider's dashboard`,
  });

/** A numeric env var with bounds; `integer` also refuses fractions. */
const numberFrom = (name: string, min: number, max: number, dflt: number, integer = false) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return dflt;
      const n = DECIMAL.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        const form = DECIMAL.test(v) ? '' : ' written in plain digits (no spaces, +, hex or exponent)';
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be ${integer ? 'an integer' : 'a decimal number'} from ${min} to ${max}${form}, not "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });
/** A duration in seconds (decimals allowed) whose default is kept in milliseconds in src/runware/timing.ts. */
const secondsFrom = (name: string, min: number, max: number, dfltMs: number) =>
  numberFrom(name, min, max, dfltMs / 1000);
/** Seconds to whole milliseconds (1.1 s is 1100 ms, not 1100.0000000000002). */
const ms = (seconds: number): number => Math.round(seconds * 1000);
const intFrom = (name: string, min: number, max: number, dflt: number) => numberFrom(name, min, max, dflt, true);

/**
 * A folder from the environment: a leading `~` is the home folder (JSON env in client configs
 * does not expand it), and a relative path is refused, since it would depend on the folder a
 * client happens to start the server in.
 */
export function absolutePathFrom(name: string, value: string, ctx: z.RefinementCtx): string | typeof z.NEVER {
  const v = value.trim();
  const expanded = v === '~' ? homedir() : /^~[/\\]/.test(v) ? join(homedir(), v.slice(2)) : v;
  if (!isAbsolute(expanded)) {
    ctx.addIssue({
      code: 'custom',
      message: `${name} must be an absolute path (or start with ~/), not "${v}": a relative one would depend on the folder the client starts the server in`,
    });
    return z.NEVER;
  }
  return resolve(expanded);
}
const pathFrom = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => (v === undefined || v.trim() === '' ? undefined : absolutePathFrom(name, v, ctx)));
/** Several folders, separated like PATH (`:`, or `;` on Windows); commas are accepted too. */
const pathListFrom = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const parts = (v ?? '')
        .split(new RegExp(`[${delimiter},]`))
        .map((p) => p.trim())
        .filter(Boolean);
      const out: string[] = [];
      for (const p of parts) {
        const abs = absolutePathFrom(name, p, ctx);
        if (abs === z.NEVER) return z.NEVER;
        out.push(abs as string);
      }
      return out;
    });

/** An optional amount of US dollars, 0 or more; empty means unset. */
const usdFrom = (name: string, example: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const n = DECIMAL.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n) || n < 0) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a number of US dollars, 0 or more (${example})` });
        return z.NEVER;
      }
      return n;
    });

const boolFrom = z
  .string()
  .optional()
  .transform((v) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim()));

const envSchema = z.object({
  RUNWARE_API_KEY: optionalSecret,
  RUNWARE_API_URL: url('RUNWARE_API_URL').default('https://api.runware.ai/v1'),
  RUNWARE_WS_URL: url('RUNWARE_WS_URL').default('wss://ws-api.runware.ai/v1'),
  RUNWARE_TRANSPORT: z.enum(['rest', 'ws'], { message: 'RUNWARE_TRANSPORT must be rest or ws' }).default('rest'),
  RUNWARE_SIMULATE: boolFrom,
  RUNWARE_OUTPUT_DIR: pathFrom('RUNWARE_OUTPUT_DIR'),
  RUNWARE_INPUT_DIRS: pathListFrom('RUNWARE_INPUT_DIRS'),
  RUNWARE_MAX_CONCURRENCY: intFrom('RUNWARE_MAX_CONCURRENCY', 1, 64, 4),
  // never: a task whose fate is unknown is reported unknown with its UUID, never resent (docs/recovery.md).
  RUNWARE_RESEND_UNKNOWN: z
    .enum(['after-settle', 'never'], { message: 'RUNWARE_RESEND_UNKNOWN must be after-settle or never' })
    .default('after-settle'),
  RUNWARE_PREVIEW_MAX_BYTES: intFrom('RUNWARE_PREVIEW_MAX_BYTES', 0, 10 * 1024 * 1024, 512 * 1024),
  RUNWARE_LOG_LEVEL: z.enum(LEVELS).default('info'),
  RUNWARE_SIM_TIME_SCALE: numberFrom('RUNWARE_SIM_TIME_SCALE', 0.001, 100, 1),
  RUNWARE_TIME_SCALE: numberFrom('RUNWARE_TIME_SCALE', 0.001, 100, 1),
  RUNWAYML_API_SECRET: optionalSecret,
  RUNWAYML_API_URL: url('RUNWAYML_API_URL').default('https://api.dev.runwayml.com'),
  USEAPI_API_TOKEN: optionalSecret,
  USEAPI_API_URL: url('USEAPI_API_URL').default('https://api.useapi.net/v1'),
  MAKEVID_API_KEY: optionalSecret,
  MAKEVID_API_URL: url('MAKEVID_API_URL').default('https://makevid.ai/api/v1'),
  RUNWARE_MCP_HTTP_TOKEN: optionalSecret,
  RUNWARE_MCP_ALLOWED_HOSTS: z.string().optional(),
  RUNWARE_MCP_HTTP_MAX_SESSIONS: numberFrom('RUNWARE_MCP_HTTP_MAX_SESSIONS', 1, 100_000, 200, true),
  RUNWARE_MCP_HTTP_IDLE_SECONDS: numberFrom('RUNWARE_MCP_HTTP_IDLE_SECONDS', 1, 86_400, 600),
  RUNWARE_SCHEMAS_URL: url('RUNWARE_SCHEMAS_URL').default('https://schemas.runware.ai'),
  RUNWARE_CONTENT_URL: url('RUNWARE_CONTENT_URL').default('https://content.runware.ai'),
  RUNWARE_CACHE_DIR: pathFrom('RUNWARE_CACHE_DIR'),
  // A data URI travels in the JSON payload, whose cap is 8 MiB: 6 MiB of file is 8 MiB of base64.
  RUNWARE_UPLOAD_MAX_BYTES: intFrom('RUNWARE_UPLOAD_MAX_BYTES', 1, 6 * 1024 * 1024, 5 * 1024 * 1024),
  XDG_CACHE_HOME: z.string().optional(),
  RUNWARE_STATE_DIR: pathFrom('RUNWARE_STATE_DIR'),
  RUNWARE_STATE_URL: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() ? v.trim() : undefined))
    .refine((v) => v === undefined || /^rediss?:\/\/[^/]/.test(v), {
      message: 'RUNWARE_STATE_URL must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379)',
    }),
  RUNWARE_STATE_LEASE_SECONDS: numberFrom('RUNWARE_STATE_LEASE_SECONDS', 1, 600, 30),
  RUNWARE_MCP_HTTP_STATELESS: boolFrom,
  XDG_STATE_HOME: z.string().optional(),
  RUNWARE_MAX_SPEND_USD: usdFrom('RUNWARE_MAX_SPEND_USD', 'e.g. 5 or 12.50'),
  RUNWARE_PRICE_CEILINGS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: Record<string, number> = {};
      for (const part of (v ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        const m = /^([\w$]+)\s*[=:]\s*([0-9]*\.?[0-9]+)$/.exec(part);
        if (!m || !(Number(m[2]) > 0)) {
          ctx.addIssue({
            code: 'custom',
            message: `RUNWARE_PRICE_CEILINGS must be taskType=USD pairs separated by commas (e.g. imageInference=0.5,videoInference=10); "${part}" is not one`,
          });
          return z.NEVER;
        }
        // Only a task type the ceiling table knows: a typo (or `__proto__`) would otherwise be a ceiling nothing reads.
        if (!Object.hasOwn(TASK_TYPES, m[1]!)) {
          ctx.addIssue({
            code: 'custom',
            message: `RUNWARE_PRICE_CEILINGS: "${m[1]}" is not a task type; use one of ${Object.keys(TASK_TYPES).join(', ')}`,
          });
          return z.NEVER;
        }
        out[m[1]!] = Number(m[2]);
      }
      return out;
    }),
  RUNWARE_CONFIRM_ABOVE_USD: usdFrom('RUNWARE_CONFIRM_ABOVE_USD', 'e.g. 0.5'),
  // Retry and timing (defaults and the fixed numbers: src/runware/timing.ts).
  RUNWARE_RETRY_ATTEMPTS: intFrom('RUNWARE_RETRY_ATTEMPTS', 1, 10, TUNABLE.retryAttempts),
  RUNWARE_RETRY_BASE_SECONDS: secondsFrom('RUNWARE_RETRY_BASE_SECONDS', 0.01, 60, TUNABLE.retryBaseMs),
  RUNWARE_RETRY_MAX_DELAY_SECONDS: secondsFrom('RUNWARE_RETRY_MAX_DELAY_SECONDS', 0.01, 600, TUNABLE.retryMaxDelayMs),
  RUNWARE_RETRY_BUDGET_SECONDS: secondsFrom('RUNWARE_RETRY_BUDGET_SECONDS', 1, 3600, TUNABLE.retryBudgetMs),
  RUNWARE_READ_TIMEOUT_SECONDS: secondsFrom('RUNWARE_READ_TIMEOUT_SECONDS', 1, 300, TUNABLE.readTimeoutMs),
  RUNWARE_REQUEST_TIMEOUT_SECONDS: secondsFrom('RUNWARE_REQUEST_TIMEOUT_SECONDS', 5, 3600, TUNABLE.requestTimeoutMs),
  RUNWARE_POLL_MAX_SECONDS: secondsFrom('RUNWARE_POLL_MAX_SECONDS', 1, 3600, TUNABLE.pollMaxMs),
  RUNWARE_DOWNLOAD_TIMEOUT_SECONDS: secondsFrom('RUNWARE_DOWNLOAD_TIMEOUT_SECONDS', 1, 3600, TUNABLE.downloadTimeoutMs),
});

export interface Flags {
  simulate?: boolean;
  transport?: string;
  http?: boolean;
  host?: string;
  port?: number;
  /** Host names (with or without :port) the HTTP server answers to, besides loopback and the bind address. */
  allowedHosts?: string[];
  /** HTTP without sessions: every POST stands alone (for load balancers that cannot pin). */
  stateless?: boolean;
}

export interface Config {
  version: string;
  runware: {
    apiKey: string | undefined;
    apiUrl: string;
    wsUrl: string;
    transport: 'rest' | 'ws';
    maxConcurrency: number;
    /** Whether a task whose fate stays unknown across the settle window is resent (RUNWARE_RESEND_UNKNOWN). */
    resendUnknown: 'after-settle' | 'never';
  };
  runway: {
    official: { secret: string | undefined; url: string };
    useapi: { token: string | undefined; url: string };
    makevid: { key: string | undefined; url: string };
  };
  /** Explicit output directory (RUNWARE_OUTPUT_DIR), if set. */
  outputDir: string | undefined;
  /** Folders local inputs may also be read from (RUNWARE_INPUT_DIRS), besides the output folder and client roots. */
  inputDirs: string[];
  /** Used when neither RUNWARE_OUTPUT_DIR nor client roots are available. */
  defaultOutputDir: string;
  previewMaxBytes: number;
  logLevel: LogLevel;
  simulate: boolean;
  /** Simulated-time scale: durations in the simulator and client polling are multiplied by it. */
  simTimeScale: number;
  /** Multiplies the client's waits (polls, backoff, timeouts) against an external simulator; 1 in production. */
  timeScale: number;
  http: {
    enabled: boolean;
    host: string;
    port: number;
    token: string | undefined;
    allowedHosts: string[];
    maxSessions: number;
    idleMs: number;
    stateless: boolean;
  };
  /** Runware's per-model schema service and content service (public, no key). */
  catalog: { schemasUrl: string; contentUrl: string };
  /** Where fetched schemas are kept between runs. */
  cacheDir: string;
  /** Largest local file runware_upload (and a path in a media field) may send. */
  uploadMaxBytes: number;
  /** The journal and spend ledger (SQLite) live here, unless stateUrl is set. */
  stateDir: string;
  /** Redis shared by every instance: journal, UUIDs, ledger, concurrency leases, HTTP sessions. */
  stateUrl: string | undefined;
  /** How long a concurrency lease lives unrenewed (an instance that dies frees its permits after this). */
  leaseMs: number;
  /** Names this process in logs and /healthz. */
  instanceId: string;
  /** Spend cap per UTC day in USD, across processes; undefined = none. */
  maxSpendUsd: number | undefined;
  /** RUNWARE_PRICE_CEILINGS: USD per reference unit by task type, over src/runware/task-types.ts. */
  priceCeilings: Record<string, number>;
  /** A task quoted above this (USD) is run only once the user confirms it; undefined = never asked. */
  confirmAboveUsd: number | undefined;
  /** The tunable retry and timing numbers, in ms before any time scale (src/runware/timing.ts has the fixed ones). */
  timing: Timing;
}

export interface Timing {
  /** One policy for every retried request: Runware's and the Runway providers'. */
  retry: RetryPolicy;
  readTimeoutMs: number;
  requestTimeoutMs: number;
  pollMaxMs: number;
  downloadTimeoutMs: number;
}

/** The password inside a Redis URL, which is as secret as the API key. */
function redisPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads env and flags; throws ConfigError naming the variable on bad values. */
/**
 * A Desktop bundle (.mcpb) maps optional settings the user left empty to
 * `${user_config.name}`-style placeholders or to empty strings: both mean unset.
 */
function withoutPlaceholders(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && !/^\$\{user_config\.[\w-]+\}$/.test(v.trim())) out[k] = v;
  return out;
}

/** Provider keys the simulator replaces with its own. */
const SIMULATED_KEYS = ['RUNWARE_API_KEY', 'RUNWAYML_API_SECRET', 'USEAPI_API_TOKEN', 'MAKEVID_API_KEY'] as const;

export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env, flags: Flags = {}): Config {
  const env = withoutPlaceholders(rawEnv);
  // Under the simulator the provider keys are never used (it brings its own), so a
  // placeholder like "your-key" left in a config snippet is not refused; a real key is still scrubbed.
  const simulate = flags.simulate === true || boolFrom.parse(env.RUNWARE_SIMULATE);
  const unusedKeys = simulate ? SIMULATED_KEYS.map((k) => env[k]) : [];
  if (simulate) for (const k of SIMULATED_KEYS) delete env[k];
  const r = envSchema.safeParse(env);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`${name}: ${issue.message}`, `Fix ${name} in the MCP client's env settings or your shell.`);
  }
  const e = r.data;
  let transport = e.RUNWARE_TRANSPORT;
  if (flags.transport !== undefined) {
    if (flags.transport !== 'rest' && flags.transport !== 'ws')
      throw new ConfigError(`--transport must be rest or ws, not "${flags.transport}"`);
    transport = flags.transport;
  }
  const port = flags.port ?? 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('--port must be an integer from 0 to 65535');
  scrubber.addSecrets(
    ...unusedKeys.map((k) => k?.trim()).filter((k): k is string => !!k && k.length >= MIN_SECRET_LENGTH),
  );
  scrubber.addSecrets(
    redisPassword(e.RUNWARE_STATE_URL),
    e.RUNWARE_API_KEY,
    e.RUNWAYML_API_SECRET,
    e.USEAPI_API_TOKEN,
    e.MAKEVID_API_KEY,
    e.RUNWARE_MCP_HTTP_TOKEN,
  );
  return {
    version: VERSION,
    runware: {
      apiKey: e.RUNWARE_API_KEY,
      apiUrl: e.RUNWARE_API_URL,
      wsUrl: e.RUNWARE_WS_URL,
      transport,
      maxConcurrency: e.RUNWARE_MAX_CONCURRENCY,
      resendUnknown: e.RUNWARE_RESEND_UNKNOWN,
    },
    runway: {
      official: { secret: e.RUNWAYML_API_SECRET, url: e.RUNWAYML_API_URL.replace(/\/+$/, '') },
      useapi: { token: e.USEAPI_API_TOKEN, url: e.USEAPI_API_URL.replace(/\/+$/, '') },
      makevid: { key: e.MAKEVID_API_KEY, url: e.MAKEVID_API_URL.replace(/\/+$/, '') },
    },
    outputDir: e.RUNWARE_OUTPUT_DIR,
    inputDirs: e.RUNWARE_INPUT_DIRS,
    defaultOutputDir: join(homedir(), 'runware-output'),
    previewMaxBytes: e.RUNWARE_PREVIEW_MAX_BYTES,
    logLevel: e.RUNWARE_LOG_LEVEL,
    simulate,
    simTimeScale: e.RUNWARE_SIM_TIME_SCALE,
    timeScale: e.RUNWARE_TIME_SCALE,
    http: {
      enabled: flags.http === true,
      host: flags.host ?? '127.0.0.1',
      port,
      token: e.RUNWARE_MCP_HTTP_TOKEN,
      allowedHosts:
        flags.allowedHosts ??
        (e.RUNWARE_MCP_ALLOWED_HOSTS ?? '')
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean),
      maxSessions: e.RUNWARE_MCP_HTTP_MAX_SESSIONS,
      idleMs: e.RUNWARE_MCP_HTTP_IDLE_SECONDS * 1000,
      stateless: flags.stateless === true || e.RUNWARE_MCP_HTTP_STATELESS,
    },
    catalog: {
      schemasUrl: e.RUNWARE_SCHEMAS_URL.replace(/\/+$/, ''),
      contentUrl: e.RUNWARE_CONTENT_URL.replace(/\/+$/, ''),
    },
    cacheDir: e.RUNWARE_CACHE_DIR ?? resolve(join(e.XDG_CACHE_HOME || join(homedir(), '.cache'), 'runware-mcp-server')),
    uploadMaxBytes: e.RUNWARE_UPLOAD_MAX_BYTES,
    stateDir:
      e.RUNWARE_STATE_DIR ??
      resolve(join(e.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'runware-mcp-server')),
    maxSpendUsd: e.RUNWARE_MAX_SPEND_USD,
    priceCeilings: e.RUNWARE_PRICE_CEILINGS,
    confirmAboveUsd: e.RUNWARE_CONFIRM_ABOVE_USD,
    stateUrl: e.RUNWARE_STATE_URL,
    leaseMs: e.RUNWARE_STATE_LEASE_SECONDS * 1000,
    timing: {
      retry: {
        maxAttempts: e.RUNWARE_RETRY_ATTEMPTS,
        baseDelayMs: ms(e.RUNWARE_RETRY_BASE_SECONDS),
        maxDelayMs: ms(e.RUNWARE_RETRY_MAX_DELAY_SECONDS),
        budgetMs: ms(e.RUNWARE_RETRY_BUDGET_SECONDS),
      },
      readTimeoutMs: ms(e.RUNWARE_READ_TIMEOUT_SECONDS),
      requestTimeoutMs: ms(e.RUNWARE_REQUEST_TIMEOUT_SECONDS),
      pollMaxMs: ms(e.RUNWARE_POLL_MAX_SECONDS),
      downloadTimeoutMs: ms(e.RUNWARE_DOWNLOAD_TIMEOUT_SECONDS),
    },
    instanceId: `${hostname()}:${process.pid}`,
  };
}

export interface SimulatorEndpoints {
  runwareUrl: string;
  wsUrl: string;
  runwayUrl: string;
  useapiUrl: string;
  makevidUrl: string;
  schemasUrl: string;
  contentUrl: string;
  /** Credentials the simulator accepts. */
  apiKey: string;
  runwaySecret: string;
  useapiToken: string;
  makevidKey: string;
}

/** Points every client at the simulator; real keys are kept out of it. */
export function withSimulator(config: Config, sim: SimulatorEndpoints): Config {
  scrubber.addSecrets(sim.apiKey, sim.runwaySecret, sim.useapiToken, sim.makevidKey);
  return {
    ...config,
    simulate: true,
    runware: { ...config.runware, apiKey: sim.apiKey, apiUrl: sim.runwareUrl, wsUrl: sim.wsUrl },
    catalog: { schemasUrl: sim.schemasUrl, contentUrl: sim.contentUrl },
    runway: {
      official: { secret: sim.runwaySecret, url: sim.runwayUrl },
      useapi: { token: sim.useapiToken, url: sim.useapiUrl },
      makevid: { key: sim.makevidKey, url: sim.makevidUrl },
    },
  };
}

/** The same for the CLI, whose user sets it in the shell rather than in a client's config. */
export const MISSING_KEY_HINT_CLI =
  'RUNWARE_API_KEY is not set. Export it in your shell (export RUNWARE_API_KEY=... with a key from https://my.runware.ai), or add --simulate before the command (runware-mcp-server --simulate ...) to use the built-in simulator.';

/** Explains how to get going when the Runware key is missing. */
export const MISSING_KEY_HINT =
  'RUNWARE_API_KEY is not set. Set it to a key from https://my.runware.ai (in your MCP client config: "env": {"RUNWARE_API_KEY": "..."}), or start the server with --simulate (or RUNWARE_SIMULATE=1) to use the built-in simulator.';
