/** The journal, read: recent tasks (status, cost, outputs) and one task's whole record. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFileWithin, UnsafeFileError } from '../media/safe-read.js';
import { formatFromExtension, MIME_OF } from '../media/formats.js';
import type { Listed } from '../state/records.js';
import { SqliteState } from '../state/sqlite.js';
import type { JournalStatus, TaskRecord } from '../state/types.js';
import { PolicyError, ValidationError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';
import type { AppContext } from './context.js';
import { FILES } from '../runware/timing.js';

export interface TasksInput {
  status?: JournalStatus;
  /** ISO time, or a duration back from now such as "2h" or "7d". */
  since?: string;
  model?: string;
  limit?: number;
}

/** The compact line per task an agent reads. */
export interface TaskLine {
  taskUUID: string;
  taskType: string;
  model?: string;
  status: JournalStatus;
  updatedAt: string;
  cost?: number;
  outputs: Array<{ url?: string; savedTo?: string; kind?: string }>;
}

export function parseSince(since: string | undefined, field = 'since'): number | undefined {
  if (since === undefined || since === '') return undefined;
  const rel = /^(\d+(?:\.\d+)?)\s*(m|h|d)$/i.exec(since.trim());
  if (rel)
    return (
      Date.now() - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2]!.toLowerCase() as 'm' | 'h' | 'd']
    );
  const t = Date.parse(since);
  if (Number.isNaN(t))
    throw new ValidationError(
      field,
      `"${since}" is not a time`,
      'an ISO time such as 2026-12-01T00:00:00Z, or a duration back from now: 30m, 2h, 7d',
    );
  return t;
}

export const taskLine = (r: TaskRecord): TaskLine => ({
  taskUUID: r.taskUUID,
  taskType: r.taskType,
  ...(r.model ? { model: r.model } : {}),
  status: r.status,
  updatedAt: r.updatedAt,
  ...(r.cost !== undefined ? { cost: r.cost } : {}),
  outputs: r.outputs.map((o) => ({
    ...(o.url ? { url: o.url } : {}),
    ...(o.savedTo ? { savedTo: o.savedTo } : {}),
    ...(o.kind ? { kind: o.kind } : {}),
  })),
});

const TASK_STATUSES = ['submitted', 'processing', 'success', 'partial', 'error', 'unknown'];

export async function listTasks(
  ctx: AppContext,
  input: TasksInput,
): Promise<{ tasks: TaskLine[]; journal: string; skipped?: string[] }> {
  // The tool's bounds, again here for every front-end.
  if (input.status !== undefined && !TASK_STATUSES.includes(input.status))
    throw new ValidationError('status', 'is not one of the allowed values', TASK_STATUSES.join(' | '));
  if (input.limit !== undefined && (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 200))
    throw new ValidationError('limit', 'must be a whole number from 1 to 200');
  const since = parseSince(input.since);
  const store = await ctx.journal.state();
  const records: Listed<TaskRecord> = await store.listTasks({
    ...(input.status ? { status: input.status } : {}),
    ...(input.model ? { model: input.model } : {}),
    ...(since !== undefined ? { since } : {}),
    limit: input.limit ?? 20,
  });
  const skipped = reportSkipped(ctx, records.skipped, store.location);
  return { tasks: records.map(taskLine), journal: store.location, ...(skipped ? { skipped } : {}) };
}

const reported = new WeakMap<AppContext, Set<string>>();

/**
 * Records the store could not read: said in the result each time (so the
 * listing is known to be partial), and on stderr once per record.
 */
export function reportSkipped(ctx: AppContext, keys: string[] | undefined, location: string): string[] | undefined {
  if (!keys?.length) return undefined;
  let seen = reported.get(ctx);
  if (!seen) reported.set(ctx, (seen = new Set()));
  const fresh = keys.filter((k) => !seen.has(k) && seen.size < 10_000);
  fresh.forEach((k) => seen.add(k));
  if (fresh.length)
    ctx.logger.warn(
      `the journal at ${location} holds ${fresh.length} record(s) that cannot be read; skipped: ${fresh.slice(0, 10).join(', ')}${fresh.length > 10 ? ', ...' : ''}`,
    );
  return keys.map((k) => `${k}: not a readable record, skipped`);
}

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getTask(ctx: AppContext, uuid: string): Promise<TaskRecord> {
  if (!UUID_SHAPE.test(uuid))
    throw new ValidationError(
      'taskUUID',
      `"${uuid.slice(0, 80)}" is not a UUID`,
      'a taskUUID (8-4-4-4-12 hex digits) from the task list',
    );
  const store = await ctx.journal.state();
  const r = await store.getTask(uuid.toLowerCase());
  if (!r) {
    const other = await inOtherJournal(ctx, uuid.toLowerCase());
    throw new ValidationError(
      'taskUUID',
      `no task ${uuid} in the journal at ${store.location}${other ? `; ${other}` : ''}`,
      'a taskUUID from the task list; tasks sent by other tools or machines are not journaled here (polling a task asks Runware)',
    );
  }
  return r;
}

/**
 * The simulator's tasks are journaled apart from real ones: a task not found in one
 * journal may be in the other, and the way to see it is to switch --simulate.
 */
async function inOtherJournal(ctx: AppContext, uuid: string): Promise<string | undefined> {
  const c = ctx.config;
  if (c.stateUrl) return undefined;
  const dir = c.simulate ? c.stateDir : join(c.stateDir, 'simulator');
  if (!existsSync(join(dir, 'journal.sqlite'))) return undefined;
  try {
    const other = SqliteState.open(dir);
    try {
      if (!(await other.getTask(uuid))) return undefined;
    } finally {
      await other.close();
    }
  } catch {
    return undefined;
  }
  if (ctx.frontend === 'cli')
    return c.simulate
      ? `it is a real task: run runware-mcp-server task ${uuid} without --simulate`
      : `it is a simulated task: run runware-mcp-server --simulate task ${uuid}`;
  return c.simulate
    ? 'it is a real task, and this server runs with --simulate'
    : 'it is a simulated task: a server started with --simulate has it';
}

/** The largest saved output read back whole (as a resource); a bigger one is named by its path. */
export const MAX_OUTPUT_READ_BYTES = 20 * 1024 * 1024;

export interface SavedOutput {
  taskUUID: string;
  index: number;
  path: string;
  mimeType: string;
  kind?: string;
}

/** Every saved output of recent tasks, newest task first. */
export async function savedOutputs(ctx: AppContext, limit = 50): Promise<SavedOutput[]> {
  const store = await ctx.journal.state();
  const out: SavedOutput[] = [];
  const records: Listed<TaskRecord> = await store.listTasks({ limit });
  reportSkipped(ctx, records.skipped, store.location);
  for (const r of records) {
    r.outputs.forEach((o, index) => {
      if (o.savedTo)
        out.push({
          taskUUID: r.taskUUID,
          index,
          path: o.savedTo,
          mimeType: mimeOfPath(o.savedTo),
          ...(o.kind ? { kind: o.kind } : {}),
        });
    });
  }
  return out;
}

const mimeOfPath = (path: string): string => {
  const f = formatFromExtension(path);
  return f ? MIME_OF[f] : 'application/octet-stream';
};

/** How long checking and reading one saved output may take. */
export const OUTPUT_READ_TIMEOUT_MS = FILES.outputReadMs;

/**
 * One saved output's bytes. The record's path is not trusted (a record can be
 * edited): the file is served only if, when it is opened, it is a regular file
 * inside the directories allowed now, and if its bytes hold no secret.
 */
export async function readSavedOutput(
  ctx: AppContext,
  uuid: string,
  index: number,
  roots: readonly string[],
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<SavedOutput & { data: Buffer }> {
  const r = await getTask(ctx, uuid);
  const o = r.outputs[index];
  if (!o)
    throw new ValidationError(
      'index',
      `task ${uuid} has ${r.outputs.length} output(s); there is no output ${index}`,
      r.outputs.length ? `0 to ${r.outputs.length - 1}` : 'none',
    );
  if (!o.savedTo)
    throw new ValidationError(
      'index',
      `output ${index} of task ${uuid} was not saved`,
      'an output that was saved (polling the task with a save location saves it now)',
    );
  const what = `output ${index} of task ${uuid}`;
  let data: Buffer;
  try {
    data = await readRegularFileWithin(o.savedTo, roots, {
      singleLink: true,
      maxBytes: MAX_OUTPUT_READ_BYTES,
      timeoutMs: opts.timeoutMs ?? OUTPUT_READ_TIMEOUT_MS,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    if (!(e instanceof UnsafeFileError)) throw e;
    throw savedOutputError(e, what, o.savedTo, roots);
  }
  // Served bytes are output like any other: a file holding a secret is not served (binary cannot be redacted).
  if (scrubber.containsSecret(data.toString('latin1')))
    throw new PolicyError(
      'index',
      `${what} holds a secret value, so it is not served`,
      `open the file itself: ${o.savedTo}`,
    );
  return {
    taskUUID: r.taskUUID,
    index,
    path: o.savedTo,
    mimeType: mimeOfPath(o.savedTo),
    ...(o.kind ? { kind: o.kind } : {}),
    data,
  };
}

function savedOutputError(e: UnsafeFileError, what: string, path: string, roots: readonly string[]): Error {
  switch (e.reason) {
    case 'missing':
      return new ValidationError(
        'index',
        `${what} was saved to ${path}, which is gone`,
        'polling the task with a save location saves it again while its URL lasts',
      );
    case 'tooLarge':
      return new ValidationError(
        'index',
        `${what} is over the ${MAX_OUTPUT_READ_BYTES / 1048576} MiB read as a resource`,
        `open the file itself: ${path}`,
      );
    case 'outside':
      return new PolicyError(
        'index',
        `${what} is recorded at ${path}, which is outside the directories allowed now (${roots.join(', ')}); nothing was read`,
        "Saved outputs are served only from RUNWARE_OUTPUT_DIR or the client's roots.",
      );
    case 'timeout':
      return new PolicyError(
        'index',
        `${what} at ${path} could not be read in time; nothing was served`,
        `open the file itself: ${path}`,
      );
    default:
      return new PolicyError(
        'index',
        `${what} at ${path} is not served: ${e.message.slice(e.field.length + 2)}`,
        'Only a regular file this server saved, inside the allowed directories, is served; polling the task with a save location saves it again while its URL lasts.',
      );
  }
}
