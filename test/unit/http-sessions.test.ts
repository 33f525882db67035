/**
 * The sessions one HTTP instance holds, on an injected clock: idle ones swept,
 * the longest idle evicted at the cap, a session begun on another instance
 * adopted from the shared store, one ended anywhere ended here, one the store
 * lost recorded again, and a store that does not answer.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MemoryEventStore } from '../../src/mcp/http-events.js';
import { HttpSessions, type Session } from '../../src/mcp/http-sessions.js';
import { AppContext } from '../../src/services/context.js';
import { StateUnavailableError } from '../../src/shared/errors.js';
import { Logger, type LogRecord } from '../../src/shared/log.js';
import { MemorySessionStore } from '../../src/state/memory-sessions.js';
import type { SharedSessions } from '../../src/state/sessions.js';

const home = mkdtempSync(join(tmpdir(), 'rw-sessions-'));
const app = new AppContext(loadConfig({ HOME: home, RUNWARE_STATE_DIR: join(home, 'state') }), new Logger('error'));
afterAll(() => app.close());

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '0' } },
};
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

function instance(o: { shared?: SharedSessions; now: () => number; maxSessions?: number; idleMs?: number }): {
  sessions: HttpSessions;
  logs: string[];
} {
  const logs: string[] = [];
  const logger = new Logger('info');
  logger.addSink((r: LogRecord) => void logs.push(r.message));
  const sessions = new HttpSessions({
    app,
    shared: o.shared,
    events: new MemoryEventStore(60_000),
    idleMs: o.idleMs ?? 1000,
    maxSessions: o.maxSessions ?? 10,
    logger,
    now: o.now,
  });
  return { sessions, logs };
}

/** Initializes a session as a client's POST would. */
async function begin(sessions: HttpSessions): Promise<string> {
  const s = await sessions.create(INIT);
  const r = await s.transport.handleRequest(
    new Request('http://localhost/mcp', { method: 'POST', headers: HEADERS, body: JSON.stringify(INIT) }),
    { parsedBody: INIT },
  );
  await r.text();
  expect(r.status).toBe(200);
  return s.transport.sessionId!;
}

const isSession = (x: Session | string): x is Session => typeof x === 'object';

describe('one instance', () => {
  it('sweeps the sessions idle past the idle time, and only those; a request renews a session', async () => {
    let t = 0;
    const { sessions, logs } = instance({ now: () => t });
    const a = await begin(sessions);
    t = 600;
    const b = await begin(sessions);
    expect(sessions.size).toBe(2);
    t = 1100;
    sessions.sweep();
    expect(sessions.has(a)).toBe(false);
    expect(sessions.has(b)).toBe(true);
    expect(logs).toContain('closed MCP HTTP session: idle');
    expect(await sessions.find(a)).toBe('gone');
    expect(isSession(await sessions.find(b))).toBe(true);
    t = 2000;
    sessions.sweep();
    expect(sessions.has(b)).toBe(true);
    t = 2101;
    sessions.sweep();
    expect(sessions.size).toBe(0);
    await sessions.closeAll();
  });

  it('at the cap, the longest idle makes room for a new session', async () => {
    let t = 0;
    const { sessions, logs } = instance({ now: () => t, maxSessions: 2, idleMs: 60_000 });
    const a = await begin(sessions);
    t = 10;
    const b = await begin(sessions);
    t = 20;
    await sessions.find(a);
    t = 30;
    const c = await begin(sessions);
    expect([sessions.has(a), sessions.has(b), sessions.has(c)]).toEqual([true, false, true]);
    expect(logs).toContain('closed MCP HTTP session: the longest idle, to stay within 2 sessions');
    // Without a shared store an evicted session is gone for good: the client initializes again.
    expect(await sessions.find(b)).toBe('gone');
    await sessions.closeAll();
  });
});

describe('instances sharing a store', () => {
  it('a session begun on one is adopted by another, and ended on one it ends on both', async () => {
    const t = 0;
    const store = new MemorySessionStore(() => t);
    const x = instance({ shared: store, now: () => t, idleMs: 60_000 });
    const y = instance({ shared: store, now: () => t, idleMs: 60_000 });
    const id = await begin(x.sessions);
    expect(JSON.parse((await store.getSession(id))!)).toMatchObject({ init: INIT });
    const adopted = await y.sessions.find(id);
    expect(isSession(adopted) && adopted.init).toEqual(INIT);
    expect(y.sessions.has(id)).toBe(true);
    expect(y.logs).toContain('took over an MCP HTTP session begun on another instance');
    // The adopted session answers as its own.
    const r = await (adopted as Session).transport.handleRequest(
      new Request('http://localhost/mcp', {
        method: 'POST',
        headers: { ...HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      }),
    );
    expect(await r.text()).toMatch(/runware_text_to_image/);
    // DELETE on Y: Y's transport ends the session in the store; X finds it ended on its next request.
    const del = await (adopted as Session).transport.handleRequest(
      new Request('http://localhost/mcp', {
        method: 'DELETE',
        headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
      }),
    );
    expect(del.status).toBe(200);
    expect(await x.sessions.find(id)).toBe('gone');
    expect(x.sessions.has(id)).toBe(false);
    expect(x.logs).toContain('closed MCP HTTP session: ended on another instance');
    expect(await y.sessions.find(id)).toBe('gone');
    await x.sessions.closeAll();
    await y.sessions.closeAll();
  });

  it('a session the store lost is recorded again by the instance holding it', async () => {
    let t = 0;
    const store = new MemorySessionStore(() => t);
    const x = instance({ shared: store, now: () => t, idleMs: 5000 });
    const id = await begin(x.sessions);
    t = 6000;
    expect(await store.getSession(id)).toBeUndefined();
    expect(isSession(await x.sessions.find(id))).toBe(true);
    expect(JSON.parse((await store.getSession(id))!)).toMatchObject({ init: INIT });
    await x.sessions.closeAll();
  });

  it('a store that does not answer: held sessions go on being served, others are unavailable (not unknown)', async () => {
    const t = 0;
    const store = new MemorySessionStore(() => t);
    let away = false;
    const flaky = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function' || prop === 'ping') return v;
        return (...args: unknown[]) =>
          away
            ? Promise.reject(new StateUnavailableError('The shared state is unreachable.'))
            : (v as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    const x = instance({ shared: flaky, now: () => t, idleMs: 60_000 });
    const held = await begin(x.sessions);
    const elsewhere = instance({ shared: store, now: () => t, idleMs: 60_000 });
    const other = await begin(elsewhere.sessions);
    away = true;
    expect(isSession(await x.sessions.find(held))).toBe(true);
    expect(await x.sessions.find(other)).toBe('unavailable');
    expect(await x.sessions.known(other)).toBe(false);
    await x.sessions.endElsewhere(other);
    // A session begun while the store is away is still served here, with a warning that it is not shared.
    const local = await begin(x.sessions);
    expect(x.logs.some((m) => /session not shared .*only this instance can serve it/.test(m))).toBe(true);
    expect(isSession(await x.sessions.find(local))).toBe(true);
    await x.sessions.closeAll();
    await elsewhere.sessions.closeAll();
  });
});
