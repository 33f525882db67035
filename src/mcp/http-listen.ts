/**
 * The node HTTP server under the edge: a handler failure answers 500 and the
 * server goes on; listening fails with what to change (a port in use, a
 * privileged port, an address not of this machine) as a ConfigError (exit 2).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { jsonError } from './http-replies.js';

/** The server: every request handled, a thrown error answered 500 (or the stream ended) and logged. */
export function edgeServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  logger: Logger,
): Server {
  // Timeouts are checked every connectionsCheckingInterval; the default (30 s) would let a slow client sit three times as long.
  return createHttpServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      logger.error(`HTTP handler failed: ${(e as Error).message}`);
      if (!res.headersSent) jsonError(res, 500, 'Internal error.');
      else if (!res.writableEnded) res.end();
    });
  });
}

/** A listen error as the setting to change. */
export function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  // A setting the user chose, not a failed task: exit 2 with what to change.
  if (e.code === 'EADDRINUSE')
    return new ConfigError(
      `port ${port} on ${host} is already in use`,
      `Pick another with --port; --port 0 takes any free port.`,
    );
  if (e.code === 'EACCES')
    return new ConfigError(
      `not allowed to listen on ${host}:${port}`,
      'Ports below 1024 need privileges: pick a higher --port.',
    );
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND')
    return new ConfigError(
      `cannot listen on ${host}: no such local address`,
      'Use --host 127.0.0.1 (the default), or an address of this machine.',
    );
  return e;
}

/** Listens on host:port; resolves to the port actually bound (--port 0 takes any free one). */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, host, port)));
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** The endpoint's URL as clients write it (an IPv6 address in brackets). */
export function endpointUrl(host: string, port: number): string {
  const shownHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${shownHost}:${port}/mcp`;
}

/** Stops listening and cuts every connection still open (streams included). */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
