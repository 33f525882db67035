import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_TASKS } from '../simulator/runway.js';
import { Simulator } from '../simulator/server.js';
import { int, num, parse } from './args.js';
import { printJson, printText } from './output.js';

export const usage = `Usage: runware-mcp-server simulator [--port N] [--time-scale X] [--shell]

Runs the built-in Runware/Runway simulator in the foreground on 127.0.0.1 and
prints, as JSON, its URLs and the environment that points the server or CLI at it
("env": its URLs, the credentials it accepts, and a journal folder of its own, so
simulated tasks and their made-up costs never reach your real journal). Put that
env in an MCP client's config, or run with --shell to print it as export lines
instead, for: eval "$(runware-mcp-server simulator --shell)" in a second terminal
(the simulator keeps running in the first). Ctrl-C stops it and removes its journal.
Its images are placeholder gradients and its costs are made up.

Runway task ids that always work (here and with --simulate):
  official API  ${EXAMPLE_TASKS.runway.succeeded}  (succeeded)
                ${EXAMPLE_TASKS.runway.failed}  (failed: moderated)
  useapi.net    ${EXAMPLE_TASKS.useapi.succeeded}
  makevid.ai    ${EXAMPLE_TASKS.makevid.succeeded}  (makevid's documented example)

Control endpoints (JSON):
  POST /__sim/runway/tasks     {"provider":"runway|useapi|makevid","scenario":"success|throttled|safety|badOutput","durationMs":12000}
                               makes a Runway task whose clock starts now (or, with "clockAt":
                               0..1, stays frozen at that share of its duration); answers {"id"}
  POST /__sim/runway/clock     {"id","at":0..1} freezes a task's clock there; without "at" it runs on
  POST /__sim/runway/accounts  {"email","password","maxJobs","jwtToken"} adds a useapi.net account
  POST /__sim/faults           queue faults for the next Runware requests (see docs/recovery.md)
  POST /__sim/options          the UNKNOWN-behaviour switches (see docs/recovery.md)
  POST /__sim/reset            forget tasks, faults and the log;  GET /__sim/log  what was sent`;

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' },
    'time-scale': { type: 'string' },
    shell: { type: 'boolean' },
  });
  const sim = new Simulator({ timeScale: num(values, 'time-scale', 0.001, 100) ?? 1 });
  const info = await sim.start(int(values, 'port', 0, 65535) ?? 0);
  const { apiKey: _k, runwaySecret: _r, useapiToken: _u, makevidKey: _m, ...urls } = info;
  // Its own journal: tasks recorded against this simulator are not real ones.
  const stateDir = mkdtempSync(join(tmpdir(), 'runware-simulator-state-'));
  const env = {
    RUNWARE_API_URL: info.runwareUrl,
    RUNWARE_WS_URL: info.wsUrl,
    RUNWARE_API_KEY: info.apiKey,
    RUNWARE_SCHEMAS_URL: info.schemasUrl,
    RUNWARE_CONTENT_URL: info.contentUrl,
    RUNWAYML_API_URL: info.runwayUrl,
    RUNWAYML_API_SECRET: info.runwaySecret,
    USEAPI_API_URL: info.useapiUrl,
    USEAPI_API_TOKEN: info.useapiToken,
    MAKEVID_API_URL: info.makevidUrl,
    MAKEVID_API_KEY: info.makevidKey,
    RUNWARE_STATE_DIR: stateDir,
  };
  if (values.shell)
    printText(
      Object.entries(env)
        .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`)
        .join('\n'),
    );
  else printJson({ simulator: urls, env });
  process.stderr.write('simulator running; press Ctrl-C to stop\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.stop();
  rmSync(stateDir, { recursive: true, force: true });
  return 0;
}
