/**
 * Any model, checked against its live schema (#10): runware_model_info,
 * runware_run, runware_upload and text-to-image's `extra`, over MCP stdio and
 * the CLI, against the simulator's schema, registry and content services.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Ajv, type ValidateFunction } from 'ajv';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sniffFormat } from '../../src/media/formats.js';
import { renderImage } from '../../src/simulator/images.js';
import type { Simulator } from '../../src/simulator/server.js';
import { Capture, connectStdio, runCli, simEnv, startSim } from '../helpers.js';

let sim: Simulator;
let client: Client;
let close: () => Promise<void>;
let outDir: string;
let outside: string;
const capture = new Capture();

type Structured = Record<string, unknown> & { status?: string; outputs?: Array<Record<string, unknown>> };
const outputChecks = new Map<string, ValidateFunction>();
/** Calls a tool, and holds its structuredContent to the output schema it lists (as strict clients such as the Inspector do). */
async function call(
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult & { structuredContent?: Structured }> {
  const r = (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent?: Structured };
  capture.add(r);
  const check = outputChecks.get(name);
  if (check && r.structuredContent && !r.isError)
    expect(check(r.structuredContent), `${name} output: ${JSON.stringify(check.errors)}`).toBe(true);
  return r;
}
const text = (r: CallToolResult): string =>
  r.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');
const sentTasks = (): Array<Record<string, unknown>> =>
  sim.runwareRequests().flatMap((e) => (Array.isArray(e.body) ? (e.body as Array<Record<string, unknown>>) : []));
const sentOf = (taskType: string) => sentTasks().filter((t) => t.taskType === taskType);

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  outDir = capture.tempDir('rw-models-out-');
  outside = capture.tempDir('rw-models-outside-');
  writeFileSync(join(outDir, 'cat.png'), renderImage('PNG', 64, 64, 9));
  writeFileSync(join(outside, 'elsewhere.png'), renderImage('PNG', 64, 64, 10));
  const c = await connectStdio(
    [],
    simEnv(sim, { RUNWARE_OUTPUT_DIR: outDir, RUNWARE_SIM_TIME_SCALE: '0.02' }),
    capture,
  );
  client = c.client;
  close = c.close;
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const t of (await client.listTools()).tools)
    if (t.outputSchema) outputChecks.set(t.name, ajv.compile(t.outputSchema));
});
afterEach(() => {
  sim.state.log.length = 0;
  sim.state.options.catalogDown = false;
});
afterAll(async () => {
  await close?.();
  await sim.stop();
  expect(capture.leaks()).toEqual([]);
});

describe('runware_model_info', () => {
  it('describes an image model: task type, delivery, parameters, rules, docs and pricing, with no schema boilerplate', async () => {
    const r = await call('runware_model_info', { model: 'runware:101@1' });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent!;
    expect(s).toMatchObject({
      model: 'runware:101@1',
      taskType: 'imageInference',
      deliveryMethods: ['sync', 'async'],
      deliveryUsed: 'sync',
      schema: 'live',
      documentation: 'https://runware.ai/docs/models/flux-1-dev',
    });
    const params = s.parameters as Array<Record<string, unknown>>;
    expect(params[0]).toMatchObject({ name: 'positivePrompt', required: true });
    expect(params.find((p) => p.name === 'width')).toMatchObject({
      type: 'integer',
      allowed: '128 to 2048; multiple of 16',
      default: 1024,
    });
    expect(params.map((p) => p.name)).toContain('watermark');
    expect((s.pricing as { examples: unknown[] }).examples.length).toBeGreaterThan(0);
    const json = JSON.stringify(s);
    for (const noise of ['$id', '$schema', 'taskUUID', 'deliveryMethod"', 'webhookURL'])
      expect(json).not.toContain(noise);
  });

  it('describes a video model that only allows async delivery', async () => {
    const s = (await call('runware_model_info', { model: 'klingai:5@3' })).structuredContent!;
    expect(s).toMatchObject({ taskType: 'videoInference', deliveryMethods: ['async'], deliveryUsed: 'async' });
    expect((s.parameters as Array<{ name: string }>).map((p) => p.name)).toEqual(
      expect.arrayContaining(['duration', 'inputs.frameImages', 'outputFormat']),
    );
  });

  it('says what is unknown of a model with no schema, and refuses a model nobody knows', async () => {
    const r = await call('runware_model_info', { model: 'civitai:999@1' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/model: no schema, registry entry or pricing for civitai:999@1/);
  });
});

describe('runware_run', () => {
  it('refuses a forbidden value by name, with what is allowed and the docs, and sends nothing', async () => {
    const r = await call('runware_run', { model: 'klingai:5@3', params: { positivePrompt: 'waves', duration: 7 } });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('params.duration');
    expect(text(r)).toContain('5 | 10');
    expect(text(r)).toContain('https://runware.ai/docs/models/kling-2-1-master#request-duration');
    expect(sentTasks()).toEqual([]);
  });

  it('sends a video task async, waits for it, and saves it as .mp4', async () => {
    const r = await call('runware_run', {
      model: 'klingai:5@3',
      params: { positivePrompt: 'waves at dusk', duration: 5 },
      waitSeconds: 30,
      saveTo: 'video/',
    });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent!;
    expect(s).toMatchObject({
      status: 'success',
      taskType: 'videoInference',
      deliveryMethod: 'async',
      validation: 'checked',
    });
    const [v] = s.outputs!;
    expect(v).toMatchObject({ kind: 'video', format: 'MP4', mimeType: 'video/mp4' });
    expect(String(v!.savedTo)).toMatch(/\.mp4$/);
    expect(sniffFormat(readFileSync(String(v!.savedTo)))).toBe('MP4');
    const [task] = sentOf('videoInference');
    expect(task).toMatchObject({ deliveryMethod: 'async', model: 'klingai:5@3', includeCost: true });
    expect(sentOf('getResponse').length).toBeGreaterThan(0);
  });

  it('saves audio as .mp3 and 3D as .glb, and returns text outputs as text', async () => {
    const audio = (
      await call('runware_run', {
        model: 'minimax:music@2.6',
        params: { positivePrompt: 'calm piano' },
        saveTo: 'audio/',
      })
    ).structuredContent!;
    expect(audio.outputs![0]).toMatchObject({ kind: 'audio', format: 'MP3' });
    expect(String(audio.outputs![0]!.savedTo)).toMatch(/\.mp3$/);
    const three = (
      await call('runware_run', {
        model: 'tencent:hunyuan-3d@3.1-pro',
        params: { inputs: { images: ['https://example.com/chair.png'] } },
        saveTo: '3d/',
      })
    ).structuredContent!;
    expect(three.outputs![0]).toMatchObject({ kind: '3d', format: 'GLB' });
    expect(String(three.outputs![0]!.savedTo)).toMatch(/\.glb$/);
    const cap = await call('runware_run', {
      model: 'runware:151@1',
      params: { inputImage: 'https://example.com/cat.png' },
    });
    expect(cap.structuredContent!.outputs![0]).toMatchObject({
      kind: 'text',
      text: expect.stringContaining('gradient'),
    });
    expect(
      cap.content.some((c) => c.type === 'text' && (c as { text: string }).text.includes('a simulated picture')),
    ).toBe(true);
  });

  it('takes params as a JSON string, and nested objects stringified by the client', async () => {
    const r = await call('runware_run', {
      model: 'runware:109@1',
      params: JSON.stringify({ inputImage: 'https://example.com/cat.png', outputFormat: 'PNG' }),
    });
    expect(r.structuredContent).toMatchObject({
      status: 'success',
      taskType: 'removeBackground',
      validation: 'checked',
    });
    const nested = await call('runware_run', {
      model: 'klingai:5@3',
      params: {
        positivePrompt: 'waves',
        duration: '5',
        inputs: '{"frameImages":[{"image":"https://example.com/f.png","frame":"first"}]}',
      },
      waitSeconds: 0,
    });
    expect(nested.structuredContent).toMatchObject({ status: 'processing' });
    expect(sentOf('videoInference').at(-1)).toMatchObject({
      duration: 5,
      inputs: { frameImages: [{ frame: 'first' }] },
    });
    const bad = await call('runware_run', { model: 'klingai:5@3', params: '{not json' });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/params: is a string that is not valid JSON/);
  });

  it('refuses server-owned fields and keys in params', async () => {
    for (const [params, re] of [
      [
        { positivePrompt: 'x', taskUUID: '1df8cfc7-ded1-479c-a2a4-5f438a0bb0e9' },
        /params.taskUUID: is set by the server/,
      ],
      [{ positivePrompt: 'x', deliveryMethod: 'sync' }, /params.deliveryMethod/],
      [{ positivePrompt: 'x', apiKey: 'abc' }, /params.apiKey/],
      [{ positivePrompt: 'x', taskType: 'imageInference' }, /params.taskType: klingai:5@3 runs videoInference tasks/],
    ] as const) {
      const r = await call('runware_run', { model: 'klingai:5@3', params });
      expect(r.isError, JSON.stringify(params)).toBe(true);
      expect(text(r)).toMatch(re);
    }
    expect(sentTasks()).toEqual([]);
  });

  it('uploads a local input before the task and sends its mediaUUID in its place', async () => {
    const r = await call('runware_run', { model: 'runware:109@1', params: { inputImage: 'cat.png' } });
    expect(r.structuredContent).toMatchObject({ status: 'success' });
    const uploads = r.structuredContent!.uploads as Array<Record<string, unknown>>;
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ field: 'params.inputImage', format: 'PNG' });
    const order = sentTasks()
      .filter((t) => t.taskType !== 'getResponse' && t.taskType !== 'getTaskDetails')
      .map((t) => t.taskType);
    expect(order).toEqual(['mediaStorage', 'removeBackground']);
    const [up] = sentOf('mediaStorage');
    expect(up).toMatchObject({ operation: 'upload', media: expect.stringMatching(/^data:image\/png;base64,/) });
    expect(sentOf('removeBackground')[0]!.inputImage).toBe(uploads[0]!.mediaUUID);
  });

  it('refuses a path outside the roots, and sends nothing', async () => {
    const r = await call('runware_run', {
      model: 'runware:109@1',
      params: { inputImage: join(outside, 'elsewhere.png') },
    });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/params.inputImage: .* is outside the allowed folders \(resolved to .*; allowed folders: /);
    expect(sentTasks()).toEqual([]);
  });

  it('still sends the task when the schema service is down, and says validation was skipped', async () => {
    // A new server with an empty cache: neither the schema nor the registry can be had.
    sim.state.options.catalogDown = true;
    const fresh = await connectStdio(
      [],
      simEnv(sim, { RUNWARE_OUTPUT_DIR: outDir, RUNWARE_SIM_TIME_SCALE: '0.02' }),
      capture,
    );
    try {
      const noType = (await fresh.client.callTool({
        name: 'runware_run',
        arguments: { model: 'runware:151@1', params: { inputImage: 'https://example.com/x.png' } },
      })) as CallToolResult;
      expect(noType.isError).toBe(true);
      expect(text(noType)).toMatch(/params.taskType: runware:151@1 is not in Runware's model registry/);
      const r = (await fresh.client.callTool({
        name: 'runware_run',
        arguments: { model: 'runware:151@1', params: { taskType: 'caption', inputImage: 'https://example.com/x.png' } },
      })) as CallToolResult & { structuredContent?: Structured };
      capture.add(r);
      expect(r.structuredContent).toMatchObject({ status: 'success', validation: 'skipped' });
      expect(String(r.structuredContent!.note)).toMatch(
        /^Not checked against a live schema: Runware's schema service could not be reached/,
      );
      expect(sentOf('caption')).toHaveLength(1);
      const image = (await fresh.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt: 'a lighthouse', width: 512, height: 512 },
      })) as CallToolResult & { structuredContent?: Structured };
      expect(image.structuredContent).toMatchObject({ status: 'success', validation: 'skipped' });
    } finally {
      await fresh.close();
    }
  });
});

describe('runware_text_to_image through the live schema', () => {
  it('passes a documented field such as watermark, and refuses what the schema forbids, naming it under extra', async () => {
    const r = await call('runware_text_to_image', {
      prompt: 'a lighthouse',
      width: 512,
      height: 512,
      extra: { watermark: true, trueCFGScale: 3 },
    });
    expect(r.structuredContent).toMatchObject({ status: 'success', validation: 'checked' });
    expect(sentOf('imageInference')[0]).toMatchObject({ watermark: true, trueCFGScale: 3 });
    sim.state.log.length = 0;
    const bad = await call('runware_text_to_image', { prompt: 'a lighthouse', extra: { watermark: 'yes' } });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toContain('extra.watermark');
    const size = await call('runware_text_to_image', { prompt: 'a lighthouse', width: 1000, height: 1000 });
    expect(text(size)).toMatch(/width: .*multiple of 16/);
    expect(sentOf('imageInference')).toEqual([]);
  });

  it('takes the size from the schema for a model with fixed combinations, and refuses a size outside them', async () => {
    const r = await call('runware_text_to_image', { prompt: 'a lighthouse', model: 'google:imagen@4' });
    expect(r.structuredContent).toMatchObject({ status: 'success' });
    expect(sentOf('imageInference')[0]).toMatchObject({ width: 1024, height: 1024 });
    const bad = await call('runware_text_to_image', {
      prompt: 'a lighthouse',
      model: 'google:imagen@4',
      width: 1024,
      height: 768,
    });
    expect(text(bad)).toMatch(/fixed combinations.*16:9 1408×768/);
  });

  it('uploads a local seedImage from extra first', async () => {
    const r = await call('runware_text_to_image', {
      prompt: 'a lighthouse',
      width: 512,
      height: 512,
      extra: { seedImage: join(outDir, 'cat.png'), strength: 0.5 },
    });
    expect(r.structuredContent).toMatchObject({ status: 'success' });
    const mediaUUID = (r.structuredContent!.uploads as Array<{ mediaUUID: string; field: string }>)[0]!;
    expect(mediaUUID.field).toBe('extra.seedImage');
    expect(sentOf('imageInference')[0]!.seedImage).toBe(mediaUUID.mediaUUID);
  });

  it('a model with no schema is sent unvalidated, and the result says so', async () => {
    const r = await call('runware_text_to_image', {
      prompt: 'a lighthouse',
      model: 'civitai:4384@128713',
      width: 512,
      height: 512,
    });
    expect(r.structuredContent).toMatchObject({ status: 'success', validation: 'skipped' });
    expect(String(r.structuredContent!.note)).toMatch(/no schema for civitai:4384@128713/);
  });
});

describe('runware_upload', () => {
  it('uploads a file inside the roots and returns its mediaUUID and URL', async () => {
    const r = await call('runware_upload', { path: 'cat.png' });
    expect(r.structuredContent).toMatchObject({
      mediaUUID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      mediaURL: expect.stringMatching(/^http/),
      format: 'PNG',
    });
    expect(sentOf('mediaStorage')).toHaveLength(1);
  });

  it('refuses outside paths and non-media files before sending', async () => {
    writeFileSync(join(outDir, 'notes.txt'), 'plain text');
    for (const path of [join(outside, 'elsewhere.png'), 'notes.txt', '../../etc/passwd']) {
      const r = await call('runware_upload', { path });
      expect(r.isError, path).toBe(true);
    }
    expect(sentTasks()).toEqual([]);
  });
});

describe('tools/list budget', () => {
  it('stays at or under 2 KB per tool on average', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['runware_run', 'runware_model_info', 'runware_upload']),
    );
    // What a model reads: icons are for the client's UI (inline SVGs, ~400 bytes each), not the context.
    const read = tools.map(({ icons: _icons, ...t }) => t);
    expect(JSON.stringify(read).length / tools.length).toBeLessThanOrEqual(2048);
    expect(tools.every((t) => t.icons?.[0]?.mimeType === 'image/svg+xml')).toBe(true);
  });
});

describe('the CLI on the same core', () => {
  const cliEnv = (extra: Record<string, string> = {}): Record<string, string> =>
    simEnv(sim, { RUNWARE_SIM_TIME_SCALE: '0.02', RUNWARE_LOG_LEVEL: 'warning', ...extra });

  it("model-info, run with --param (typed by the schema), and upload, with the tools' exit codes", async () => {
    const info = await runCli(['model-info', 'klingai:5@3'], cliEnv(), capture);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ taskType: 'videoInference', deliveryMethods: ['async'] });
    const out = mkdtempSync(join(tmpdir(), 'rw-cli-run-'));
    const run = await runCli(
      ['run', 'klingai:5@3', '--param', 'positivePrompt=waves', '--param', 'duration=5', '--out', out],
      cliEnv(),
      capture,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'success', outputs: [{ kind: 'video', format: 'MP4' }] });
    expect(readdirSync(out).some((f) => f.endsWith('.mp4'))).toBe(true);
    const bad = await runCli(
      ['run', 'klingai:5@3', '--param', 'positivePrompt=waves', '--param', 'duration=7'],
      cliEnv(),
      capture,
    );
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ field: 'params.duration', allowed: '5 | 10' });
    const file = join(out, 'params.json');
    writeFileSync(file, JSON.stringify({ inputImage: 'https://example.com/cat.png' }));
    const fromFile = await runCli(['run', 'runware:109@1', '--params-file', file], cliEnv(), capture);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ status: 'success', taskType: 'removeBackground' });
    const up = await runCli(['upload', join(outDir, 'cat.png')], cliEnv({ RUNWARE_OUTPUT_DIR: outDir }), capture);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).mediaUUID).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await runCli(
      ['upload', join(outside, 'elsewhere.png')],
      cliEnv({ RUNWARE_OUTPUT_DIR: outDir }),
      capture,
    );
    expect(refused.code).toBe(2);
    expect(sentOf('mediaStorage')).toHaveLength(1);
  });

  it('model-search by capability across both catalogues, and model-info for any hit', async () => {
    const caps = await runCli(['model-search', '--capabilities'], cliEnv(), capture);
    expect(JSON.parse(caps.stdout).capabilities).toEqual(
      expect.arrayContaining([{ id: 'io:image-to-video', label: 'Image to video' }]),
    );
    const video = await runCli(['model-search', '--capability', 'image-to-video'], cliEnv(), capture);
    expect(video.code, video.stderr).toBe(0);
    const hits = JSON.parse(video.stdout).results as Array<{ air: string; taskType: string }>;
    expect(hits.map((h) => h.air)).toEqual(['klingai:5@3', 'bytedance:1@1']);
    const info = await runCli(['model-info', hits[1]!.air], cliEnv(), capture);
    expect(JSON.parse(info.stdout)).toMatchObject({
      taskType: 'videoInference',
      examples: [{ capability: 'io:image-to-video' }],
    });
    const images = JSON.parse(
      (await runCli(['model-search', '--capability', 'text-to-image', '--search', 'schnell'], cliEnv(), capture))
        .stdout,
    );
    expect(images.results[0]).toMatchObject({
      air: 'runware:100@1',
      source: 'community',
      taskType: 'imageInference',
      validated: false,
    });
    const community = await runCli(['model-info', 'runware:100@1'], cliEnv(), capture);
    expect(community.code, community.stderr).toBe(0);
    expect(JSON.parse(community.stdout)).toMatchObject({
      taskType: 'imageInference',
      schema: 'none',
      about: { architecture: 'flux1s' },
    });
    const bad = await runCli(['model-search', '--capability', 'telepathy'], cliEnv(), capture);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({
      field: 'capability',
      allowed: expect.stringContaining('op:upscale'),
    });
  });

  it('serves the schema from the disk cache after a restart with the service down', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'rw-cli-cache-'));
    const first = await runCli(['model-info', 'minimax:music@2.6'], cliEnv({ RUNWARE_CACHE_DIR: cache }), capture);
    expect(JSON.parse(first.stdout)).toMatchObject({ schema: 'live' });
    sim.state.options.catalogDown = true;
    const offline = await runCli(['model-info', 'minimax:music@2.6'], cliEnv({ RUNWARE_CACHE_DIR: cache }), capture);
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ schema: 'cached', taskType: 'audioInference' });
    // And runs are still checked against it: a forbidden value is refused with nothing sent.
    const bad = await runCli(
      ['run', 'minimax:music@2.6', '--param', 'positivePrompt=piano', '--param', 'outputFormat=OGG'],
      cliEnv({ RUNWARE_CACHE_DIR: cache }),
      capture,
    );
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.field).toBe('params.outputFormat');
    expect(sentOf('audioInference')).toEqual([]);
    // With no copy at all, the service being down is a network failure (retryable, exit 1), not bad input.
    const fresh = await runCli(['model-info', 'minimax:music@2.6'], cliEnv(), capture);
    expect(fresh.code).toBe(1);
    expect(JSON.parse(fresh.stdout).error).toMatchObject({ kind: 'network', retryable: true });
  });
});
