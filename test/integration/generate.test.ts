/**
 * The one generation pipeline (services/generate.ts), in process against the
 * simulator: text-to-image and run go through it, refuse local inputs before
 * anything is sent, and return their next step as data for the front-ends.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { runModel } from '../../src/services/run.js';
import { textToImage } from '../../src/services/text-to-image.js';
import { Next } from '../../src/shared/next-step.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { simEnv, startSim } from '../helpers.js';

let sim: Simulator;
let ctx: AppContext;
let out: string;

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  out = mkdtempSync(join(tmpdir(), 'rw-generate-'));
  ctx = new AppContext(
    loadConfig(simEnv(sim, { HOME: mkdtempSync(join(tmpdir(), 'rw-generate-home-')), RUNWARE_OUTPUT_DIR: out })),
    new Logger('error'),
  );
});
afterAll(async () => {
  await ctx?.close();
  await sim?.stop();
});

describe('one pipeline for text-to-image and run', () => {
  it('neither service repeats a step of the pipeline', () => {
    for (const f of ['run.ts', 'text-to-image.ts']) {
      const src = readFileSync(join(import.meta.dirname, '../../src/services', f), 'utf8');
      expect(src).toMatch(/from '\.\/generate\.js'/);
      // Lookup, local inputs, uploads, confirmation, saving and journaling live in generate.ts only.
      for (const step of [
        'modelFacts(',
        'readLocalInputs(',
        'uploadLocalInputs(',
        'confirmOf(',
        'materialize(',
        'checkTask(',
        'resolveSaveTarget(',
        '.journal.',
      ])
        expect(src, `${f} calls ${step}`).not.toContain(step);
    }
  });

  it('not waiting: both return the task as processing, and the poll step as data', async () => {
    const t = await textToImage(
      ctx,
      { prompt: 'a fox', width: 512, height: 512, numberResults: 2, waitSeconds: 0, saveTo: 'foxes/' },
      { roots: [out] },
    );
    expect(t.output.status).toBe('processing');
    expect(t.output.next).toBeInstanceOf(Next);
    expect((t.output.next as Next).steps).toEqual([
      { action: 'poll', args: { taskUUID: t.output.taskUUID, waitSeconds: 60, numberResults: 2, saveTo: 'foxes/' } },
    ]);
    expect((t.output.next as Next).text).toMatch(
      /^Still generating \(\d+%\)\. Run \{step\} to wait for the images and save them; do not generate again\.$/,
    );

    const r = await runModel(
      ctx,
      { model: 'runware:101@1', params: { positivePrompt: 'a fox', width: 512, height: 512 }, waitSeconds: 0 },
      { roots: [out] },
    );
    expect(r.output.status).toBe('processing');
    expect(r.output.taskType).toBe('imageInference');
    expect((r.output.next as Next).steps).toEqual([
      { action: 'poll', args: { taskUUID: r.output.taskUUID, waitSeconds: 60 } },
    ]);
    expect(JSON.stringify(r.output)).not.toMatch(/runware_[a-z]/);
  });

  it('waiting: the outputs saved and the result shapes kept (images for text-to-image, outputs for run)', async () => {
    const t = await textToImage(
      ctx,
      { prompt: 'a fox', width: 256, height: 256, waitSeconds: 30, saveTo: 't2i/' },
      { roots: [out] },
    );
    expect(t.output).toMatchObject({
      status: 'success',
      progress: 100,
      validation: 'checked',
      images: [{ savedTo: expect.stringContaining(join(out, 't2i')) }],
    });
    expect(t.output.next).toBeUndefined();
    const r = await runModel(
      ctx,
      {
        model: 'runware:101@1',
        params: { positivePrompt: 'a fox', width: 256, height: 256 },
        waitSeconds: 30,
        saveTo: 'run/',
      },
      { roots: [out] },
    );
    expect(r.output).toMatchObject({
      status: 'success',
      progress: 100,
      taskType: 'imageInference',
      outputs: [{ kind: 'image', savedTo: expect.stringContaining(join(out, 'run')) }],
    });
  });

  it('a local input outside the allowed folders is refused by name, and nothing is sent', async () => {
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'rw-generate-elsewhere-')), 'seed.png');
    writeFileSync(elsewhere, Buffer.from('89504e470d0a1a0a', 'hex'));
    const before = sim.runwareRequests().length;
    await expect(
      textToImage(ctx, { prompt: 'a fox', width: 256, height: 256, extra: { seedImage: elsewhere } }, { roots: [out] }),
    ).rejects.toMatchObject({ field: 'extra.seedImage' });
    await expect(
      runModel(
        ctx,
        { model: 'runware:101@1', params: { positivePrompt: 'a fox', width: 256, height: 256, seedImage: elsewhere } },
        { roots: [out] },
      ),
    ).rejects.toMatchObject({ field: 'params.seedImage' });
    expect(
      sim
        .runwareRequests()
        .slice(before)
        .filter(
          (e) => JSON.stringify(e.body).includes('imageInference') || JSON.stringify(e.body).includes('mediaStorage'),
        ),
    ).toEqual([]);
  });
});
