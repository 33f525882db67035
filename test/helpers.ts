/**
 * Test helpers: a simulator with canary credentials, a client wired to it,
 * the built CLI and MCP server as child processes, and capture of everything
 * they print so each file can prove no canary leaked.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { RunwareClient } from '../src/runware/client.js';
import { RestTransport } from '../src/runware/rest.js';
import { WsTransport } from '../src/runware/ws.js';
import { Rules } from '../src/runware/rules.js';
import { Logger, type LogRecord } from '../src/shared/log.js';
import { encodedForms, scrubber } from '../src/shared/redact.js';
import { Simulator, type SimulatorStartOptions } from '../src/simulator/server.js';

export const ROOT = resolve(__dirname, '..');
/** The built CLI; TEST_CLI points the suite at another build (to measure an older one). */
export const CLI = process.env.TEST_CLI ?? join(ROOT, 'dist', 'cli.js');

/** Distinctive secret values: if any appears in captured output, something leaked. */
export const CANARY = {
  apiKey: 'CANARYrunwareKEY-5f1c9e27a0b84d3c',
  runwaySecret: 'key_CANARYrunway7d2e91b4c6a0',
  useapiToken: 'user:777-CANARYuseapi93b1f0d2e8',
  makevidKey: 'CANARYmakevid-c41e8a7f20d9',
};

export const CANARY_VALUES = Object.values(CANARY);

export async function startSim(opts: SimulatorStartOptions = {}): Promise<Simulator> {
  const sim = new Simulator({ timeScale: 0.05, ...opts, credentials: { ...CANARY, ...opts.credentials } });
  await sim.start();
  return sim;
}

/** Environment that points the built CLI/server at `sim` with the canary credentials. */
export function simEnv(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  const i = sim.info;
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    RUNWARE_API_URL: i.runwareUrl,
    RUNWARE_WS_URL: i.wsUrl,
    RUNWARE_API_KEY: CANARY.apiKey,
    RUNWAYML_API_URL: i.runwayUrl,
    RUNWAYML_API_SECRET: CANARY.runwaySecret,
    USEAPI_API_URL: i.useapiUrl,
    USEAPI_API_TOKEN: CANARY.useapiToken,
    MAKEVID_API_URL: i.makevidUrl,
    MAKEVID_API_KEY: CANARY.makevidKey,
    RUNWARE_SCHEMAS_URL: i.schemasUrl,
    RUNWARE_CONTENT_URL: i.contentUrl,
    // Each process gets its own schema cache unless a test shares one on purpose.
    RUNWARE_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rw-cache-')),
    // And its own journal, unless a test shares one between processes on purpose.
    RUNWARE_STATE_DIR: mkdtempSync(join(tmpdir(), 'rw-state-')),
    RUNWARE_SIMULATE: '0',
    RUNWARE_LOG_LEVEL: 'debug',
    ...extra,
  };
}

/** A client wired to the simulator, fast polling, with its log records kept. */
export function clientFor(
  sim: Simulator,
  opts: { maxAttempts?: number; budgetMs?: number; transport?: 'rest' | 'ws'; pingMs?: number } = {},
): { client: RunwareClient; logs: LogRecord[]; rules: Rules } {
  scrubber.addSecrets(...CANARY_VALUES);
  const logger = new Logger('debug');
  const logs: LogRecord[] = [];
  logger.addSink((r) => logs.push(r));
  const rules = new Rules();
  const client = new RunwareClient({
    transport:
      opts.transport === 'ws'
        ? new WsTransport({
            url: sim.info.wsUrl,
            apiKey: CANARY.apiKey,
            logger,
            requestTimeoutMs: 5000,
            authTimeoutMs: 2000,
            replayGraceMs: 200,
            pingIntervalMs: opts.pingMs ?? 1000,
            pongTimeoutMs: opts.pingMs ?? 1000,
          })
        : new RestTransport({
            url: sim.info.runwareUrl,
            apiKey: CANARY.apiKey,
            userAgent: 'test',
            headersTimeoutMs: 5000,
          }),
    rules,
    logger,
    retry: { maxAttempts: opts.maxAttempts ?? 4, baseDelayMs: 10, maxDelayMs: 50, budgetMs: opts.budgetMs ?? 10_000 },
    pollSchedule: { minMs: 10, fraction: 0.1, maxMs: 100 },
    readTimeoutMs: 2000,
    settleMs: 20,
  });
  return { client, logs, rules };
}

/** Everything a test file captured, checked for canaries at the end. */
/**
 * Escapes of single characters decoded, once (percent bytes, HTML references, JSON/JS escapes): a
 * secret spelled one escaped character at a time reads plainly here. Written apart from the
 * scrubber's reader view on purpose, so a test's verdict does not share the scrubber's mistakes.
 */
export function decodeEscapes(text: string): string {
  const ch = (code: number): string => (code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '');
  return text
    .replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run.replace(/%([0-9a-f]{2})/gi, (_, h: string) => ch(parseInt(h, 16)));
      }
    })
    .replace(/&#x([0-9a-f]{1,6});?/gi, (_, h: string) => ch(parseInt(h, 16)))
    .replace(/&#([0-9]{1,7});?/g, (_, d: string) => ch(parseInt(d, 10)))
    .replace(/\\+u\{([0-9a-f]{1,6})\}/gi, (_, h: string) => ch(parseInt(h, 16)))
    .replace(/\\+u([0-9a-f]{4})/gi, (_, h: string) => ch(parseInt(h, 16)))
    .replace(/\\+x([0-9a-f]{2})/gi, (_, h: string) => ch(parseInt(h, 16)));
}

export class Capture {
  readonly texts: string[] = [];
  readonly dirs: string[] = [];
  add(...t: unknown[]): void {
    for (const x of t) this.texts.push(typeof x === 'string' ? x : JSON.stringify(x));
  }
  tempDir(prefix = 'rw-test-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }
  /**
   * Canary values found in captured text, in files under captured dirs, or in
   * their names: in every encoded form (any case, URL/JSON escapes, base64 at
   * any alignment, hex) and as any 16-character run of the secret.
   */
  leaks(): string[] {
    const found: string[] = [];
    const needles = CANARY_VALUES.flatMap((c) => {
      const forms = encodedForms(c).map((f) => ({
        c,
        f,
        folded: !/^[A-Za-z0-9+/_-]+$/.test(f) || f.toLowerCase().includes(c.toLowerCase()) || /^[0-9a-f]+$/.test(f),
      }));
      const runs = Array.from({ length: Math.max(0, c.length - 15) }, (_, i) => ({
        c,
        f: c.slice(i, i + 16),
        folded: true,
      }));
      return [...forms, ...runs];
    });
    const scan = (text: string, where: string): void => {
      const lower = text.toLowerCase();
      const hit = new Set<string>();
      for (const n of needles)
        if (!hit.has(n.c) && (n.folded ? lower.includes(n.f.toLowerCase()) : text.includes(n.f))) hit.add(n.c);
      for (const c of hit) found.push(`${where}: ${c}`);
    };
    const scanBoth = (text: string, where: string): void => {
      scan(text, where);
      const decoded = decodeEscapes(text);
      if (decoded !== text) scan(decoded, `${where} (escapes decoded)`);
    };
    this.texts.forEach((t, i) => scanBoth(t, `capture #${i}`));
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        scanBoth(f, `file name in ${d}`);
        if (statSync(p).isDirectory()) walk(p);
        else scanBoth(readFileSync(p, 'latin1'), p);
      }
    };
    this.dirs.forEach(walk);
    return found;
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI and captures its output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  capture?: Capture,
  stdin?: string,
): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      capture?.add(stdout, stderr);
      resolveRun({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

/** Connects the SDK Client to the built server over stdio. */
export async function connectStdio(
  args: string[],
  env: Record<string, string>,
  capture?: Capture,
  clientCaps: Record<string, unknown> = {},
): Promise<{ client: Client; stderr: () => string; close: () => Promise<void> }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, ...args], env, stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: 'test', version: '0' }, { capabilities: clientCaps });
  await client.connect(transport);
  return {
    client,
    stderr: () => err,
    close: async () => {
      await client.close();
      capture?.add(err);
    },
  };
}

/** An imageInference task for the simulator (512×512 FLUX unless overridden). */
export const imageTask = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  taskType: 'imageInference',
  positivePrompt: 'a lighthouse',
  model: 'runware:101@1',
  width: 512,
  height: 512,
  ...extra,
});

/** Starts a fast simulator for a test file, stops it after, and clears its state between tests. */
export function useSim(onReset: (sim: Simulator) => void = () => undefined): () => Simulator {
  let sim: Simulator | undefined;
  beforeAll(async () => {
    sim = await startSim({ timeScale: 0.02 });
  });
  afterAll(async () => {
    await sim?.stop();
  });
  afterEach(() => {
    sim?.state.reset();
    if (sim) onReset(sim);
  });
  return () => sim!;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `cond` holds, checking every `intervalMs`, and fails naming `what` if it still
 * does not after `timeoutMs`: for what a test awaits, in place of a fixed sleep that is either
 * too long (slow) or too short (flaky). Returns the first truthy value `cond` gave.
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const v = await cond();
    if (v) return v as Exclude<T, false | 0 | '' | null | undefined>;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${opts.timeoutMs ?? 5000} ms waiting for ${opts.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/**
 * Waits until `count` has held still for `quietMs` (a request already on the wire when something
 * was stopped has landed, however slow the machine), and returns it; fails after `timeoutMs` if it
 * never does (it keeps moving). A test then asserts it stays there across a further window.
 */
export async function settledCount(
  count: () => number | Promise<number>,
  opts: { quietMs?: number; timeoutMs?: number; what?: string } = {},
): Promise<number> {
  const quietMs = opts.quietMs ?? 500;
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last = await count();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 25));
    const now = await count();
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return now;
    if (Date.now() >= deadline)
      throw new Error(`${opts.what ?? 'the count'} was still moving after ${opts.timeoutMs ?? 15_000} ms`);
  }
}
