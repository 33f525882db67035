import type { AppContext } from '../services/context.js';
import { pollTask } from '../services/poll.js';
import { resolve } from 'node:path';
import { bounded, num, parse, str } from './args.js';
import { TEXT_TO_IMAGE_LIMITS } from '../services/text-to-image.js';
import { EXIT_FAILED, EXIT_OK, UsageError, printJson } from './output.js';
import { progressPrinter } from './progress.js';

export const usage = `Usage: runware-mcp-server poll TASK_UUID [--wait SECONDS] [--number-results N] [--out DIR]

Polls any earlier task: getResponse for async work, getTaskDetails where getResponse
does not know the UUID (sync tasks, or a task whose answer was lost). Without --wait,
polls once. With --out, saves finished outputs into DIR. Exit 1 when the task failed
or Runware has no record of it.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { wait: { type: 'string' }, 'number-results': { type: 'string' }, out: { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('poll needs exactly one TASK_UUID');
  const nr = bounded(values, 'number-results', TEXT_TO_IMAGE_LIMITS.numberResults);
  const dir = str(values, 'out');
  const p = progressPrinter();
  const { output: out } = await pollTask(
    ctx,
    {
      taskUUID: positionals[0]!,
      waitSeconds: num(values, 'wait', 0, 3600) ?? 0,
      ...(nr ? { numberResults: nr } : {}),
      ...(dir ? { saveTo: `${resolve(dir)}/` } : {}),
    },
    { roots: dir ? [resolve(dir)] : [], ...(p ? { onProgress: p } : {}) },
  );
  printJson(out);
  return out.status === 'error' || out.status === 'partial' || out.status === 'unknown' ? EXIT_FAILED : EXIT_OK;
}
