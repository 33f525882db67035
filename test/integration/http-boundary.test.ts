/**
 * Other sessions are a boundary, over real Streamable HTTP in process: one
 * session's event ids replay nothing to another, and tasks/list shows a
 * session only its own tasks. (With Redis the same holds across instances:
 * the event store is wrapped the same way; see docs/architecture.md.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startHttp, type HttpHandle } from '../../src/mcp/http.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { Capture } from '../helpers.js';
import { requireRedis, startRedis, type RedisHandle } from '../redis-server.js';

const capture = new Capture();
const H = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};
const init = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
let app: AppContext;
let h: HttpHandle;

async function session(): Promise<string> {
  const r = await fetch(h.url, { method: 'POST', headers: H, body: JSON.stringify(init) });
  const sid = r.headers.get('mcp-session-id')!;
  await r.text();
  await (
    await fetch(h.url, {
      method: 'POST',
      headers: { ...H, 'mcp-session-id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    })
  ).text();
  return sid;
}

/** A request on the session; the SSE (or JSON) answer as text, and the event ids it carried. */
async function post(sid: string, body: unknown): Promise<{ text: string; ids: string[] }> {
  const r = await fetch(h.url, {
    method: 'POST',
    headers: { ...H, 'mcp-session-id': sid },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return { text, ids: [...text.matchAll(/^id: ?(.+)$/gm)].map((m) => m[1]!.trim()) };
}

/** A GET replay with Last-Event-ID, read for at most `ms`. */
async function replay(sid: string, lastEventId: string, ms = 800): Promise<{ status: number; text: string }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  try {
    const r = await fetch(h.url, {
      headers: {
        accept: 'text/event-stream',
        'mcp-session-id': sid,
        'mcp-protocol-version': '2025-11-25',
        'last-event-id': lastEventId,
      },
      signal: ctl.signal,
    });
    let text = '';
    try {
      const reader = r.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    } catch {
      // Aborted: what came in time is what counts.
    }
    return { status: r.status, text };
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the server for a describe block: in-process events, or Redis-backed ones with `stateUrl`. */
function serve(stateUrl?: () => string): void {
  beforeAll(async () => {
    const home = capture.tempDir();
    app = new AppContext(
      {
        ...loadConfig({
          HOME: home,
          RUNWARE_STATE_DIR: `${home}/state`,
          ...(stateUrl ? { RUNWARE_STATE_URL: stateUrl() } : {}),
        }),
        http: {
          enabled: true,
          host: '127.0.0.1',
          port: 0,
          token: undefined,
          allowedHosts: [],
          maxSessions: 200,
          idleMs: 600_000,
          stateless: false,
        },
      },
      new Logger('error'),
    );
    h = await startHttp(app);
  });
  afterAll(async () => {
    await h?.close();
    await app?.close();
  });
}

async function crossReplayIsRefused(): Promise<void> {
  const a = await session();
  const b = await session();
  const secret = await post(a, {
    jsonrpc: '2.0',
    id: 7,
    method: 'tools/call',
    params: { name: 'runware_tasks', arguments: { limit: 3 } },
  });
  expect(secret.ids.length).toBeGreaterThan(0);
  expect(secret.text).toMatch(/"journal"/);
  // Session B asks for A's stream: by A's real ids, and by the guessable standalone-stream id.
  for (const id of [...secret.ids, '_GET_stream_1']) {
    const r = await replay(b, id);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.text).not.toMatch(/"journal"|"id":7/);
  }
  // A itself still resumes its own stream.
  const own = await replay(a, secret.ids[0]!);
  expect(own.status).toBe(200);
  expect(own.text).toMatch(/"id":7/);
}

let redis: RedisHandle | undefined;
const hasRedis = requireRedis('HTTP session boundary on Redis');

describe.skipIf(!hasRedis)('6. on Redis (shared event store): sessions do not see each other', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  serve(() => redis!.url);
  it("a Last-Event-ID of another session's stream is refused and replays nothing", crossReplayIsRefused);
});

describe('6. HTTP sessions do not see each other', () => {
  serve();
  it("a Last-Event-ID of another session's stream is refused and replays nothing (in process)", crossReplayIsRefused);

  it('tasks/list shows a session only its own tasks, and tasks/get by id from another session finds nothing', async () => {
    const a = await session();
    const b = await session();
    const started = await post(a, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'runware_text_to_image', arguments: { prompt: 'a fox' }, task: { ttl: 60_000 } },
    });
    const taskId = /"taskId":"([^"]+)"/.exec(started.text)?.[1];
    expect(taskId).toBeTruthy();
    const listA = await post(a, { jsonrpc: '2.0', id: 3, method: 'tasks/list', params: {} });
    const listB = await post(b, { jsonrpc: '2.0', id: 3, method: 'tasks/list', params: {} });
    expect(listA.text).toContain(taskId!);
    expect(listB.text).not.toContain(taskId!);
    const getB = await post(b, { jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { taskId } });
    expect(getB.text).toMatch(/"error"/);
    const cancelB = await post(b, { jsonrpc: '2.0', id: 5, method: 'tasks/cancel', params: { taskId } });
    expect(cancelB.text).toMatch(/"error"/);
    const getA = await post(a, { jsonrpc: '2.0', id: 6, method: 'tasks/get', params: { taskId } });
    expect(getA.text).toMatch(/"status":"(working|completed|failed)"/);
  });
});
