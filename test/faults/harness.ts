/**
 * The fault matrix: drives the built server (MCP over stdio, and the CLI)
 * against the simulator with faults injected at random into a share of
 * requests, under a chosen combination of the API's unknowns, and judges every
 * task by the simulator's own counts:
 *
 * - double-accepted: a UUID run twice, or one logical task billed for two results;
 * - lost: the simulator ran the task to a result, yet the caller got neither
 *   the result nor a UUID to poll (an error, or "unknown" that a later poll
 *   cannot recover);
 * - hung: a call that outlived its deadline plus a margin.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Fault, SimOptions } from '../../src/simulator/state.js';
import { PESSIMISTIC, SimState, UNKNOWNS } from '../../src/simulator/state.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY_VALUES, CLI, connectStdio, simEnv, waitFor, type Capture } from '../helpers.js';

export type Transport = 'rest' | 'ws';
export type Front = 'mcp' | 'cli';

export interface FaultSpec {
  name: string;
  fault: Fault;
  transports: Transport[];
  /** Also turn on the simulator's hostile mode (malformed items, traversal names, echoed secrets, frames naming no task). */
  hostile?: boolean;
  /** Also break the server's journal for the cell: its files made unwritable (chattr +i), or deleted under it. */
  journal?: JournalFault;
}

export type JournalFault = 'unwritable' | 'replaced';

/** Every fault the simulator can inject, as the matrix names them. */
export const FAULTS: FaultSpec[] = [
  { name: 'latency past the timeout', fault: { kind: 'latency', ms: 1800 }, transports: ['rest', 'ws'] },
  { name: '429', fault: { kind: 'http429', retryAfter: 0.05 }, transports: ['rest'] },
  ...[500, 503, 504].map((status) => ({
    name: `${status} with Runware's body`,
    fault: { kind: `http${status}` as Fault['kind'] },
    transports: ['rest'] as Transport[],
  })),
  ...[500, 502, 503, 504].flatMap((status) => [
    {
      name: `${status} without a body, before`,
      fault: { kind: 'proxy' as const, status, body: 'none' as const, when: 'before' as const },
      transports: ['rest'] as Transport[],
    },
    {
      name: `${status} without a body, after the task ran`,
      fault: {
        kind: 'proxy' as const,
        status,
        body: status === 502 ? ('html' as const) : ('none' as const),
        when: 'after' as const,
      },
      transports: ['rest'] as Transport[],
    },
  ]),
  { name: 'timeoutProvider', fault: { kind: 'taskError', code: 'timeoutProvider' }, transports: ['rest', 'ws'] },
  {
    name: 'providerRateLimitExceeded',
    fault: { kind: 'taskError', code: 'providerRateLimitExceeded' },
    transports: ['rest', 'ws'],
  },
  {
    name: 'async failure, transient',
    fault: { kind: 'asyncError', code: 'timeoutProvider' },
    transports: ['rest', 'ws'],
  },
  { name: 'reset before the task ran', fault: { kind: 'reset' }, transports: ['rest', 'ws'] },
  { name: 'reset after the task ran', fault: { kind: 'resetAfterAccept' }, transports: ['rest', 'ws'] },
  { name: 'truncated body', fault: { kind: 'malformed' }, transports: ['rest'] },
  { name: 'duplicate frames', fault: { kind: 'duplicateFrames' }, transports: ['ws'] },
  { name: 'interleaved frames', fault: { kind: 'interleave' }, transports: ['ws'] },
  { name: 'drop inside the resume window', fault: { kind: 'wsDrop', resume: 'inside' }, transports: ['ws'] },
  { name: 'drop beyond the resume window', fault: { kind: 'wsDrop', resume: 'beyond' }, transports: ['ws'] },
  { name: 'silent socket', fault: { kind: 'silence' }, transports: ['ws'] },
  {
    name: 'hostile upstream, reset after the task ran',
    fault: { kind: 'resetAfterAccept' },
    transports: ['rest', 'ws'],
    hostile: true,
  },
  { name: 'success without outputs', fault: { kind: 'emptySuccess' }, transports: ['rest', 'ws'] },
  {
    name: 'journal made unwritable, reset after the task ran',
    fault: { kind: 'resetAfterAccept' },
    transports: ['rest', 'ws'],
    journal: 'unwritable',
  },
  {
    name: 'journal deleted, reset after the task ran',
    fault: { kind: 'resetAfterAccept' },
    transports: ['rest', 'ws'],
    journal: 'replaced',
  },
];

/**
 * Breaks the journal in `stateDir` as `kind` says; returns the repair (run it
 * after the cell). Undefined when this machine cannot (chattr needs root on a
 * file system with the immutable flag): the caller says SKIPPED.
 */
export function breakJournal(stateDir: string, kind: JournalFault): (() => void) | undefined {
  const path = join(stateDir, 'journal.sqlite');
  const files = [path, `${path}-wal`, `${path}-shm`].filter((f) => existsSync(f));
  if (kind === 'replaced') {
    for (const f of files) rmSync(f, { force: true });
    return () => undefined;
  }
  try {
    execFileSync('chattr', ['+i', ...files], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return () => execFileSync('chattr', ['-i', ...files], { stdio: 'ignore' });
}

type Unknowns = Omit<SimOptions, 'timeScale' | 'hostile'>;
const WS_ONLY = new Set(['wsResumeReplays', 'staleSession', 'wsFraming']);

/**
 * Combinations of the unknowns: the pessimistic default, then each other
 * possibility of each switch on its own (one factor at a time). `all` gives
 * the full cross product of the switches that bear on lost answers.
 */
export function unknownCombos(transport: Transport, all = false): Array<{ name: string; options: Unknowns }> {
  const base = { ...PESSIMISTIC } as Unknowns & { hostile?: boolean };
  delete base.hostile;
  if (all) {
    const out: Array<{ name: string; options: Unknowns }> = [];
    for (const getResponseCoversSync of UNKNOWNS.getResponseCoversSync)
      for (const unknownTask of UNKNOWNS.unknownTask)
        for (const reusedUuid of UNKNOWNS.reusedUuid)
          for (const taskDetailsUnknown of UNKNOWNS.taskDetailsUnknown)
            for (const taskDetailsRunning of UNKNOWNS.taskDetailsRunning) {
              const options = {
                ...base,
                getResponseCoversSync,
                unknownTask,
                reusedUuid,
                taskDetailsUnknown,
                taskDetailsRunning,
              };
              out.push({ name: describe(options), options });
            }
    return out;
  }
  const out = [{ name: 'pessimistic', options: base }];
  for (const [key, values] of Object.entries(UNKNOWNS) as Array<[keyof Unknowns, readonly unknown[]]>) {
    if (WS_ONLY.has(key) && transport !== 'ws') continue;
    for (const v of values)
      if (v !== base[key]) out.push({ name: `${key}=${String(v)}`, options: { ...base, [key]: v } as Unknowns });
  }
  return out;
}

/**
 * A pairwise cover of `combos`: every pair of values of any two switches
 * appears in some chosen combination (greedy), for front-ends where each
 * combination costs a process start.
 */
export function pairwise<T extends { options: Unknowns }>(combos: T[]): T[] {
  const keys = Object.keys(UNKNOWNS) as Array<keyof Unknowns>;
  const pairsOf = (o: Unknowns): string[] => {
    const out: string[] = [];
    for (let a = 0; a < keys.length; a++)
      for (let b = a + 1; b < keys.length; b++)
        out.push(`${keys[a]}=${String(o[keys[a]!])}&${keys[b]}=${String(o[keys[b]!])}`);
    return out;
  };
  const uncovered = new Set(combos.flatMap((c) => pairsOf(c.options)));
  const chosen: T[] = [];
  while (uncovered.size > 0) {
    let best = combos[0]!;
    let gain = -1;
    for (const c of combos) {
      const g = pairsOf(c.options).filter((p) => uncovered.has(p)).length;
      if (g > gain) {
        gain = g;
        best = c;
      }
    }
    chosen.push(best);
    for (const p of pairsOf(best.options)) uncovered.delete(p);
  }
  return chosen;
}

const describe = (o: Partial<Unknowns>): string =>
  Object.entries(o)
    .filter(([k, v]) => (PESSIMISTIC as unknown as Record<string, unknown>)[k] !== v)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ') || 'pessimistic';

export interface CellResult {
  front: Front;
  transport: Transport;
  fault: string;
  unknowns: string;
  tasks: number;
  successes: number;
  scopedErrors: number;
  /** Ended "unknown whether it ran" (or still processing) at the call's deadline. */
  unknown: number;
  /** Of those, how many a later poll recovered. */
  recovered: number;
  doubleAccepted: number;
  lost: number;
  hung: number;
  alive: boolean;
  /** Secrets seen in any output of the cell. */
  leaks: number;
}

interface Outcome {
  status: string;
  taskUUID: string;
  attempts?: Array<{ taskUUID: string }>;
  results?: unknown[];
  errors?: unknown[];
}

/** The server's env for the matrix: short waits, so a cell takes seconds. */
export function matrixEnv(sim: Simulator, transport: Transport, home: string): Record<string, string> {
  return simEnv(sim, {
    RUNWARE_TRANSPORT: transport,
    RUNWARE_TIME_SCALE: '0.01',
    RUNWARE_LOG_LEVEL: 'info',
    HOME: home,
    RUNWARE_OUTPUT_DIR: join(home, 'out'),
  });
}

/** The tasks of one cell: sync and async, several types, some with several results. */
export function cellTasks(n: number, seed: number): Array<Record<string, unknown>> {
  const rnd = SimState.seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    const r = rnd();
    if (r < 0.45)
      return {
        taskType: 'imageInference',
        positivePrompt: `a fox ${i}`,
        model: 'runware:101@1',
        width: 512,
        height: 512,
        numberResults: 1 + Math.floor(rnd() * 2),
        steps: 4,
      };
    if (r < 0.75)
      return {
        taskType: 'imageInference',
        positivePrompt: `a heron ${i}`,
        model: 'runware:101@1',
        width: 512,
        height: 512,
        deliveryMethod: 'async',
        steps: 4,
        numberResults: 1 + Math.floor(rnd() * 2),
      };
    if (r < 0.9)
      return { taskType: 'promptEnhance', prompt: `a lighthouse ${i}`, promptVersions: 1 + Math.floor(rnd() * 2) };
    return { taskType: 'modelSearch', search: 'flux', limit: 2 };
  });
}

/**
 * The deadline of one call in the matrix env (a 2 s wait), plus the margin a call may take to
 * return. The margin is wide for a busy 2-core machine (calls took up to 3.6 s there under two
 * busy loops), yet below every bound this env leaves unscaled (a 10 s connect, a 60 s download
 * or MCP request): a call that only those end still counts as hung.
 */
export const CALL_BUDGET_MS = 2000 + 6000;

interface Judged {
  outcomes: Outcome[];
  hung: number;
}

/** Runs one cell through an MCP client already connected to a server pointed at `sim`. */
export async function runMcpCell(
  client: Client,
  sim: Simulator,
  tasks: Array<Record<string, unknown>>,
  capture: Capture,
): Promise<Judged> {
  const outcomes: Outcome[] = [];
  let hung = 0;
  const batches: Array<Array<Record<string, unknown>>> = [];
  for (let i = 0; i < tasks.length; i += 10) batches.push(tasks.slice(i, i + 10));
  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      if (Date.now() - t0 > CALL_BUDGET_MS) hung++;
    }
  };
  await pool(batches, 4, async (batch) => {
    const r = (await timed(() =>
      client.callTool({ name: 'runware_request', arguments: { tasks: batch } }, undefined, { timeout: 60_000 }),
    )) as CallToolResult;
    capture.add(r);
    const sc = r.structuredContent as { tasks?: Outcome[] } | undefined;
    for (const t of sc?.tasks ?? []) {
      if (t.status !== 'processing') {
        outcomes.push(t);
        continue;
      }
      // Async work: finish it with runware_poll, as an agent would.
      const p = (await timed(() =>
        client.callTool(
          {
            name: 'runware_poll',
            arguments: {
              taskUUID: t.taskUUID,
              waitSeconds: 2,
              numberResults: numberResultsOf(batch[(t as unknown as { index: number }).index]),
            },
          },
          undefined,
          { timeout: 60_000 },
        ),
      )) as CallToolResult;
      capture.add(p);
      const ps = p.structuredContent as Outcome | undefined;
      if (process.env.FAULTS_DEBUG === '1' && ps && ps.taskUUID !== t.taskUUID)
        process.stderr.write(`MISMATCH ${JSON.stringify({ submitted: t, polled: ps }).slice(0, 3000)}\n`);
      outcomes.push({
        ...(ps ?? { status: 'error', taskUUID: t.taskUUID }),
        attempts: [...(t.attempts ?? []), ...(ps?.attempts ?? [])],
      });
    }
  });
  void sim;
  return { outcomes, hung };
}

const numberResultsOf = (t: Record<string, unknown> | undefined): number =>
  typeof t?.numberResults === 'number' ? t.numberResults : typeof t?.promptVersions === 'number' ? t.promptVersions : 1;

/** Runs one cell through the CLI: `raw FILE` with batches of 25, then `poll --wait` for async work. */
export async function runCliCell(
  env: Record<string, string>,
  tasks: Array<Record<string, unknown>>,
  capture: Capture,
): Promise<Judged> {
  const outcomes: Outcome[] = [];
  let hung = 0;
  const dir = mkdtempSync(join(tmpdir(), 'faults-cli-'));
  const batches: Array<Array<Record<string, unknown>>> = [];
  for (let i = 0; i < tasks.length; i += 25) batches.push(tasks.slice(i, i + 25));
  await pool(
    batches.map((b, i) => [b, i] as const),
    2,
    async ([batch, i]) => {
      const file = join(dir, `batch-${i}.json`);
      writeFileSync(file, JSON.stringify(batch));
      const t0 = Date.now();
      const out = await cli(['raw', file], env, capture);
      if (Date.now() - t0 > CALL_BUDGET_MS + 1500) hung++;
      const r = JSON.parse(out.stdout || '{}') as { tasks?: Array<Outcome & { index: number }> };
      for (const t of r.tasks ?? []) {
        if (t.status !== 'processing') {
          outcomes.push(t);
          continue;
        }
        const p = await cli(
          ['poll', t.taskUUID, '--wait', '2', '--number-results', String(numberResultsOf(batch[t.index]))],
          env,
          capture,
        );
        const ps = JSON.parse(p.stdout || '{}') as Outcome;
        outcomes.push({ ...ps, attempts: [...(t.attempts ?? []), ...(ps.attempts ?? [])] });
      }
    },
  );
  return { outcomes, hung };
}

/** The recovery poll through the CLI: `poll UUID`, with numberResults left to the journal, as a user would run it. */
export async function pollCli(
  env: Record<string, string>,
  uuid: string,
  capture: Capture,
): Promise<{ status: string; taskUUID: string }> {
  const p = await cli(['poll', uuid, '--wait', '3'], env, capture);
  try {
    return JSON.parse(p.stdout) as { status: string; taskUUID: string };
  } catch {
    return { status: 'error', taskUUID: uuid };
  }
}

function cli(
  args: string[],
  env: Record<string, string>,
  capture: Capture,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      capture.add(stdout, stderr);
      resolve({ stdout, stderr, code });
    });
  });
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Judges a cell's outcomes by the simulator's counts. `recover` polls a UUID
 * after the faults are off, to tell a recoverable "unknown" from a lost task.
 */
export async function judge(
  sim: Simulator,
  j: Judged,
  recover: (uuid: string, n: number) => Promise<Outcome>,
  base: Omit<
    CellResult,
    'tasks' | 'successes' | 'scopedErrors' | 'unknown' | 'recovered' | 'doubleAccepted' | 'lost' | 'hung' | 'leaks'
  >,
  leaks: number,
): Promise<CellResult> {
  sim.state.random = undefined;
  // A request held by a latency fault lands after its caller gave up on it: count only once every
  // request the simulator took has run, or a resend beside a late original would go unseen.
  await waitFor(() => sim.state.inFlight === 0, {
    timeoutMs: 30_000,
    what: 'the simulator to finish every request it took',
  });
  let successes = 0;
  let scopedErrors = 0;
  let unknown = 0;
  let recovered = 0;
  let doubleAccepted = 0;
  let lost = 0;
  for (const o of j.outcomes) {
    const lineage = [...new Set([...(o.attempts ?? []).map((a) => a.taskUUID), o.taskUUID])];
    const runs = lineage.map((u) => sim.state.accepted.get(u) ?? 0);
    const wins = lineage.map((u) => sim.state.succeeded.get(u) ?? 0);
    if (runs.some((n) => n > 1) || wins.filter((n) => n > 0).length > 1) doubleAccepted++;
    const billed = wins.some((n) => n > 0);
    if (o.status === 'success' || o.status === 'partial') successes++;
    else if (o.status === 'error') {
      scopedErrors++;
      if (billed && (o.results?.length ?? 0) === 0) lost++;
    } else {
      unknown++;
      if (!billed)
        recovered++; // never ran: nothing to lose
      else {
        const back = await recover(o.taskUUID, 2);
        if (back.status === 'success' || back.status === 'partial') recovered++;
        else {
          lost++;
          // FAULTS_DEBUG=1 shows why: the outcome, each UUID's counts in the simulator, and what the recovery poll said.
          if (process.env.FAULTS_DEBUG === '1')
            process.stderr.write(`LOST ${JSON.stringify({ outcome: o, lineage, runs, wins, back })}\n`);
        }
      }
    }
  }
  return {
    ...base,
    tasks: j.outcomes.length,
    successes,
    scopedErrors,
    unknown,
    recovered,
    doubleAccepted,
    lost,
    hung: j.hung,
    leaks,
  };
}

/** Starts the built server over stdio against `sim`. */
export async function startServer(
  sim: Simulator,
  transport: Transport,
  capture: Capture,
): Promise<{ client: Client; close: () => Promise<void>; env: Record<string, string> }> {
  const home = capture.tempDir();
  const env = matrixEnv(sim, transport, home);
  const c = await connectStdio([], env, capture);
  await warmUp(c.client);
  return { client: c.client, close: c.close, env };
}

/**
 * One fault-free image before the cells: the server's first call loads the transport, opens
 * (over WebSocket, authenticates) the connection and caches the model's schema, which on a
 * busy machine can outlast the matrix's scaled deadlines (an authentication floor of 0.5 s).
 * Without it the first cell pays that start-up as a fault it was not given. Retried until it
 * succeeds, with a generous deadline: a server that cannot do one clean image fails here.
 */
async function warmUp(client: Client): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      last = await client.callTool(
        {
          name: 'runware_text_to_image',
          arguments: { prompt: 'a warm-up fox', width: 512, height: 512, steps: 4, waitSeconds: 5 },
        },
        undefined,
        { timeout: 30_000 },
      );
      return (last as CallToolResult).structuredContent?.status === 'success';
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'a first clean image from the server' },
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: last answer ${JSON.stringify(last).slice(0, 500)}`);
  });
}

export const canaries = CANARY_VALUES;

/** The rows of RELIABILITY.md. */
export function table(rows: CellResult[]): string {
  const head =
    '| front | transport | fault | unknowns | tasks | success | scoped error | unknown at deadline (recovered by poll) | double-accepted | lost | hung | leaks |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    head +
    rows
      .map(
        (r) =>
          `| ${r.front} | ${r.transport} | ${r.fault} | ${r.unknowns} | ${r.tasks} | ${r.successes} | ${r.scopedErrors} | ${r.unknown} (${r.recovered}) | ${r.doubleAccepted} | ${r.lost} | ${r.hung} | ${r.leaks} |`,
      )
      .join('\n') +
    '\n'
  );
}

/**
 * A sync cell: `n` runware_text_to_image calls (sent sync: a short image fits the wait), four at a time,
 * each finished with runware_poll when it comes back "processing" (a sync wait that outlived its budget).
 */
export async function runSyncCell(client: Client, n: number, capture: Capture): Promise<Judged> {
  const outcomes: Outcome[] = [];
  let hung = 0;
  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      if (Date.now() - t0 > CALL_BUDGET_MS) hung++;
    }
  };
  await pool(
    Array.from({ length: n }, (_, i) => i),
    4,
    async (i) => {
      const r = (await timed(() =>
        client.callTool(
          {
            name: 'runware_text_to_image',
            arguments: {
              prompt: `a sync fox ${i}`,
              width: 512,
              height: 512,
              steps: 4,
              numberResults: 1 + (i % 2),
              waitSeconds: 2,
            },
          },
          undefined,
          { timeout: 60_000 },
        ),
      )) as CallToolResult;
      capture.add(r);
      const sc = r.structuredContent as (Outcome & { images?: unknown[] }) | undefined;
      if (!sc) {
        outcomes.push({ status: 'error', taskUUID: '' });
        return;
      }
      const o: Outcome = { ...sc, results: sc.images ?? [] };
      if (o.status !== 'processing') {
        outcomes.push(o);
        return;
      }
      const p = (await timed(() =>
        client.callTool({ name: 'runware_poll', arguments: { taskUUID: o.taskUUID, waitSeconds: 2 } }, undefined, {
          timeout: 60_000,
        }),
      )) as CallToolResult;
      capture.add(p);
      const ps = p.structuredContent as Outcome | undefined;
      outcomes.push({
        ...(ps ?? { status: 'error', taskUUID: o.taskUUID }),
        attempts: [...(o.attempts ?? []), ...(ps?.attempts ?? [])],
      });
    },
  );
  return { outcomes, hung };
}

/** The faults a sync wait meets: a wait past its budget, lost answers after the task ran, a failed task, drops. */
export const SYNC_FAULTS = [
  'latency past the timeout',
  'reset before the task ran',
  'reset after the task ran',
  'timeoutProvider',
  '502 without a body, after the task ran',
  'truncated body',
  'drop inside the resume window',
  'drop beyond the resume window',
  'silent socket',
];
