/** The tool registry: one module per tool, registered in the order agents read them. */
import * as account from './account.js';
import * as modelInfo from './model-info.js';
import * as modelSearch from './model-search.js';
import * as poll from './poll.js';
import * as request from './request.js';
import * as run from './run.js';
import * as runwayGetTask from './runway-get-task.js';
import * as runwayListAccounts from './runway-list-accounts.js';
import * as tasks from './tasks.js';
import * as textToImage from './text-to-image.js';
import * as upload from './upload.js';
import type { ToolDeps } from './types.js';

export const TOOLS = [modelSearch, modelInfo, textToImage, run, upload, request, poll, tasks, account, runwayGetTask, runwayListAccounts] as const;

export function registerTools(deps: ToolDeps): void {
  for (const t of TOOLS) t.register(deps);
}
