import { Simulator } from '../simulator/server.js';
import { int, num, parse } from './args.js';
import { printJson } from './output.js';

export const usage = `Usage: runware-mcp-server simulator [--port N] [--time-scale X]

Runs the built-in Runware/Runway simulator in the foreground on 127.0.0.1 and
prints its URLs and the credentials it accepts. Ctrl-C stops it.
Control: GET /__sim/log, POST /__sim/faults, POST /__sim/reset, POST /__sim/options.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { port: { type: 'string' }, 'time-scale': { type: 'string' } });
  const sim = new Simulator({ timeScale: num(values, 'time-scale', 0.001, 100) ?? 1 });
  const info = await sim.start(int(values, 'port', 0, 65535) ?? 0);
  const { apiKey: _k, runwaySecret: _r, useapiToken: _u, makevidKey: _m, ...urls } = info;
  printJson({ simulator: urls, env: { RUNWARE_API_URL: info.runwareUrl, RUNWARE_API_KEY: info.apiKey, RUNWAYML_API_URL: info.runwayUrl, RUNWAYML_API_SECRET: info.runwaySecret, USEAPI_API_URL: info.useapiUrl, USEAPI_API_TOKEN: info.useapiToken, MAKEVID_API_URL: info.makevidUrl, MAKEVID_API_KEY: info.makevidKey } });
  process.stderr.write('simulator running; press Ctrl-C to stop\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.stop();
  return 0;
}
