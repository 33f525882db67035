/**
 * Building tool results: structuredContent plus the same JSON as text, every
 * byte scrubbed; failures as isError results a model can act on.
 */
import { pathToFileURL } from 'node:url';
import { EmptyResultSchema, type CallToolResult, type ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { isAppError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { scrubber } from '../shared/redact.js';
import { renderNexts, say, stepsOf, type Next, type NextStep, type StepWords } from '../shared/next-step.js';

/**
 * Next steps in MCP's words: the tool to call and its arguments as JSON
 * (`runware_poll with {"taskUUID":"…","waitSeconds":60}`). The core and the
 * services say which step (src/shared/next-step.ts); this names it.
 */
export const mcpWords: StepWords = (s: NextStep): string => {
  const a = s.args;
  switch (s.action) {
    case 'poll':
      return a.taskUUID === undefined ? 'runware_poll' : `runware_poll with ${JSON.stringify(a)}`;
    case 'confirmCost':
      return `call again with confirmCostUsd: ${String(a.quoteUsd)} (or more; runware_text_to_image and runware_run take it)`;
    case 'useMedia': {
      const u = JSON.stringify(a.mediaUUID);
      return `runware_run (params: {"inputImage":${u}}; or seedImage, referenceImages, inputs.*) or of runware_text_to_image (extra: {"seedImage":${u}})`;
    }
  }
};

/** A hint or note as a model reads it over MCP. */
export const mcpSay = (value: string | Next | undefined): string | undefined => say(value, mcpWords);

export type ToolExtra = {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number; [k: string]: unknown };
  sendNotification: (n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }) => Promise<void>;
  sendRequest: (
    r: { method: 'ping' },
    schema: typeof EmptyResultSchema,
    options?: { timeout?: number },
  ) => Promise<unknown>;
};

export function ok(structured: object, extra: ContentBlock[] = []): CallToolResult {
  // Compact: the text is read by a model, and indentation is a third of the tokens, not information.
  const { value, text } = scrubber.json(renderNexts(structured, mcpWords));
  const clean = value as Record<string, unknown>;
  return {
    content: [{ type: 'text', text }, ...(scrubber.value(extra) as ContentBlock[])],
    structuredContent: clean,
  };
}

/** The structured error of an isError result (see shapes.toolError): kind, message, field or code, what next. */
export interface ToolErrorInfo {
  kind: string;
  message: string;
  field?: string;
  code?: string;
  retryable?: boolean;
  /** What to do next, in MCP's words. */
  next?: string;
  /** The same steps as data: `{ action, args }` (src/shared/next-step.ts). */
  nextSteps?: NextStep[];
  [k: string]: unknown;
}

/** An AppError's own description, with its hint as `next`. */
export function errorInfo(e: unknown): ToolErrorInfo {
  if (isAppError(e)) {
    const { hint: _plain, ...j } = e.toJSON() as Record<string, unknown> & { kind: string; message: string };
    const info: ToolErrorInfo = { ...j, kind: j.kind, message: j.message };
    for (const k of Object.keys(info)) if (info[k] === undefined) delete info[k];
    const hint = mcpSay(e.hint);
    if (hint) info.next = hint;
    const steps = stepsOf(e.hint);
    if (steps.length) info.nextSteps = steps;
    return info;
  }
  return {
    kind: 'internal',
    message: e instanceof Error ? e.message : String(e),
    next: 'This is a bug in runware-mcp-server; please report it. Calling again may work.',
  };
}

/** An isError result from an error description: text for the model, the same as structuredContent. */
export function errorResult(info: ToolErrorInfo): CallToolResult {
  const { value, text } = scrubber.json({ error: info });
  const clean = value as { error: ToolErrorInfo };
  const e = clean.error;
  const head = e.kind === 'internal' ? `Internal error: ${e.message}` : `Error (${e.kind}): ${e.message}`;
  return {
    isError: true,
    content: [{ type: 'text', text: `${head}${e.next ? `\nNext: ${e.next}` : ''}\n${text}` }],
    structuredContent: clean,
  };
}

/** An isError result: what went wrong, the field or code, and what to do next. */
export function fail(e: unknown, log?: Logger): CallToolResult {
  if (isAppError(e)) log?.info(`tool call refused or failed: ${e.kind}: ${e.message}`);
  else log?.error('tool handler crashed', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  return errorResult(errorInfo(e));
}

/**
 * A result whose task failed but that still has its fields (status, errors,
 * lineage): isError, with `error` naming the first upstream error and what next.
 */
export function failedOutput(
  output: object & { next?: string | Next },
  errors: Array<{ code: string; message: string }> | undefined,
  extra: ContentBlock[] = [],
): CallToolResult {
  const first = errors?.[0];
  const error: ToolErrorInfo = {
    kind: 'upstream',
    message: first ? first.message : 'the task failed',
    ...(first ? { code: first.code } : {}),
    next:
      mcpSay(output.next) ??
      'Read errors for each taskUUID: fix the input for validation, safety or credit codes; transient errors were already retried, so a new call is a new (billed) task.',
  };
  const steps = stepsOf(output.next);
  return {
    ...ok({ ...output, error: { ...error, ...(steps.length ? { nextSteps: steps } : {}) } }, extra),
    isError: true,
  };
}

export interface ProgressReporter {
  (p: { progress: number; total?: number; message?: string }): void;
  /**
   * Before the response: waits until the last notification is written and,
   * over stdio, until the client answers a ping. The SDK client handles a
   * notification in a microtask but a response at once, so a final "100%" read
   * in the same chunk as the result is dropped; the ping's answer proves the
   * notification was read and handled. Costs one round trip, not a timer.
   */
  settle(): Promise<void>;
}

/** Progress goes out only when the request carried a progressToken, and never goes backwards. */
export function progressFor(extra: ToolExtra, confirm = false): ProgressReporter | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let last = -1;
  let pending: Promise<void> | undefined;
  const report = ((p) => {
    if (p.progress <= last) return;
    last = p.progress;
    pending = extra
      .sendNotification({
        method: 'notifications/progress',
        params: {
          progressToken: token,
          progress: p.progress,
          ...(p.total !== undefined ? { total: p.total } : {}),
          ...(p.message ? { message: scrubber.text(p.message) } : {}),
        },
      })
      .catch(() => undefined);
  }) as ProgressReporter;
  report.settle = async () => {
    if (!pending) return;
    await pending;
    // A client that does not answer pings costs at most this, once per call with a progressToken.
    if (confirm)
      await extra.sendRequest({ method: 'ping' }, EmptyResultSchema, { timeout: 250 }).catch(() => undefined);
  };
  return report;
}

/** Runs a handler, turning every thrown error into an isError result. */
export async function guard(log: Logger, fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (e) {
    return fail(e, log);
  }
}

export interface MediaItem {
  savedTo?: string;
  url?: string;
  mimeType?: string;
  name: string;
  description: string;
}

/** A resource_link per output (the saved file, else its URL) and an inline preview where one was kept. */
export function mediaBlocks(
  items: MediaItem[],
  previews: Map<number, { data: Buffer; mimeType: string }>,
): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  items.forEach((m, i) => {
    const uri = m.savedTo ? pathToFileURL(m.savedTo).href : m.url;
    if (uri)
      blocks.push({
        type: 'resource_link',
        uri,
        name: m.savedTo ? m.savedTo.split(/[\\/]/).pop()! : m.name,
        ...(m.mimeType ? { mimeType: m.mimeType } : {}),
        description: m.description,
      });
    const p = previews.get(i);
    if (p) blocks.push({ type: 'image', data: p.data.toString('base64'), mimeType: p.mimeType });
  });
  return blocks;
}
