/**
 * What both studio front-ends use: the page itself (one HTML file built at
 * build time, read on first request, never at start-up), the origins it may
 * load media from, and the one reader every output the local page serves goes
 * through.
 */
import { readFile } from 'node:fs/promises';
import { RUNWARE_MEDIA_ORIGINS } from '../shared/media-hosts.js';
import { ConfigError } from '../shared/errors.js';
import type { AppContext } from './context.js';
import { readSavedOutput, type SavedOutput } from './tasks.js';

export { RUNWARE_MEDIA_ORIGINS };

/** From the bundle (dist/) or from the sources (src/services, dist/services): the built page. */
const CANDIDATES = ['./studio.html', '../../dist/studio.html'];

let page: Promise<string> | undefined;

/** The studio page, read once. A missing file (no build yet) is a ConfigError saying so. */
export function studioHtml(): Promise<string> {
  page ??= (async () => {
    for (const c of CANDIDATES) {
      const text = await readFile(new URL(c, import.meta.url), 'utf8').catch(() => undefined);
      if (text) return text;
    }
    throw new ConfigError('the studio page (dist/studio.html) is missing', 'Run `npm run build`: the page is built with the server.');
  })();
  page.catch(() => (page = undefined));
  return page;
}

/**
 * One recorded output's bytes for the studio: only files the journal says
 * this server saved, by task and index, never a path from the page. Every
 * output the local page serves is read here.
 */
export async function readStudioOutput(ctx: AppContext, taskUUID: string, index: number): Promise<SavedOutput & { data: Buffer }> {
  return readSavedOutput(ctx, taskUUID, index);
}
