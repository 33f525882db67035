/**
 * Journal records as MCP resources: `runware://tasks/{taskUUID}` is one task's
 * whole record (scrubbed request, lineage, outputs, cost), and resources/list
 * shows the recent ones.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AppContext } from '../services/context.js';
import { getTask } from '../services/tasks.js';
import { scrubber } from '../shared/redact.js';

const RECENT = 50;

export function registerResources(server: McpServer, app: AppContext): void {
  server.registerResource(
    'task',
    new ResourceTemplate('runware://tasks/{taskUUID}', {
      list: async () => {
        try {
          const store = await app.journal.state();
          const recent = await store.listTasks({ limit: RECENT });
          return { resources: recent.map((r) => ({ uri: `runware://tasks/${r.taskUUID}`, name: `${r.taskType} ${r.taskUUID.slice(0, 8)}`, description: `${r.status}${r.model ? `, ${r.model}` : ''}${r.cost !== undefined ? `, $${r.cost}` : ''}, ${r.updatedAt}`, mimeType: 'application/json' })) };
        } catch {
          // No journal: nothing to list, and no error for a listing.
          return { resources: [] };
        }
      },
    }),
    { title: 'Runware task record', description: 'One journaled task: lineage, status, cost, outputs, the request as sent (scrubbed).', mimeType: 'application/json' },
    async (uri, vars) => {
      const r = await getTask(app, String(vars.taskUUID));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(scrubber.value(r), null, 2) }] };
    },
  );
}
