/**
 * Where the SDK's own handling falls short, wrapped here (the one place that
 * reaches into SDK internals, so a change of SDK touches one file):
 *
 * - tool arguments: zod drops `__proto__` keys silently, so raw arguments are
 *   checked first for prototype keys, by path (credential-like names are the
 *   payload rules' to refuse, with their own message);
 * - input-validation errors echo field names and values (possibly a secret):
 *   they pass the scrubber and say what to do next;
 * - `logging/setLevel` with a bad level answered a raw zod dump: it now gets
 *   -32602 naming the allowed levels;
 * - over HTTP, every tool call runs as its session's work, so its log records
 *   reach that session only (runOwned). Over stdio there is one session and no
 *   owner: AsyncLocalStorage would put a hook on every promise for nothing.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, LoggingLevelSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { runOwned } from '../shared/log.js';
import { scrubber } from '../shared/redact.js';

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const LEVELS = LoggingLevelSchema.options.join(', ');

/** The first forbidden key in raw arguments, with its path. */
export function forbiddenKey(value: unknown, path = '', depth = 0): { path: string; why: string } | undefined {
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const f = forbiddenKey(v, `${path}[${i}]`, depth + 1);
      if (f) return f;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const p = path ? `${path}.${key}` : key;
    if (PROTOTYPE_KEYS.has(key)) return { path: p, why: `the key "${key}" is not allowed` };
    const f = forbiddenKey((value as Record<string, unknown>)[key], p, depth + 1);
    if (f) return f;
  }
  return undefined;
}

type Internals = {
  createToolError: (message: string) => CallToolResult;
  validateToolInput: (tool: unknown, args: unknown, name: string) => Promise<unknown>;
  server: { _requestHandlers: Map<string, (req: { params?: { level?: unknown } }, extra: unknown) => unknown> };
  setToolRequestHandlers: () => void;
};

export function harden(server: McpServer, owner?: symbol): void {
  const s = server as unknown as Internals;
  // Tool handlers are installed lazily by the SDK; wrap tools/call once they are.
  const install = s.setToolRequestHandlers.bind(server);
  s.setToolRequestHandlers = () => {
    install();
    const handlers = s.server._requestHandlers;
    const call = handlers.get('tools/call');
    if (owner && call && !(call as { owned?: boolean }).owned) {
      const owned = Object.assign((req: { params?: { level?: unknown } }, extra: unknown) => runOwned(owner, () => call(req, extra)), { owned: true });
      handlers.set('tools/call', owned);
    }
  };
  s.createToolError = (message: string): CallToolResult => {
    const text = scrubber.text(message).slice(0, 4000);
    const next = /Input validation error/.test(text) ? "\nNext: fix the named argument (see the tool's input schema) and call again; nothing was sent." : '';
    return { isError: true, content: [{ type: 'text', text: `${text}${next}` }] };
  };

  const validate = s.validateToolInput.bind(server);
  s.validateToolInput = async (tool, args, name) => {
    const bad = forbiddenKey(args);
    if (bad) throw new McpError(ErrorCode.InvalidParams, `Input validation error: Invalid arguments for tool ${name}: ${bad.path}: ${bad.why}`);
    return validate(tool, args, name);
  };

  const handlers = s.server._requestHandlers;
  const setLevel = handlers.get('logging/setLevel');
  if (setLevel) {
    handlers.set('logging/setLevel', (req, extra) => {
      const level = req.params?.level;
      if (!LoggingLevelSchema.safeParse(level).success) {
        throw new McpError(ErrorCode.InvalidParams, `params.level must be one of ${LEVELS}${typeof level === 'string' ? `, not "${scrubber.text(level).slice(0, 40)}"` : ''}`);
      }
      return setLevel(req, extra);
    });
  }
}
