/**
 * The tool registrar (src/mcp/tools/define.ts), in-process: a tool is its
 * definition and nothing else. The served surface (tools/list, icons, task
 * support, `_meta.ui`, the instructions' tool list) lists exactly the
 * registered definitions, the index lists exactly the tool files, and one more
 * definition shows up everywhere, with the guard, progress and results handled.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { icon } from '../../src/mcp/catalog.js';
import { STUDIO_URI } from '../../src/mcp/studio.js';
import { defineTool, inventory, type ToolDefinition } from '../../src/mcp/tools/define.js';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { AppContext } from '../../src/services/context.js';
import { ValidationError } from '../../src/shared/errors.js';
import { Logger } from '../../src/shared/log.js';
import { serveInProcess } from '../in-process.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const { toolIndex, TOOLS_DIR, INDEX_FILE } = (await import(join(ROOT, 'scripts', 'tool-index.mjs'))) as {
  toolIndex: (dir?: string) => string;
  TOOLS_DIR: string;
  INDEX_FILE: string;
};

/** A tool no file defines: long, studio-linked, reporting progress, and failing on request in each way a handler can. */
const probe = defineTool({
  name: 'runware_probe',
  order: 55,
  title: 'Probe the registrar',
  description: 'A test tool: echoes its word after reporting progress.',
  guide: 'a test tool that echoes a word.',
  input: z.object({ word: z.string().max(20), fail: z.enum(['throw', 'task', 'crash', 'shape']).optional() }).strict(),
  output: z.object({
    echo: z.string(),
    errors: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  icon: 'video',
  task: true,
  studio: true,
  handler: async (args, call) => {
    call.progress?.({ progress: 50, total: 100, message: 'half way' });
    if (args.fail === 'throw') throw new ValidationError('word', 'is not allowed here');
    if (args.fail === 'crash') throw new Error('boom');
    // Not its output schema: the registrar must not let it out as a success.
    if (args.fail === 'shape') return { output: { echo: 42 } };
    const errors = [{ code: 'probeFailed', message: 'the probe task failed' }];
    return {
      output: { echo: args.word, ...(args.fail === 'task' ? { errors } : {}) },
      content: [{ type: 'text', text: `echo ${args.word}` }],
      ...(args.fail === 'task' ? { failed: errors } : {}),
    };
  },
});

interface Served {
  client: Client;
  app: AppContext;
  tools: Tool[];
  instructions: string;
}
async function serve(tools?: readonly ToolDefinition[]): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'rw-registrar-'));
  const app = new AppContext(
    loadConfig({
      HOME: dir,
      RUNWARE_STATE_DIR: join(dir, 'state'),
      RUNWARE_OUTPUT_DIR: dir,
      RUNWARE_SIMULATE: '0',
      RUNWARE_LOG_LEVEL: 'error',
    }),
    new Logger('error'),
  );
  const { client } = await serveInProcess(app, {
    name: 'registrar',
    server: { exclusive: true, ...(tools ? { tools } : {}) },
  });
  return { client, app, tools: (await client.listTools()).tools, instructions: client.getInstructions() ?? '' };
}

/** The names the instructions' tool list gives, in order. */
const guideNames = (instructions: string): string[] =>
  instructions
    .slice(instructions.indexOf('\nTools:\n') + '\nTools:\n'.length)
    .split('\n')
    .map((l) => /^- ([a-z_]+): \S/.exec(l)?.[1] ?? `unparsed line: ${l}`);

let plain: Served;
let more: Served;
beforeAll(async () => {
  plain = await serve();
  more = await serve(inventory([...TOOLS, probe]));
});
afterAll(async () => {
  for (const s of [plain, more]) {
    await s?.client.close();
    await s?.app.close();
  }
});

describe('the tool index', () => {
  it('lists exactly the tool files (scripts/tool-index.mjs writes it; the build runs it)', () => {
    expect(
      readFileSync(join(TOOLS_DIR, INDEX_FILE), 'utf8'),
      'src/mcp/tools/all.generated.ts is stale: run node scripts/tool-index.mjs',
    ).toBe(toolIndex());
  });

  it('picks up a new file that defines a tool, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-tool-index-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'image-to-video.ts'),
      "import { defineTool } from './define.js';\nexport default defineTool({ name: 'x' });\n",
    );
    writeFileSync(join(dir, 'shapes.ts'), 'export const x = 1;\n');
    writeFileSync(join(dir, 'define.ts'), 'export function defineTool() {}\n');
    const text = toolIndex(dir);
    expect(text).toContain("import imageToVideo from './image-to-video.js';");
    expect(text).toContain('export const ALL_TOOLS: readonly ToolDefinition[] = [imageToVideo];');
    expect(text).not.toMatch(/shapes/);
    expect(text.match(/^import /gm)).toHaveLength(2);
  });
});

describe('what is derived from the definitions', () => {
  it('tools/list and the instructions list exactly the registered definitions, in their order', () => {
    const names = TOOLS.map((t) => t.name);
    expect(names).toHaveLength(new Set(names).size);
    expect(plain.tools.map((t) => t.name)).toEqual(names);
    expect(guideNames(plain.instructions)).toEqual(names);
    // Every tool the prose names is a registered one.
    for (const mentioned of plain.instructions.match(/\brunwa(?:re|y)_[a-z_]+/g) ?? [])
      expect(names, mentioned).toContain(mentioned);
  });

  it('icons, task support and the studio link come from each definition', () => {
    for (const def of TOOLS) {
      const t = plain.tools.find((x) => x.name === def.name)!;
      expect(t.icons, def.name).toEqual(icon(def.icon));
      expect(t.execution?.taskSupport, def.name).toBe(def.task ? 'optional' : 'forbidden');
      expect(t._meta, def.name).toEqual(
        def.studio ? { ui: { resourceUri: STUDIO_URI }, 'ui/resourceUri': STUDIO_URI } : undefined,
      );
      expect(t.title).toBe(def.title);
      expect(t.annotations).toEqual(def.annotations);
    }
  });

  it('refuses two tools of one name or one place', () => {
    expect(() => inventory([...TOOLS, { ...probe, order: TOOLS[0]!.order }])).toThrow(/both have order/);
    expect(() => inventory([...TOOLS, { ...probe, name: TOOLS[0]!.name }])).toThrow(/Two tools are named/);
  });
});

describe('one more definition is enough', () => {
  it('is listed in its place, with its icon, task support and studio link, and in the instructions', () => {
    const names = more.tools.map((t) => t.name);
    expect(names).toEqual([
      ...TOOLS.filter((t) => t.order < 55).map((t) => t.name),
      'runware_probe',
      ...TOOLS.filter((t) => t.order > 55).map((t) => t.name),
    ]);
    const t = more.tools.find((x) => x.name === 'runware_probe')!;
    expect(t).toMatchObject({
      title: 'Probe the registrar',
      icons: icon('video'),
      execution: { taskSupport: 'optional' },
      _meta: { ui: { resourceUri: STUDIO_URI }, 'ui/resourceUri': STUDIO_URI },
    });
    // Published with the structured error every isError result carries.
    expect((t.outputSchema?.properties as Record<string, unknown>).error).toBeTruthy();
    expect(guideNames(more.instructions)).toEqual(names);
    expect(more.instructions).toContain('\n- runware_probe: a test tool that echoes a word.\n');
  });

  it('answers with structured content and the same JSON as text, progress delivered first', async () => {
    const progress: number[] = [];
    const r = (await more.client.callTool({ name: 'runware_probe', arguments: { word: 'hi' } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ echo: 'hi' });
    expect(r.content).toEqual([
      { type: 'text', text: '{"echo":"hi"}' },
      { type: 'text', text: 'echo hi' },
    ]);
    expect(progress).toEqual([50]);
  });

  it('turns a throw into an isError result naming the field, a crash into an internal error, and a failed task into isError with its fields', async () => {
    const refused = (await more.client.callTool({
      name: 'runware_probe',
      arguments: { word: 'hi', fail: 'throw' },
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({
      error: {
        kind: 'validation',
        field: 'word',
        message: 'word: is not allowed here',
        next: 'Fix the named field and call again; nothing was sent.',
      },
    });
    const crashed = (await more.client.callTool({
      name: 'runware_probe',
      arguments: { word: 'hi', fail: 'crash' },
    })) as CallToolResult;
    expect(crashed.structuredContent).toMatchObject({ error: { kind: 'internal', message: 'boom' } });
    const failed = (await more.client.callTool({
      name: 'runware_probe',
      arguments: { word: 'hi', fail: 'task' },
    })) as CallToolResult;
    expect(failed.isError).toBe(true);
    expect(failed.structuredContent).toMatchObject({
      echo: 'hi',
      error: { kind: 'upstream', code: 'probeFailed', message: 'the probe task failed' },
    });
    const misshapen = (await more.client.callTool({
      name: 'runware_probe',
      arguments: { word: 'hi', fail: 'shape' },
    })) as CallToolResult;
    expect(misshapen.isError).toBe(true);
    expect(misshapen.structuredContent).toMatchObject({ error: { kind: 'internal' } });
    expect((misshapen.structuredContent as { error: { message: string } }).error.message).toMatch(
      /^Output validation error: Invalid structured content for tool runware_probe: echo: /,
    );
    // Its input schema is enforced before the handler runs.
    const bad = (await more.client.callTool({
      name: 'runware_probe',
      arguments: { word: 'x'.repeat(21) },
    })) as CallToolResult;
    expect(bad.structuredContent).toMatchObject({ error: { kind: 'validation', field: 'word' } });
  });

  it('runs as a task because its definition says so', async () => {
    const created = await more.client.request(
      { method: 'tools/call', params: { name: 'runware_probe', arguments: { word: 'later' }, task: {} } },
      CreateTaskResultSchema,
    );
    const result = await more.client.request(
      { method: 'tasks/result', params: { taskId: created.task.taskId } },
      CallToolResultSchema,
      { timeout: 10_000 },
    );
    expect(result.structuredContent).toEqual({ echo: 'later' });
    // A tool whose definition does not say `task` refuses it.
    await expect(
      plain.client.request(
        { method: 'tools/call', params: { name: 'runware_account', arguments: {}, task: {} } },
        CreateTaskResultSchema,
      ),
    ).rejects.toThrow(/does not run as a task/);
  });
});

describe('an input schema with an async check', () => {
  it('is still enforced: arguments are parsed synchronously, and asynchronously where a schema needs it', async () => {
    const asyncProbe = defineTool({
      ...probe,
      name: 'runware_async_probe',
      input: z.object({ word: z.string() }).refine(async (a) => a.word !== 'no', { message: 'must not be "no"' }),
      handler: async (args) => ({ output: { echo: args.word } }),
    });
    const served = await serve(inventory([...TOOLS, asyncProbe as unknown as ToolDefinition]));
    try {
      const yes = (await served.client.callTool({
        name: 'runware_async_probe',
        arguments: { word: 'yes' },
      })) as CallToolResult;
      expect(yes.structuredContent).toEqual({ echo: 'yes' });
      const no = (await served.client.callTool({
        name: 'runware_async_probe',
        arguments: { word: 'no' },
      })) as CallToolResult;
      expect(no.isError).toBe(true);
      expect(no.structuredContent).toMatchObject({ error: { kind: 'validation' } });
      expect((no.structuredContent as { error: { message: string } }).error.message).toContain('must not be "no"');
    } finally {
      await served.client.close();
      await served.app.close();
    }
  });
});
