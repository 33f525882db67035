/**
 * The studio as an MCP App: `ui://runware/studio`, one self-contained HTML
 * page (built with the server, read on first request). The generation tools
 * and runware_tasks name it in `_meta.ui.resourceUri` (their definitions say
 * `studio: true`; the registrar adds studioToolMeta), so hosts with MCP Apps
 * show their results in it; other clients never read it.
 *
 * Its sandbox may load media only from Runware's media origins
 * (`csp.resourceDomains`) and connect nowhere: saved outputs reach it through
 * resources/read, as blob: URLs.
 *
 * Registered as ext-apps' registerAppResource and registerAppTool do it
 * (registerResource with the MCP App MIME type; registerTool with both `_meta`
 * keys), without loading ext-apps at start-up: its server module builds the
 * App's protocol schemas when loaded (in the bundle: 20-30 ms more CPU and
 * 75-100 ms more wall time to the first tools/list on two busy cores) for a
 * page most sessions never open, and both registrations happen at start-up,
 * so a lazy import would not help.
 * test/integration/studio-resource.test.ts holds the MIME type and the meta
 * keys to what ext-apps' own helpers produce.
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
export const STUDIO_UI_META = {
  csp: { resourceDomains: [...RUNWARE_MEDIA_ORIGINS], connectDomains: [] as string[] },
  prefersBorder: true,
};

/**
 * A tool's link to the studio, under both keys hosts read: the current
 * `ui.resourceUri` and the legacy flat `ui/resourceUri` (ext-apps'
 * RESOURCE_URI_META_KEY), in the order registerAppTool writes them. Clients
 * without MCP Apps ignore `_meta` and get the same results as ever.
 */
export const studioToolMeta = (): Record<string, unknown> => ({
  ui: { resourceUri: STUDIO_URI },
  'ui/resourceUri': STUDIO_URI,
});

export function registerStudio(server: McpServer): void {
  server.registerResource(
    'studio',
    STUDIO_URI,
    {
      title: 'Runware studio',
      description:
        "The media studio (an MCP App): outputs of a call in a grid with players, actions (new seed, upscale, remove background, animate), and the journal with today's spend.",
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
