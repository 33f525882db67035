#!/usr/bin/env node
// The main job, with no key: start the built server with --simulate over stdio and,
// through MCP, search models, generate an image saved to disk, and run an async task
// polled to completion. Prints what happened; files land in ./runware-output-demo.
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = new URL('..', import.meta.url).pathname;
const outDir = resolve(process.env.RUNWARE_OUTPUT_DIR ?? 'runware-output-demo');
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [resolve(root, 'dist/cli.js'), '--simulate'],
  env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    RUNWARE_OUTPUT_DIR: outDir,
    RUNWARE_LOG_LEVEL: 'warning',
  },
  stderr: 'inherit',
});
const client = new Client({ name: 'runware-demo', version: '1.0.0' });
await client.connect(transport);
const say = (s) => process.stdout.write(`${s}\n`);
const call = async (name, args, onprogress) => {
  const r = await client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress } : {});
  if (r.isError) throw new Error(`${name} failed: ${r.content.map((c) => c.text).join(' ')}`);
  return r.structuredContent;
};

say(
  `Connected to ${client.getServerVersion()?.name} ${client.getServerVersion()?.version} (simulator; no API key needed)`,
);
say(`Tools: ${(await client.listTools()).tools.map((t) => t.name).join(', ')}\n`);

const search = await call('runware_model_search', { search: 'flux', category: 'checkpoint', limit: 3 });
say(`1. runware_model_search "flux": ${search.totalResults} models, first ${search.results.length}:`);
for (const m of search.results)
  say(
    `   ${m.air.padEnd(16)} ${m.name} (${m.architecture}, ${m.defaultWidth}x${m.defaultHeight}, ${m.defaultSteps} steps)`,
  );

const img = await call(
  'runware_text_to_image',
  {
    prompt: 'a lighthouse on a cliff at dusk',
    model: search.results[0].air,
    width: 768,
    height: 512,
    outputFormat: 'PNG',
    saveTo: 'demo/',
  },
  (p) => process.stdout.write(`\r   progress ${String(Math.round(p.progress)).padStart(3)}%`),
);
say(`\n2. runware_text_to_image: ${img.status}, taskUUID ${img.taskUUID}, cost $${img.cost}`);
say(
  `   saved ${img.images[0].savedTo} (${img.images[0].format}, ${img.images[0].bytes} bytes, seed ${img.images[0].seed})`,
);

const submitted = await call('runware_text_to_image', {
  prompt: 'a tall ship in a storm',
  numberResults: 2,
  steps: 60,
  waitSeconds: 0,
});
say(`3. async: runware_text_to_image with waitSeconds 0 -> ${submitted.status}, taskUUID ${submitted.taskUUID}`);
const done = await call('runware_poll', { taskUUID: submitted.taskUUID, waitSeconds: 30, numberResults: 2 }, (p) =>
  process.stdout.write(`\r   progress ${String(Math.round(p.progress)).padStart(3)}%`),
);
say(`\n   runware_poll -> ${done.status} after ${done.polls} polls, ${done.results.length} images:`);
for (const r of done.results) say(`   ${r.imageURL}`);

const runway = await call('runway_get_task', { id: '2c8dec65-7882-494b-9365-d1418676cd62' });
say(
  `4. runway_get_task (makevid example) -> ${runway.provider}: ${runway.status}, ${runway.outputs[0].durationSec}s ${runway.outputs[0].width}x${runway.outputs[0].height}, link expires ${runway.outputs[0].expiresAt}`,
);

await client.close();
say('\nDone.');
