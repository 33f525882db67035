/**
 * The journal as MCP resources:
 * - `runware://tasks/{taskUUID}`: one task's whole record (scrubbed request,
 *   lineage, outputs, cost); resources/list shows the recent ones;
 * - `runware://tasks/{taskUUID}/outputs/{index}`: a saved output's bytes, with
 *   its MIME type; resources/list shows the saved ones.
 * A task this process records sends notifications/resources/list_changed
 * (coalesced), and notifications/resources/updated to clients subscribed to
 * its URI. taskUUID arguments complete from the journal.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { AppContext } from '../services/context.js';
import { getTask, readSavedOutput, reportSkipped, savedOutputs } from '../services/tasks.js';
import type { Listed } from '../state/records.js';
import type { TaskRecord } from '../state/types.js';
import { isAppError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';
import { completeTaskUuid } from './completions.js';
import type { Roots } from './roots.js';

const RECENT = 50;
/** Changes within this window go out as one list_changed. */
const COALESCE_MS = 200;
const MAX_SUBSCRIPTIONS = 1000;

export const taskUri = (uuid: string): string => `runware://tasks/${uuid}`;
export const outputUri = (uuid: string, index: number): string => `runware://tasks/${uuid}/outputs/${index}`;

/** A core error as a resource error: the SDK's invalid-params, with the message and hint. */
const asMcp = (e: unknown): never => {
  if (isAppError(e))
    throw new McpError(
      ErrorCode.InvalidParams,
      scrubber.text(`${e.message}. Next: resources/list (or runware_tasks) shows what the journal has.`),
    );
  throw e;
};

/** Registers the resources; returns what stops the notifications (when the session ends). */
export function registerResources(server: McpServer, app: AppContext, roots: Roots): () => void {
  const complete = { taskUUID: (value: string) => completeTaskUuid(app, value) };
  server.registerResource(
    'task',
    new ResourceTemplate('runware://tasks/{taskUUID}', {
      list: async () => {
        try {
          const store = await app.journal.state();
          const recent = await store.listTasks({ limit: RECENT });
          reportSkipped(app, (recent as Listed<TaskRecord>).skipped, store.location);
          return {
            resources: recent.map((r) => ({
              uri: taskUri(r.taskUUID),
              name: `${r.taskType} ${r.taskUUID.slice(0, 8)}`,
              description: `${r.status}${r.model ? `, ${r.model}` : ''}${r.cost !== undefined ? `, $${r.cost}` : ''}, ${r.updatedAt}`,
              mimeType: 'application/json',
            })),
          };
        } catch {
          // No journal: nothing to list, and no error for a listing.
          return { resources: [] };
        }
      },
      complete,
    }),
    {
      title: 'Runware task record',
      description: 'One journaled task: lineage, status, cost, outputs, the request as sent (scrubbed).',
      mimeType: 'application/json',
    },
    async (uri, vars) => {
      const r = await getTask(app, String(vars.taskUUID)).catch(asMcp);
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(scrubber.value(r), null, 2) }],
      };
    },
  );
  server.registerResource(
    'output',
    new ResourceTemplate('runware://tasks/{taskUUID}/outputs/{index}', {
      list: async () => {
        try {
          const saved = await savedOutputs(app, RECENT);
          return {
            resources: saved.map((o) => ({
              uri: outputUri(o.taskUUID, o.index),
              name: o.path.split(/[\\/]/).pop()!,
              description: `Output ${o.index} of task ${o.taskUUID}, saved at ${o.path}`,
              mimeType: o.mimeType,
            })),
          };
        } catch {
          return { resources: [] };
        }
      },
      complete,
    }),
    {
      title: 'Saved output',
      description: 'A generated file this server saved (image, video, audio, 3D), read from disk with its MIME type.',
    },
    async (uri, vars, extra) => {
      // Decimal digits only, without leading zeros: "0x0", "00", "1e0" and " 1" are not other names for an output.
      const index = /^(0|[1-9][0-9]{0,5})$/.test(String(vars.index)) ? Number(vars.index) : NaN;
      if (!Number.isInteger(index) || index < 0)
        throw new McpError(
          ErrorCode.InvalidParams,
          `index must be a whole number from 0, not "${scrubber.text(String(vars.index)).slice(0, 20)}"`,
        );
      const o = await readSavedOutput(app, String(vars.taskUUID), index, await roots.allowed(extra), {
        signal: extra.signal,
      }).catch(asMcp);
      return {
        contents: [{ uri: uri.href, mimeType: o.mimeType, blob: o.data.toString('base64'), _meta: { path: o.path } }],
      };
    },
  );

  // Subscriptions: a client names URIs; a change to the task behind one is sent as resources/updated.
  const subscribed = new Set<string>();
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, (req) => {
    if (subscribed.size >= MAX_SUBSCRIPTIONS && !subscribed.has(req.params.uri))
      throw new McpError(
        ErrorCode.InvalidParams,
        `at most ${MAX_SUBSCRIPTIONS} subscriptions per session; unsubscribe from some first`,
      );
    subscribed.add(req.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });

  let pending: NodeJS.Timeout | undefined;
  return app.journal.onChange((c) => {
    if (!server.isConnected()) return;
    if (subscribed.size) {
      const prefixes = c.uuids.map(taskUri);
      for (const uri of subscribed) {
        if (prefixes.some((p) => uri === p || uri.startsWith(`${p}/`)))
          void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
      }
    }
    pending ??= setTimeout(() => {
      pending = undefined;
      if (server.isConnected()) server.sendResourceListChanged();
    }, COALESCE_MS);
    pending.unref();
  });
}
