/** The CLI's one command table: every command module is in it, loads, and has what its kind needs. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closestCommand, commandLines, COMMANDS, commandNamed, DEFAULT_COMMAND } from '../../src/commands/table.js';
import { ROOT } from '../helpers.js';

describe('the command table', () => {
  it('holds every module of src/commands that has a usage, and no name twice', () => {
    const dir = join(ROOT, 'src', 'commands');
    const modules = readdirSync(dir).filter(
      (f) => f.endsWith('.ts') && /^export const usage\b/m.test(readFileSync(join(dir, f), 'utf8')),
    );
    const table = readFileSync(join(dir, 'table.ts'), 'utf8');
    const loaded = [...table.matchAll(/load: \(\) => import\('\.\/([\w-]+)\.js'\)/g)].map((m) => `${m[1]}.ts`);
    expect(loaded).toHaveLength(COMMANDS.length);
    expect(loaded.sort()).toEqual(modules.sort());
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
    expect(DEFAULT_COMMAND.name).toBe('serve');
  });

  it("loads each command's module, with a usage naming it and the entry point its kind needs", async () => {
    for (const c of COMMANDS) {
      const mod = (await c.load()) as unknown as Record<string, unknown>;
      expect(mod.usage, c.name).toMatch(
        new RegExp(`^Usage: runware-mcp-server ${c.name === 'serve' ? '\\[serve\\]' : c.name}(\\s|$)`),
      );
      const entry = c.kind === 'serve' ? mod.parseServeFlags : mod.run;
      expect(entry, `${c.name} (${c.kind})`).toBeTypeOf('function');
      // A context command takes (ctx, args); a standalone one takes (args) only.
      if (c.kind !== 'serve')
        expect((entry as (...a: unknown[]) => unknown).length, c.name).toBe(c.kind === 'context' ? 2 : 1);
    }
  });

  it('gives the overview one line per command, name and arguments in one column', () => {
    const lines = commandLines().split('\n');
    expect(lines).toHaveLength(COMMANDS.length);
    for (const [i, c] of COMMANDS.entries()) {
      expect(lines[i]!.slice(2, 24).trimEnd()).toBe(`${c.name}${c.args ? ` ${c.args}` : ''}`);
      expect(lines[i]!.slice(24)).toBe(c.summary);
    }
    expect(lines).toContain(
      '  model-info MODEL      what a model takes: parameters, delivery, docs, pricing, examples',
    );
  });

  it('finds a command by name only, and suggests the one a typo meant', () => {
    expect(commandNamed('poll')?.name).toBe('poll');
    expect(commandNamed('constructor')).toBeUndefined();
    expect(closestCommand('text-to-imag')).toBe('text-to-image');
    expect(closestCommand('tsk')).toBe('task');
    expect(closestCommand('modelsearch')).toBe('model-search');
    expect(closestCommand('accounts')).toBe('account');
    expect(closestCommand('zzzzzz')).toBeUndefined();
  });
});
