/**
 * createServer(app): one McpServer with the tools, instructions, logging
 * (retries, reconnects and refusals go out as MCP log messages, scrubbed),
 * the client's roots for saving files, the journal as resources, prompts with
 * completions, and task-augmented calls for the long tools.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { AppContext } from '../services/context.js';
import { harden } from './harden.js';
import { Roots } from './roots.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { registerStudio } from './studio.js';
import { catalogOf, toolGuide, type ToolDefinition } from './tools/define.js';
import { TOOLS, registerTools } from './tools/index.js';
import { icon } from './catalog.js';
import { JournalTaskStore, taskStarter } from './tasks.js';

/**
 * The server instructions: how the tools work together and the rules, then the
 * tool list, a line per registered tool from its definition (its `guide`).
 */
export function instructionsFor(tools: readonly ToolDefinition[]): string {
  return `Runware generation (any model: image, video, audio, 3D, editing) and Runway task lookup.
Find a model with runware_model_search -> its "air". Images: runware_text_to_image; any other model: runware_model_info -> runware_run. Both wait up to waitSeconds; on status "processing" call runware_poll with the taskUUID instead of running again (every run is billed). saveTo saves inside RUNWARE_OUTPUT_DIR or the client's roots.
The server assigns every taskUUID and authenticates by itself: never put taskUUIDs you invent, apiKey fields or authentication tasks in a request.
Every isError result has structuredContent.error: kind (validation, policy, config, upstream, network, state, cancelled, internal), message, field or code, and next (what to do).
Errors are scoped per taskUUID; a batch can partly succeed. Validation, auth, credit, safety and spend-cap errors are final: fix the input. Transient errors were already retried.
Code confirmation_required: the task is quoted at quoteUsd; ask the user, and if they agree call again with confirmCostUsd set to at least quoteUsd.
Tools:
${toolGuide(tools)}`;
}

export interface CreatedServer {
  server: McpServer;
  /** Stops forwarding logs to this server. */
  dispose: () => void;
}

export interface CreateOptions {
  /**
   * One client per process (stdio): every log record goes to it. Otherwise
   * (HTTP) a session gets only the records of its own work.
   */
  exclusive?: boolean;
  /** The tools to serve (tests add a definition here); by default every definition in tools/. */
  tools?: readonly ToolDefinition[];
}

export function createServer(app: AppContext, opts: CreateOptions = { exclusive: true }): CreatedServer {
  const log = app.logger.child('mcp');
  const tools = opts.tools ?? TOOLS;
  // Over HTTP with a token, a reconnect (a new session of the same token) still reaches its tasks by id.
  const taskStore = new JournalTaskStore(
    app,
    log.child('tasks'),
    opts.exclusive ? {} : { ...(app.config.http.token ? { token: app.config.http.token } : {}) },
  );
  const server = new McpServer(
    { name: 'runware-mcp-server', title: 'Runware', version: app.config.version, icons: icon('server') },
    {
      capabilities: { logging: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      instructions: instructionsFor(tools),
      taskStore,
    },
  );
  const owner = Symbol('mcp-session');
  harden(server, {
    ...(opts.exclusive ? {} : { owner }),
    catalog: catalogOf(tools),
    tasks: taskStarter(taskStore, server.server, log.child('tasks')),
  });
  const roots = new Roots(app.config.outputDir, app.config.defaultOutputDir, server.server, log);
  registerTools(
    { server, app, roots, log, previewMaxBytes: app.config.previewMaxBytes, confirmProgress: opts.exclusive === true },
    tools,
  );
  const stopResourceNotes = registerResources(server, app, roots);
  registerStudio(server);
  registerPrompts(server, app);

  let connected = false;
  server.server.oninitialized = () => {
    connected = true;
  };
  // Roots are asked for by the first call that needs them (see roots.ts), then kept until they change.
  server.server.setNotificationHandler(RootsListChangedNotificationSchema, () => roots.invalidate());
  const removeSink = app.logger.addSink((r) => {
    if (!connected) return;
    if (!opts.exclusive && r.owner !== owner) return;
    // Records are already scrubbed by the logger.
    void server.server
      .sendLoggingMessage({
        level: r.level,
        logger: r.scope,
        data: r.data ? { message: r.message, ...r.data } : r.message,
      })
      .catch(() => undefined);
  });
  return {
    server,
    dispose: () => {
      connected = false;
      removeSink();
      stopResourceNotes();
    },
  };
}
