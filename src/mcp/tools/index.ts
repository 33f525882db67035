/**
 * The tool registry: every definition in this folder (all.generated.ts, written
 * by the build), in its `order`. The server derives the rest from it (server.ts).
 */
import { ALL_TOOLS } from './all.generated.js';
import { inventory, registerTool, type ToolDefinition } from './define.js';
import type { ToolDeps } from './types.js';

export const TOOLS = inventory(ALL_TOOLS);

export function registerTools(deps: ToolDeps, tools: readonly ToolDefinition[] = TOOLS): void {
  for (const t of tools) registerTool(t, deps);
}
