/**
 * Where the SDK's own handling falls short, wrapped here (the one place that
 * reaches into SDK internals, so a change of SDK touches one file):
 *
 * - tools/call is ours: an unknown tool is a protocol error (-32602), as the
 *   spec has it, not a tool result; raw arguments are checked for prototype
 *   keys (zod drops `__proto__` silently); an input-validation error names
 *   the field, passes the scrubber and carries structuredContent; a call with
 *   `task` goes to the task runner (tasks.ts) when the tool supports it; a
 *   result that fails its output schema is an internal error, said as a bug;
 * - tools/list: schemas in their portable spelling, icons and task support
 *   (catalog.ts, from the tool definitions), none of which registerTool can say;
 * - `logging/setLevel` with a bad level answered a raw zod dump: it now gets
 *   -32602 naming the allowed levels;
 * - over HTTP, every tool call runs as its session's work, so its log records
 *   reach that session only (runOwned). Over stdio there is one session and no
 *   owner: AsyncLocalStorage would put a hook on every promise for nothing.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  LoggingLevelSchema,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type ListToolsResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { formatPath } from '../runware/tasks/common.js';
import { decorateTools, type CatalogEntry } from './catalog.js';
import { errorInfo, errorResult } from './results.js';
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

type Handler = (req: never, extra: unknown) => unknown;
interface RegisteredToolLike {
  enabled: boolean;
  inputSchema?: z.ZodType;
  outputSchema?: z.ZodType;
}
type Internals = {
  _registeredTools: Record<string, RegisteredToolLike>;
  executeToolHandler: (tool: RegisteredToolLike, args: unknown, extra: unknown) => Promise<CallToolResult>;
  server: { _requestHandlers: Map<string, Handler> };
  setToolRequestHandlers: () => void;
};

/** Runs a task-augmented call: answers with the task at once and goes on in the background. */
export interface TaskStarter {
  start(
    name: string,
    run: (extra: unknown) => Promise<CallToolResult>,
    request: CallToolRequest,
    extra: unknown,
  ): Promise<unknown>;
}

export interface HardenOptions {
  /** Over HTTP, the session whose log records a call's work produces. */
  owner?: symbol;
  /** Per tool, from its definition (tools/define.ts): its icon and whether it may run as a task. */
  catalog: ReadonlyMap<string, CatalogEntry>;
  tasks?: TaskStarter;
}

/** An input that fails the tool's schema: which field, what is wrong, and that nothing was sent (scrubbed by errorResult). */
function inputError(name: string, issues: Array<{ path: string; message: string }>): CallToolResult {
  const first = issues[0]!;
  // Bounded: a huge input can fail in thousands of places; the first few say what to fix.
  const detail = issues
    .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    .join('; ')
    .slice(0, 4000);
  return errorResult({
    kind: 'validation',
    message: `Input validation error: Invalid arguments for tool ${name}: ${detail}`,
    ...(first.path ? { field: first.path } : {}),
    next: "Fix the named argument (see the tool's input schema) and call again; nothing was sent.",
  });
}

/**
 * What the SDK's validateToolOutput checks, here without its await: a result that is not an error
 * carries structuredContent that passes the tool's output schema, or the call becomes an internal
 * isError result (a bug of ours, said as one, not a malformed success the client would refuse).
 */
function checkOutput(tool: RegisteredToolLike, result: CallToolResult, name: string): void {
  if (!tool.outputSchema || !('content' in result) || result.isError) return;
  if (!result.structuredContent)
    throw new Error(
      `Output validation error: Tool ${name} has an output schema but no structured content was provided`,
    );
  const r = tool.outputSchema.safeParse(result.structuredContent);
  if (!r.success)
    throw new Error(
      `Output validation error: Invalid structured content for tool ${name}: ${r.error.issues
        .map((i) => `${formatPath('', i.path)}: ${i.message}`)
        .join('; ')
        .slice(0, 2000)}`,
    );
}

/**
 * The SDK internals this file relies on that are missing from `server`, by name. The SDK is pinned
 * exactly (package.json); a new version that moved one of these fails here, at start-up and in
 * test/unit/sdk-seam.test.ts, with the name, instead of quietly losing a guard.
 */
export function missingSdkInternals(server: McpServer): string[] {
  const s = server as unknown as Partial<Internals> & { server?: { _requestHandlers?: unknown } };
  const missing: string[] = [];
  if (typeof s._registeredTools !== 'object' || s._registeredTools === null) missing.push('McpServer._registeredTools');
  if (typeof s.executeToolHandler !== 'function') missing.push('McpServer.executeToolHandler');
  if (typeof s.setToolRequestHandlers !== 'function') missing.push('McpServer.setToolRequestHandlers');
  if (!(s.server?._requestHandlers instanceof Map)) missing.push('Server._requestHandlers');
  return missing;
}

export function harden(server: McpServer, opts: HardenOptions): void {
  const missing = missingSdkInternals(server);
  if (missing.length > 0)
    throw new Error(
      `This build of @modelcontextprotocol/sdk lacks ${missing.join(', ')}, which src/mcp/harden.ts patches; install the exact SDK version package.json pins.`,
    );
  const s = server as unknown as Internals;
  const { owner, catalog, tasks } = opts;
  // Tool handlers are installed lazily by the SDK; replace tools/call and wrap tools/list once they are.
  const install = s.setToolRequestHandlers.bind(server);
  s.setToolRequestHandlers = () => {
    install();
    const handlers = s.server._requestHandlers;
    const list = handlers.get('tools/list') as (req: never, extra: unknown) => Promise<ListToolsResult>;
    let listed: ListToolsResult | undefined;
    handlers.set('tools/list', async (req: never, extra: unknown) => {
      // The same tools every time: decorated once. Registering a tool later clears it (see below).
      listed ??= await list(req, extra).then((r) => ({ ...r, tools: decorateTools(r.tools, catalog) }));
      return listed;
    });
    const changed = server.sendToolListChanged.bind(server);
    server.sendToolListChanged = () => {
      listed = undefined;
      changed();
    };
    const call = async (req: CallToolRequest, extra: unknown): Promise<CallToolResult | unknown> => {
      const { name, arguments: args, task } = req.params;
      const tool = s._registeredTools[name];
      if (!tool || !tool.enabled) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown tool "${scrubber.text(name).slice(0, 80)}". The tools are: ${Object.keys(s._registeredTools).join(', ')}.`,
        );
      }
      const bad = forbiddenKey(args);
      if (bad) return inputError(name, [{ path: bad.path, message: bad.why }]);
      let parsed: unknown;
      if (tool.inputSchema) {
        // Synchronously: no input schema here is async, and an await is a turn of the event loop on every call.
        let r: ReturnType<z.ZodType['safeParse']>;
        try {
          r = tool.inputSchema.safeParse(args ?? {});
        } catch {
          r = await tool.inputSchema.safeParseAsync(args ?? {});
        }
        if (!r.success)
          return inputError(
            name,
            r.error.issues.map((i) => ({ path: formatPath('', i.path), message: i.message })),
          );
        parsed = r.data;
      }
      const run = async (x: unknown): Promise<CallToolResult> => {
        try {
          const result = await s.executeToolHandler(tool, parsed, x);
          checkOutput(tool, result, name);
          return result;
        } catch (e) {
          return errorResult(errorInfo(e));
        }
      };
      if (task) {
        if (!tasks || !catalog.get(name)?.task)
          throw new McpError(ErrorCode.MethodNotFound, `Tool ${name} does not run as a task; call it without "task".`);
        return tasks.start(name, run, req, extra);
      }
      return run(extra);
    };
    handlers.set(
      'tools/call',
      (owner ? (req: CallToolRequest, extra: unknown) => runOwned(owner, () => call(req, extra)) : call) as Handler,
    );
  };

  const handlers = s.server._requestHandlers;
  withPlainErrorMessages(handlers);
  const setLevel = handlers.get('logging/setLevel') as
    ((req: { params?: { level?: unknown } }, extra: unknown) => unknown) | undefined;
  if (setLevel) {
    handlers.set('logging/setLevel', ((req: { params?: { level?: unknown } }, extra: unknown) => {
      const level = req.params?.level;
      if (!LoggingLevelSchema.safeParse(level).success) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `params.level must be one of ${LEVELS}${typeof level === 'string' ? `, not "${scrubber.text(level).slice(0, 40)}"` : ''}`,
        );
      }
      return setLevel(req, extra);
    }) as Handler);
  }
}

/**
 * McpError puts "MCP error -32602: " in its own message, and the SDK sends that message as
 * the JSON-RPC error's; the client's McpError adds the prefix again ("MCP error -32602: MCP
 * error -32602: ..."). Every handler, now and registered later, answers the bare message.
 */
function withPlainErrorMessages(handlers: Map<string, Handler>): void {
  const plain =
    (h: Handler): Handler =>
    async (...args: Parameters<Handler>) => {
      try {
        return await h(...args);
      } catch (e) {
        if (e instanceof McpError) e.message = e.message.replace(/^MCP error -?\d+: /, '');
        throw e;
      }
    };
  for (const [method, h] of handlers) handlers.set(method, plain(h));
  const set = handlers.set.bind(handlers);
  handlers.set = (method: string, h: Handler) => set(method, plain(h));
}
