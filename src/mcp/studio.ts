/**
 * The studio as an MCP App: `ui://runware/studio`, one self-contained HTML
 * page (built with the server, read on first request). The generation tools
 * and runware_tasks name it in `_meta.ui.resourceUri` (catalog.ts), so hosts
 * with MCP Apps show their results in it; other clients never read it.
 *
 * Its sandbox may load media only from Runware's media origins
 * (`csp.resourceDomains`) and connect nowhere: saved outputs reach it through
 * resources/read, as blob: URLs.
 *
 * Registered as ext-apps' registerAppResource does it (registerResource with
 * the MCP App MIME type), without loading ext-apps at start-up: its server
 * module builds the App's protocol schemas when loaded, a cost every cold
 * start would pay for a page most sessions never open. A test holds these
 * constants to ext-apps' own.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { RUNWARE_MEDIA_ORIGINS, studioHtml } from '../services/studio.js';
import { isAppError } from '../shared/errors.js';
import { mcpSay } from './results.js';

export const STUDIO_URI = 'ui://runware/studio';
/** ext-apps' RESOURCE_MIME_TYPE. */
export const MCP_APP_MIME_TYPE = 'text/html;profile=mcp-app';

/** The sandbox the page asks of its host: Runware's media origins, no network access, a border. */
export const STUDIO_UI_META = { csp: { resourceDomains: [...RUNWARE_MEDIA_ORIGINS], connectDomains: [] as string[] }, prefersBorder: true };

export function registerStudio(server: McpServer): void {
  server.registerResource(
    'studio',
    STUDIO_URI,
    {
      title: 'Runware studio',
      description: 'The media studio (an MCP App): outputs of a call in a grid with players, actions (new seed, upscale, remove background, animate), and the journal with today\'s spend.',
      mimeType: MCP_APP_MIME_TYPE,
      _meta: { ui: STUDIO_UI_META },
    },
    async (uri) => {
      const text = await studioHtml().catch((e: unknown) => {
        throw isAppError(e) ? new McpError(ErrorCode.InternalError, `${e.message}. ${mcpSay(e.hint) ?? ''}`.trim()) : e;
      });
      return { contents: [{ uri: uri.href, mimeType: MCP_APP_MIME_TYPE, text, _meta: { ui: STUDIO_UI_META } }] };
    },
  );
}
