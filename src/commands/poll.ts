import type { AppContext } from '../services/context.js';
import { pollTask } from '../services/poll.js';
import { int, num, parse } from './args.js';
import { EXIT_FAILED, EXIT_OK, UsageError, printJson } from './output.js';
import { progressPrinter } from './progress.js';

export const usage = `Usage: runware-mcp-server poll TASK_UUID [--wait SECONDS] [--number-results N]

Polls an async task with getResponse. Without --wait, polls once.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { wait: { type: 'string' }, 'number-results': { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('poll needs exactly one TASK_UUID');
  const nr = int(values, 'number-results', 1, 20);
  const out = await pollTask(ctx, { taskUUID: positionals[0]!, waitSeconds: num(values, 'wait', 0, 3600) ?? 0, ...(nr ? { numberResults: nr } : {}) }, { ...(progressPrinter() ? { onProgress: progressPrinter()! } : {}) });
  printJson(out);
  return out.status === 'error' || out.status === 'partial' ? EXIT_FAILED : EXIT_OK;
}
