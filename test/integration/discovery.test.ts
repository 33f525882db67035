/**
 * Finding any model by what it does, and running every model found: the real
 * MCP server in process (SDK client over InMemoryTransport) against the
 * simulator's content service, registry and community catalogue. The agent
 * here follows only what the tools say: a capability to search, a hit's air,
 * model info's parameters and examples, then runware_run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { sniffFormat } from '../../src/media/formats.js';
import { validateAgainst } from '../../src/runware/schemas/validate.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { examplesOf } from '../../src/simulator/content.js';
import { renderImage } from '../../src/simulator/images.js';
import { SCHEMAS } from '../../src/simulator/schemas.js';
import type { Simulator } from '../../src/simulator/server.js';
import { Capture, simEnv, startSim } from '../helpers.js';
import { serveInProcess } from '../in-process.js';

let sim: Simulator;
let outDir: string;
const capture = new Capture();
const closers: Array<() => Promise<void>> = [];

type S = Record<string, unknown>;
interface Hit {
  air: string;
  name: string;
  source: string;
  capabilities?: string[];
  taskType?: string;
  price?: string;
  validated: boolean;
  use?: string;
}

async function connect(
  env: Record<string, string>,
): Promise<{ call: (name: string, args: S) => Promise<CallToolResult & { structuredContent?: S }>; client: Client }> {
  const app = new AppContext(loadConfig(env), new Logger('warning'));
  const served = await serveInProcess(app, { name: 'discovery-test' });
  const client = served.client;
  closers.push(served.close);
  const ajv = new Ajv({ strict: false, allErrors: true });
  const checks = new Map<string, ValidateFunction>();
  for (const t of (await client.listTools()).tools) if (t.outputSchema) checks.set(t.name, ajv.compile(t.outputSchema));
  const call = async (name: string, args: S): Promise<CallToolResult & { structuredContent?: S }> => {
    const r = (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent?: S };
    capture.add(r);
    const check = checks.get(name);
    // Every answer holds to the output schema the tool lists, as strict clients check.
    if (check && r.structuredContent && !r.isError)
      expect(check(r.structuredContent), `${name}: ${JSON.stringify(check.errors)}`).toBe(true);
    return r;
  };
  return { call, client };
}

let call: Awaited<ReturnType<typeof connect>>['call'];
let client: Client;
const text = (r: CallToolResult): string =>
  r.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');
const sent = (taskType: string): S[] =>
  sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as S[]) : []))
    .filter((t) => t.taskType === taskType);

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  outDir = capture.tempDir('rw-discovery-');
  writeFileSync(join(outDir, 'beach.png'), renderImage('PNG', 64, 64, 3));
  ({ call, client } = await connect(
    simEnv(sim, { RUNWARE_OUTPUT_DIR: outDir, RUNWARE_TIME_SCALE: '0.02', RUNWARE_LOG_LEVEL: 'warning' }),
  ));
});
afterAll(async () => {
  for (const c of closers) await c();
  await sim?.stop();
  expect(capture.leaks()).toEqual([]);
});

/** Replaces every example URL of an image with the local file, wherever the example puts it. */
function withLocalImage(params: S, path: string): S {
  const walk = (v: unknown): unknown =>
    typeof v === 'string' && /^https:\/\/.*\.(png|jpe?g)$/.test(v)
      ? path
      : Array.isArray(v)
        ? v.map(walk)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v;
  return walk(params) as S;
}

/** The agent's path: search by capability, take the first hit, read its info, run its example adapted, save. */
async function byCapability(
  capability: string,
  adapt: (params: S) => S,
  saveTo: string,
): Promise<{ hit: Hit; run: S }> {
  const search = await call('runware_model_search', { capability });
  expect(search.isError, text(search)).toBeFalsy();
  const hit = (search.structuredContent!.results as Hit[])[0]!;
  expect(hit).toMatchObject({ source: 'curated', validated: true });
  const info = (await call('runware_model_info', { model: hit.air })).structuredContent!;
  expect(info).toMatchObject({ model: hit.air, taskType: hit.taskType, schema: 'live' });
  const examples = info.examples as Array<{ capability?: string; params: S }>;
  const example = examples.find((x) => x.capability === search.structuredContent!.capability) ?? examples[0]!;
  const run = await call('runware_run', { model: hit.air, params: adapt(example.params), saveTo, waitSeconds: 60 });
  expect(run.isError, text(run)).toBeFalsy();
  return { hit, run: run.structuredContent! };
}

describe('from a job to a saved file, following only the tools', () => {
  it('tells the agent to search by capability, then read model info, then run', async () => {
    const tools = (await client.listTools()).tools;
    const search = tools.find((t) => t.name === 'runware_model_search')!;
    expect(search.description).toMatch(/capability/);
    expect(search.description).toMatch(/runware_model_info, then runware_run/);
    expect(JSON.stringify(search.inputSchema)).toContain('image-to-video');
    expect(tools.find((t) => t.name === 'runware_model_info')!.description).toMatch(/examples/);
  });

  it('"make a 5 second video of waves from this photo" ends in a saved MP4', async () => {
    const { hit, run } = await byCapability(
      'image-to-video',
      (p) => ({ ...withLocalImage(p, 'beach.png'), positivePrompt: 'waves roll onto the beach', duration: 5 }),
      'video/',
    );
    expect(hit.taskType).toBe('videoInference');
    expect(run).toMatchObject({ status: 'success', taskType: 'videoInference', validation: 'checked' });
    const out = (run.outputs as S[])[0]!;
    expect(String(out.savedTo)).toMatch(/\/video\/.*\.mp4$/);
    expect(sniffFormat(readFileSync(String(out.savedTo)))).toBe('MP4');
    // The photo went up first, and the task carried its mediaUUID as the first frame.
    const uploads = run.uploads as Array<{ mediaUUID: string }>;
    const [task] = sent('videoInference');
    expect(task).toMatchObject({
      model: hit.air,
      duration: 5,
      inputs: { frameImages: [{ image: uploads[0]!.mediaUUID, frame: 'first' }] },
    });
  });

  it('text to speech ends in a saved MP3', async () => {
    const { hit, run } = await byCapability(
      'text-to-speech',
      (p) => ({ ...p, speech: { ...(p.speech as S), text: 'The tide is coming in.' } }),
      'audio/',
    );
    expect(hit.taskType).toBe('audioInference');
    const out = (run.outputs as S[])[0]!;
    expect(out).toMatchObject({ kind: 'audio', format: 'MP3' });
    expect(String(out.savedTo)).toMatch(/\.mp3$/);
    expect(sent('audioInference').at(-1)).toMatchObject({ speech: { text: 'The tide is coming in.' } });
  });

  it('upscaling a local photo ends in a saved, larger image', async () => {
    const { hit, run } = await byCapability(
      'upscale',
      (p) => withLocalImage(p, join(outDir, 'beach.png')),
      'upscaled/',
    );
    expect(hit.taskType).toBe('upscale');
    const out = (run.outputs as S[])[0]!;
    expect(out).toMatchObject({ kind: 'image', format: 'PNG' });
    expect(sniffFormat(readFileSync(String(out.savedTo)))).toBe('PNG');
    expect(sent('upscale').at(-1)).toMatchObject({ model: hit.air, upscaleFactor: 4 });
  });
});

describe('one search over both catalogues', () => {
  it('finds video models by word and by name, and the upscaler, with capabilities, task type and price', async () => {
    const video = (await call('runware_model_search', { search: 'video' })).structuredContent!;
    expect((video.results as Hit[]).map((h) => h.air)).toEqual(
      expect.arrayContaining(['klingai:5@3', 'bytedance:1@1']),
    );
    const kling = (await call('runware_model_search', { search: 'kling' })).structuredContent!;
    expect((kling.results as Hit[])[0]).toMatchObject({
      air: 'klingai:5@3',
      source: 'curated',
      taskType: 'videoInference',
      validated: true,
      price: expect.stringMatching(/\$/),
      capabilities: expect.arrayContaining(['io:image-to-video']),
    });
    const up = (await call('runware_model_search', { search: 'upscale' })).structuredContent!;
    expect((up.results as Hit[]).map((h) => h.air)).toContain('runware:501@1');
  });

  it('puts exact matches first, curated next, then community models', async () => {
    const flux = (await call('runware_model_search', { search: 'flux', limit: 20 })).structuredContent!;
    const sources = (flux.results as Hit[]).map((h) => h.source);
    expect(sources.indexOf('community')).toBeGreaterThan(sources.lastIndexOf('curated'));
    const exact = (await call('runware_model_search', { search: 'FLUX.1 [schnell]' })).structuredContent!;
    expect((exact.results as Hit[])[0]!.air).toBe('runware:100@1');
    // A model both catalogues list comes once, as the curated entry.
    expect((flux.results as Hit[]).filter((h) => h.air === 'runware:101@1').map((h) => h.source)).toEqual(['curated']);
  });

  it('takes a capability as an id, without its prefix, or by label; an unknown one is refused with the ids', async () => {
    for (const c of ['op:background-removal', 'background-removal', 'Background removal']) {
      const r = (await call('runware_model_search', { capability: c })).structuredContent!;
      expect(r.capability).toBe('op:background-removal');
      expect((r.results as Hit[]).map((h) => h.air)).toEqual(['runware:109@1']);
    }
    const bad = await call('runware_model_search', { capability: 'make-it-pop' });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/capability: "make-it-pop" is not one of Runware's capabilities/);
    expect(text(bad)).toContain('io:image-to-video');
  });

  it('text-to-image covers curated models and community checkpoints, never LoRAs', async () => {
    const r = (await call('runware_model_search', { capability: 'text-to-image', limit: 100 })).structuredContent!;
    const hits = r.results as Hit[];
    expect(hits.some((h) => h.source === 'curated')).toBe(true);
    expect(hits.some((h) => h.source === 'community')).toBe(true);
    expect(hits.every((h) => h.taskType === 'imageInference')).toBe(true);
  });

  it('says what to try when nothing matches', async () => {
    const r = (await call('runware_model_search', { search: 'zzqx-nothing' })).structuredContent!;
    expect(r).toMatchObject({ totalResults: 0, results: [] });
    expect(String(r.next)).toMatch(/capability .*io:image-to-video/);
  });

  it('pages across both catalogues: every hit once, and every hit passes runware_model_info', async () => {
    const seen: Hit[] = [];
    let total = Infinity;
    for (let offset = 0; offset < total && offset < 1000; offset += 7) {
      const page = (await call('runware_model_search', { limit: 7, offset })).structuredContent!;
      total = page.totalResults as number;
      seen.push(...(page.results as Hit[]));
    }
    const airs = seen.map((h) => h.air);
    expect(new Set(airs).size).toBe(airs.length);
    for (const kind of ['curated', 'community'])
      expect(seen.filter((h) => h.source === kind).length, kind).toBeGreaterThan(5);
    for (const h of seen) {
      const r = await call('runware_model_info', { model: h.air });
      expect(r.isError, `${h.air}: ${text(r)}`).toBeFalsy();
      const info = r.structuredContent!;
      if (h.taskType) expect(info.taskType, h.air).toBe(h.taskType);
      else expect(info.use, h.air).toMatch(/not a model to run/);
      if (!h.validated) expect(info.schema, h.air).toBe('none');
    }
  });
});

describe('the community request on the first page', () => {
  it('goes out for the whole page before the curated hits are known; a later page asks from where they end', async () => {
    const before = sent('modelSearch').length;
    const first = (await call('runware_model_search', { search: 'flux', limit: 5 })).structuredContent!;
    const asked = sent('modelSearch').slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ search: 'flux', limit: 5, offset: 0 });
    const curated = (first.results as Hit[]).filter((h) => h.source === 'curated').length;
    expect(curated).toBeGreaterThan(0);
    expect((first.results as Hit[]).length).toBeLessThanOrEqual(5);
    // Every curated hit fits on page one (they come first), so page two's community offset skips only
    // the community hits page one showed.
    expect(curated).toBeLessThan(5);
    await call('runware_model_search', { search: 'flux', limit: 5, offset: 5 });
    expect(sent('modelSearch').at(-1)).toMatchObject({ search: 'flux', offset: 5 - curated });
  });
});

describe('every hit runs', () => {
  it('a community checkpoint with no live schema runs as imageInference, unvalidated, and model info says so with its defaults', async () => {
    const info = (await call('runware_model_info', { model: 'runware:100@1' })).structuredContent!;
    expect(info).toMatchObject({
      source: 'community',
      taskType: 'imageInference',
      schema: 'none',
      about: { architecture: 'flux1s', defaultSteps: 4 },
    });
    expect(String(info.note)).toMatch(/unvalidated/);
    const run = (
      await call('runware_run', {
        model: 'runware:100@1',
        params: { positivePrompt: 'a fox', width: 512, height: 512 },
      })
    ).structuredContent!;
    expect(run).toMatchObject({ status: 'success', taskType: 'imageInference', validation: 'skipped' });
  });

  it('a LoRA is refused as a model, with how to use it, and nothing is run', async () => {
    const before = sent('imageInference').length;
    const r = await call('runware_run', { model: 'civitai:58390@62833', params: { positivePrompt: 'a fox' } });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/model: civitai:58390@62833 is a lora, not a model to run: pass it in lora/);
    expect(sent('imageInference').length).toBe(before);
  });

  it('an AIR no catalogue knows is refused by model info, and by the API when sent anyway', async () => {
    const info = await call('runware_model_info', { model: 'civitai:999@1' });
    expect(info.isError).toBe(true);
    expect(text(info)).toMatch(/neither catalogue lists it/);
    const run = await call('runware_run', {
      model: 'civitai:999@1',
      params: { taskType: 'imageInference', positivePrompt: 'a fox' },
    });
    expect(run.structuredContent).toMatchObject({
      status: 'error',
      errors: [{ code: 'invalidModel', parameter: 'model' }],
    });
  });
});

describe('examples, completions and the prompt', () => {
  it("every example the content service serves passes its model's live schema", async () => {
    for (const e of SCHEMAS) {
      for (const x of examplesOf(e)) {
        await validateAgainst(
          x.request as S,
          { air: e.air, requestSchema: e.requestSchema, source: 'network' },
          (p) => p,
        );
      }
    }
  });

  it('completes model names from both catalogues and capability ids, asking the catalogues once per typed prefix', async () => {
    const ref = { type: 'ref/prompt' as const, name: 'generate_image' };
    const kling = await client.complete({ ref, argument: { name: 'model', value: 'kling' } });
    expect(kling.completion.values).toContain('klingai:5@3');
    const searches = (): number => sent('modelSearch').length;
    const start = searches();
    for (const v of ['real', 'reali', 'realis']) {
      const r = await client.complete({ ref, argument: { name: 'model', value: v } });
      expect(r.completion.values).toContain('civitai:4201@130072');
    }
    expect(searches() - start).toBe(1);
    const caps = await client.complete({
      ref: { type: 'ref/prompt', name: 'find_model' },
      argument: { name: 'capability', value: 'image-to' },
    });
    expect(caps.completion.values).toEqual(
      expect.arrayContaining(['io:image-to-video', 'io:image-to-image', 'io:image-to-3d']),
    );
  });

  it('find_model goes capability, search, model info, run', async () => {
    const p = await client.getPrompt({ name: 'find_model', arguments: { need: 'a 5 second video from a photo' } });
    const t = (p.messages[0]!.content as { text: string }).text;
    expect(t).toMatch(/capability[\s\S]*runware_model_search[\s\S]*runware_model_info[\s\S]*runware_run/);
  });
});

describe('without an API key', () => {
  it('still finds curated models, and says the community catalogue needs the key', async () => {
    const env = simEnv(sim, { RUNWARE_OUTPUT_DIR: outDir, RUNWARE_LOG_LEVEL: 'warning' });
    delete (env as Partial<typeof env>).RUNWARE_API_KEY;
    const bare = await connect(env);
    const r = (await bare.call('runware_model_search', { search: 'video' })).structuredContent!;
    expect((r.results as Hit[]).map((h) => h.air)).toContain('klingai:5@3');
    expect(String(r.note)).toMatch(/community catalogue .*needs RUNWARE_API_KEY/);
    const info = (await bare.call('runware_model_info', { model: 'klingai:5@3' })).structuredContent!;
    expect(info).toMatchObject({ taskType: 'videoInference', schema: 'live' });
  });
});

describe('a search holding the key', () => {
  it('is refused naming the field it is in, and nothing is sent', async () => {
    const key = simEnv(sim).RUNWARE_API_KEY!;
    const before = sent('modelSearch').length;
    for (const [args, field] of [
      [{ search: `flux ${key}` }, 'search'],
      [{ search: 'flux', tags: ['ok', key.slice(2, 20)] }, 'tags[1]'],
      [{ search: 'flux', architecture: key }, 'architecture'],
    ] as const) {
      const r = await call('runware_model_search', args);
      expect(r.isError).toBe(true);
      expect(r.structuredContent ?? JSON.parse(text(r))).toMatchObject({ error: { kind: 'policy', field } });
      expect(text(r)).not.toContain(key.slice(0, 12));
    }
    expect(sent('modelSearch').length).toBe(before);
  });
});
