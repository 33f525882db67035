import type { AppContext } from '../services/context.js';
import { parse } from './args.js';
import { EXIT_OK, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server runway-accounts

Lists the Runway accounts linked at useapi.net: email, maxJobs and session expiry.
Passwords and session tokens are never printed.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  parse(args, {});
  printJson({ accounts: await ctx.runway().accounts() });
  return EXIT_OK;
}
