/** `serve`: MCP over stdio (default) or Streamable HTTP, optionally against the simulator. Its flags are parsed by commands/serve-flags.ts. */
import { realpathSync } from 'node:fs';
import { withSimulator, type Config } from '../config.js';
import { AppContext } from '../services/context.js';
import { adoptUnfinished, type Adopter } from '../services/simulated.js';
import { Logger, stderrSink } from '../shared/log.js';
import { createServer } from './server.js';
import { SafeStdioTransport } from './stdio.js';

/**
 * How this very server is started, for the banner: `npx -y runware-mcp-server`
 * when it runs from an installed package (node_modules, npx's cache), else
 * `node` and the absolute path of the bin it was started from (a clone).
 */
export function launchCommand(entry = process.argv[1] ?? ''): { command: string; args: string[] } {
  let path = entry;
  try {
    path = realpathSync(entry);
  } catch {
    // Keep the path as given.
  }
  return /[\\/]node_modules[\\/]/.test(path) || !path
    ? { command: 'npx', args: ['-y', 'runware-mcp-server'] }
    : { command: 'node', args: [path] };
}

function howToConnect(): string {
  const { command, args } = launchCommand();
  const line = [command, ...args].map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return `runware-mcp-server speaks MCP on stdin/stdout; it is meant to be started by an MCP client.
  Claude Code:    claude mcp add runware -e RUNWARE_API_KEY=... -- ${line}
  Claude Desktop: add ${JSON.stringify({ command, args, env: { RUNWARE_API_KEY: '...' } })} under "mcpServers"
  Try it:         npx -y -p node@22 -p @modelcontextprotocol/inspector@2 mcp-inspector --cli ${line} --simulate -- --method tools/list
Waiting for MCP messages on stdin (Ctrl-C to quit).
`;
}

export async function serve(baseConfig: Config): Promise<number> {
  const logger = new Logger(baseConfig.logLevel);
  logger.addSink(stderrSink);
  let config = baseConfig;
  let stopSim: (() => Promise<void>) | undefined;
  let adopter: Adopter | undefined;
  if (config.simulate) {
    const { Simulator } = await import('../simulator/server.js');
    const sim = new Simulator({ timeScale: config.simTimeScale });
    config = withSimulator(config, await sim.start());
    stopSim = () => sim.stop();
    adopter = sim.runware;
    logger.info(`simulator running at ${sim.info.url}; no real API is called`);
  }
  const app = new AppContext(config, logger);
  // Tasks an earlier simulated session left running finish here (services/simulated.ts).
  if (adopter) await adoptUnfinished(app, adopter);
  const shutdown = async (): Promise<void> => {
    await app.close().catch(() => undefined);
    await stopSim?.().catch(() => undefined);
  };

  if (config.http.enabled) {
    try {
      const { startHttp } = await import('./http.js');
      const h = await startHttp(app);
      const how = [
        config.http.token ? 'bearer token required' : '',
        config.http.stateless ? 'stateless' : '',
        config.stateUrl ? 'state shared through Redis' : '',
      ]
        .filter(Boolean)
        .join(', ');
      process.stderr.write(`runware-mcp-server: MCP over Streamable HTTP at ${h.url}${how ? ` (${how})` : ''}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await h.close();
    } finally {
      await shutdown();
    }
    return 0;
  }

  if (process.stdin.isTTY) process.stderr.write(howToConnect());
  if (!config.runware.apiKey)
    logger.warn('RUNWARE_API_KEY is not set: Runware tools will explain how to set it (or start with --simulate).');
  const { server, dispose } = createServer(app);
  const transport = new SafeStdioTransport(logger.child('stdio'));
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.connect(transport);
  await closed;
  dispose();
  await server.close().catch(() => undefined);
  await shutdown();
  return 0;
}
