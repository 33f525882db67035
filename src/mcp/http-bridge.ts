/**
 * Node's http objects to the Fetch API's and back, so the server can use the
 * SDK's web-standard transport directly: a session can then be rebuilt on any
 * instance by handing it a Request, with no fake sockets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The incoming request as a web Request (its body already read and parsed). */
export function toWebRequest(req: IncomingMessage, body: unknown, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  const method = req.method ?? 'GET';
  return new Request(url, {
    method,
    headers,
    signal,
    ...(method === 'POST' && body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** Writes a web Response to the node response, streaming (SSE) bodies as they come; stops when the client goes. */
export async function sendWebResponse(res: ServerResponse, r: Response): Promise<void> {
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => (headers[k] = v));
  res.writeHead(r.status, headers);
  if (!r.body) {
    res.end();
    return;
  }
  // Headers go at once: an SSE client must see the stream open before the first event.
  res.flushHeaders();
  const reader = r.body.getReader();
  const gone = (): void => void reader.cancel().catch(() => undefined);
  res.once('close', gone);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
    }
  } catch {
    // The client went away mid-stream; the transport keeps what it could not send (with an event store).
  } finally {
    res.off('close', gone);
    if (!res.writableEnded) res.end();
  }
}

/** A request that no one reads the answer of (a session rebuilt on this instance): run it, drain it, keep the status. */
export async function drain(r: Response): Promise<number> {
  await r.text().catch(() => '');
  return r.status;
}
