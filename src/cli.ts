#!/usr/bin/env node
/**
 * Entry point: global flags, then a subcommand (default: serve over stdio).
 * In stdio mode nothing but MCP messages may reach stdout.
 */
import { loadConfig, withSimulator, VERSION, type Config, type Flags } from './config.js';
import { UsageError, printText, reportError } from './commands/output.js';
import {
  closestCommand,
  commandLines,
  commandNamed,
  COMMANDS,
  DEFAULT_COMMAND,
  type CommandEntry,
} from './commands/table.js';
import { AppContext } from './services/context.js';
import { setCliInvocation } from './commands/next-step.js';
import { adoptUnfinished, type Adopter } from './services/simulated.js';
import { Logger, stderrSink } from './shared/log.js';

const HELP = `runware-mcp-server ${VERSION}: an MCP server and CLI for Runware generation and Runway task lookup.

Usage: runware-mcp-server [global flags] [command] [command flags]

Commands:
${commandLines()}

Global flags:
  --simulate            start the simulator in-process and point every client at it (no key needed)
  --transport rest|ws   Runware transport (default rest)
  --help, --version

Each command has --help. Configuration is read from the environment (see README).`;

interface Parsed {
  command: CommandEntry;
  rest: string[];
  flags: Flags;
}

export function parseGlobal(argv: string[]): Parsed | 'help' | 'version' {
  const flags: Flags = {};
  const rest: string[] = [];
  let command: CommandEntry | undefined;
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
      command = commandNamed(a);
      if (!command) {
        const meant = closestCommand(a);
        throw new UsageError(
          `unknown command "${a}"; ${meant ? `did you mean ${meant}? ` : ''}commands: ${COMMANDS.map((c) => c.name).join(', ')}`,
        );
      }
    } else rest.push(a);
  }
  return { command: command ?? DEFAULT_COMMAND, rest, flags };
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
  const help = (usage: string): boolean => {
    if (!rest.includes('--help') && !rest.includes('-h')) return false;
    printText(usage);
    return true;
  };
  if (command.kind === 'standalone') {
    const mod = await command.load();
    return help(mod.usage) ? 0 : mod.run(rest);
  }
  if (command.kind === 'serve') {
    const mod = await command.load();
    if (help(mod.usage)) return 0;
    // From here on stdout is MCP's (unless --http): a start-up error goes to stderr only.
    servingStdio = !rest.includes('--http');
    const config = loadConfig(process.env, { ...flags, ...mod.parseServeFlags(rest) });
    const code = await (await import('./mcp/serve.js')).serve(config);
    // The server has shut down (stdin closed, or SIGINT/SIGTERM): exit now, even if the
    // parent still holds our stdin open or a keep-alive socket lingers.
    process.exit(code);
  }
  const mod = await command.load();
  if (help(mod.usage)) return 0;
  const config = loadConfig(process.env, flags);
  setCliInvocation({
    simulate: config.simulate && flags.simulate === true,
    ...(flags.transport ? { transport: flags.transport } : {}),
  });
  const logger = new Logger(config.logLevel);
  logger.addSink(stderrSink);
  return withOptionalSimulator(config, async (cfg, sim) => {
    const ctx = new AppContext(cfg, logger, 'cli');
    try {
      if (sim) await adoptUnfinished(ctx, sim);
      return await mod.run(ctx, rest);
    } finally {
      await ctx.close();
    }
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = reportError(e, { stdout: !servingStdio });
  },
);
