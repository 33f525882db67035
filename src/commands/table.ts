/**
 * Every CLI command, once: its name, what the overview shows, and how to load it.
 * cli.ts derives the overview (--help), the list an unknown command is answered
 * with, and dispatch from this table; a new command is its module plus one row.
 * Modules load only when their command runs, so a cold start reads none of them.
 */
import type { Flags } from '../config.js';
import type { AppContext } from '../services/context.js';

/** A command that runs with the config, the clients and the journal (most of them). */
export interface ContextCommand {
  usage: string;
  run(ctx: AppContext, args: string[]): Promise<number>;
}
/** A command that needs neither config nor clients (the simulator brings its own). */
export interface StandaloneCommand {
  usage: string;
  run(args: string[]): Promise<number>;
}
/** The MCP server: its flags here, the server itself in src/mcp (cli.ts joins the two). */
export interface ServeCommand {
  usage: string;
  parseServeFlags(args: string[]): Flags;
}

interface Row {
  name: string;
  /** What follows the name in the overview (positionals), if anything. */
  args?: string;
  /** One line for the overview; the module's `usage` is the full help. */
  summary: string;
}
export type CommandEntry = Row &
  (
    | { kind: 'context'; load: () => Promise<ContextCommand> }
    | { kind: 'standalone'; load: () => Promise<StandaloneCommand> }
    | { kind: 'serve'; load: () => Promise<ServeCommand> }
  );

/** In the order --help lists them; the first is the default command. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'serve',
    kind: 'serve',
    summary: 'MCP over stdio (the default); --http [--host H] [--port P] [--stateless] for Streamable HTTP at /mcp',
    load: () => import('./serve-flags.js'),
  },
  {
    name: 'model-search',
    kind: 'context',
    summary: 'find models by capability or name (--capability ID | --search TEXT ...)',
    load: () => import('./model-search.js'),
  },
  {
    name: 'model-info',
    args: 'MODEL',
    kind: 'context',
    summary: 'what a model takes: parameters, delivery, docs, pricing, examples',
    load: () => import('./model-info.js'),
  },
  {
    name: 'text-to-image',
    kind: 'context',
    summary: 'generate images            (--prompt TEXT ... [--out DIR])',
    load: () => import('./text-to-image.js'),
  },
  {
    name: 'run',
    args: 'MODEL',
    kind: 'context',
    summary: 'one task for any model     (--param K=V ... | --params-file F) [--out DIR]',
    load: () => import('./run.js'),
  },
  {
    name: 'upload',
    args: 'PATH',
    kind: 'context',
    summary: 'store a local media file with Runware; prints its mediaUUID',
    load: () => import('./upload.js'),
  },
  {
    name: 'raw',
    args: 'FILE|-',
    kind: 'context',
    summary: 'send a JSON task array under the rules',
    load: () => import('./raw.js'),
  },
  {
    name: 'poll',
    args: 'TASK_UUID',
    kind: 'context',
    summary: 'any earlier task           ([--wait S] [--out DIR])',
    load: () => import('./poll.js'),
  },
  {
    name: 'tasks',
    kind: 'context',
    summary: 'recent tasks from the journal ([--status S] [--since T] [--model AIR] [--limit N])',
    load: () => import('./tasks.js'),
  },
  {
    name: 'task',
    args: 'TASK_UUID',
    kind: 'context',
    summary: "one task's journal record",
    load: () => import('./task.js'),
  },
  {
    name: 'account',
    kind: 'context',
    summary: 'balance, spend today and in total, the daily cap',
    load: () => import('./account.js'),
  },
  {
    name: 'runway-task',
    args: 'ID',
    kind: 'context',
    summary: 'look up a Runway task      ([--provider P] [--wait S])',
    load: () => import('./runway-task.js'),
  },
  {
    name: 'runway-accounts',
    kind: 'context',
    summary: 'useapi.net Runway accounts (secrets removed)',
    load: () => import('./runway-accounts.js'),
  },
  {
    name: 'simulator',
    kind: 'standalone',
    summary: 'run the built-in simulator ([--port N])',
    load: () => import('./simulator.js'),
  },
  {
    name: 'studio',
    kind: 'context',
    summary: 'the media studio as a local web page on loopback ([--port N]); prints its URL',
    load: () => import('./studio.js'),
  },
];

export const DEFAULT_COMMAND = COMMANDS[0]!;

export const commandNamed = (name: string): CommandEntry | undefined => COMMANDS.find((c) => c.name === name);

/** The overview's command lines: the name and its arguments in one column, the summary in the next. */
export function commandLines(): string {
  return COMMANDS.map((c) => `  ${`${c.name}${c.args ? ` ${c.args}` : ''}`.padEnd(22)}${c.summary}`).join('\n');
}

/** The command a mistyped name most likely meant: a prefix, or at most two edits away. */
export function closestCommand(typed: string): string | undefined {
  const t = typed.toLowerCase();
  const prefixed = COMMANDS.filter((c) => c.name.startsWith(t) || t.startsWith(c.name));
  if (prefixed.length === 1) return prefixed[0]!.name;
  let best: { name: string; d: number } | undefined;
  for (const c of COMMANDS) {
    const d = editDistance(t, c.name);
    if (d <= 2 && (!best || d < best.d)) best = { name: c.name, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
