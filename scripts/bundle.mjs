#!/usr/bin/env node
// The shipped bin: src/cli.ts and everything it loads at start-up in one CommonJS
// file (dist/runware-mcp-server.cjs), plus a V8 code cache for it made here, so a
// cold start neither walks ~250 ESM modules nor compiles them. What is lazy stays
// lazy: modules reached by `await import()` are bundled as functions that run on
// first use, and the heavy or native packages (undici, better-sqlite3, redis) are
// left out and required from node_modules when needed. dist/cli.js loads it.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist', 'runware-mcp-server.cjs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// The studio page (an MCP App, and the local page): its script bundled for the browser and
// inlined into one self-contained HTML file. The server reads it only when it is asked for.
const page = await build({
  entryPoints: [join(root, 'src', 'ui', 'studio.ts')],
  bundle: true,
  write: false,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
// Inline: nothing in the script may close the <script> element (or open an HTML comment in it).
const script = page.outputFiles[0].text.replace(/<\/(script)/gi, '<\\/$1');
if (/<!--/.test(script)) throw new Error('the studio script holds "<!--", which an inline <script> cannot');
const template = readFileSync(join(root, 'src', 'ui', 'studio.html'), 'utf8');
writeFileSync(
  join(root, 'dist', 'studio.html'),
  template.replace('/*STUDIO_SCRIPT*/', () => script),
);

const result = await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.18',
  // Native, large, or needed only by some deployments: loaded from node_modules on first use.
  external: ['better-sqlite3', 'redis', 'undici', 'sharp'],
  // A dynamic import() of an external becomes a require(): the bundle runs inside vm.Script, which has no ESM loader.
  supported: { 'dynamic-import': false },
  // import.meta.url in a CommonJS file: the bundle's own URL.
  define: { 'import.meta.url': '__bundle_url' },
  banner: { js: `"use strict";\nconst __bundle_url = require("node:url").pathToFileURL(__filename).href;` },
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

// The loader: compiles the bundle with the code cache when this Node's V8 accepts it.
writeFileSync(
  join(root, 'dist', 'cli.js'),
  `#!/usr/bin/env node
// runware-mcp-server ${pkg.version}: loads the bundle (runware-mcp-server.cjs) with its V8 code cache.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
require('./load-bundle.cjs');
`,
);
writeFileSync(
  join(root, 'dist', 'load-bundle.cjs'),
  `"use strict";
// Compiles the bundle from its V8 code cache (made at build time by this Node's V8); a cache
// from another V8 is rejected by V8 itself and the bundle compiles as usual.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');
const file = path.join(__dirname, 'runware-mcp-server.cjs');
// A hashbang is not JavaScript inside the module wrapper: it becomes a comment (same line numbers).
const text = fs.readFileSync(file, 'utf8');
const source = text.startsWith('#!') ? '//' + text.slice(2) : text;
let cachedData;
try { cachedData = fs.readFileSync(file + '.cache'); } catch {}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(path.dirname(file));
const req = Module.createRequire(file);
script.runInThisContext()(mod.exports, req, mod, file, path.dirname(file));
if (process.env.RUNWARE_BUNDLE_CACHE_WRITE === '1') {
  // Build time: when the warm-up run exits, the cache covers what start-up compiled too.
  process.once('exit', () => fs.writeFileSync(file + '.cache', script.createCachedData()));
}
`,
);

// The cache: serve once over stdio (initialize, tools/list), then keep what V8 compiled for it.
rmSync(`${out}.cache`, { force: true });
const hello =
  [
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bundle', version: '0' } },
    },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
  ]
    .map((m) => JSON.stringify(m))
    .join('\n') + '\n';
const warm = spawnSync(process.execPath, [join(root, 'dist', 'cli.js')], {
  input: hello,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNWARE_BUNDLE_CACHE_WRITE: '1',
    RUNWARE_LOG_LEVEL: 'error',
    RUNWARE_STATE_DIR: join(root, 'dist', '.cache-warm'),
  },
  encoding: 'utf8',
  timeout: 20_000,
});
rmSync(join(root, 'dist', '.cache-warm'), { recursive: true, force: true });
if (!/"tools"/.test(warm.stdout)) throw new Error(`the bundle did not serve tools/list: ${warm.stderr}`);
const size = (f) => readFileSync(f).length;
const inputs = Object.keys(result.metafile.inputs).length;
process.stderr.write(`studio: dist/studio.html (${Math.round(size(join(root, 'dist', 'studio.html')) / 1024)} KiB)\n`);
process.stderr.write(
  `bundle: ${inputs} modules -> dist/runware-mcp-server.cjs (${Math.round(size(out) / 1024)} KiB), code cache ${Math.round(size(`${out}.cache`) / 1024)} KiB\n`,
);
