#!/usr/bin/env node
/**
 * Entry point: global flags, then a subcommand (default: serve over stdio).
 * In stdio mode nothing but MCP messages may reach stdout.
 */
import { loadConfig, withSimulator, VERSION, type Config, type Flags } from './config.js';
import { UsageError, printText, reportError } from './commands/output.js';
import { AppContext } from './services/context.js';
import { setCliInvocation } from './commands/next-step.js';
import { adoptUnfinished, type Adopter } from './services/simulated.js';
import { Logger, stderrSink } from './shared/log.js';

const COMMANDS = ['serve', 'model-search', 'model-info', 'text-to-image', 'run', 'upload', 'raw', 'poll', 'tasks', 'task', 'account', 'runway-task', 'runway-accounts', 'simulator', 'studio'] as const;
type Command = (typeof COMMANDS)[number];

const HELP = `runware-mcp-server ${VERSION}: an MCP server and CLI for Runware generation and Runway task lookup.

Usage: runware-mcp-server [global flags] [command] [command flags]

Commands:
  serve                 MCP over stdio (the default); --http [--host H] [--port P] [--stateless] for Streamable HTTP at /mcp
  model-search          find models by capability or name (--capability ID | --search TEXT ...)
  model-info MODEL      what a model takes: parameters, delivery, docs, pricing, examples
  text-to-image         generate images            (--prompt TEXT ... [--out DIR])
  run MODEL             one task for any model     (--param K=V ... | --params-file F) [--out DIR]
  upload PATH           store a local media file with Runware; prints its mediaUUID
  raw FILE|-            send a JSON task array under the rules
  poll TASK_UUID        any earlier task           ([--wait S] [--out DIR])
  tasks                 recent tasks from the journal ([--status S] [--since T] [--model AIR] [--limit N])
  task TASK_UUID        one task's journal record
  account               balance, spend today and in total, the daily cap
  runway-task ID        look up a Runway task      ([--provider P] [--wait S])
  runway-accounts       useapi.net Runway accounts (secrets removed)
  simulator             run the built-in simulator ([--port N])
  studio                the media studio as a local web page on loopback ([--port N]); prints its URL

Global flags:
  --simulate            start the simulator in-process and point every client at it (no key needed)
  --transport rest|ws   Runware transport (default rest)
  --help, --version

Each command has --help. Configuration is read from the environment (see README).`;

interface Parsed {
  command: Command;
  rest: string[];
  flags: Flags;
}

export function parseGlobal(argv: string[]): Parsed | 'help' | 'version' {
  const flags: Flags = {};
  const rest: string[] = [];
  let command: Command | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--simulate') flags.simulate = true;
    else if (a === '--transport' || a.startsWith('--transport=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new UsageError('--transport needs a value: rest or ws');
      flags.transport = v;
    } else if (!command && (a === '--help' || a === '-h')) return 'help';
    else if (!command && (a === '--version' || a === '-v')) return 'version';
    else if (!command && !a.startsWith('-')) {
      if (!(COMMANDS as readonly string[]).includes(a)) throw new UsageError(`unknown command "${a}"; commands: ${COMMANDS.join(', ')}`);
      command = a as Command;
    } else rest.push(a);
  }
  return { command: command ?? 'serve', rest, flags };
}

async function withOptionalSimulator<T>(config: Config, fn: (config: Config, sim?: Adopter) => Promise<T>): Promise<T> {
  if (!config.simulate) return fn(config);
  const { Simulator } = await import('./simulator/server.js');
  const sim = new Simulator({ timeScale: config.simTimeScale });
  const info = await sim.start();
  try {
    return await fn(withSimulator(config, info), sim.runware);
  } finally {
    await sim.stop();
  }
}

/** Set once argv is known to start the stdio server, whose stdout carries nothing but MCP. */
let servingStdio = false;

async function main(argv: string[]): Promise<number> {
  const parsed = parseGlobal(argv);
  if (parsed === 'help') {
    printText(HELP);
    return 0;
  }
  if (parsed === 'version') {
    printText(VERSION);
    return 0;
  }
  const { command, rest, flags } = parsed;
  const mod = await loadCommand(command);
  if (rest.includes('--help') || rest.includes('-h')) {
    printText(mod.usage);
    return 0;
  }
  if (command === 'simulator') return (mod as typeof import('./commands/simulator.js')).run(rest);
  if (command === 'serve') {
    // From here on stdout is MCP's (unless --http): a start-up error goes to stderr only.
    servingStdio = !rest.includes('--http');
    const serveFlags = (mod as typeof import('./commands/serve-flags.js')).parseServeFlags(rest);
    const config = loadConfig(process.env, { ...flags, ...serveFlags });
    const code = await (await import('./mcp/serve.js')).serve(config);
    // The server has shut down (stdin closed, or SIGINT/SIGTERM): exit now, even if the
    // parent still holds our stdin open or a keep-alive socket lingers.
    process.exit(code);
  }
  const config = loadConfig(process.env, flags);
  setCliInvocation({ simulate: config.simulate && flags.simulate === true, ...(flags.transport ? { transport: flags.transport } : {}) });
  const logger = new Logger(config.logLevel);
  logger.addSink(stderrSink);
  return withOptionalSimulator(config, async (cfg, sim) => {
    const ctx = new AppContext(cfg, logger, 'cli');
    try {
      if (sim) await adoptUnfinished(ctx, sim);
      return await (mod as { run(ctx: AppContext, args: string[]): Promise<number> }).run(ctx, rest);
    } finally {
      await ctx.close();
    }
  });
}

async function loadCommand(c: Command): Promise<{ usage: string; run?: unknown }> {
  switch (c) {
    case 'serve':
      return import('./commands/serve-flags.js');
    case 'model-search':
      return import('./commands/model-search.js');
    case 'model-info':
      return import('./commands/model-info.js');
    case 'text-to-image':
      return import('./commands/text-to-image.js');
    case 'run':
      return import('./commands/run.js');
    case 'upload':
      return import('./commands/upload.js');
    case 'raw':
      return import('./commands/raw.js');
    case 'poll':
      return import('./commands/poll.js');
    case 'tasks':
      return import('./commands/tasks.js');
    case 'task':
      return import('./commands/task.js');
    case 'account':
      return import('./commands/account.js');
    case 'runway-task':
      return import('./commands/runway-task.js');
    case 'runway-accounts':
      return import('./commands/runway-accounts.js');
    case 'simulator':
      return import('./commands/simulator.js');
    case 'studio':
      return import('./commands/studio.js');
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = reportError(e, { stdout: !servingStdio });
  },
);
