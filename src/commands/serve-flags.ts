/** The `serve` command's usage and flags (the server itself is mcp/serve.ts; cli.ts joins the two). */
import type { Flags } from '../config.js';
import { int, parse, str } from './args.js';
import { UsageError } from './output.js';

export const usage = `Usage: runware-mcp-server [serve] [--simulate] [--http [--host 127.0.0.1] [--port 8787] [--allowed-hosts NAME,...] [--stateless]]

Serves MCP over stdio (the default), or over Streamable HTTP at /mcp with --http
(and GET /healthz for load balancers).
Off loopback, HTTP requires RUNWARE_MCP_HTTP_TOKEN (clients send it as a Bearer token).
--allowed-hosts (or RUNWARE_MCP_ALLOWED_HOSTS) lists the Host names a server behind a
proxy or DNS name answers to; loopback and the bind address are always allowed.
--stateless (or RUNWARE_MCP_HTTP_STATELESS=1) serves every POST on its own, with no
session, for load balancers that cannot pin clients. With RUNWARE_STATE_URL=redis://...
instances share the journal, spend cap, concurrency limit and sessions (docs/deployment.md).`;

export function parseServeFlags(rest: string[]): Flags {
  const { values } = parse(rest, {
    http: { type: 'boolean' },
    host: { type: 'string' },
    port: { type: 'string' },
    'allowed-hosts': { type: 'string' },
    stateless: { type: 'boolean' },
  });
  if (
    !values.http &&
    (values.host !== undefined ||
      values.port !== undefined ||
      values['allowed-hosts'] !== undefined ||
      values.stateless !== undefined)
  )
    throw new UsageError('--host, --port, --allowed-hosts and --stateless go with --http');
  const host = str(values, 'host');
  const port = int(values, 'port', 0, 65535);
  const allowed = str(values, 'allowed-hosts');
  const allowedHosts = allowed
    ?.split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  return {
    http: values.http === true,
    ...(host ? { host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(allowedHosts ? { allowedHosts } : {}),
    ...(values.stateless ? { stateless: true } : {}),
  };
}
