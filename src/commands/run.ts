import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AppContext } from '../services/context.js';
import { runModel } from '../services/run.js';
import { paramsObject, setParam } from '../runware/schemas/coerce.js';
import { num, parse, str } from './args.js';
import { EXIT_FAILED, EXIT_OK, UsageError, printJson } from './output.js';
import { progressPrinter } from './progress.js';
import { readRoots } from './roots.js';
import { asCliRefusal, cliConfirm } from './confirm.js';

export const usage = `Usage: runware-mcp-server run MODEL (--params-file FILE|- | --param KEY=VALUE ...) [--wait SECONDS] [--out DIR]

One task for any model, checked against the model's live schema (see model-info MODEL).
--param takes the API's own names; dots reach into objects and numbers into lists:
  --param positivePrompt="waves at dusk" --param duration=5 --param inputs.frameImages.0.image=./first.png
Values are typed by the schema. Local files in media fields (inside the current directory,
--out or RUNWARE_OUTPUT_DIR) are uploaded first. Waits up to --wait (default 300) seconds;
--wait 0 returns the taskUUID for: runware-mcp-server poll TASK_UUID --wait 60
With --out, every output is saved into DIR with its real extension. With RUNWARE_CONFIRM_ABOVE_USD
set, a task quoted above it is asked about on a terminal; elsewhere it needs --yes.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      'params-file': { type: 'string' },
      param: { type: 'string', multiple: true },
      wait: { type: 'string' },
      out: { type: 'string' },
      yes: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('run needs exactly one MODEL (an AIR id such as klingai:5@3)');
  const model = positionals[0]!;
  const file = str(values, 'params-file');
  const pairs = (values.param as string[] | undefined) ?? [];
  if (file && pairs.length) throw new UsageError('give --params-file or --param, not both');
  let params: Record<string, unknown> = {};
  if (file) {
    const text =
      file === '-'
        ? await readStdin()
        : await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
            throw new UsageError(`cannot read --params-file ${file}: ${e.code ?? e.message}`);
          });
    params = paramsObject(text, '--params-file');
  } else if (pairs.length) {
    // The schema types each value; without one, only plain JSON values are read as such.
    const schema = (await ctx.catalog().schema(model)).schema?.requestSchema;
    for (const p of pairs) setParam(params, p, schema);
  }
  const out = str(values, 'out');
  const { confirmCostUsd, ask } = cliConfirm(values.yes === true);
  const r = await runModel(
    ctx,
    {
      model,
      params,
      waitSeconds: num(values, 'wait', 0, 3600) ?? 300,
      ...(out ? { saveTo: `${resolve(out)}/` } : {}),
      ...(confirmCostUsd !== undefined ? { confirmCostUsd } : {}),
    },
    { roots: readRoots(ctx, out), onProgress: progressPrinter(), ...(ask ? { ask } : {}) },
  ).catch((e: unknown) => {
    throw asCliRefusal(e);
  });
  printJson(r.output);
  return r.output.status === 'error' || r.output.status === 'partial' || r.output.status === 'unknown'
    ? EXIT_FAILED
    : EXIT_OK;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
