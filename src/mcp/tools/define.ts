/**
 * The tool registrar. A tool is one `export default defineTool({...})` in this
 * folder: its name, title, description, schemas, annotations, icon, task
 * support, studio link, its line in the server instructions, and a handler.
 * Everything else is derived from the definitions: the registration, the tool
 * list in the instructions, the catalog harden.ts adds to tools/list (icons,
 * task support), `_meta.ui`, and the guard, progress and result handling every
 * handler shares. The folder's index (all.generated.ts) is written by
 * scripts/tool-index.mjs, which the build runs.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ContentBlock, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { ConfirmOptions } from '../../runware/spend.js';
import type { AppContext } from '../../services/context.js';
import type { CatalogEntry, IconKind } from '../catalog.js';
import { elicitConfirm } from '../confirm.js';
import { failedOutput, guard, ok, progressFor, type ProgressReporter, type ToolExtra } from '../results.js';
import { studioToolMeta } from '../studio.js';
import { published } from './shapes.js';
import type { ToolDeps } from './types.js';

/** What a handler gets for one call. */
export interface ToolCall {
  app: AppContext;
  signal: AbortSignal;
  /** Progress to the client when it asked for it (a progressToken); settled by the registrar before the result goes out. */
  progress: ProgressReporter | undefined;
  /** The folders this call may read and write: RUNWARE_OUTPUT_DIR and the client's roots (asked once, then kept). */
  roots(): Promise<string[]>;
  /** Asks the user before an expensive task (an elicitation), or undefined when the client cannot answer. */
  ask: ConfirmOptions['ask'];
  /** What the generation services take: the signal, the roots, the preview budget, and progress. */
  serviceOptions(): Promise<{
    signal: AbortSignal;
    roots: string[];
    previewMaxBytes: number;
    onProgress?: ProgressReporter;
  }>;
}

/** What a handler returns. */
export interface ToolReply {
  /** The structured result: structuredContent, and the same JSON as the first text block (its next steps in MCP's words). */
  output: Parameters<typeof failedOutput>[0];
  /** Blocks after that text: text outputs, resource links, previews. */
  content?: ContentBlock[];
  /** Set when the task failed but the result still has its fields: isError, naming the first of these errors. */
  failed?: Array<{ code: string; message: string }>;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject> {
  name: string;
  /** Where the tool stands in tools/list and in the instructions' tool list (agents read them in this order); leave gaps. */
  order: number;
  title: string;
  description: string;
  /** Its line in the server instructions' tool list: what to reach for it for, in a few words. */
  guide: string;
  input: I;
  /** The success shape; published with the structured error every isError result carries (shapes.published). */
  output: z.ZodObject;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>;
  icon: IconKind;
  /** Long (it can wait minutes): a client may run it as a task (tasks/get, tasks/result, tasks/cancel). */
  task?: boolean;
  /** Hosts with MCP Apps show its results in the studio (`_meta.ui`, both keys; see studio.ts). */
  studio?: boolean;
  // A method, so a definition for one input schema fits a list of definitions for any.
  handler(args: z.output<I>, call: ToolCall): Promise<ToolReply>;
}

/** A tool definition, typed by its input schema (the handler's arguments are what the schema parses to). */
export function defineTool<I extends z.ZodObject>(def: ToolDefinition<I>): ToolDefinition<I> {
  return def;
}

/** The registered tools in their order, refusing two of one name or one place. */
export function inventory(defs: readonly ToolDefinition[]): readonly ToolDefinition[] {
  const sorted = [...defs].sort((a, b) => a.order - b.order);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1]!, sorted[i]!];
    if (a.order === b.order)
      throw new Error(`Tools ${a.name} and ${b.name} both have order ${a.order}: give each its own place.`);
  }
  const names = new Set<string>();
  for (const d of sorted) {
    if (names.has(d.name)) throw new Error(`Two tools are named ${d.name}.`);
    names.add(d.name);
  }
  return sorted;
}

/** What tools/list adds to each tool beyond registerTool (harden.ts): its icon and whether it may run as a task. */
export function catalogOf(defs: readonly ToolDefinition[]): ReadonlyMap<string, CatalogEntry> {
  return new Map(defs.map((d) => [d.name, { icon: d.icon, task: d.task === true }]));
}

/** The instructions' tool list: a line per tool, in order. */
export function toolGuide(defs: readonly ToolDefinition[]): string {
  return defs.map((d) => `- ${d.name}: ${d.guide}`).join('\n');
}

/** Registers one definition: the guard (every throw becomes an isError result), progress settled, the result built and scrubbed. */
export function registerTool(
  def: ToolDefinition,
  { server, app, roots, log, previewMaxBytes, confirmProgress }: ToolDeps,
): void {
  server.registerTool(
    def.name,
    {
      title: def.title,
      description: def.description,
      inputSchema: def.input,
      outputSchema: published(def.output),
      annotations: def.annotations,
      ...(def.studio ? { _meta: studioToolMeta() } : {}),
    },
    (async (args: z.output<z.ZodObject>, extraRaw: unknown) =>
      guard(log, async () => {
        const extra = extraRaw as ToolExtra;
        const progress = progressFor(extra, confirmProgress);
        const allowed = () => roots.allowed(extraRaw as Parameters<typeof roots.allowed>[0]);
        const call: ToolCall = {
          app,
          signal: extra.signal,
          progress,
          roots: allowed,
          ask: elicitConfirm(server, extraRaw),
          serviceOptions: async () => ({
            signal: extra.signal,
            roots: await allowed(),
            previewMaxBytes,
            ...(progress ? { onProgress: progress } : {}),
          }),
        };
        const reply = await def.handler(args, call);
        if (progress) await progress.settle();
        return reply.failed ? failedOutput(reply.output, reply.failed, reply.content) : ok(reply.output, reply.content);
      })) as Parameters<McpServer['registerTool']>[2],
  );
}
