import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AppContext } from '../../services/context.js';
import type { Logger } from '../../shared/log.js';
import type { Roots } from '../roots.js';

/** What every tool registration receives. */
export interface ToolDeps {
  server: McpServer;
  app: AppContext;
  roots: Roots;
  log: Logger;
  previewMaxBytes: number;
}
