#!/usr/bin/env node
// Runs the MCP conformance suite (v0.1.16, Node 22 via npx) against the built server's
// Streamable HTTP endpoint (with --simulate): every server scenario that applies to a
// production server. Scenarios that call the suite's own fixtures (tools such as
// test_simple_text, prompts such as test_simple_prompt, resources under test://) do not
// apply; each is listed with why. A scenario the suite has that is in neither list fails
// the run, so a new suite version forces a decision. Prints one line per scenario and
// "conformance: N passed, N failed"; exits 1 on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTool } from './npx-fetch.mjs';

const SUITE = ['node@22', '@modelcontextprotocol/conformance@0.1.16'];

/** Scenarios that apply: each must pass with no failed check. */
const APPLICABLE = {
  'server-initialize': 'the initialize handshake',
  ping: 'ping',
  'logging-set-level': 'logging/setLevel',
  'tools-list': 'tools/list, over our own tools',
  'resources-list': 'resources/list, over the journal (recent tasks, saved outputs)',
  'resources-subscribe': 'resources/subscribe (any URI may be watched)',
  'resources-unsubscribe': 'resources/unsubscribe',
  'prompts-list': 'prompts/list, over our own prompts',
  'server-sse-polling':
    'resumable streams: a priming event with an id and retry (its test_reconnection fixture is unknown here, a protocol error, so the disconnect check stays a warning)',
  'server-sse-multiple-streams': 'several POST streams at once in one session',
  'dns-rebinding-protection': 'Host and Origin checks',
};

/** Scenarios that call the suite's fixtures, which a production server does not have. */
const NOT_APPLICABLE = {
  'completion-complete':
    'completes an argument of the fixture prompt test_prompt_with_arguments (our completions are tested on our prompts and templates)',
  'json-schema-2020-12': 'lists the fixture tool json_schema_2020_12_tool',
  'tools-call-simple-text': 'calls the fixture tool test_simple_text',
  'tools-call-image': 'calls the fixture tool test_image_content',
  'tools-call-audio': 'calls the fixture tool test_audio_content',
  'tools-call-embedded-resource': 'calls the fixture tool test_embedded_resource',
  'tools-call-mixed-content': 'calls the fixture tool test_multiple_content_types',
  'tools-call-with-logging': 'calls the fixture tool test_tool_with_logging',
  'tools-call-error': 'calls the fixture tool test_error_handling',
  'tools-call-with-progress': 'calls the fixture tool test_tool_with_progress',
  'tools-call-sampling': 'calls the fixture tool test_sampling (this server never asks the client to sample)',
  'tools-call-elicitation': 'calls the fixture tool test_elicitation (this server never elicits)',
  'elicitation-sep1034-defaults': 'calls the fixture tool test_elicitation_sep1034_defaults',
  'elicitation-sep1330-enums': 'calls the fixture tool test_elicitation_sep1330_enums',
  'resources-read-text': 'reads the fixture resource test://static-text',
  'resources-read-binary': 'reads the fixture resource test://static-binary',
  'resources-templates-read': 'reads the fixture template test://template/{id}/data',
  'prompts-get-simple': 'gets the fixture prompt test_simple_prompt',
  'prompts-get-with-args': 'gets the fixture prompt test_prompt_with_arguments',
  'prompts-get-embedded-resource': 'gets the fixture prompt test_prompt_with_embedded_resource',
  'prompts-get-with-image': 'gets the fixture prompt test_prompt_with_image',
};

await main();

async function main() {
  const listed = fetchTool(SUITE, 'conformance', ['list', '--server']);
  if (!listed) {
    process.stdout.write(
      'SKIPPED conformance: the suite could not be fetched from the npm registry (see stderr); nothing was checked\n',
    );
    process.exit(0);
  }
  const suite = [...String(listed).matchAll(/^\s*-\s+([a-z0-9-]+)/gm)].map((m) => m[1]);
  const root = new URL('..', import.meta.url).pathname;
  const home = mkdtempSync(join(tmpdir(), 'rw-conformance-'));
  const server = spawn(process.execPath, [join(root, 'dist/cli.js'), '--simulate', 'serve', '--http', '--port', '0'], {
    env: { PATH: process.env.PATH, HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  server.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 100 && !/Streamable HTTP at (\S+)/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
  const url = /Streamable HTTP at (\S+)/.exec(err)?.[1];

  let passed = 0;
  let failed = 0;
  const line = (s) => process.stdout.write(`${s}\n`);
  const unclassified = suite.filter((s) => !(s in APPLICABLE) && !(s in NOT_APPLICABLE));
  for (const s of unclassified) {
    failed++;
    line(
      `FAIL conformance ${s}: a scenario of the suite this script does not classify (add it to APPLICABLE or NOT_APPLICABLE)`,
    );
  }
  if (!url) {
    line(`FAIL conformance: server did not start: ${err.slice(0, 300)}`);
    failed++;
  } else {
    for (const scenario of Object.keys(APPLICABLE)) {
      if (suite.length && !suite.includes(scenario)) {
        failed++;
        line(`FAIL conformance ${scenario}: the suite no longer has it`);
        continue;
      }
      const out = join(home, scenario);
      const r = spawnSync(
        'npx',
        [
          '-y',
          ...SUITE.flatMap((p) => ['-p', p]),
          'conformance',
          'server',
          '--url',
          url,
          '--scenario',
          scenario,
          '-o',
          out,
        ],
        {
          env: { PATH: process.env.PATH, HOME: process.env.HOME ?? home },
          encoding: 'utf8',
          timeout: 240_000,
          cwd: home,
        },
      );
      const m = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(r.stdout ?? '');
      const good = r.status === 0 && m && m[3] === '0' && m[1] === m[2] && Number(m[2]) > 0;
      if (good) passed++;
      else failed++;
      const warn = m && m[4] !== '0' ? `, ${m[4]} warning${m[4] === '1' ? '' : 's'}` : '';
      line(
        `${good ? 'ok  ' : 'FAIL'} conformance ${scenario}${m ? ` (${m[1]}/${m[2]} checks${warn})` : ''}${
          good
            ? ''
            : `: ${(r.stdout + r.stderr)
                .split('\n')
                .filter((l) => /FAILURE|rror/.test(l))
                .join(' ')
                .slice(0, 400)}`
        }`,
      );
    }
  }
  for (const [s, why] of Object.entries(NOT_APPLICABLE))
    if (!suite.length || suite.includes(s)) line(`n/a  conformance ${s}: ${why}`);
  server.kill('SIGTERM');
  line(`conformance: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
