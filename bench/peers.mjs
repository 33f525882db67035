// What every bench script starts its servers with: the simulator's credentials, a clean
// environment per process (PATH and a fresh HOME only), and a stdio MCP peer.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const creds = {
  apiKey: 'bench-key-0123456789abcdef',
  runwaySecret: 'key_bench0123456789',
  useapiToken: 'user:1-bench0123456789',
  makevidKey: 'bench-makevid-0123456789',
};

export const cleanEnv = (extra = {}) => ({
  PATH: process.env.PATH,
  HOME: mkdtempSync(join(tmpdir(), 'rw-bench-home-')),
  ...extra,
});

/** A server's environment against the simulator at `info` (Simulator.start()), with a state folder of its own. */
export const serverEnvFor = (info, extra = {}) =>
  cleanEnv({
    RUNWARE_API_URL: info.runwareUrl,
    RUNWARE_WS_URL: info.wsUrl,
    RUNWARE_API_KEY: creds.apiKey,
    RUNWARE_SCHEMAS_URL: info.schemasUrl,
    RUNWARE_CONTENT_URL: info.contentUrl,
    RUNWARE_LOG_LEVEL: 'error',
    RUNWARE_STATE_DIR: mkdtempSync(join(tmpdir(), 'rw-bench-state-')),
    ...extra,
  });

/** A stdio MCP peer: spawn, JSON-RPC by id, progress notifications by token. */
export function stdio(args, env) {
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
  let buf = '';
  let id = 0;
  const waiters = new Map();
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (m.method === 'ping' && m.id !== undefined)
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: m.id, result: {} })}\n`);
      else if (m.id !== undefined && waiters.has(m.id)) {
        waiters.get(m.id)(m);
        waiters.delete(m.id);
      }
    }
  });
  const rpc = (method, params) =>
    new Promise((resolve) => {
      const n = ++id;
      waiters.set(n, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: n, method, params })}\n`);
    });
  const hello = async () => {
    await rpc('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'bench', version: '0' },
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  };
  const call = (name, args, token) =>
    rpc('tools/call', { name, arguments: args, ...(token ? { _meta: { progressToken: token } } : {}) });
  const stop = () => {
    child.stdin.end();
    child.kill();
  };
  return {
    child,
    rpc,
    hello,
    call,
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024,
    stop,
  };
}
