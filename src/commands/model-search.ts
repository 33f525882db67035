import type { AppContext } from '../services/context.js';
import { modelSearch } from '../services/model-search.js';
import { int, parse, str } from './args.js';
import { EXIT_OK, UsageError, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server model-search --search TEXT [--limit N] [--offset N]
         [--category checkpoint|lora|lycoris|controlnet|vae|embeddings] [--architecture A] [--type T] [--tag TAG ...]

Searches Runware's model catalogue (one modelSearch task) and prints compact results.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values } = parse(args, {
    search: { type: 'string' }, limit: { type: 'string' }, offset: { type: 'string' }, category: { type: 'string' },
    architecture: { type: 'string' }, type: { type: 'string' }, tag: { type: 'string', multiple: true },
  });
  const search = str(values, 'search');
  if (search === undefined) throw new UsageError('model-search needs --search TEXT');
  const out = await modelSearch(ctx, {
    search,
    ...(int(values, 'limit', 1, 100) !== undefined ? { limit: int(values, 'limit', 1, 100)! } : {}),
    ...(int(values, 'offset', 0, 100000) !== undefined ? { offset: int(values, 'offset', 0, 100000)! } : {}),
    ...(str(values, 'category') ? { category: str(values, 'category')! } : {}),
    ...(str(values, 'architecture') ? { architecture: str(values, 'architecture')! } : {}),
    ...(str(values, 'type') ? { type: str(values, 'type')! } : {}),
    ...(Array.isArray(values.tag) ? { tags: values.tag } : {}),
  });
  printJson(out);
  return EXIT_OK;
}
