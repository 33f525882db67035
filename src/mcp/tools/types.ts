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
  /** Over stdio: a ping before each response that follows progress, so the final notification is not dropped. */
  confirmProgress: boolean;
}
