/**
 * Where files may be saved: RUNWARE_OUTPUT_DIR and the client's MCP roots.
 * Relative paths resolve against RUNWARE_OUTPUT_DIR, else the first root,
 * else ~/runware-output.
 */
import { fileURLToPath } from 'node:url';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Logger } from '../shared/log.js';

export class Roots {
  private clientRoots: string[] = [];
  /** The roots/list in flight, so a call right after initialize waits for its answer. */
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly outputDir: string | undefined,
    private readonly defaultDir: string,
  ) {}

  /** Allowed directories, the first being where relative paths resolve. */
  async allowed(): Promise<string[]> {
    await this.refreshing;
    const list = [...(this.outputDir ? [this.outputDir] : []), ...this.clientRoots];
    return list.length ? list : [this.defaultDir];
  }

  /** Asks the client for its roots (when it offers them) and keeps them current. */
  refresh(server: Server, log: Logger): Promise<void> {
    this.refreshing = this.fetch(server, log);
    return this.refreshing;
  }

  private async fetch(server: Server, log: Logger): Promise<void> {
    if (!server.getClientCapabilities()?.roots) return;
    try {
      const { roots } = await server.listRoots(undefined, { timeout: 5000 });
      this.clientRoots = roots.filter((r) => r.uri.startsWith('file://')).map((r) => fileURLToPath(r.uri));
      log.debug('client roots', { roots: this.clientRoots });
    } catch (e) {
      log.warn(`could not list the client's roots: ${(e as Error).message}`);
    }
  }
}
