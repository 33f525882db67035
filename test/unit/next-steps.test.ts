/**
 * Next steps are data: the core and the services say which step, each
 * front-end names it. No core or service message names an MCP tool, and the
 * same step reads as a tool call over MCP and as a command line in the CLI.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { cliWords, setCliInvocation } from '../../src/commands/next-step.js';
import { errorInfo, failedOutput, mcpWords, ok } from '../../src/mcp/results.js';
import { Rules } from '../../src/runware/rules.js';
import { PolicyError } from '../../src/shared/errors.js';
import { next, renderNexts, step, type Next } from '../../src/shared/next-step.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The layers below the front-ends: their words reach every front-end. */
const CORE = ['src/runware', 'src/runway', 'src/media', 'src/state', 'src/services'];
/**
 * The studio page's backend dispatches the page's calls by tool name (the page
 * is the MCP App's twin): those names are an interface, not a message.
 */
const NAMES_AS_INTERFACE = new Set(['src/services/studio.ts']);
const TOOL_NAME = /\brunwa(?:re|y)_[a-z]+(?:_[a-z]+)*\b/;

const files = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** Every string the module could say (string and template literals), with its line; comments and import paths are not said. */
function saidStrings(path: string): Array<{ line: number; text: string }> {
  const src = ts.createSourceFile(path, readFileSync(join(ROOT, path), 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Array<{ line: number; text: string }> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) return;
    if (
      ts.isStringLiteral(n) ||
      ts.isNoSubstitutionTemplateLiteral(n) ||
      ts.isTemplateHead(n) ||
      ts.isTemplateMiddle(n) ||
      ts.isTemplateTail(n)
    ) {
      out.push({ line: src.getLineAndCharacterOfPosition(n.getStart()).line + 1, text: n.text });
    }
    n.forEachChild(visit);
  };
  visit(src);
  return out;
}

describe('no core or service message names an MCP tool', () => {
  it('finds a tool name where one is said, and not in comments', () => {
    const said = (code: string) => {
      const f = ts.createSourceFile('x.ts', code, ts.ScriptTarget.Latest, true);
      const texts: string[] = [];
      const v = (n: ts.Node): void => {
        if (ts.isStringLiteral(n) || ts.isTemplateHead(n)) texts.push(n.text);
        n.forEachChild(v);
      };
      v(f);
      return texts.filter((t) => TOOL_NAME.test(t));
    };
    expect(said('throw new Error(`Call runware_poll with ${x}`); // runware_tasks')).toHaveLength(1);
    expect(said("/** runware_run */ const a = 'model search';")).toHaveLength(0);
  });

  it.each(CORE)('%s', (dir) => {
    const found = files(dir)
      .filter((f) => !NAMES_AS_INTERFACE.has(f))
      .flatMap((f) =>
        saidStrings(f)
          .filter((s) => TOOL_NAME.test(s.text))
          .map((s) => `${relative(ROOT, join(ROOT, f))}:${s.line}: ${s.text}`),
      );
    expect(found).toEqual([]);
  });
});

describe('one step, each front-end in its own words', () => {
  const poll = step('poll', {
    taskUUID: '3b241101-e2bb-4255-8caf-4136c566a962',
    waitSeconds: 60,
    numberResults: 2,
    saveTo: 'out dir/',
  });

  it('MCP: the tool and its arguments as JSON; the CLI: the command line', () => {
    const n = next('Run {step} to wait; do not generate again.', poll);
    expect(n.render(mcpWords)).toBe(
      'Run runware_poll with {"taskUUID":"3b241101-e2bb-4255-8caf-4136c566a962","waitSeconds":60,"numberResults":2,"saveTo":"out dir/"} to wait; do not generate again.',
    );
    setCliInvocation({ simulate: true });
    try {
      expect(n.render(cliWords)).toBe(
        "Run runware-mcp-server --simulate poll 3b241101-e2bb-4255-8caf-4136c566a962 --wait 60 --number-results 2 --out 'out dir' to wait; do not generate again.",
      );
    } finally {
      setCliInvocation({});
    }
    // Without a front-end (a log line, a file): the verb and its arguments, never a tool name.
    expect(JSON.stringify({ next: n })).not.toMatch(TOOL_NAME);
  });

  it('a step with no task names the command alone; several steps fill their places in order', () => {
    expect(next('use {step}.', step('poll')).render(mcpWords)).toBe('use runware_poll.');
    expect(next('use {step}.', step('poll')).render(cliWords)).toBe('use runware-mcp-server poll TASK_UUID --wait 60.');
    const two = next('run {step}, then {step}.', step('poll', { taskUUID: 'a' }), step('poll', { taskUUID: 'b' }));
    expect(two.render(mcpWords)).toBe(
      'run runware_poll with {"taskUUID":"a"}, then runware_poll with {"taskUUID":"b"}.',
    );
  });

  it('a result over MCP has its next step rendered, in the text and in structuredContent', () => {
    const r = ok({
      status: 'processing',
      next: next('Run {step}.', poll),
      nested: [{ note: next('{step}', step('poll')) }],
    });
    const sc = r.structuredContent as { next: string; nested: Array<{ note: string }> };
    expect(sc.next).toMatch(/^Run runware_poll with \{"taskUUID"/);
    expect(sc.nested[0]!.note).toBe('runware_poll');
    expect((r.content[0] as { text: string }).text).toContain('runware_poll with');
    // Nothing else is copied or changed.
    const plain = { a: [1, 2], b: { c: 'x' } };
    expect(renderNexts(plain, mcpWords)).toBe(plain);
  });

  it('a structured error carries the step as data and the rendered hint as next', () => {
    let refused: unknown;
    const rules = new Rules();
    const uuid = '3b241101-e2bb-4255-8caf-4136c566a962';
    rules.uuids.claim(uuid, 'taskUUID');
    try {
      rules.uuids.claim(uuid, 'taskUUID');
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(PolicyError);
    const info = errorInfo(refused);
    expect(info.next).toBe(
      'Omit taskUUID and the server assigns a fresh one; to fetch an earlier task use runware_poll.',
    );
    expect(info.nextSteps).toEqual([{ action: 'poll', args: {} }]);
    // The core's own JSON has the data and no tool name.
    expect((refused as PolicyError).toJSON()).toMatchObject({ nextSteps: [{ action: 'poll', args: {} }] });
    expect(JSON.stringify((refused as PolicyError).toJSON())).not.toMatch(TOOL_NAME);
  });

  it('a failed task over MCP: next rendered, steps as data beside it', () => {
    const output: { status: string; next: Next } = {
      status: 'unknown',
      next: next('Run {step} later.', step('poll', { taskUUID: 'u' })),
    };
    const r = failedOutput(output, [{ code: 'unknownWhetherRan', message: 'unknown' }]);
    const e = (r.structuredContent as { error: { next: string; nextSteps: unknown } }).error;
    expect(e.next).toBe('Run runware_poll with {"taskUUID":"u"} later.');
    expect(e.nextSteps).toEqual([{ action: 'poll', args: { taskUUID: 'u' } }]);
  });
});
