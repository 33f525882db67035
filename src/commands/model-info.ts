import type { AppContext } from '../services/context.js';
import { modelInfo } from '../services/model-info.js';
import { parse } from './args.js';
import { EXIT_OK, UsageError, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server model-info MODEL

What MODEL (any AIR model-search returns) takes, from its live schema: taskType,
delivery methods, each parameter (type, required, allowed values or range, default),
cross-field rules, the docs link, pricing and up to two working examples from
Runware's content service. A model with no live schema (a community checkpoint) is
described from the catalogues: defaults, trigger words, and that runs are not
validated. Needs no API key, except to look a model up in the community catalogue.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, true);
  if (positionals.length !== 1)
    throw new UsageError('model-info needs exactly one MODEL (an AIR id such as runware:101@1)');
  printJson(await modelInfo(ctx, positionals[0]!));
  return EXIT_OK;
}
