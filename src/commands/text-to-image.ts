import { resolve } from 'node:path';
import type { AppContext } from '../services/context.js';
import { TEXT_TO_IMAGE_LIMITS as L, textToImage, type TextToImageInput } from '../services/text-to-image.js';
import { bounded, num, parse, str } from './args.js';
import { EXIT_FAILED, EXIT_OK, UsageError, printJson } from './output.js';
import { progressPrinter } from './progress.js';
import { asCliRefusal, cliConfirm } from './confirm.js';

export const usage = `Usage: runware-mcp-server text-to-image --prompt TEXT [--model AIR] [--width W --height H]
         [--negative-prompt TEXT] [--steps N] [--cfg-scale X] [--scheduler NAME] [--number-results N] [--seed S]
         [--format JPG|PNG|WEBP] [--async | --wait SECONDS] [--out DIR] [--yes]

Generates images (one imageInference task). With --out, saves them into DIR.
With --async, returns the taskUUID at once; finish it with: runware-mcp-server poll TASK_UUID --wait 60
--yes runs a task quoted above RUNWARE_CONFIRM_ABOVE_USD without asking.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values } = parse(args, {
    prompt: { type: 'string' },
    'negative-prompt': { type: 'string' },
    model: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    steps: { type: 'string' },
    'cfg-scale': { type: 'string' },
    scheduler: { type: 'string' },
    'number-results': { type: 'string' },
    seed: { type: 'string' },
    format: { type: 'string' },
    async: { type: 'boolean' },
    wait: { type: 'string' },
    out: { type: 'string' },
    yes: { type: 'boolean' },
  });
  const prompt = str(values, 'prompt');
  if (!prompt) throw new UsageError('text-to-image needs --prompt TEXT');
  if (values.async && values.wait !== undefined) throw new UsageError('--async and --wait cannot be combined');
  const format = str(values, 'format')?.toUpperCase().replace('JPEG', 'JPG');
  if (format && !['JPG', 'PNG', 'WEBP'].includes(format))
    throw new UsageError(`--format must be JPG, PNG or WEBP, not "${format}"`);
  const input: TextToImageInput = { prompt, waitSeconds: values.async ? 0 : (num(values, 'wait', 0, 3600) ?? 300) };
  const set = <K extends keyof TextToImageInput>(k: K, v: TextToImageInput[K] | undefined): void => {
    if (v !== undefined) input[k] = v;
  };
  set('negativePrompt', str(values, 'negative-prompt'));
  set('model', str(values, 'model'));
  set('width', bounded(values, 'width', L.width));
  set('height', bounded(values, 'height', L.height));
  set('steps', bounded(values, 'steps', L.steps));
  set('CFGScale', bounded(values, 'cfg-scale', L.CFGScale));
  set('scheduler', str(values, 'scheduler'));
  set('numberResults', bounded(values, 'number-results', L.numberResults));
  set('seed', bounded(values, 'seed', L.seed));
  set('outputFormat', format as TextToImageInput['outputFormat']);
  const out = str(values, 'out');
  if (out) set('saveTo', `${resolve(out)}/`);
  const { confirmCostUsd, ask } = cliConfirm(values.yes === true);
  if (confirmCostUsd !== undefined) input.confirmCostUsd = confirmCostUsd;
  const r = await textToImage(ctx, input, {
    roots: out ? [resolve(out)] : [],
    onProgress: progressPrinter(),
    ...(ask ? { ask } : {}),
  }).catch((e: unknown) => {
    throw asCliRefusal(e);
  });
  printJson(r.output);
  return r.output.status === 'error' || r.output.status === 'partial' || r.output.status === 'unknown'
    ? EXIT_FAILED
    : EXIT_OK;
}
