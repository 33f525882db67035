/**
 * The studio as an MCP App: `ui://runware/studio`, one self-contained HTML
 * page (built with the server, read on first request). The generation tools
 * and runware_tasks name it in `_meta.ui.resourceUri` (catalog.ts), so hosts
 * with MCP Apps show their results in it; other clients never read it.
 *
 * Its sandbox may load media only from Runware's media origins
 * (`csp.resourceDomains`) and connect nowhere: saved outputs reach it through
 * resources/read, as blob: URLs.
 */
import { registerAppResource, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { RUNWARE_MEDIA_ORIGINS, studioHtml } from '../services/studio.js';
import { isAppError } from '../shared/errors.js';

export const STUDIO_URI = 'ui://runware/studio';

/** The sandbox the page asks of its host: Runware's media origins, no network access, a border. */
export const STUDIO_UI_META = { csp: { resourceDomains: [...RUNWARE_MEDIA_ORIGINS], connectDomains: [] as string[] }, prefersBorder: true };

export function registerStudio(server: McpServer): void {
  registerAppResource(
    server,
    'studio',
    STUDIO_URI,
    {
      title: 'Runware studio',
      description: 'The media studio (an MCP App): outputs of a call in a grid with players, actions (new seed, upscale, remove background, animate), and the journal with today\'s spend.',
      mimeType: RESOURCE_MIME_TYPE,
      _meta: { ui: STUDIO_UI_META },
    },
    async (uri) => {
      const text = await studioHtml().catch((e: unknown) => {
        throw isAppError(e) ? new McpError(ErrorCode.InternalError, `${e.message}. ${e.hint ?? ''}`.trim()) : e;
      });
      return { contents: [{ uri: uri.href, mimeType: RESOURCE_MIME_TYPE, text, _meta: { ui: STUDIO_UI_META } }] };
    },
  );
}
