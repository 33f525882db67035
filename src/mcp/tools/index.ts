/** The tool registry: one module per tool, registered in the order agents read them. */
import type { CatalogEntry } from '../catalog.js';
import { STUDIO_URI } from '../studio.js';
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

/** The tools whose results the studio (an MCP App) shows: generations, their polls, and the journal. */
const STUDIO_TOOLS = new Set<string>([textToImage.name, run.name, poll.name, tasks.name]);

/** Each tool's icon, whether it may run as a task, and its UI (what tools/list adds to registerTool's listing). */
export const CATALOG: ReadonlyMap<string, CatalogEntry> = new Map(TOOLS.map((t) => [t.name, { icon: t.icon, task: 'task' in t && t.task, ...(STUDIO_TOOLS.has(t.name) ? { ui: STUDIO_URI } : {}) }]));

export function registerTools(deps: ToolDeps): void {
  for (const t of TOOLS) t.register(deps);
}
