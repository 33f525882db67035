import type { AppContext } from '../services/context.js';
import { PROVIDERS, type Provider } from '../runway/types.js';
import { num, parse, str } from './args.js';
import { EXIT_FAILED, EXIT_OK, UsageError, printJson } from './output.js';
import { progressPrinter } from './progress.js';

export const usage = `Usage: runware-mcp-server runway-task ID [--provider runway|useapi|makevid] [--wait SECONDS]

Looks up a Runway video task and prints one normalized view. Composite ids
(user:N-runwayml:EMAIL-task:UUID) go to useapi.net; bare UUIDs try the official
API, then makevid.ai. With --wait, polls until the task ends or the time is up.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { provider: { type: 'string' }, wait: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('runway-task needs exactly one ID');
  const provider = str(values, 'provider');
  if (provider && !PROVIDERS.includes(provider as Provider))
    throw new UsageError(`--provider must be one of ${PROVIDERS.join(', ')}`);
  const p = progressPrinter();
  const view = await ctx.runway().get(positionals[0]!, {
    ...(provider ? { provider: provider as Provider } : {}),
    waitSeconds: num(values, 'wait', 0, 3600) ?? 0,
    ...(p ? { onProgress: p } : {}),
  });
  printJson(view);
  return view.status === 'failed' || view.status === 'cancelled' ? EXIT_FAILED : EXIT_OK;
}
