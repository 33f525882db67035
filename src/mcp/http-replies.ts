/**
 * The HTTP edge's own answers: JSON-RPC errors with the status that says what
 * went wrong, carrying the request's id whenever one could be read, so a
 * client matches the error to its call.
 */
import type { ServerResponse } from 'node:http';

/** A request turned away before it reaches a transport: what the client is told. */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
  /** The JSON-RPC error code; -32000 (server error) unless said. */
  code?: number;
}

/** The id of a single JSON-RPC request, so a transport error can answer it by id; null for a batch or a notification. */
export const requestId = (body: unknown): string | number | null => {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const id = (body as { id?: unknown; method?: unknown }).id;
  return (typeof id === 'string' || typeof id === 'number') && typeof (body as { method?: unknown }).method === 'string'
    ? id
    : null;
};

export const jsonError = (
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  id: string | number | null = null,
  code = -32000,
): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
};

export const refuse = (res: ServerResponse, r: Refusal, id: string | number | null = null): void =>
  jsonError(res, r.status, r.message, r.headers, id, r.code);

/** The SDK's transport answers its own errors (bad Accept, unknown session, ...) with id null; the request's id goes back in. */
export async function withRequestId(r: Response, id: string | number | null): Promise<Response> {
  if (id === null || r.status < 400 || !r.headers.get('content-type')?.includes('application/json')) return r;
  const text = await r.text();
  try {
    const m = JSON.parse(text) as { error?: unknown; id?: unknown };
    if (m.error && m.id === null)
      return new Response(JSON.stringify({ ...m, id }), { status: r.status, headers: r.headers });
  } catch {
    // Not JSON-RPC: passed on as it came.
  }
  return new Response(text, { status: r.status, headers: r.headers });
}
