/** The journal, read: recent tasks (status, cost, outputs) and one task's whole record. */
import type { JournalStatus, TaskRecord } from '../state/types.js';
import { ValidationError } from '../shared/errors.js';
import type { AppContext } from './context.js';

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
  if (rel) return Date.now() - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2]!.toLowerCase() as 'm' | 'h' | 'd'];
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new ValidationError(field, `"${since}" is not a time`, 'an ISO time such as 2026-12-01T00:00:00Z, or a duration back from now: 30m, 2h, 7d');
  return t;
}

export const taskLine = (r: TaskRecord): TaskLine => ({
  taskUUID: r.taskUUID,
  taskType: r.taskType,
  ...(r.model ? { model: r.model } : {}),
  status: r.status,
  updatedAt: r.updatedAt,
  ...(r.cost !== undefined ? { cost: r.cost } : {}),
  outputs: r.outputs.map((o) => ({ ...(o.url ? { url: o.url } : {}), ...(o.savedTo ? { savedTo: o.savedTo } : {}), ...(o.kind ? { kind: o.kind } : {}) })),
});

export async function listTasks(ctx: AppContext, input: TasksInput): Promise<{ tasks: TaskLine[]; journal: string }> {
  const since = parseSince(input.since);
  const store = await ctx.journal.state();
  const records = await store.listTasks({ ...(input.status ? { status: input.status } : {}), ...(input.model ? { model: input.model } : {}), ...(since !== undefined ? { since } : {}), limit: input.limit ?? 20 });
  return { tasks: records.map(taskLine), journal: store.location };
}

export async function getTask(ctx: AppContext, uuid: string): Promise<TaskRecord> {
  const store = await ctx.journal.state();
  const r = await store.getTask(uuid.toLowerCase());
  if (!r) throw new ValidationError('taskUUID', `no task ${uuid} in the journal at ${store.location}`, 'a taskUUID from runware_tasks; tasks sent by other tools or machines are not journaled here (runware_poll asks Runware)');
  return r;
}
