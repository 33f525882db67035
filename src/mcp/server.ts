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
import { CATALOG, registerTools } from './tools/index.js';
import { icon } from './catalog.js';
import { JournalTaskStore, taskStarter } from './tasks.js';

export const INSTRUCTIONS = `Runware generation (any model: image, video, audio, 3D, editing) and Runway task lookup.
Find a model by what it does: runware_model_search with capability (image-to-video, text-to-speech, upscale, ...) or a name -> its "air". Images: runware_text_to_image. Any other model: runware_model_info (its parameters and examples) -> runware_run with params by their API names; local file paths in media fields are uploaded. Both wait up to waitSeconds; on status "processing" call runware_poll with the taskUUID instead of running again (every run is billed). saveTo saves inside RUNWARE_OUTPUT_DIR or the client's roots.
runware_request sends raw task arrays. The server assigns every taskUUID and authenticates by itself: never put taskUUIDs you invent, apiKey fields or authentication tasks in a request.
Every isError result has structuredContent.error: kind (validation, policy, config, upstream, network, state, cancelled, internal), message, field or code, and next (what to do).
Errors are scoped per taskUUID; a batch can partly succeed. Validation, auth, credit, safety and spend-cap errors are final: fix the input. Transient errors were already retried.
runware_tasks lists what was generated (cost, files); runware_account shows balance, spend today and the daily cap.
Runway: runway_get_task looks up a video task by id (official API, useapi.net or makevid.ai); runway_list_accounts lists useapi.net accounts without secrets. Output URLs are signed and expire at expiresAt.`;

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
}

export function createServer(app: AppContext, opts: CreateOptions = { exclusive: true }): CreatedServer {
  const log = app.logger.child('mcp');
  const taskStore = new JournalTaskStore(app, log.child('tasks'));
  const server = new McpServer(
    { name: 'runware-mcp-server', title: 'Runware', version: app.config.version, icons: icon('server') },
    {
      capabilities: { logging: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      instructions: INSTRUCTIONS,
      taskStore,
    },
  );
  const owner = Symbol('mcp-session');
  harden(server, { ...(opts.exclusive ? {} : { owner }), catalog: CATALOG, tasks: taskStarter(taskStore, server.server, log.child('tasks')) });
  const roots = new Roots(app.config.outputDir, app.config.defaultOutputDir, server.server, log);
  registerTools({ server, app, roots, log, previewMaxBytes: app.config.previewMaxBytes, confirmProgress: opts.exclusive === true });
  const stopResourceNotes = registerResources(server, app, roots);
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
      .sendLoggingMessage({ level: r.level, logger: r.scope, data: r.data ? { message: r.message, ...r.data } : r.message })
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
