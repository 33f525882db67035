import type { AppContext } from '../services/context.js';
import { getTask } from '../services/tasks.js';
import { parse } from './args.js';
import { EXIT_OK, UsageError, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server task TASK_UUID

One task's whole journal record: its lineage of taskUUIDs, status, cost, outputs (URLs,
expiry, saved paths) and the request as sent, with secrets and media data removed.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, true);
  if (positionals.length !== 1) throw new UsageError('task needs exactly one TASK_UUID');
  printJson(await getTask(ctx, positionals[0]!));
  return EXIT_OK;
}
