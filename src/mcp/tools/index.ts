/** The tool registry: one module per tool, registered in the order agents read them. */
import type { IconKind } from '../catalog.js';
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

/** Each tool's icon, and whether it may run as a task (what tools/list adds to registerTool's listing). */
export const CATALOG: ReadonlyMap<string, { icon: IconKind; task: boolean }> = new Map(TOOLS.map((t) => [t.name, { icon: t.icon, task: 'task' in t && t.task }]));

export function registerTools(deps: ToolDeps): void {
  for (const t of TOOLS) t.register(deps);
}
