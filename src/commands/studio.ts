/**
 * `studio [--port N]`: the media studio as a local web page, for people who
 * work from the shell. The page is the MCP App's own; it talks to a small API
 * here that calls the same services the MCP tools do.
 *
 * Guarded like the HTTP transport: loopback only; a random token in the URL
 * it prints, sent back by the page as a header on every API call; Host and
 * Origin checked against DNS rebinding; a strict Content-Security-Policy
 * (inline script and style by hash, media from blob: and Runware's media
 * origins, requests to itself only); outputs only as the journal recorded
 * them, inside the output folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppContext } from '../services/context.js';
import { allowedHosts, originAllowed, readBodyText, sameToken } from '../services/http-guard.js';
import { cliWords } from './next-step.js';
import {
  readStudioOutput,
  RUNWARE_MEDIA_ORIGINS,
  studioCall,
  studioError,
  studioHtml,
  studioTask,
} from '../services/studio.js';
import { num, parse } from './args.js';
import { printText } from './output.js';
import { ConfigError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';

export const usage = `Usage: runware-mcp-server studio [--port N]

Serves the media studio on 127.0.0.1 (a free port unless --port) and prints its URL,
which carries a random token: open it in a browser. It shows the journal (recent tasks,
thumbnails, filters, today's spend) and acts on outputs (new seed, upscale, remove
background, animate) through the same rules, quotes and spend cap as every call.
Stops on Ctrl-C.`;

const HOST = '127.0.0.1';
const MAX_BODY = 1024 * 1024;
const TOKEN_HEADER = 'x-studio-token';

export interface StudioHandle {
  url: string;
  token: string;
  port: number;
  close: () => Promise<void>;
}

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** The page's CSP: its own inline script and style by hash, media from blob: and Runware, requests only to itself. */
export function pageCsp(html: string): string {
  const inline = (tag: string): string[] =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => sha256(m[1]!));
  const media = ['blob:', ...RUNWARE_MEDIA_ORIGINS].join(' ');
  return [
    "default-src 'none'",
    `script-src ${inline('script').join(' ')}`,
    `style-src ${inline('style').join(' ')}`,
    `img-src ${media}`,
    `media-src ${media}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const COMMON = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string | number>,
): void {
  res.writeHead(status, { ...COMMON, ...headers });
  res.end(body);
}
const json = (res: ServerResponse, status: number, value: unknown): void =>
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8' });
/** Every refusal passes the scrubber: some quote what the request sent (JSON.parse's message does). */
const refuse = (res: ServerResponse, status: number, message: string): void =>
  json(res, status, { error: { kind: 'policy', message: scrubber.text(message) } });

async function readBody(req: IncomingMessage): Promise<unknown> {
  return JSON.parse((await readBodyText(req, MAX_BODY)) || '{}');
}

export async function startStudio(ctx: AppContext, opts: { port?: number } = {}): Promise<StudioHandle> {
  const token = randomBytes(24).toString('base64url');
  const roots = [ctx.config.outputDir ?? ctx.config.defaultOutputDir];
  let port = opts.port ?? 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const hosts = allowedHosts(HOST, port);
    if (!hosts.has(String(req.headers.host ?? '').toLowerCase()))
      return refuse(res, 403, 'Forbidden: unexpected Host header.');
    const origin = req.headers.origin;
    // Same origin only: a loopback name and this port.
    if (origin && (!originAllowed(origin, HOST) || !hosts.has(new URL(origin).host.toLowerCase())))
      return refuse(res, 403, 'Forbidden: cross-origin requests are not allowed.');
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    if (url.pathname === '/' && req.method === 'GET') {
      if (!sameToken(url.searchParams.get('token') ?? '', token))
        return refuse(res, 401, 'Unauthorized: open the URL the studio command printed (it carries the token).');
      const html = await studioHtml();
      return send(res, 200, html, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': pageCsp(html),
        'x-frame-options': 'DENY',
      });
    }
    if (!url.pathname.startsWith('/api/')) return refuse(res, 404, 'Not found.');
    if (!sameToken(String(req.headers[TOKEN_HEADER] ?? ''), token))
      return refuse(res, 401, `Unauthorized: send the ${TOKEN_HEADER} header.`);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    if (url.pathname === '/api/call' && req.method === 'POST') {
      // JSON only: a form post from another page cannot send it without a preflight.
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
        return refuse(res, 415, 'Send application/json.');
      let body: { name?: unknown; arguments?: unknown };
      try {
        body = (await readBody(req)) as typeof body;
      } catch (e) {
        return refuse(res, 400, `Bad request: ${(e as Error).message}`);
      }
      return json(
        res,
        200,
        await studioCall(ctx, String(body?.name ?? ''), body?.arguments, {
          roots,
          signal: abort.signal,
          words: cliWords,
        }),
      );
    }
    const output = /^\/api\/output\/([0-9a-fA-F-]{36})\/(\d{1,4})$/.exec(url.pathname);
    if (output && req.method === 'GET') {
      try {
        const o = await readStudioOutput(ctx, output[1]!, Number(output[2]), roots, { signal: abort.signal });
        // Served as a download-safe blob: never rendered as a document of this origin.
        return send(res, 200, o.data, {
          'content-type': o.mimeType,
          'content-length': o.data.length,
          'content-security-policy': "default-src 'none'; sandbox",
        });
      } catch (e) {
        return json(res, 403, studioError(e, cliWords));
      }
    }
    const task = /^\/api\/task\/([0-9a-fA-F-]{36})$/.exec(url.pathname);
    if (task && req.method === 'GET') {
      try {
        return json(res, 200, await studioTask(ctx, task[1]!));
      } catch (e) {
        return json(res, 404, studioError(e, cliWords));
      }
    }
    return refuse(res, 404, 'Not found.');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, studioError(e, cliWords));
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 5 * 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ConfigError(
              `port ${port} on ${HOST} is already in use`,
              'Pick another with --port, or leave it out for any free port.',
            )
          : e,
      ),
    );
    server.listen(port, HOST, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    token,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values } = parse(args, { port: { type: 'string' } });
  const port = num(values, 'port', 0, 65535, true);
  const studio = await startStudio(ctx, port !== undefined ? { port } : {});
  printText(`Runware studio: ${studio.url}`);
  printText('Open it in a browser on this machine; the token in it is the only key. Ctrl-C stops the studio.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await studio.close();
  return 0;
}
