/**
 * The simulator, driven by a client we did not write: Runware's official
 * JavaScript SDK (@runware/sdk-js) over WebSocket. What it sends and expects
 * (connect-time authentication, results matched by taskUUID, async polling
 * with getResponse, the legacy imageUpload task) must all work, and an
 * unknown model must fail as the API fails it, with a task-scoped error.
 */
import { RunwareServer } from '@runware/sdk-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, startSim } from '../helpers.js';

let sim: Simulator;
let sdk: RunwareServer;
const PHOTO = 'https://example.com/beach.png';

type Item = Record<string, unknown>;
const sent = (taskType: string): Item[] =>
  sim
    .runwareRequests()
    .flatMap((e) => (Array.isArray(e.body) ? (e.body as Item[]) : []))
    .filter((t) => t?.taskType === taskType);

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.01 });
  sdk = new RunwareServer({
    apiKey: CANARY.apiKey,
    url: sim.info.wsUrl,
    shouldReconnect: false,
    globalMaxRetries: 1,
    timeoutDuration: 15_000,
  });
  await sdk.ensureConnection();
});
afterAll(async () => {
  await sdk?.disconnect();
  await sim?.stop();
});

describe('@runware/sdk-js against the simulator over WebSocket', () => {
  it('authenticates with the key in the connect-time message only', () => {
    const auth = sent('authentication');
    expect(auth.length).toBeGreaterThan(0);
    expect(auth[0]).toMatchObject({ apiKey: CANARY.apiKey });
  });

  it('generates an image', async () => {
    const images = (await sdk.imageInference({
      positivePrompt: 'a lighthouse at dusk',
      model: 'runware:101@1',
      width: 512,
      height: 512,
      numberResults: 1,
      includeCost: true,
    })) as unknown as Item[];
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({
      taskType: 'imageInference',
      imageURL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/media\/.+\.jpg$/),
      cost: expect.any(Number),
    });
  });

  it('generates a video: async, then polled with getResponse until done', async () => {
    const videos = (await sdk.videoInference({
      positivePrompt: 'waves at dusk',
      model: 'klingai:5@3',
      duration: 5,
      numberResults: 1,
    } as never)) as unknown as Item[];
    expect(videos[0]).toMatchObject({
      taskType: 'videoInference',
      status: 'success',
      videoURL: expect.stringMatching(/\.mp4$/),
    });
    expect(sent('videoInference')[0]).toMatchObject({ deliveryMethod: 'async' });
    expect(sent('getResponse').length).toBeGreaterThan(0);
  });

  it('captions, upscales and removes a background', async () => {
    const caption = (await sdk.caption({ inputImage: PHOTO, model: 'runware:151@1' } as never)) as unknown as Item;
    expect(caption).toMatchObject({ taskType: 'caption', text: expect.stringContaining('simulated') });
    const up = (await sdk.upscale({
      inputImage: PHOTO,
      upscaleFactor: 4,
      model: 'runware:501@1',
    } as never)) as unknown as Item;
    expect(up).toMatchObject({ taskType: 'upscale', imageURL: expect.stringMatching(/\.png$/) });
    const cut = (await sdk.removeBackground({ inputImage: PHOTO, model: 'runware:109@1' } as never)) as unknown as Item;
    expect(cut).toMatchObject({ taskType: 'removeBackground', imageURL: expect.any(String) });
  });

  it('searches models', async () => {
    const r = (await sdk.modelSearch({ search: 'flux', category: 'checkpoint' } as never)) as unknown as Item;
    expect(r).toMatchObject({ taskType: 'modelSearch', totalResults: expect.any(Number) });
    expect((r.results as Item[]).map((m) => m.air)).toContain('runware:100@1');
  });

  it('uploads an image with the legacy imageUpload task, and uses it as a seed image', async () => {
    const png = `data:image/png;base64,${Buffer.from('\x89PNG\r\n\x1a\n0000').toString('base64')}`;
    const up = (await sdk.imageUpload({ image: png } as never)) as unknown as Item;
    expect(up).toMatchObject({
      taskType: 'imageUpload',
      imageUUID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      imageURL: expect.stringMatching(/^http/),
    });
    const images = (await sdk.imageInference({
      positivePrompt: 'the same, in watercolor',
      model: 'runware:101@1',
      width: 512,
      height: 512,
      seedImage: up.imageUUID as string,
      strength: 0.6,
    })) as unknown as Item[];
    expect(images).toHaveLength(1);
    expect(sent('imageInference').at(-1)).toMatchObject({ seedImage: up.imageUUID });
  });

  it('fails an unknown model with a task-scoped error, and runs nothing', async () => {
    const before = sim.state.accepted.size;
    const err = (await sdk
      .imageInference({ positivePrompt: 'a fox', model: 'civitai:999@1', width: 512, height: 512, numberResults: 1 })
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as { error?: Item } | undefined;
    expect(err?.error).toMatchObject({
      code: 'invalidModel',
      parameter: 'model',
      taskType: 'imageInference',
      taskUUID: expect.any(String),
    });
    expect(String(err?.error?.message)).toMatch(/civitai:999@1 does not exist/);
    expect(sim.state.accepted.size).toBe(before);
  });
});
