import type { AppContext } from '../services/context.js';
import { listTasks, type TasksInput } from '../services/tasks.js';
import type { JournalStatus } from '../state/types.js';
import { int, parse, str } from './args.js';
import { EXIT_OK, UsageError, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server tasks [--status S] [--since T] [--model AIR] [--limit N]

Recent tasks from the journal shared by every process of this user (RUNWARE_STATE_DIR):
status, cost, output URLs and saved paths, newest first. --since takes an ISO time or
a duration back from now (30m, 2h, 7d). --status: submitted, processing, success,
partial, error, unknown.`;

const STATUSES = ['submitted', 'processing', 'success', 'partial', 'error', 'unknown'];

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values } = parse(args, {
    status: { type: 'string' },
    since: { type: 'string' },
    model: { type: 'string' },
    limit: { type: 'string' },
  });
  const status = str(values, 'status');
  if (status && !STATUSES.includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  const input: TasksInput = { limit: int(values, 'limit', 1, 500) ?? 20 };
  if (status) input.status = status as JournalStatus;
  const since = str(values, 'since');
  if (since) input.since = since;
  const model = str(values, 'model');
  if (model) input.model = model;
  printJson(await listTasks(ctx, input));
  return EXIT_OK;
}
