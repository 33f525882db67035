/**
 * Where files may be saved: RUNWARE_OUTPUT_DIR and the client's MCP roots.
 * Relative paths resolve against RUNWARE_OUTPUT_DIR, else the first root,
 * else ~/runware-output.
 *
 * Roots are asked for only when the client declared the capability, on the
 * first call that needs them, and through that call (a related request), so
 * over Streamable HTTP the question travels on the stream the client is
 * reading. The answer is kept until notifications/roots/list_changed. A
 * client that does not answer costs one call at most ROOTS_TIMEOUT_MS, and is
 * not asked again for RETRY_AFTER_MS.
 */
import { fileURLToPath } from 'node:url';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ListRootsResultSchema, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../shared/log.js';

export const ROOTS_TIMEOUT_MS = 2000;
const RETRY_AFTER_MS = 60_000;

/** A tool call's own channel to its client (the SDK's handler extra): requests sent on it are related to the call. */
export type RootsAsker = Pick<RequestHandlerExtra<ServerRequest, ServerNotification>, 'sendRequest'>;

export class Roots {
  /** undefined: not asked yet, or changed since. */
  private clientRoots: string[] | undefined;
  private asking: Promise<void> | undefined;
  private failedAt = -Infinity;

  constructor(
    private readonly outputDir: string | undefined,
    private readonly defaultDir: string,
    private readonly server: Server,
    private readonly log: Logger,
  ) {}

  /** The client said its roots changed: the next call that needs them asks again. */
  invalidate(): void {
    this.clientRoots = undefined;
    this.failedAt = -Infinity;
  }

  /** Allowed directories, the first being where relative paths resolve. */
  async allowed(via?: RootsAsker): Promise<string[]> {
    if (
      this.clientRoots === undefined &&
      this.server.getClientCapabilities()?.roots &&
      Date.now() - this.failedAt > RETRY_AFTER_MS
    ) {
      this.asking ??= this.ask(via).finally(() => (this.asking = undefined));
      await this.asking;
    }
    const list = [...(this.outputDir ? [this.outputDir] : []), ...(this.clientRoots ?? [])];
    return list.length ? list : [this.defaultDir];
  }

  private async ask(via?: RootsAsker): Promise<void> {
    try {
      const { roots } = via
        ? await via.sendRequest({ method: 'roots/list' }, ListRootsResultSchema, { timeout: ROOTS_TIMEOUT_MS })
        : await this.server.listRoots(undefined, { timeout: ROOTS_TIMEOUT_MS });
      this.clientRoots = roots.filter((r) => r.uri.startsWith('file://')).map((r) => fileURLToPath(r.uri));
      this.log.debug('client roots', { roots: this.clientRoots });
    } catch (e) {
      this.failedAt = Date.now();
      this.log.warn(
        `the client declared roots but did not list them (${(e as Error).message}); saving inside ${this.outputDir ?? this.defaultDir} only, asking again in ${RETRY_AFTER_MS / 1000} s`,
      );
    }
  }
}
