#!/usr/bin/env node
// `npm run bundle:mcpb`: a Claude Desktop bundle (.mcpb, manifest 0.4) of the built bin.
// The bundle holds what the packed npm package holds (the bin, its bundle and code cache)
// plus the modules the bundle loads from node_modules (undici, better-sqlite3, redis,
// sharp) and their dependencies, copied from this install. better-sqlite3 and sharp are native, so a
// bundle is for this platform and architecture; its name says which. The tool list in
// the manifest is read from the built server itself (tools/list), so it cannot drift.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const stage = join(root, 'build', 'mcpb');
const outDir = join(root, 'build');
// sharp brings its platform packages (@img/sharp-<platform>, libvips) as installed here.
const EXTERNALS = ['undici', 'better-sqlite3', 'redis', 'sharp'];
const out = join(outDir, `${pkg.name}-${pkg.version}-${process.platform}-${process.arch}.mcpb`);

/** The built server's tools, over MCP stdio. */
async function listTools() {
  const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), '--simulate'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  let buf = '';
  const answers = new Map();
  child.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
      const m = JSON.parse(buf.slice(0, i));
      answers.get(m.id)?.(m);
    }
  });
  const rpc = (id, method, params) =>
    new Promise(
      (resolve) => (
        answers.set(id, resolve),
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
      ),
    );
  await rpc(1, 'initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'mcpb-build', version: '0' },
  });
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  const { result } = await rpc(2, 'tools/list', {});
  child.stdin.end();
  child.kill();
  return result.tools.map((t) => ({ name: t.name, description: t.description.split(/(?<=\.)\s/)[0] }));
}

/** A package and everything it depends on, from the (hoisted) node_modules. */
function closure(names, seen = new Set()) {
  for (const name of names) {
    if (seen.has(name)) continue;
    const dir = join(root, 'node_modules', name);
    if (!existsSync(dir)) throw new Error(`${name} is not installed; run npm ci first`);
    seen.add(name);
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    closure(
      Object.keys({ ...p.dependencies, ...p.optionalDependencies }).filter((d) =>
        existsSync(join(root, 'node_modules', d)),
      ),
      seen,
    );
  }
  return seen;
}

const secret = (title, description) => ({ type: 'string', title, description, sensitive: true, required: false });
const manifest = {
  manifest_version: '0.4',
  name: pkg.name,
  display_name: 'Runware',
  version: pkg.version,
  description: 'Generate images, video, audio and 3D with any Runware model, and look up Runway video tasks.',
  long_description:
    'An MCP server for the Runware API: any model, checked against its live schema, with fresh task UUIDs, retries that never bill a task twice, bounded waits with progress, a task journal and an optional daily spend cap. Also looks up Runway video tasks (official API, useapi.net, makevid.ai). Without a key, set "Simulate" to try everything against the built-in simulator.',
  author: { name: `${pkg.name} contributors` },
  license: pkg.license,
  keywords: pkg.keywords,
  server: {
    type: 'node',
    entry_point: 'dist/cli.js',
    mcp_config: {
      command: 'node',
      args: ['${__dirname}/dist/cli.js'],
      env: {
        RUNWARE_API_KEY: '${user_config.runware_api_key}',
        RUNWARE_OUTPUT_DIR: '${user_config.output_dir}',
        RUNWARE_INPUT_DIRS: '${user_config.input_dir}',
        RUNWARE_MAX_SPEND_USD: '${user_config.max_spend_usd}',
        RUNWAYML_API_SECRET: '${user_config.runway_api_secret}',
        USEAPI_API_TOKEN: '${user_config.useapi_api_token}',
        MAKEVID_API_KEY: '${user_config.makevid_api_key}',
        RUNWARE_SIMULATE: '${user_config.simulate}',
      },
    },
  },
  tools: await listTools(),
  // The prompts (generate_image, image_to_video, find_model, check_task) are built per call from their arguments.
  prompts_generated: true,
  compatibility: { platforms: [process.platform], runtimes: { node: pkg.engines.node } },
  user_config: {
    runware_api_key: {
      ...secret('Runware API key', 'From my.runware.ai → API Keys. Leave empty only with Simulate on.'),
      required: false,
    },
    output_dir: {
      type: 'directory',
      title: 'Output folder',
      description: 'Where generated files are saved (relative saveTo paths resolve here).',
      required: false,
      default: '${HOME}/Pictures/runware',
    },
    input_dir: {
      type: 'directory',
      title: 'Input folder',
      description:
        'Optional: another folder local input files may come from (relative paths are looked for in the output folder, then here).',
      required: false,
    },
    max_spend_usd: {
      type: 'number',
      title: 'Daily spend cap (USD)',
      description: "Billable tasks are refused once today's spend would pass it. Empty: no cap.",
      required: false,
      min: 0,
    },
    runway_api_secret: secret('Runway API secret', 'Optional: the official Runway API (dev.runwayml.com).'),
    useapi_api_token: secret('useapi.net token', 'Optional: Runway through useapi.net.'),
    makevid_api_key: secret('makevid.ai key', 'Optional: Runway through makevid.ai.'),
    simulate: {
      type: 'boolean',
      title: 'Simulate',
      description: 'Use the built-in simulator: no key, nothing billed, placeholder images.',
      required: false,
      default: false,
    },
  },
};

rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'dist'), { recursive: true });
for (const f of ['cli.js', 'load-bundle.cjs', 'runware-mcp-server.cjs', 'runware-mcp-server.cjs.cache', 'studio.html'])
  cpSync(join(root, 'dist', f), join(stage, 'dist', f));
for (const f of ['README.md', 'LICENSE']) cpSync(join(root, f), join(stage, f));
writeFileSync(
  join(stage, 'package.json'),
  `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', license: pkg.license, private: true }, null, 2)}\n`,
);
for (const name of closure(EXTERNALS)) {
  const to = join(stage, 'node_modules', name);
  mkdirSync(dirname(to), { recursive: true });
  // better-sqlite3's C sources and build intermediates are not needed at run time.
  cpSync(join(root, 'node_modules', name), to, {
    recursive: true,
    filter: (src) =>
      !/[\\/]better-sqlite3[\\/](deps|src|build[\\/](Release[\\/])?(obj|obj\.target|\.deps|test_extension\.node))($|[\\/])/.test(
        src,
      ),
  });
}
writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const mcpb = join(root, 'node_modules', '.bin', 'mcpb');
for (const args of [
  ['validate', join(stage, 'manifest.json')],
  ['pack', stage, out],
]) {
  const r = spawnSync(mcpb, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`mcpb ${args[0]} failed:\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
}
process.stdout.write(`${out}\n`);
