import type { AppContext } from '../services/context.js';
import { account } from '../services/account.js';
import { parse } from './args.js';
import { EXIT_FAILED, EXIT_OK, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server account

The Runware balance (accountManagement getDetails), the spend today (UTC), in this run
and in total from the ledger, and the daily cap RUNWARE_MAX_SPEND_USD with what is left.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  parse(args, {});
  const a = await account(ctx);
  printJson(a);
  return a.balanceError && !a.journal ? EXIT_FAILED : EXIT_OK;
}
